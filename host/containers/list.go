package containers

import (
	"context"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	apiv1 "github.com/skiffrun/skiff/guest/api/v1"
	"github.com/skiffrun/skiff/host/agentclient"
	"github.com/skiffrun/skiff/host/format"
	"github.com/skiffrun/skiff/host/opts"
)

// ListOptions are ps's flags.
type ListOptions struct {
	All     bool
	Quiet   bool
	Size    bool
	NoTrunc bool
	Latest  bool
	// Last lists the n most recently created; -1 means no limit.
	Last    int
	Filters []string
	Format  string
}

const (
	defaultListFormat = "table {{.ID}}\t{{.Image}}\t{{.Command}}\t{{.RunningFor}}\t{{.Status}}\t{{.Ports}}\t{{.Names}}"
	// commandWidth is how much of a command docker's ps shows.
	commandWidth = 20
	// shortID is the length of an id in tables.
	shortID = 12
)

// listHeader titles ps's columns, docker's way.
var listHeader = map[string]string{
	"ID":           "CONTAINER ID",
	"Image":        "IMAGE",
	"Command":      "COMMAND",
	"CreatedAt":    "CREATED AT",
	"RunningFor":   "CREATED",
	"Ports":        "PORTS",
	"State":        "STATE",
	"Status":       "STATUS",
	"Size":         "SIZE",
	"Names":        "NAMES",
	"Labels":       "LABELS",
	"Mounts":       "MOUNTS",
	"Networks":     "NETWORKS",
	"LocalVolumes": "LOCAL VOLUMES",
}

// Row is one container as ps shows it; its fields are what --format
// templates (and --format json) see.
type Row struct {
	ID           string
	Image        string
	Command      string
	CreatedAt    string
	RunningFor   string
	Ports        string
	State        string
	Status       string
	Size         string
	Names        string
	Labels       string
	Mounts       string
	Networks     string
	LocalVolumes string

	labels map[string]string
}

// Label returns the value of one label, for {{.Label "name"}}.
func (r Row) Label(name string) string { return r.labels[name] }

// NewRow renders a container for ps at time now.
func NewRow(c *apiv1.Container, now time.Time, trunc bool) Row {
	created := format.Time(c.GetCreated())
	// docker's daemon quotes arguments with spaces in this column.
	cmd := c.GetPath()
	for _, arg := range c.GetArgs() {
		if strings.Contains(arg, " ") {
			arg = "'" + arg + "'"
		}
		cmd += " " + arg
	}
	id, image := c.GetId(), c.GetImage()
	if trunc {
		id = truncID(id)
		cmd = format.Ellipsis(cmd, commandWidth)
		if strings.HasPrefix(image, "sha256:") {
			image = truncID(image)
		} else if name, _, ok := strings.Cut(image, "@sha256:"); ok {
			image = name
		}
	}
	labels := c.GetConfig().GetLabels()
	keys := make([]string, 0, len(labels))
	for k := range labels {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	pairs := make([]string, len(keys))
	for i, k := range keys {
		pairs[i] = k + "=" + labels[k]
	}
	return Row{
		ID:           id,
		Image:        image,
		Command:      strconv.Quote(cmd),
		CreatedAt:    created.Format("2006-01-02 15:04:05 -0700 MST"),
		RunningFor:   format.Ago(created, now),
		State:        c.GetState().GetStatus(),
		Status:       StatusText(c.GetState(), now),
		Size:         "N/A",
		Names:        strings.TrimPrefix(c.GetName(), "/"),
		Labels:       strings.Join(pairs, ","),
		Networks:     networksColumn(c),
		Ports:        PortsColumn(c),
		LocalVolumes: "0",
		labels:       labels,
	}
}

// StatusText is ps's STATUS column: "Up 3 seconds", "Exited (0) 2 minutes
// ago", "Created", "Restarting (1) 1 second ago", docker's words.
func StatusText(st *apiv1.ContainerState, now time.Time) string {
	started, finished := format.Time(st.GetStartedAt()), format.Time(st.GetFinishedAt())
	switch {
	case st.GetRestarting() || st.GetStatus() == "restarting":
		return fmt.Sprintf("Restarting (%d) %s", st.GetExitCode(), format.Ago(finished, now))
	case st.GetPaused() || st.GetStatus() == "paused":
		return fmt.Sprintf("Up %s (Paused)", format.Since(started, now))
	case st.GetRunning() || st.GetStatus() == "running":
		return "Up " + format.Since(started, now) + healthSuffix(st.GetHealth())
	case st.GetStatus() == "removing":
		return "Removal In Progress"
	case st.GetDead() || st.GetStatus() == "dead":
		return "Dead"
	case started.IsZero():
		return "Created"
	case finished.IsZero():
		return ""
	}
	return fmt.Sprintf("Exited (%d) %s", st.GetExitCode(), format.Ago(finished, now))
}

// List prints containers as docker ps does.
func List(ctx context.Context, c *agentclient.Client, s Streams, o ListOptions) error {
	filters, err := opts.Filters("filter", o.Filters)
	if err != nil {
		return err
	}
	tmpl := o.Format
	switch {
	case o.Quiet:
		tmpl = "{{.ID}}"
	case tmpl == "" && o.Size:
		tmpl = defaultListFormat + "\t{{.Size}}"
	}
	f, err := format.Parse(tmpl, defaultListFormat)
	if err != nil {
		return opts.Invalid("format", o.Format, "%v", err)
	}
	req := &apiv1.ListContainersRequest{All: o.All, Filters: filters}
	if o.Last > 0 {
		req.All, req.Limit = true, int32(o.Last)
	}
	if o.Latest {
		req.All, req.Limit = true, 1
	}
	resp, err := c.Containers.List(ctx, req)
	if err != nil {
		return err
	}
	ctrs := resp.GetContainers()
	sort.SliceStable(ctrs, func(i, j int) bool { return ctrs[i].GetCreated() > ctrs[j].GetCreated() })
	now := time.Now()
	rows := make([]any, len(ctrs))
	for i, ctr := range ctrs {
		rows[i] = NewRow(ctr, now, !o.NoTrunc)
	}
	return f.Write(s.Out, listHeader, rows)
}

func truncID(id string) string {
	id = strings.TrimPrefix(id, "sha256:")
	if len(id) > shortID {
		return id[:shortID]
	}
	return id
}
