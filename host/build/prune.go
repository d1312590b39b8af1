package build

import (
	"context"
	"fmt"
	"io"
	"strings"
	"time"

	apiv1 "github.com/skiffrun/skiff/guest/api/v1"
	"github.com/skiffrun/skiff/host/agentclient"
	"github.com/skiffrun/skiff/host/format"
	"github.com/skiffrun/skiff/host/opts"
)

// PruneOptions are builder prune's flags.
type PruneOptions struct {
	// All is accepted for docker's sake: outside a build no record is in
	// use, so a prune removes them all either way.
	All         bool
	Force       bool
	Filters     []string
	KeepStorage string
}

// PruneRequest turns builder prune's filters (until=DURATION, or its
// older name unused-for) and keep-storage bytes into the agent's request;
// the Docker API's POST /build/prune takes the same.
func PruneRequest(filters map[string][]string, keepStorage int64, now time.Time) (*apiv1.PruneBuildCacheRequest, error) {
	req := &apiv1.PruneBuildCacheRequest{KeepStorage: keepStorage}
	for k, vs := range filters {
		switch k {
		case "until", "unused-for":
			if len(vs) != 1 {
				return nil, fmt.Errorf("give one %s filter, as in %s=24h", k, k)
			}
			d, err := time.ParseDuration(vs[0])
			if err != nil {
				return nil, fmt.Errorf("%s=%q: give a duration, as in %s=24h", k, vs[0], k)
			}
			req.Until = now.Add(-d).UnixNano()
		default:
			return nil, fmt.Errorf("invalid filter %q: the build cache takes until and unused-for", k)
		}
	}
	return req, nil
}

// Prune removes the builder's step cache records, as docker builder prune
// does, and prints what went and the space freed.
func Prune(ctx context.Context, c *agentclient.Client, in io.Reader, out io.Writer, o PruneOptions) error {
	filters := map[string][]string{}
	for _, f := range o.Filters {
		k, v, ok := strings.Cut(f, "=")
		if !ok {
			return opts.Invalid("filter", f, "give KEY=VALUE, as in until=24h")
		}
		filters[k] = append(filters[k], v)
	}
	var keep int64
	if o.KeepStorage != "" {
		n, err := opts.Bytes("keep-storage", o.KeepStorage)
		if err != nil {
			return err
		}
		keep = n
	}
	req, err := PruneRequest(filters, keep, time.Now())
	if err != nil {
		return opts.Invalid("filter", strings.Join(o.Filters, ","), "%v", err)
	}
	if !o.Force {
		warning := "WARNING! This will remove all dangling build cache."
		if o.All {
			warning = "WARNING! This will remove all build cache."
		}
		fmt.Fprintf(out, "%s\nAre you sure you want to continue? [y/N] ", warning)
		var answer string
		if in != nil {
			_, _ = fmt.Fscanln(in, &answer)
		}
		if a := strings.ToLower(strings.TrimSpace(answer)); a != "y" && a != "yes" {
			return nil
		}
	}
	resp, err := c.BuildCache.Prune(ctx, req)
	if err != nil {
		return err
	}
	if len(resp.GetDeleted()) > 0 {
		fmt.Fprintln(out, "Deleted build cache objects:")
		for _, id := range resp.GetDeleted() {
			fmt.Fprintln(out, id)
		}
		fmt.Fprintln(out)
	}
	_, err = fmt.Fprintf(out, "Total reclaimed space: %s\n", format.Size(resp.GetSpaceReclaimed()))
	return err
}
