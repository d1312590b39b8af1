package containers

import (
	"context"
	"errors"
	"io"
	"strconv"
	"time"

	apiv1 "github.com/skiffrun/skiff/guest/api/v1"
	"github.com/skiffrun/skiff/host/agentclient"
	"github.com/skiffrun/skiff/host/format"
	"github.com/skiffrun/skiff/host/opts"
)

// LogsOptions are logs's flags.
type LogsOptions struct {
	Container  string
	Follow     bool
	Timestamps bool
	// Tail is a number of lines or "all".
	Tail  string
	Since string
	Until string
}

// timestampLayout is docker's: fixed nine fraction digits, so the
// timestamps of a log line up.
const timestampLayout = "2006-01-02T15:04:05.000000000Z07:00"

// Request checks o and builds the agent's logs request.
func (o LogsOptions) Request(now time.Time) (*apiv1.LogsRequest, error) {
	req := &apiv1.LogsRequest{Id: o.Container, Follow: o.Follow, Tail: -1, Stdout: true, Stderr: true}
	if o.Tail != "" && o.Tail != "all" {
		n, err := strconv.ParseInt(o.Tail, 10, 64)
		if err != nil {
			return nil, opts.Invalid("tail", o.Tail, "use a number of lines, or all")
		}
		if n >= 0 {
			req.Tail = n
		}
	}
	since, err := opts.Timestamp("since", o.Since, now)
	if err != nil {
		return nil, err
	}
	until, err := opts.Timestamp("until", o.Until, now)
	if err != nil {
		return nil, err
	}
	if !since.IsZero() {
		req.Since = since.UnixNano()
	}
	if !until.IsZero() {
		req.Until = until.UnixNano()
	}
	return req, nil
}

// Logs prints a container's logs, stderr lines on stderr, and with Follow
// keeps printing until the container stops or ctx ends.
func Logs(ctx context.Context, c *agentclient.Client, s Streams, o LogsOptions) error {
	req, err := o.Request(time.Now())
	if err != nil {
		return err
	}
	st, err := c.Containers.Logs(ctx, req)
	if err != nil {
		return err
	}
	for {
		e, err := st.Recv()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
		w := s.Out
		if e.GetStream() == apiv1.StreamKind_STREAM_STDERR {
			w = s.Err
		}
		if o.Timestamps {
			if _, err := io.WriteString(w, format.Time(e.GetTime()).Format(timestampLayout)+" "); err != nil {
				return err
			}
		}
		if _, err := w.Write(e.GetData()); err != nil {
			return err
		}
	}
}
