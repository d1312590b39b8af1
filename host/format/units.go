package format

import (
	"time"

	units "github.com/docker/go-units"
)

// Time converts the API's Unix nanoseconds into a time; 0, which the API
// uses for "never", becomes the zero time.
func Time(ns int64) time.Time {
	if ns == 0 {
		return time.Time{}
	}
	return time.Unix(0, ns).UTC()
}

// Since spells the time from t to now as docker does ("5 seconds", "About
// a minute", "3 hours").
func Since(t, now time.Time) string {
	return units.HumanDuration(now.Sub(t))
}

// Ago is Since followed by " ago", as in docker's CREATED column.
func Ago(t, now time.Time) string {
	return Since(t, now) + " ago"
}

// Size spells a byte count as docker's SIZE columns do (decimal units, three
// significant digits: "4.26MB").
func Size(n int64) string {
	return units.HumanSizeWithPrecision(float64(n), 3)
}

// RFC3339Nano is how docker's JSON spells times; the zero time is
// "0001-01-01T00:00:00Z", as in docker's inspect.
func RFC3339Nano(t time.Time) string {
	return t.UTC().Format(time.RFC3339Nano)
}
