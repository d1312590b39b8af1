package events

import (
	"testing"
	"time"

	apiv1 "github.com/skiffrun/skiff/guest/api/v1"
)

func TestLine(t *testing.T) {
	t.Setenv("TZ", "UTC")
	ts := time.Date(2026, 12, 4, 18, 0, 0, 0, time.UTC)
	ev := &apiv1.Event{Type: "container", Action: "start", Scope: "local", TimeNano: ts.UnixNano(),
		Actor: &apiv1.EventActor{Id: "abc", Attributes: map[string]string{"name": "web", "image": "busybox"}}}
	got := Line(NewMessage(ev))
	// time.Local was read at start; compare in its zone.
	want := ts.In(time.Local).Format("2006-01-02T15:04:05.000000000Z07:00") + " container start abc (image=busybox, name=web)"
	if got != want {
		t.Fatalf("Line = %q, want %q", got, want)
	}
	m := NewMessage(ev)
	if m.Status != "start" || m.ID != "abc" || m.From != "busybox" || m.Time != ts.Unix() {
		t.Fatalf("docker's older fields: %+v", m)
	}
}

func TestRequest(t *testing.T) {
	now := time.Unix(1000, 0)
	tests := []struct {
		name         string
		o            Options
		since, until int64
		wantErr      bool
	}{
		{"live only", Options{}, 0, 0, false},
		{"since a duration", Options{Since: "10s"}, time.Unix(990, 0).UnixNano(), 0, false},
		{"until alone reads history", Options{Until: "900"}, 1, time.Unix(900, 0).UnixNano(), false},
		{"since after until", Options{Since: "950", Until: "900"}, 0, 0, true},
		{"bad time", Options{Since: "yesterday"}, 0, 0, true},
		{"bad filter", Options{Filters: []string{"type"}}, 0, 0, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			req, err := tc.o.Request(now)
			if tc.wantErr {
				if err == nil {
					t.Fatal("no error")
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if req.Since != tc.since || req.Until != tc.until {
				t.Fatalf("since %d until %d, want %d %d", req.Since, req.Until, tc.since, tc.until)
			}
		})
	}
}
