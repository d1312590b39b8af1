package images

import (
	"context"
	"strconv"
	"strings"
	"time"

	apiv1 "github.com/skiffrun/skiff/guest/api/v1"
	"github.com/skiffrun/skiff/host/agentclient"
	"github.com/skiffrun/skiff/host/format"
	"github.com/skiffrun/skiff/host/opts"
)

// HistoryOptions are history's flags.
type HistoryOptions struct {
	Image   string
	NoTrunc bool
	Quiet   bool
	// Human spells times and sizes for people (docker's -H, on by
	// default); off, they are RFC 3339 times and byte counts.
	Human  bool
	Format string
}

const (
	defaultHistoryFormat = "table {{.ID}}\t{{.CreatedSince}}\t{{.CreatedBy}}\t{{.Size}}\t{{.Comment}}"
	// createdByWidth is where docker cuts CREATED BY in its table.
	createdByWidth = 45
)

var historyHeader = map[string]string{
	"ID":           "IMAGE",
	"CreatedSince": "CREATED",
	"CreatedAt":    "CREATED AT",
	"CreatedBy":    "CREATED BY",
	"Size":         "SIZE",
	"Comment":      "COMMENT",
}

// HistoryRow is one line of docker history; its fields are what --format
// sees.
type HistoryRow struct {
	ID           string
	CreatedSince string
	CreatedAt    string
	CreatedBy    string
	Size         string
	Comment      string
}

// History returns image ref's history entries, the newest first.
func History(ctx context.Context, c *agentclient.Client, ref string) ([]*apiv1.ImageHistoryEntry, error) {
	resp, err := c.History.History(ctx, &apiv1.ImageRef{Ref: ref})
	if err != nil {
		return nil, err
	}
	return resp.GetEntries(), nil
}

// HistoryRows renders entries as history's lines at time now.
func HistoryRows(entries []*apiv1.ImageHistoryEntry, now time.Time, o HistoryOptions) []HistoryRow {
	rows := make([]HistoryRow, 0, len(entries))
	for _, e := range entries {
		r := HistoryRow{ID: e.GetId(), CreatedBy: strings.ReplaceAll(e.GetCreatedBy(), "\t", " "), Comment: e.GetComment()}
		if !o.NoTrunc {
			r.ID = shortImageID(r.ID)
			r.CreatedBy = format.Ellipsis(r.CreatedBy, createdByWidth)
		}
		created := format.Time(e.GetCreated())
		switch {
		case created.IsZero():
			r.CreatedSince, r.CreatedAt = "N/A", "N/A"
		case o.Human:
			r.CreatedSince = format.Ago(created, now)
			r.CreatedAt = created.Local().Format(time.RFC3339)
		default:
			r.CreatedSince = created.Local().Format(time.RFC3339)
			r.CreatedAt = r.CreatedSince
		}
		if o.Human {
			r.Size = format.Size(e.GetSize())
		} else {
			r.Size = strconv.FormatInt(e.GetSize(), 10)
		}
		rows = append(rows, r)
	}
	return rows
}

// shortImageID is an image ID as docker's tables show it: 12 hex digits
// without the algorithm; "<missing>" stays.
func shortImageID(id string) string {
	hex, ok := strings.CutPrefix(id, "sha256:")
	if !ok {
		return id
	}
	if len(hex) > shortID {
		hex = hex[:shortID]
	}
	return hex
}

// PrintHistory prints an image's history as docker history does.
func PrintHistory(ctx context.Context, c *agentclient.Client, s Streams, o HistoryOptions) error {
	tmpl := o.Format
	if o.Quiet {
		tmpl = "{{.ID}}"
	}
	f, err := format.Parse(tmpl, defaultHistoryFormat)
	if err != nil {
		return opts.Invalid("format", o.Format, "%v", err)
	}
	entries, err := History(ctx, c, o.Image)
	if err != nil {
		return err
	}
	var rows []any
	for _, r := range HistoryRows(entries, time.Now(), o) {
		rows = append(rows, r)
	}
	return f.Write(s.Out, historyHeader, rows)
}
