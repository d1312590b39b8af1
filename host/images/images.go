// Package images carries out the image commands of the CLI (images, image
// inspect, tag, rmi, load, save, import, pull, push, image prune): it
// validates what the command parsed, calls the agent's Images service and
// prints what docker prints, pull and push progress included. The agent
// does the pulling; credentials come from the caller's RegistryResolver
// (host/registry).
package images

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"
	"time"

	"github.com/skiffrun/skiff/guest/api/chunk"
	apiv1 "github.com/skiffrun/skiff/guest/api/v1"
	"github.com/skiffrun/skiff/host/agentclient"
	"github.com/skiffrun/skiff/host/format"
	"github.com/skiffrun/skiff/host/opts"
	"github.com/skiffrun/skiff/host/tty"
)

// Streams are the CLI's standard streams.
type Streams struct {
	In  io.Reader
	Out io.Writer
	Err io.Writer
}

// ListOptions are images's flags.
type ListOptions struct {
	// Reference, when set, lists only images matching it (REPOSITORY[:TAG]).
	Reference string
	All       bool
	Quiet     bool
	Digests   bool
	NoTrunc   bool
	Filters   []string
	Format    string
}

const (
	defaultListFormat        = "table {{.Repository}}\t{{.Tag}}\t{{.ID}}\t{{.CreatedSince}}\t{{.Size}}"
	defaultListFormatDigests = "table {{.Repository}}\t{{.Tag}}\t{{.Digest}}\t{{.ID}}\t{{.CreatedSince}}\t{{.Size}}"
	none                     = "<none>"
	shortID                  = 12
)

var listHeader = map[string]string{
	"Repository":   "REPOSITORY",
	"Tag":          "TAG",
	"Digest":       "DIGEST",
	"ID":           "IMAGE ID",
	"CreatedSince": "CREATED",
	"CreatedAt":    "CREATED AT",
	"Size":         "SIZE",
	"Containers":   "CONTAINERS",
	"SharedSize":   "SHARED SIZE",
	"UniqueSize":   "UNIQUE SIZE",
	"VirtualSize":  "VIRTUAL SIZE",
}

// Row is one line of the images listing: one per tag of an image, as in
// docker. Its fields are what --format sees.
type Row struct {
	Repository   string
	Tag          string
	Digest       string
	ID           string
	CreatedSince string
	CreatedAt    string
	Size         string
	Containers   string
	SharedSize   string
	UniqueSize   string
	VirtualSize  string
}

// Rows renders an image as its listing lines at time now.
func Rows(img *apiv1.Image, now time.Time, trunc bool) []Row {
	created := format.Time(img.GetCreated())
	id := img.GetId()
	if trunc {
		id = strings.TrimPrefix(id, "sha256:")
		if len(id) > shortID {
			id = id[:shortID]
		}
	}
	base := Row{
		Repository:   none,
		Tag:          none,
		Digest:       none,
		ID:           id,
		CreatedSince: format.Ago(created, now),
		CreatedAt:    created.Format("2006-01-02 15:04:05 -0700 MST"),
		Size:         format.Size(img.GetSize()),
		Containers:   "N/A",
		SharedSize:   "N/A",
		UniqueSize:   "N/A",
		VirtualSize:  format.Size(img.GetSize()),
	}
	digests := map[string]string{}
	for _, d := range img.GetRepoDigests() {
		if repo, dig, ok := strings.Cut(d, "@"); ok {
			digests[repo] = dig
		}
	}
	if len(img.GetRepoTags()) == 0 {
		if ds := img.GetRepoDigests(); len(ds) > 0 {
			if repo, dig, ok := strings.Cut(ds[0], "@"); ok {
				base.Repository, base.Digest = repo, dig
			}
		}
		return []Row{base}
	}
	rows := make([]Row, 0, len(img.GetRepoTags()))
	for _, rt := range img.GetRepoTags() {
		r := base
		r.Repository, r.Tag = splitTag(rt)
		if d, ok := digests[r.Repository]; ok {
			r.Digest = d
		}
		rows = append(rows, r)
	}
	return rows
}

// splitTag splits repo:tag, minding a registry's port (localhost:5000/x).
func splitTag(ref string) (repo, tag string) {
	i := strings.LastIndex(ref, ":")
	if i < 0 || strings.Contains(ref[i:], "/") {
		return ref, none
	}
	return ref[:i], ref[i+1:]
}

// List prints images as docker images does.
func List(ctx context.Context, c *agentclient.Client, s Streams, o ListOptions) error {
	filters, err := opts.Filters("filter", o.Filters)
	if err != nil {
		return err
	}
	if o.Reference != "" {
		if filters == nil {
			filters = map[string]*apiv1.FilterValues{}
		}
		if filters["reference"] == nil {
			filters["reference"] = &apiv1.FilterValues{}
		}
		filters["reference"].Values = append(filters["reference"].Values, o.Reference)
	}
	def := defaultListFormat
	if o.Digests {
		def = defaultListFormatDigests
	}
	tmpl := o.Format
	if o.Quiet {
		tmpl = "{{.ID}}"
	}
	f, err := format.Parse(tmpl, def)
	if err != nil {
		return opts.Invalid("format", o.Format, "%v", err)
	}
	resp, err := c.Images.List(ctx, &apiv1.ListImagesRequest{All: o.All, Filters: filters})
	if err != nil {
		return err
	}
	imgs := resp.GetImages()
	sort.SliceStable(imgs, func(i, j int) bool { return imgs[i].GetCreated() > imgs[j].GetCreated() })
	now := time.Now()
	var rows []any
	seen := map[string]bool{}
	for _, img := range imgs {
		for _, r := range Rows(img, now, !o.NoTrunc) {
			// -q lists each image once, however many tags it has.
			if o.Quiet {
				if seen[r.ID] {
					continue
				}
				seen[r.ID] = true
			}
			rows = append(rows, r)
		}
	}
	return f.Write(s.Out, listHeader, rows)
}

// Tag gives an image another name.
func Tag(ctx context.Context, c *agentclient.Client, source, target string) error {
	_, err := c.Images.Tag(ctx, &apiv1.TagRequest{Source: source, Target: target})
	return err
}

// RemoveOptions are rmi's flags.
type RemoveOptions struct {
	Images []string
	Force  bool
}

// Remove untags and deletes images, printing what happened to each.
func Remove(ctx context.Context, c *agentclient.Client, s Streams, o RemoveOptions) error {
	var errs []error
	for _, ref := range o.Images {
		resp, err := c.Images.Remove(ctx, &apiv1.RemoveImageRequest{Ref: ref, Force: o.Force})
		if err != nil {
			errs = append(errs, err)
			continue
		}
		for _, u := range resp.GetUntagged() {
			fmt.Fprintf(s.Out, "Untagged: %s\n", u)
		}
		for _, d := range resp.GetDeleted() {
			fmt.Fprintf(s.Out, "Deleted: %s\n", d)
		}
	}
	return errors.Join(errs...)
}

// Inspect is an image shaped as docker's image inspect prints it.
type Inspect struct {
	ID            string `json:"Id"`
	RepoTags      []string
	RepoDigests   []string
	Parent        string
	Comment       string
	Created       string
	DockerVersion string
	Author        string
	Config        InspectConfig
	Architecture  string
	Variant       string `json:",omitempty"`
	Os            string
	Size          int64
	RootFS        InspectRootFS
}

// InspectConfig is docker's image Config.
type InspectConfig struct {
	User         string
	ExposedPorts map[string]struct{} `json:",omitempty"`
	Env          []string
	Entrypoint   []string
	Cmd          []string
	Volumes      map[string]struct{} `json:",omitempty"`
	WorkingDir   string
	Labels       map[string]string
	StopSignal   string              `json:",omitempty"`
	Healthcheck  *InspectHealthcheck `json:",omitempty"`
}

// InspectHealthcheck is docker's image Config.Healthcheck, durations in
// nanoseconds.
type InspectHealthcheck struct {
	Test        []string      `json:",omitempty"`
	Interval    time.Duration `json:",omitempty"`
	Timeout     time.Duration `json:",omitempty"`
	StartPeriod time.Duration `json:",omitempty"`
	Retries     int           `json:",omitempty"`
}

// InspectRootFS is docker's RootFS.
type InspectRootFS struct {
	Type   string
	Layers []string
}

// NewInspect shapes img as docker's image inspect does.
func NewInspect(img *apiv1.Image) Inspect {
	cfg := img.GetConfig()
	out := Inspect{
		ID:           img.GetId(),
		RepoTags:     nonNil(img.GetRepoTags()),
		RepoDigests:  nonNil(img.GetRepoDigests()),
		Created:      format.RFC3339Nano(format.Time(img.GetCreated())),
		Author:       img.GetAuthor(),
		Comment:      img.GetComment(),
		Architecture: img.GetArchitecture(),
		Variant:      img.GetVariant(),
		Os:           img.GetOs(),
		Size:         img.GetSize(),
		Config: InspectConfig{
			User:         cfg.GetUser(),
			ExposedPorts: set(cfg.GetExposedPorts()),
			Env:          cfg.GetEnv(),
			Entrypoint:   cfg.GetEntrypoint(),
			Cmd:          cfg.GetCmd(),
			Volumes:      set(cfg.GetVolumes()),
			WorkingDir:   cfg.GetWorkingDir(),
			Labels:       cfg.GetLabels(),
			StopSignal:   cfg.GetStopSignal(),
		},
		RootFS: InspectRootFS{Type: "layers", Layers: nonNil(img.GetLayers())},
	}
	if hc := cfg.GetHealthcheck(); hc != nil {
		out.Config.Healthcheck = &InspectHealthcheck{
			Test:        hc.GetTest(),
			Interval:    time.Duration(hc.GetInterval()),
			Timeout:     time.Duration(hc.GetTimeout()),
			StartPeriod: time.Duration(hc.GetStartPeriod()),
			Retries:     int(hc.GetRetries()),
		}
	}
	return out
}

func set(items []string) map[string]struct{} {
	if len(items) == 0 {
		return nil
	}
	m := make(map[string]struct{}, len(items))
	for _, it := range items {
		m[it] = struct{}{}
	}
	return m
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// LoadOptions are load's flags.
type LoadOptions struct {
	// Input is the archive's path; "" reads standard input.
	Input string
	Quiet bool
}

// Load sends an image archive (docker save or OCI layout) to the agent in
// chunks and prints what it loaded.
func Load(ctx context.Context, c *agentclient.Client, s Streams, o LoadOptions, open func(string) (io.ReadCloser, error)) error {
	var in io.Reader
	if o.Input == "" {
		if tty.IsTerminal(s.In) {
			return opts.Usagef("requested load from stdin, but stdin is a terminal; give a file with -i, or pipe one in: skiff load < image.tar")
		}
		in = s.In
	} else {
		f, err := open(o.Input)
		if err != nil {
			return opts.Invalid("input", o.Input, "%v", err)
		}
		defer f.Close()
		in = f
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	st, err := c.Images.Load(ctx)
	if err != nil {
		return err
	}
	sendErr := make(chan error, 1)
	go func() {
		err := sendChunks(st, in)
		sendErr <- err
		if err != nil {
			// Cancelling, rather than closing the send side, keeps the
			// agent from loading a truncated archive.
			cancel()
		}
	}()
	for {
		p, err := st.Recv()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			select {
			case serr := <-sendErr:
				if serr != nil {
					return serr
				}
			default:
			}
			return err
		}
		if p.GetMessage() != "" && (!o.Quiet || len(p.GetLoaded()) > 0) {
			fmt.Fprintln(s.Out, p.GetMessage())
		}
	}
	// The agent answers only after the whole archive, so the sender is done
	// unless the agent stopped reading early; then it has nothing to add.
	select {
	case err := <-sendErr:
		return err
	default:
		return nil
	}
}

// sendChunks sends the archive from in, then closes the send side. When
// the agent ends the stream early, its Recv says why.
func sendChunks(st apiv1.Images_LoadClient, in io.Reader) error {
	w := chunk.NewWriter(func(b []byte) error { return st.Send(&apiv1.LoadChunk{Data: b}) })
	_, rerr := w.ReadFrom(in)
	if w.Flush() != nil {
		return nil
	}
	if rerr != nil {
		return fmt.Errorf("read image archive: %w", rerr)
	}
	return st.CloseSend()
}
