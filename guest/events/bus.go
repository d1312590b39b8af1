package events

import (
	"context"
	"maps"
	"sync"
	"time"

	apiv1 "github.com/skiffrun/skiff/guest/api/v1"
)

// Types of the objects events are about, docker's words.
const (
	Container = "container"
	Image     = "image"
	Network   = "network"
	Volume    = "volume"
)

// historySize is how many past events the bus keeps for --since; docker
// keeps 256, a little more costs nothing.
const historySize = 1024

// subscriberBuffer is how many events a slow subscriber may fall behind
// before it misses some; a publisher never waits for a client.
const subscriberBuffer = 256

// Bus fans events out to subscribers and keeps the recent ones. A nil
// *Bus is valid and drops everything, so publishers need no bus to work.
// Its methods are safe for concurrent use.
type Bus struct {
	mu      sync.Mutex
	history []*apiv1.Event
	// next is where the next event goes in history once it is full.
	next int
	subs map[*subscriber]struct{}
	// last is the time of the last event, so times never go backwards
	// and each is unique, which since/until rely on.
	last int64
	now  func() time.Time
}

type subscriber struct {
	ch chan *apiv1.Event
}

// New returns an empty bus.
func New() *Bus {
	return &Bus{subs: map[*subscriber]struct{}{}, now: time.Now}
}

// Publish records an event of typ (Container, Image ...) about the object
// id and sends it to every subscriber. attrs is copied.
func (b *Bus) Publish(typ, action, id string, attrs map[string]string) {
	if b == nil {
		return
	}
	ev := &apiv1.Event{
		Type:   typ,
		Action: action,
		Actor:  &apiv1.EventActor{Id: id, Attributes: maps.Clone(attrs)},
		Scope:  "local",
	}
	if ev.Actor.Attributes == nil {
		ev.Actor.Attributes = map[string]string{}
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	t := b.now().UnixNano()
	if t <= b.last {
		t = b.last + 1
	}
	b.last = t
	ev.TimeNano = t
	if len(b.history) < historySize {
		b.history = append(b.history, ev)
	} else {
		b.history[b.next] = ev
		b.next = (b.next + 1) % historySize
	}
	for s := range b.subs {
		select {
		case s.ch <- ev:
		default:
			// A client this far behind loses the event rather than
			// holding up the container it is about.
		}
	}
}

// Subscribe sends send the events that match, first those of the history
// from since (nanoseconds; 0 for none), then new ones, until until
// (nanoseconds; 0 for no end) has passed, ctx ends or send fails. Events
// are never modified; send must not modify them either.
func (b *Bus) Subscribe(ctx context.Context, since, until int64, match func(*apiv1.Event) bool, send func(*apiv1.Event) error) error {
	s := &subscriber{ch: make(chan *apiv1.Event, subscriberBuffer)}
	b.mu.Lock()
	var past []*apiv1.Event
	if since > 0 {
		past = b.ordered()
	}
	now := b.now().UnixNano()
	live := until == 0 || until > now
	if live {
		b.subs[s] = struct{}{}
	}
	b.mu.Unlock()
	if live {
		defer func() {
			b.mu.Lock()
			delete(b.subs, s)
			b.mu.Unlock()
		}()
	}
	for _, ev := range past {
		if ev.TimeNano < since || (until > 0 && ev.TimeNano > until) || !match(ev) {
			continue
		}
		if err := send(ev); err != nil {
			return err
		}
	}
	if !live {
		return nil
	}
	var deadline <-chan time.Time
	if until > 0 {
		t := time.NewTimer(time.Until(time.Unix(0, until)))
		defer t.Stop()
		deadline = t.C
	}
	for {
		select {
		case ev := <-s.ch:
			if until > 0 && ev.TimeNano > until {
				return nil
			}
			if !match(ev) {
				continue
			}
			if err := send(ev); err != nil {
				return err
			}
		case <-deadline:
			return nil
		case <-ctx.Done():
			return nil
		}
	}
}

// ordered returns the history oldest first. Call with b.mu held.
func (b *Bus) ordered() []*apiv1.Event {
	out := make([]*apiv1.Event, 0, len(b.history))
	out = append(out, b.history[b.next:]...)
	return append(out, b.history[:b.next]...)
}
