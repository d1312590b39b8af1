package opts

import (
	"math"
	"strconv"
	"strings"
	"time"
)

// timeLayouts are the absolute forms docker's --since and --until accept,
// most precise first. Those without a zone are in the local time zone.
var timeLayouts = []string{
	time.RFC3339Nano,
	"2006-01-02T15:04:05.999999999",
	"2006-01-02T15:04Z07:00",
	"2006-01-02T15:04",
	"2006-01-02T15Z07:00",
	"2006-01-02T15",
	"2006-01-02Z07:00",
	"2006-01-02",
}

// Timestamp parses a --since or --until value as docker does: an RFC 3339
// time (or a shorter prefix of one), a Unix timestamp with optional
// fraction ("1700000000.5"), or a duration ("10m") counted back from now.
// "" is the zero time.
func Timestamp(flag, v string, now time.Time) (time.Time, error) {
	if v == "" {
		return time.Time{}, nil
	}
	if d, err := time.ParseDuration(v); err == nil {
		return now.Add(-d), nil
	}
	if t, ok := unixTime(v); ok {
		return t, nil
	}
	for _, layout := range timeLayouts {
		if t, err := time.ParseInLocation(layout, v, time.Local); err == nil {
			return t, nil
		}
	}
	return time.Time{}, Invalid(flag, v, "use a time like 2024-05-01T15:04:05Z, a Unix timestamp, or a duration like 10m")
}

func unixTime(v string) (time.Time, bool) {
	secs, frac, hasFrac := strings.Cut(v, ".")
	s, err := strconv.ParseInt(secs, 10, 64)
	if err != nil || s < 0 || s > math.MaxInt64/int64(time.Second) {
		return time.Time{}, false
	}
	var ns int64
	if hasFrac {
		if frac == "" || len(frac) > 9 {
			return time.Time{}, false
		}
		n, err := strconv.ParseInt(frac+strings.Repeat("0", 9-len(frac)), 10, 64)
		if err != nil || n < 0 {
			return time.Time{}, false
		}
		ns = n
	}
	return time.Unix(s, ns), true
}
