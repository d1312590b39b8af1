package agent

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"sync"
	"syscall"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"google.golang.org/grpc"

	"github.com/skiffrun/skiff/guest/api/errstatus"
	apiv1 "github.com/skiffrun/skiff/guest/api/v1"
	"github.com/skiffrun/skiff/guest/build"
	"github.com/skiffrun/skiff/guest/container"
	"github.com/skiffrun/skiff/guest/emulation"
	"github.com/skiffrun/skiff/guest/events"
	"github.com/skiffrun/skiff/guest/image"
	"github.com/skiffrun/skiff/guest/network"
	"github.com/skiffrun/skiff/guest/runner"
	"github.com/skiffrun/skiff/guest/volume"
)

// Config is what an agent is made from.
type Config struct {
	// Root holds the agent's state: images, containers, runtime state.
	Root string
	// SeedImages are image archives loaded on the agent's first start.
	SeedImages []string
	// MachineDriver names the driver that runs the machine, for info.
	MachineDriver string
	// OwnsClock reports whether the agent keeps the system's clock (the
	// machine's agent, which System.SetTime sets), rather than running on
	// a host that keeps its own (the native driver).
	OwnsClock bool
	// ContainersReady, when set, returns once the system can run
	// containers (the machine loads some kernel modules while the agent
	// starts), or with ctx's error. Requests other than the System
	// service's wait for it, and so does restoring containers at start
	// when there are any.
	ContainersReady func(ctx context.Context) error
	// Publisher, when set, publishes containers' ports (the host daemon
	// of a VM); without one the agent listens on them itself.
	Publisher network.Publisher
	// Emulation says where the emulators for other architectures are;
	// nil runs the machine's own architecture only.
	Emulation *emulation.Options
	// HostLoopback is where the machine reaches the host's loopback
	// services (host.docker.internal); invalid on the native agent.
	HostLoopback netip.Addr
	Log          *slog.Logger
}

// Agent is a running skiff-agent.
type Agent struct {
	cfg        Config
	images     *image.Store
	containers *container.Manager
	networks   *network.Manager
	bus        *events.Bus
	server     *grpc.Server

	shutdownOnce sync.Once
	// stopped is closed when Shutdown has finished.
	stopped chan struct{}
}

// New opens the agent's state under cfg.Root and recovers it.
func New(ctx context.Context, cfg Config) (*Agent, error) {
	if cfg.Log == nil {
		cfg.Log = slog.Default()
	}
	if err := os.MkdirAll(cfg.Root, 0o700); err != nil {
		return nil, fmt.Errorf("create agent root: %w", err)
	}
	images, err := image.Open(filepath.Join(cfg.Root, "images"))
	if err != nil {
		return nil, fmt.Errorf("open image store: %w", err)
	}
	if err := seed(ctx, images, cfg); err != nil {
		cfg.Log.Error("load bundled images", "err", err)
	}
	if cfg.ContainersReady != nil && hasEntries(filepath.Join(cfg.Root, "containers")) {
		// Containers restarted at boot need what ContainersReady waits for.
		if err := cfg.ContainersReady(ctx); err != nil {
			return nil, err
		}
	}
	bus := events.New()
	rt, err := runner.New(filepath.Join(cfg.Root, "runtime"))
	if err != nil {
		return nil, err
	}
	vols, err := volume.Open(filepath.Join(cfg.Root, "volumes"))
	if err != nil {
		return nil, fmt.Errorf("open volumes: %w", err)
	}
	vols.SetEvents(bus)
	nets, err := openNetworks(cfg, bus)
	if err != nil {
		return nil, err
	}
	// Registering the emulators (unpacking them on a first boot) need
	// not hold up the rest.
	emus := emulation.Later(func() *emulation.Set { return setupEmulation(cfg) })
	mgr, err := container.NewManager(ctx, filepath.Join(cfg.Root, "containers"), runtimeAdapter{rt}, imageSource{images}, volumeStore{vols}, cfg.Log, container.WithNetwork(nets), container.WithEvents(bus), container.WithEmulation(emus))
	if err != nil {
		return nil, err
	}
	a := &Agent{cfg: cfg, images: images, containers: mgr, networks: nets, bus: bus, stopped: make(chan struct{})}
	// Errors become statuses outermost, so the gate's are converted too.
	opts := errstatus.ServerOptions()
	if cfg.ContainersReady != nil {
		opts = append(opts, readyGate(cfg.ContainersReady)...)
	}
	a.server = grpc.NewServer(opts...)
	apiv1.RegisterContainersServer(a.server, container.NewService(mgr))
	apiv1.RegisterFreezerServer(a.server, container.NewFreezerService(mgr))
	apiv1.RegisterWaiterServer(a.server, container.NewWaiterService(mgr))
	apiv1.RegisterArchiveServer(a.server, container.NewArchiveService(mgr))
	apiv1.RegisterStatsServer(a.server, container.NewStatsService(mgr))
	apiv1.RegisterImagesServer(a.server, image.NewService(images, mgr.UsesImage, bus))
	apiv1.RegisterImageHistoryServer(a.server, image.NewHistoryService(images))
	apiv1.RegisterCommitterServer(a.server, &commitService{containers: mgr, images: images})
	apiv1.RegisterUpdaterServer(a.server, container.NewUpdaterService(mgr))
	apiv1.RegisterDiskUsageServer(a.server, &diskUsageService{images: images, containers: mgr, volumes: vols})
	apiv1.RegisterChangesServer(a.server, &changesService{containers: mgr})
	apiv1.RegisterExporterServer(a.server, &exportService{containers: mgr, work: filepath.Join(cfg.Root, "export")})
	apiv1.RegisterEventsServer(a.server, events.NewService(bus))
	apiv1.RegisterVolumesServer(a.server, volume.NewService(vols, mgr.VolumeUsers))
	apiv1.RegisterSystemServer(a.server, &systemService{a: a})
	apiv1.RegisterEmulationServer(a.server, &emulationService{set: emus})
	builder, err := build.New(filepath.Join(cfg.Root, "build"), images)
	if err != nil {
		return nil, fmt.Errorf("open builder: %w", err)
	}
	apiv1.RegisterBuilderServer(a.server, build.NewService(builder))
	apiv1.RegisterBuildCacheServer(a.server, build.NewCacheService(builder))
	apiv1.RegisterNetworksServer(a.server, network.NewService(nets, networkContainers{mgr}))
	return a, nil
}

// Serve serves the agent's gRPC API on lis until Shutdown.
func (a *Agent) Serve(lis net.Listener) error {
	err := a.server.Serve(lis)
	if errors.Is(err, grpc.ErrServerStopped) {
		return nil
	}
	return err
}

// Shutdown stops every container and the gRPC server. It is idempotent;
// concurrent calls wait for the first.
func (a *Agent) Shutdown(ctx context.Context) {
	a.shutdownOnce.Do(func() {
		a.containers.Shutdown(ctx)
		if err := a.networks.Close(); err != nil {
			a.cfg.Log.Error("take down container networks", "err", err)
		}
		// Let calls in flight finish (System.Shutdown's own answer among
		// them), but not wait long for streams a client keeps open.
		graceful := make(chan struct{})
		go func() {
			a.server.GracefulStop()
			close(graceful)
		}()
		select {
		case <-graceful:
		case <-time.After(2 * time.Second):
			a.server.Stop()
		}
		// Records changed in the background, by the calls just ended
		// too, reach the disk before the agent goes.
		a.containers.Flush()
		a.networks.Flush()
		close(a.stopped)
	})
	<-a.stopped
}

// Stopped is closed once the agent has shut down.
func (a *Agent) Stopped() <-chan struct{} { return a.stopped }

// seedMarker records that the bundled images were loaded once, so that a
// user who removes them does not see them come back.
const seedMarker = "seeded"

func seed(ctx context.Context, images *image.Store, cfg Config) error {
	marker := filepath.Join(cfg.Root, seedMarker)
	if _, err := os.Stat(marker); err == nil || len(cfg.SeedImages) == 0 {
		return nil
	}
	var errs []error
	for _, p := range cfg.SeedImages {
		f, err := os.Open(p)
		if err != nil {
			errs = append(errs, fmt.Errorf("open bundled image: %w", err))
			continue
		}
		loaded, err := images.Load(ctx, f, func(string) {})
		f.Close()
		if err != nil {
			errs = append(errs, fmt.Errorf("load bundled image %s: %w", p, err))
			continue
		}
		cfg.Log.Info("loaded bundled image", "file", p, "images", loaded)
	}
	if err := errors.Join(errs...); err != nil {
		return err
	}
	return os.WriteFile(marker, nil, 0o600)
}

// imageSource gives the container manager what it needs of the store.
type imageSource struct{ s *image.Store }

func (i imageSource) Image(ctx context.Context, ref string) (*container.Image, error) {
	img, err := i.s.Get(ctx, ref)
	if err != nil {
		return nil, err
	}
	return &container.Image{ID: img.ID, Config: img.Config, Layers: img.Layers, OS: img.OS, Architecture: img.Architecture, Variant: img.Variant}, nil
}

// volumeStore gives the container manager the volumes of guest/volume.
type volumeStore struct{ s *volume.Store }

func (v volumeStore) Create(name string, labels map[string]string) (string, string, bool, error) {
	vol, created, err := v.s.Create(name, labels, nil)
	if err != nil {
		return "", "", false, err
	}
	return vol.Name, vol.Mountpoint, created, nil
}

func (v volumeStore) Remove(name string) error { return v.s.Remove(name) }

// Anonymous reports whether volume name was made anonymous.
func (v volumeStore) Anonymous(name string) bool {
	vol, err := v.s.Get(name)
	return err == nil && vol.GetAnonymous()
}

// runtimeAdapter runs containers with guest/runner.
type runtimeAdapter struct{ r *runner.Runner }

func (a runtimeAdapter) Start(id string, spec *specs.Spec, s container.Stdio, ready func() error) (container.Process, error) {
	p, err := a.r.Start(id, spec, runner.Stdio(s), ready)
	if err != nil {
		return nil, classify(err)
	}
	return p, nil
}

func (a runtimeAdapter) Exec(id string, ps *specs.Process, s container.Stdio) (container.Process, error) {
	p, err := a.r.Exec(id, ps, runner.Stdio(s))
	if err != nil {
		return nil, classify(err)
	}
	return p, nil
}

func (a runtimeAdapter) Signal(id string, sig syscall.Signal) error     { return a.r.Signal(id, sig) }
func (a runtimeAdapter) Pids(id string) ([]int, error)                  { return a.r.Pids(id) }
func (a runtimeAdapter) Pause(id string) error                          { return a.r.Pause(id) }
func (a runtimeAdapter) Stats(id string) (*apiv1.ContainerStats, error) { return a.r.Stats(id) }
func (a runtimeAdapter) Resume(id string) error                         { return a.r.Resume(id) }
func (a runtimeAdapter) OOMKilled(id string) bool                       { return a.r.OOMKilled(id) }
func (a runtimeAdapter) Destroy(id string) error                        { return a.r.Destroy(id) }
func (a runtimeAdapter) Leftovers() ([]string, error)                   { return a.r.Leftovers() }

// classify carries the runner's "command not found / not executable"
// into the container manager's terms, which decide the exit code.
func classify(err error) error {
	switch {
	case errors.Is(err, runner.ErrCommandNotFound):
		return fmt.Errorf("%w: %w", container.ErrCommandNotFound, err)
	case errors.Is(err, runner.ErrNotExecutable):
		return fmt.Errorf("%w: %w", container.ErrNotExecutable, err)
	}
	return err
}

var _ container.Runtime = runtimeAdapter{}

func (a runtimeAdapter) Update(id string, res *specs.LinuxResources) error {
	return a.r.Update(id, res)
}
