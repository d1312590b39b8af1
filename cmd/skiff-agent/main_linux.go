package main

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"
	"golang.org/x/sys/unix"

	"github.com/skiffrun/skiff/guest/agent"
	"github.com/skiffrun/skiff/guest/emulation"
	"github.com/skiffrun/skiff/guest/machine"
	"github.com/skiffrun/skiff/guest/runner"
)

func main() {
	// libcontainer starts each container's init as "<this binary> init":
	// that must happen before anything else runs.
	if runner.IsInit() {
		runner.Init()
	}
	// The kernel starts the machine's init with no arguments.
	if os.Getpid() == 1 && len(os.Args) == 1 {
		machine.Init()
	}
	if err := newRoot().Execute(); err != nil {
		fmt.Fprintln(os.Stderr, "skiff-agent:", err)
		os.Exit(1)
	}
}

type serveOptions struct {
	listen     string
	root       string
	seedImages []string
	driver     string
	qemuDirs   []string
}

func newRoot() *cobra.Command {
	root := &cobra.Command{
		Use:           "skiff-agent",
		Short:         "Run containers for skiff",
		SilenceUsage:  true,
		SilenceErrors: true,
		Version:       agent.Version,
	}
	var o serveOptions
	serve := &cobra.Command{
		Use:   "serve",
		Short: "Serve the agent API on a unix socket",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return serve(cmd.Context(), o)
		},
	}
	serve.Flags().StringVar(&o.listen, "listen", "", "where to serve: unix:///path/to/socket")
	serve.Flags().StringVar(&o.root, "root", "/var/lib/skiff", "state directory")
	serve.Flags().StringArrayVar(&o.seedImages, "seed-image", nil, "image archive to load on first start (repeatable)")
	serve.Flags().StringVar(&o.driver, "machine-driver", "native", "the machine driver, reported by info")
	serve.Flags().StringArrayVar(&o.qemuDirs, "qemu-dir", []string{"/usr/bin", "/usr/local/bin"}, "folder with qemu-user-static's qemu-<arch>-static interpreters (repeatable)")
	_ = serve.MarkFlagRequired("listen")
	root.AddCommand(serve)
	root.AddCommand(&cobra.Command{
		Use:    machine.AgentCommand,
		Short:  "Serve the host as the agent of skiff's machine (started by its init)",
		Hidden: true,
		Args:   cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return machine.Run(cmd.Context())
		},
	})
	return root
}

func serve(ctx context.Context, o serveOptions) error {
	log := slog.New(slog.NewTextHandler(os.Stderr, nil))
	path, ok := strings.CutPrefix(o.listen, "unix://")
	if !ok || path == "" {
		return fmt.Errorf("--listen %q: give unix:///path/to/socket", o.listen)
	}
	ctx, cancel := signal.NotifyContext(ctx, syscall.SIGTERM, syscall.SIGINT)
	defer cancel()

	// The host's qemu-user-static interpreters run other architectures'
	// images; registering them with binfmt_misc is host-wide, as Debian's
	// own package does.
	emu := &emulation.Options{QEMUDirs: o.qemuDirs, MissingHint: emulation.HostHint}
	a, err := agent.New(ctx, agent.Config{Root: o.root, SeedImages: o.seedImages, MachineDriver: o.driver, Emulation: emu, Log: log})
	if err != nil {
		return err
	}
	lis, err := listenUnix(path)
	if err != nil {
		a.Shutdown(context.Background())
		return err
	}
	defer os.Remove(path)
	go func() {
		select {
		case <-ctx.Done():
			log.Info("stopping: signal received")
			sctx, scancel := context.WithTimeout(context.Background(), 60*time.Second)
			defer scancel()
			a.Shutdown(sctx)
		case <-a.Stopped():
		}
	}()
	log.Info("serving", "socket", path, "root", o.root)
	if err := a.Serve(lis); err != nil {
		return fmt.Errorf("serve: %w", err)
	}
	<-a.Stopped()
	return nil
}

// listenUnix listens on an owner-only socket at path, replacing a stale
// one left by an agent that died.
func listenUnix(path string) (net.Listener, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("create socket dir: %w", err)
	}
	if c, err := net.Dial("unix", path); err == nil {
		c.Close()
		return nil, fmt.Errorf("another agent is serving on %s: stop it first (skiff machine stop)", path)
	}
	_ = os.Remove(path)
	old := unix.Umask(0o177)
	lis, err := net.Listen("unix", path)
	unix.Umask(old)
	if err != nil {
		return nil, fmt.Errorf("listen on %s: %w", path, err)
	}
	return lis, nil
}
