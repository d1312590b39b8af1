// Package events is skiff events on the host: it asks the agent's event
// bus for the events a user's --since, --until and --filter select, and
// prints them as docker's CLI does (one text line each, or --format). It
// also turns an agent event into docker's message shape, for the Docker
// API's /events. Which events exist is the agent's (guest/events).
package events

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"
	"time"

	apiv1 "github.com/skiffrun/skiff/guest/api/v1"
	"github.com/skiffrun/skiff/host/agentclient"
	"github.com/skiffrun/skiff/host/format"
	"github.com/skiffrun/skiff/host/opts"
)

// Options are skiff events' flags.
type Options struct {
	Since, Until string
	Filters      []string
	Format       string
}

// Request turns the flags into the agent's request, times relative to
// now.
func (o Options) Request(now time.Time) (*apiv1.EventsRequest, error) {
	since, err := opts.Timestamp("since", o.Since, now)
	if err != nil {
		return nil, err
	}
	until, err := opts.Timestamp("until", o.Until, now)
	if err != nil {
		return nil, err
	}
	filters, err := opts.Filters("filter", o.Filters)
	if err != nil {
		return nil, err
	}
	req := &apiv1.EventsRequest{Filters: filters}
	if !since.IsZero() {
		req.Since = since.UnixNano()
	}
	if !until.IsZero() {
		req.Until = until.UnixNano()
		if req.Since == 0 {
			// docker's --until alone means the history up to then.
			req.Since = 1
		}
	}
	if req.Until > 0 && req.Since > req.Until {
		return nil, opts.Invalid("since", o.Since, "it is after --until %s; give a --since before --until", o.Until)
	}
	return req, nil
}

// Stream calls fn with each event the agent sends for req, until the
// stream ends (until passed), ctx ends or fn fails.
func Stream(ctx context.Context, c *agentclient.Client, req *apiv1.EventsRequest, fn func(*apiv1.Event) error) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	s, err := c.Events.Events(ctx, req)
	if err != nil {
		return err
	}
	for {
		ev, err := s.Recv()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return err
		}
		if err := fn(ev); err != nil {
			return err
		}
	}
}

// Actor is the object of a Message.
type Actor struct {
	ID         string
	Attributes map[string]string
}

// Message is an event in docker's shape, the one /events sends and
// skiff events --format sees.
type Message struct {
	// Status, ID and From are docker's older fields, still sent for
	// container and image events.
	Status   string `json:"status,omitempty"`
	ID       string `json:"id,omitempty"`
	From     string `json:"from,omitempty"`
	Type     string
	Action   string
	Actor    Actor
	Scope    string `json:"scope"`
	Time     int64  `json:"time"`
	TimeNano int64  `json:"timeNano"`
}

// NewMessage converts an agent event to docker's shape.
func NewMessage(ev *apiv1.Event) Message {
	m := Message{
		Type:     ev.GetType(),
		Action:   ev.GetAction(),
		Actor:    Actor{ID: ev.GetActor().GetId(), Attributes: ev.GetActor().GetAttributes()},
		Scope:    ev.GetScope(),
		Time:     ev.GetTimeNano() / int64(time.Second),
		TimeNano: ev.GetTimeNano(),
	}
	if m.Actor.Attributes == nil {
		m.Actor.Attributes = map[string]string{}
	}
	switch m.Type {
	case "container":
		m.Status, m.ID, m.From = m.Action, m.Actor.ID, m.Actor.Attributes["image"]
	case "image":
		m.Status, m.ID = m.Action, m.Actor.ID
	}
	return m
}

// Line is docker's text line of an event:
//
//	2026-12-04T18:00:00.000000000Z container start ID (image=busybox, name=web)
func Line(m Message) string {
	var b strings.Builder
	b.WriteString(time.Unix(0, m.TimeNano).Format("2006-01-02T15:04:05.000000000Z07:00"))
	fmt.Fprintf(&b, " %s %s %s", m.Type, m.Action, m.Actor.ID)
	if len(m.Actor.Attributes) > 0 {
		keys := make([]string, 0, len(m.Actor.Attributes))
		for k := range m.Actor.Attributes {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		pairs := make([]string, len(keys))
		for i, k := range keys {
			pairs[i] = k + "=" + m.Actor.Attributes[k]
		}
		fmt.Fprintf(&b, " (%s)", strings.Join(pairs, ", "))
	}
	return b.String()
}

// Print prints events as skiff events does, until --until passes or ctx
// ends (an interrupt).
func Print(ctx context.Context, c *agentclient.Client, w io.Writer, o Options) error {
	req, err := o.Request(time.Now())
	if err != nil {
		return err
	}
	var f *format.Format
	if o.Format != "" {
		if f, err = format.Parse(o.Format, ""); err != nil {
			return opts.Invalid("format", o.Format, "%v", err)
		}
	}
	return Stream(ctx, c, req, func(ev *apiv1.Event) error {
		m := NewMessage(ev)
		if f == nil {
			_, err := fmt.Fprintln(w, Line(m))
			return err
		}
		return f.Write(w, nil, []any{m})
	})
}
