package build

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/containerd/errdefs"
	"github.com/distribution/reference"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/moby/buildkit/frontend/dockerfile/instructions"
	"github.com/moby/buildkit/frontend/dockerfile/shell"
	"golang.org/x/sys/unix"

	"github.com/skiffrun/skiff/guest/api/ociplatform"
	"github.com/skiffrun/skiff/guest/image"
	"github.com/skiffrun/skiff/guest/runner"
	"github.com/skiffrun/skiff/guest/unpack"
)

// Options are a build's settings.
type Options struct {
	Dockerfile []byte
	// DockerfileName names the Dockerfile in messages.
	DockerfileName string
	Tags           []string
	// Target is the stage to build; empty builds the last.
	Target    string
	NoCache   bool
	BuildArgs map[string]string
	Labels    map[string]string
	// Pull refreshes base images from their registries.
	Pull bool
	// Registry has the insecure registries; Auths the credentials by
	// registry domain.
	Registry image.RegistryOptions
	Auths    map[string]image.RegistryOptions
	// Platform is os/arch[/variant]; empty means the machine's.
	Platform string
}

// Builder builds images into a store. Its state (cache, work in
// progress, runtime state of RUN containers) lives under one directory.
// It is safe for concurrent use: builds share only the cache, whose
// files are written whole and renamed, and which a prune changes only
// while no build runs.
type Builder struct {
	root   string
	store  *image.Store
	runner *runner.Runner
	cache  *cache
	// pruning is held by each build for reading and by a cache prune for
	// writing.
	pruning sync.RWMutex
}

// New opens the builder's state under root and clears what a build cut
// short by an agent that stopped left there: mounts, temp directories,
// RUN containers.
func New(root string, store *image.Store) (*Builder, error) {
	b := &Builder{root: root, store: store}
	if err := os.MkdirAll(b.tmpDir(), 0o700); err != nil {
		return nil, fmt.Errorf("create build state: %w", err)
	}
	rt, err := runner.New(filepath.Join(root, "runtime"))
	if err != nil {
		return nil, err
	}
	b.runner = rt
	if ids, err := rt.Leftovers(); err == nil {
		for _, id := range ids {
			_ = rt.Destroy(id)
		}
	}
	unmountUnder(b.tmpDir())
	ents, err := os.ReadDir(b.tmpDir())
	if err != nil {
		return nil, fmt.Errorf("read build state: %w", err)
	}
	for _, e := range ents {
		if err := os.RemoveAll(filepath.Join(b.tmpDir(), e.Name())); err != nil {
			return nil, fmt.Errorf("clear build leftovers: %w", err)
		}
	}
	if b.cache, err = openCache(filepath.Join(root, "cache")); err != nil {
		return nil, err
	}
	return b, nil
}

func (b *Builder) tmpDir() string { return filepath.Join(b.root, "tmp") }

// unmountUnder detaches every mount below dir, deepest first.
func unmountUnder(dir string) {
	data, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		return
	}
	var points []string
	for _, line := range strings.Split(string(data), "\n") {
		f := strings.Fields(line)
		if len(f) > 4 && strings.HasPrefix(f[4], dir+"/") {
			points = append(points, f[4])
		}
	}
	slices.SortFunc(points, func(a, b string) int { return len(b) - len(a) })
	for _, p := range points {
		_ = unix.Unmount(p, unix.MNT_DETACH)
	}
}

// build is one build in progress.
type build struct {
	b      *Builder
	o      Options
	df     *Dockerfile
	dir    string
	ctxDir string
	// etc holds the hosts and resolv.conf files RUN containers see.
	etc string
	out *progress
	lex *shell.Lex

	// global are the build arguments declared before the first FROM and
	// the automatic platform ones.
	global []arg
	used   map[string]bool
	plans  []stagePlan
	states []*state

	// temps are images committed only to mount a step's parent; the
	// build removes them when it ends.
	temps []string
	// snaps counts snapshots, to name their directories.
	snaps int
	// current is the index of the stage being built.
	current int
}

// Build builds the image o describes from the context tar ctxTar,
// writing progress to out, and returns the image's ID. Whatever fails,
// nothing is left of the build but the cache records of the steps that
// completed.
func (b *Builder) Build(ctx context.Context, o Options, ctxTar io.Reader, out io.Writer) (id string, err error) {
	if o.DockerfileName == "" {
		o.DockerfileName = "Dockerfile"
	}
	b.pruning.RLock()
	defer b.pruning.RUnlock()
	bd := &build{b: b, o: o, out: newProgress(out), used: map[string]bool{}}
	bd.df, err = Parse(o.DockerfileName, o.Dockerfile)
	if err != nil {
		return "", err
	}
	bd.lex = shell.NewLex(bd.df.Escape)
	bd.dir, err = os.MkdirTemp(b.tmpDir(), "build-")
	if err != nil {
		return "", fmt.Errorf("build: %w", err)
	}
	defer func() {
		unmountUnder(bd.dir)
		if rerr := os.RemoveAll(bd.dir); rerr != nil && err == nil {
			err = fmt.Errorf("remove build directory: %w", rerr)
		}
		for _, t := range bd.temps {
			if img, gerr := b.store.Get(context.WithoutCancel(ctx), t); t == id || gerr != nil || len(img.RepoTags) > 0 {
				continue
			}
			if _, _, rerr := b.store.Remove(context.WithoutCancel(ctx), t, false, func(string) bool { return false }); rerr != nil && !errdefs.IsNotFound(rerr) && !errdefs.IsConflict(rerr) {
				err = errors.Join(err, fmt.Errorf("remove intermediate image: %w", rerr))
			}
		}
	}()

	step := bd.out.step("[internal] load build context")
	start := time.Now()
	if err := bd.extractContext(ctx, ctxTar); err != nil {
		return "", err
	}
	step.done(time.Since(start))
	if err := bd.writeEtc(); err != nil {
		return "", err
	}
	bd.setGlobals()
	order, plans, err := bd.df.plan(o.Target, bd.expandGlobal)
	if err != nil {
		return "", err
	}
	bd.plans = plans
	bd.states = make([]*state, len(bd.df.Stages))
	for _, i := range order {
		if err := bd.buildStage(ctx, i); err != nil {
			return "", err
		}
	}
	final := bd.states[order[len(order)-1]]
	id, err = bd.commit(ctx, final)
	if err != nil {
		return "", err
	}
	bd.warnUnused()
	return id, nil
}

// extractContext unpacks the context tar into the build's directory.
func (bd *build) extractContext(ctx context.Context, r io.Reader) error {
	bd.ctxDir = filepath.Join(bd.dir, "context")
	if err := os.Mkdir(bd.ctxDir, 0o755); err != nil {
		return fmt.Errorf("build context: %w", err)
	}
	br := bufio.NewReaderSize(r, 64<<10)
	if _, err := br.Peek(1); errors.Is(err, io.EOF) {
		return nil // no context at all: a Dockerfile from standard input
	}
	if _, err := unpack.Apply(ctx, bd.ctxDir, br); err != nil {
		return fmt.Errorf("read build context: %w", err)
	}
	// Read what follows the tar's end, so the client's stream ends
	// cleanly.
	_, _ = io.Copy(io.Discard, br)
	return nil
}

// writeEtc writes the hosts and resolv.conf files of RUN containers:
// the machine's resolver, as they use its network.
func (bd *build) writeEtc() error {
	bd.etc = filepath.Join(bd.dir, "etc")
	if err := os.Mkdir(bd.etc, 0o755); err != nil {
		return fmt.Errorf("build: %w", err)
	}
	resolv, _ := os.ReadFile("/etc/resolv.conf")
	hosts := "127.0.0.1\tlocalhost skiff-build\n::1\tlocalhost ip6-localhost ip6-loopback\n"
	for name, data := range map[string][]byte{"hosts": []byte(hosts), "resolv.conf": resolv} {
		if err := os.WriteFile(filepath.Join(bd.etc, name), data, 0o644); err != nil {
			return fmt.Errorf("build: %w", err)
		}
	}
	return nil
}

// platform is the build's target platform.
func (bd *build) platform() v1.Platform {
	if bd.o.Platform != "" {
		if p, err := ociplatform.Parse(bd.o.Platform); err == nil {
			return v1.Platform{OS: p.OS, Architecture: p.Architecture, Variant: p.Variant}
		}
	}
	return v1.Platform{OS: "linux", Architecture: runtime.GOARCH}
}

// setGlobals computes the automatic platform arguments and the ARGs
// before the first FROM.
func (bd *build) setGlobals() {
	p := bd.platform()
	host := v1.Platform{OS: "linux", Architecture: runtime.GOARCH}
	bd.global = []arg{
		{"TARGETPLATFORM", p.String()}, {"TARGETOS", p.OS}, {"TARGETARCH", p.Architecture}, {"TARGETVARIANT", p.Variant},
		{"BUILDPLATFORM", host.String()}, {"BUILDOS", host.OS}, {"BUILDARCH", host.Architecture}, {"BUILDVARIANT", ""},
	}
	for _, a := range bd.df.MetaArgs {
		for _, kv := range a.Args {
			if v, ok := bd.o.BuildArgs[kv.Key]; ok {
				bd.used[kv.Key] = true
				bd.global = setArg(bd.global, kv.Key, v)
				continue
			}
			if kv.Value == nil {
				continue
			}
			v, err := bd.expandGlobal(*kv.Value)
			if err != nil {
				v = *kv.Value
			}
			bd.global = setArg(bd.global, kv.Key, v)
		}
	}
}

func (bd *build) expandGlobal(w string) (string, error) {
	env := make([]string, 0, len(bd.global))
	for _, a := range bd.global {
		env = append(env, a.key+"="+a.value)
	}
	res, err := bd.lex.ProcessWordWithMatches(w, shell.EnvsFromSlice(env))
	return res.Result, err
}

func (bd *build) globalValue(k string) (string, bool) {
	for _, a := range bd.global {
		if a.key == k {
			return a.value, true
		}
	}
	return "", false
}

// warnUnused says which --build-arg values no ARG took, as docker does.
func (bd *build) warnUnused() {
	var unused []string
	for _, k := range slices.Sorted(maps.Keys(bd.o.BuildArgs)) {
		if !bd.used[k] && !proxyArgs[k] {
			if _, auto := bd.globalValue(k); !auto {
				unused = append(unused, k)
			}
		}
	}
	if len(unused) > 0 {
		bd.out.printf("[Warning] One or more build-args [%s] were not consumed\n", strings.Join(unused, " "))
	}
}

// buildStage builds stage i; the stages it depends on are built.
func (bd *build) buildStage(ctx context.Context, i int) error {
	bd.current = i
	stage := bd.df.Stages[i]
	p := bd.plans[i]
	name := bd.df.stageName(i)
	total := 1 + len(stage.Commands)
	label := func(k int, text string) string { return fmt.Sprintf("[%s %d/%d] %s", name, k, total, text) }

	fromText := "FROM " + p.baseName
	step := bd.out.step(label(1, fromText))
	start := time.Now()
	st, err := bd.from(ctx, p, step)
	if err != nil {
		return bd.fail(startLine(stage.Location), label(1, fromText), err)
	}
	step.done(time.Since(start))

	cmds := slices.Clone(stage.Commands)
	// The base image's ONBUILD triggers run first, as docker runs them,
	// and are not passed on.
	if triggers := st.cfg.Config.OnBuild; len(triggers) > 0 {
		st.cfg.Config.OnBuild = nil
		pre, err := parseTriggers(triggers)
		if err != nil {
			return bd.fail(startLine(stage.Location), label(1, fromText), err)
		}
		cmds = append(pre, cmds...)
		total += len(pre)
	}
	triggers := len(cmds) - len(stage.Commands)
	for k, cmd := range cmds {
		text := instructionText(cmd)
		line := startLine(cmd.Location())
		if k < triggers {
			// A trigger's line is in the base image, not this file:
			// FROM is what brought it in.
			line = startLine(stage.Location)
		}
		if err := bd.dispatch(ctx, st, cmd, label(k+2, text)); err != nil {
			return bd.fail(line, label(k+2, text), err)
		}
	}
	bd.states[i] = st
	return nil
}

// fail turns a step's error into one naming the file, line and step.
func (bd *build) fail(line int, step string, err error) error {
	var be *Error
	if errors.As(err, &be) {
		return err
	}
	if errors.Is(err, context.Canceled) {
		return err
	}
	return &Error{File: bd.df.Name, Line: line, Step: step, Err: err}
}

// parseTriggers parses ONBUILD expressions into commands.
func parseTriggers(triggers []string) ([]instructions.Command, error) {
	df, err := Parse("ONBUILD", []byte("FROM scratch\n"+strings.Join(triggers, "\n")))
	if err != nil {
		return nil, fmt.Errorf("base image's ONBUILD triggers: %w", err)
	}
	return df.Stages[0].Commands, nil
}

// from makes the state FROM starts a stage with.
func (bd *build) from(ctx context.Context, p stagePlan, step *stepOut) (*state, error) {
	if p.base >= 0 {
		st := bd.states[p.base].clone()
		st.args = nil
		return st, nil
	}
	plat := bd.platform()
	if p.baseName == "scratch" {
		st := &state{key: stepKey("scratch", plat.String())}
		st.cfg = v1.ConfigFile{OS: plat.OS, Architecture: plat.Architecture, Variant: plat.Variant, RootFS: v1.RootFS{Type: "layers"}}
		st.cfg.Config.Env = []string{defaultPath}
		return st, nil
	}
	img, err := bd.image(ctx, p.baseName, p.platform, step)
	if err != nil {
		return nil, err
	}
	raw, err := bd.b.store.RawConfig(img.ID)
	if err != nil {
		return nil, err
	}
	st := &state{key: stepKey("image", img.ID), base: img.ID}
	if err := json.Unmarshal(raw, &st.cfg); err != nil {
		return nil, fmt.Errorf("read config of %s: %w", p.baseName, err)
	}
	// What the base's own builder recorded is not this image's.
	st.cfg.Container = ""
	st.cfg.RootFS = v1.RootFS{Type: "layers"}
	for _, d := range img.DiffIDs {
		h, err := v1.NewHash(d)
		if err != nil {
			return nil, err
		}
		st.cfg.RootFS.DiffIDs = append(st.cfg.RootFS.DiffIDs, h)
	}
	return st, nil
}

// image finds ref in the store, pulling it when missing or when --pull
// asks.
func (bd *build) image(ctx context.Context, ref, platform string, step *stepOut) (*image.Image, error) {
	if platform == "" {
		platform = bd.o.Platform
	}
	img, err := bd.b.store.Get(ctx, ref)
	if err == nil && !bd.o.Pull && platformMatches(platform, img) {
		return img, nil
	}
	if err != nil && !errdefs.IsNotFound(err) {
		return nil, err
	}
	step.printf("pulling %s\n", ref)
	res, err := bd.b.store.Pull(ctx, ref, image.PullOptions{Platform: platform, Registry: bd.registryFor(ref)})
	if err != nil {
		return nil, fmt.Errorf("pull %s: %w", ref, err)
	}
	return bd.b.store.Get(ctx, res.ID)
}

// platformMatches reports whether img runs as platform, as docker's
// classic builder asks of a local base image before it uses it; an
// empty platform takes any.
func platformMatches(platform string, img *image.Image) bool {
	if platform == "" {
		return true
	}
	want, err := ociplatform.Parse(platform)
	if err != nil {
		return false
	}
	return ociplatform.NewMatcher(want).Match(ociplatform.Platform{OS: img.OS, Architecture: img.Architecture, Variant: img.Variant})
}

// registryFor is what a pull of ref needs: the insecure registries and
// the credentials the host gave for ref's registry.
func (bd *build) registryFor(ref string) image.RegistryOptions {
	o := bd.o.Registry
	if named, err := reference.ParseNormalizedNamed(ref); err == nil {
		if a, ok := bd.o.Auths[reference.Domain(named)]; ok {
			o.Username, o.Password, o.IdentityToken, o.RegistryToken = a.Username, a.Password, a.IdentityToken, a.RegistryToken
		}
	}
	return o
}

// commit stores the final state as the image, with its names.
func (bd *build) commit(ctx context.Context, st *state) (string, error) {
	cfg := st.cfg
	if len(bd.o.Labels) > 0 {
		if cfg.Config.Labels == nil {
			cfg.Config.Labels = map[string]string{}
		}
		maps.Copy(cfg.Config.Labels, bd.o.Labels)
	}
	step := bd.out.step("exporting to image")
	start := time.Now()
	id, err := bd.commitState(ctx, st, &cfg, bd.o.Tags)
	if err != nil {
		return "", err
	}
	step.printf("writing image %s\n", id)
	for _, t := range bd.o.Tags {
		step.printf("naming to %s\n", t)
	}
	step.done(time.Since(start))
	return id, nil
}

// configBlob is the config an image of st (with config cfg) has: its
// creation time is its last step's.
func configBlob(cfg *v1.ConfigFile) ([]byte, error) {
	c := *cfg
	if n := len(c.History); n > 0 {
		c.Created = c.History[n-1].Created
	}
	data, err := json.Marshal(c)
	if err != nil {
		return nil, fmt.Errorf("encode image config: %w", err)
	}
	return data, nil
}

// commitState stores st (with config cfg) as an image.
func (bd *build) commitState(ctx context.Context, st *state, cfg *v1.ConfigFile, names []string) (string, error) {
	data, err := configBlob(cfg)
	if err != nil {
		return "", err
	}
	o := image.CommitOptions{Base: st.base, Config: data, Names: names}
	for _, l := range st.layers {
		o.Layers = append(o.Layers, image.LayerFile{Path: l.path, DiffID: l.diffID})
	}
	return bd.b.store.Commit(ctx, o)
}

// layerDirs returns the unpacked layers of st, lowest first, committing
// st as an intermediate image when it has layers the store lacks.
func (bd *build) layerDirs(ctx context.Context, st *state) ([]string, error) {
	ref := st.base
	if len(st.layers) > 0 {
		data, err := configBlob(&st.cfg)
		if err != nil {
			return nil, err
		}
		// An image that is already there (another build's, or one the
		// user tagged) is not this build's to remove.
		existed := bd.b.store.Has(digestOf(data))
		id, err := bd.commitState(ctx, st, &st.cfg, nil)
		if err != nil {
			return nil, err
		}
		if !existed {
			bd.temps = append(bd.temps, id)
		}
		ref = id
	}
	if ref == "" {
		return nil, nil
	}
	img, err := bd.b.store.Get(ctx, ref)
	if err != nil {
		return nil, err
	}
	return img.Layers, nil
}

// snapshot mounts a fresh snapshot of st.
func (bd *build) snapshot(ctx context.Context, st *state) (*snapshot, error) {
	layers, err := bd.layerDirs(ctx, st)
	if err != nil {
		return nil, err
	}
	bd.snaps++
	return mountSnapshot(filepath.Join(bd.dir, fmt.Sprintf("snap-%d", bd.snaps)), layers)
}
