package events

import (
	"context"
	"errors"
	"testing"
	"time"

	apiv1 "github.com/skiffrun/skiff/guest/api/v1"
)

func all(*apiv1.Event) bool { return true }

func TestHistoryAndLive(t *testing.T) {
	b := New()
	b.Publish(Container, "create", "c1", map[string]string{"name": "web"})
	b.Publish(Container, "start", "c1", map[string]string{"name": "web"})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	got := make(chan *apiv1.Event, 10)
	done := make(chan error, 1)
	go func() {
		done <- b.Subscribe(ctx, 1, 0, all, func(ev *apiv1.Event) error { got <- ev; return nil })
	}()
	for _, want := range []string{"create", "start"} {
		if ev := <-got; ev.Action != want {
			t.Fatalf("history: got %s, want %s", ev.Action, want)
		}
	}
	// The history is sent after the subscription is made, under one
	// lock: the next event cannot be missed.
	b.Publish(Container, "die", "c1", map[string]string{"exitCode": "0"})
	if ev := <-got; ev.Action != "die" || ev.Actor.Attributes["exitCode"] != "0" {
		t.Fatalf("live: got %v", ev)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

func TestUntilInThePastEnds(t *testing.T) {
	b := New()
	b.Publish(Image, "pull", "busybox:latest", nil)
	b.Publish(Image, "tag", "sha256:1", nil)
	var n int
	until := time.Now().Add(-time.Nanosecond).UnixNano()
	b.Publish(Image, "untag", "sha256:1", nil)
	err := b.Subscribe(context.Background(), 1, until, all, func(*apiv1.Event) error { n++; return nil })
	if err != nil || n != 2 {
		t.Fatalf("got %d events, err %v; want the 2 before until", n, err)
	}
}

func TestTimesAreUniqueAndRising(t *testing.T) {
	b := New()
	fixed := time.Unix(100, 0)
	b.now = func() time.Time { return fixed }
	for range 3 {
		b.Publish(Volume, "create", "v", nil)
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	for i := 1; i < len(b.history); i++ {
		if b.history[i].TimeNano <= b.history[i-1].TimeNano {
			t.Fatalf("times not rising: %d then %d", b.history[i-1].TimeNano, b.history[i].TimeNano)
		}
	}
}

func TestHistoryIsBounded(t *testing.T) {
	b := New()
	for range historySize + 10 {
		b.Publish(Volume, "create", "v", nil)
	}
	var first int64
	var n int
	_ = b.Subscribe(context.Background(), 1, time.Now().Add(-time.Nanosecond).UnixNano()+int64(time.Hour), all, func(ev *apiv1.Event) error {
		if n == 0 {
			first = ev.TimeNano
		}
		n++
		if n == historySize {
			return errors.New("enough")
		}
		return nil
	})
	if n != historySize || first == 0 {
		t.Fatalf("got %d events of history, want %d", n, historySize)
	}
}

func TestNilBusDrops(t *testing.T) {
	var b *Bus
	b.Publish(Container, "create", "x", nil)
}

func TestFilter(t *testing.T) {
	ctr := &apiv1.Event{Type: Container, Action: "exec_start: sh -c true", Actor: &apiv1.EventActor{Id: "abcdef0123", Attributes: map[string]string{"name": "web", "image": "busybox:latest", "app": "x"}}, Scope: "local"}
	img := &apiv1.Event{Type: Image, Action: "tag", Actor: &apiv1.EventActor{Id: "sha256:feedbeef", Attributes: map[string]string{"name": "busybox"}}, Scope: "local"}
	net := &apiv1.Event{Type: Network, Action: "connect", Actor: &apiv1.EventActor{Id: "n1", Attributes: map[string]string{"name": "front", "container": "abcdef0123"}}, Scope: "local"}
	tests := []struct {
		name    string
		filters map[string][]string
		want    []bool // ctr, img, net
	}{
		{"none", nil, []bool{true, true, true}},
		{"type", map[string][]string{"type": {"image", "network"}}, []bool{false, true, true}},
		{"container by name", map[string][]string{"container": {"web"}}, []bool{true, false, false}},
		{"container by id prefix", map[string][]string{"container": {"abc"}}, []bool{true, false, false}},
		{"event prefix", map[string][]string{"event": {"exec_start"}}, []bool{true, false, false}},
		{"image of a container and an image", map[string][]string{"image": {"busybox"}}, []bool{true, true, false}},
		{"label", map[string][]string{"label": {"app=x"}}, []bool{true, false, false}},
		{"network", map[string][]string{"network": {"front"}}, []bool{false, false, true}},
		{"keys and", map[string][]string{"type": {"container"}, "event": {"tag"}}, []bool{false, false, false}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := map[string]*apiv1.FilterValues{}
			for k, v := range tc.filters {
				f[k] = &apiv1.FilterValues{Values: v}
			}
			match, err := Filter(f)
			if err != nil {
				t.Fatal(err)
			}
			for i, ev := range []*apiv1.Event{ctr, img, net} {
				if got := match(ev); got != tc.want[i] {
					t.Errorf("%s event: match %v, want %v", ev.Type, got, tc.want[i])
				}
			}
		})
	}
	if _, err := Filter(map[string]*apiv1.FilterValues{"colour": {Values: []string{"red"}}}); err == nil {
		t.Error("an unknown filter key was accepted")
	}
}
