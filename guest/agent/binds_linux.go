package agent

import (
	"context"
	"slices"
	"time"

	apiv1 "github.com/skiffrun/skiff/guest/api/v1"
	"github.com/skiffrun/skiff/guest/events"
)

// bindsRecheck is how often WatchBinds looks again with no event.
const bindsRecheck = 5 * time.Second

// WatchBinds calls f with the bind-mount sources (guest paths) of the
// running containers now, and again after each container event that may
// change them (start, die, destroy ...), until ctx ends. It is how the
// machine's file events learn what to watch (guest/fsevents).
func (a *Agent) WatchBinds(ctx context.Context, f func(sources []string)) {
	match := func(ev *apiv1.Event) bool {
		if ev.GetType() != events.Container {
			return false
		}
		switch ev.GetAction() {
		case "start", "die", "destroy", "restart", "pause", "unpause":
			return true
		}
		return false
	}
	kick := make(chan struct{}, 1)
	go func() {
		_ = a.bus.Subscribe(ctx, 0, 0, match, func(*apiv1.Event) error {
			select {
			case kick <- struct{}{}:
			default:
			}
			return nil
		})
	}()
	// The subscription starts in its goroutine: a look now and then
	// catches what happened before it did.
	tick := time.NewTicker(bindsRecheck)
	defer tick.Stop()
	var last []string
	first := true
	for {
		src := a.bindSources()
		if first || !slices.Equal(src, last) {
			f(src)
			first, last = false, src
		}
		select {
		case <-ctx.Done():
			return
		case <-kick:
		case <-tick.C:
		}
	}
}

// bindSources are the running containers' bind sources, sorted, once each.
func (a *Agent) bindSources() []string {
	recs, err := a.containers.List(&apiv1.ListContainersRequest{})
	if err != nil {
		return nil
	}
	var out []string
	for _, rec := range recs {
		for _, mp := range rec.GetMounts() {
			if mp.GetType() == "bind" {
				out = append(out, mp.GetSource())
			}
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}
