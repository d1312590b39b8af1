package machine

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"path/filepath"
	"runtime/debug"
	"sync"
	"time"

	"github.com/hashicorp/yamux"
	"golang.org/x/sys/unix"

	"github.com/skiffrun/skiff/guest/agent"
	"github.com/skiffrun/skiff/guest/api/wire"
	"github.com/skiffrun/skiff/guest/emulation"
	"github.com/skiffrun/skiff/guest/fsevents"
	"github.com/skiffrun/skiff/guest/hostlink"
	"github.com/skiffrun/skiff/guest/publish"
)

// agentRoot is the agent's state directory: the data disk's mount point.
const agentRoot = "/var/lib/skiff"

// emulatorDir is where a guest image that does not pack them
// (emulation.PackedDir) has qemu-user-static's interpreters.
const emulatorDir = "/usr/bin"

// Run is the machine's agent process, started by Init. It returns when
// the agent has shut down (System.Shutdown, SIGTERM, the power button);
// Init then powers the VM off.
func Run(ctx context.Context) error {
	phases := bootPhases{agent: uptime(), init: initStarted(os.Getenv(initStartedEnv))}
	cfg, cmdErr := wire.ParseCmdline(readCmdline())
	level := slog.LevelInfo
	if cfg.Debug {
		level = slog.LevelDebug
	}
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level}))
	if cmdErr != nil {
		log.Error("kernel command line", "err", cmdErr)
	}
	if cfg.Agent.Kind == "" {
		return errors.New("no way to reach the host: the kernel command line needs skiff.agent=serial:<name> or vsock:<port>")
	}
	if !cfg.Time.IsZero() {
		if err := SetClock(cfg.Time); err != nil {
			log.Error("set the clock", "err", err)
		}
	}
	if cfg.Hostname != "" {
		if err := unix.Sethostname([]byte(cfg.Hostname)); err != nil {
			log.Error("set the host name", "err", err)
		}
	}
	ctx, stop := signal.NotifyContext(ctx, unix.SIGTERM, unix.SIGINT)
	defer stop()
	go watchPowerButton(ctx, log, stop)

	// The disk, the network and the shares are independent: set them up
	// side by side.
	var wg sync.WaitGroup
	var diskErr error
	wg.Go(func() {
		diskErr = mountDataDisk(ctx, cfg.Disk, agentRoot, log)
		phases.disk = uptime()
	})
	wg.Go(func() {
		if cfg.NetVsockPort != 0 {
			if err := startFrameLink(ctx, cfg.NetVsockPort, log); err != nil {
				log.Error("link the network to the host", "err", err)
			}
		}
		if err := configureNetwork(ctx, cfg.Net, cfg.DHCP, cfg.Hostname, log); err != nil {
			log.Error("configure the network", "err", err)
		}
	})
	var writable []string // mount points of the writable shares mounted
	wg.Go(func() {
		for _, s := range cfg.Shares {
			if err := mountShare(s); err != nil {
				log.Error("mount share", "tag", s.Tag, "path", s.Path, "err", err)
				continue
			}
			if !s.ReadOnly {
				writable = append(writable, s.Path)
			}
		}
	})
	wg.Wait()
	if diskErr != nil {
		return diskErr
	}
	log.Debug("data disk, network and shares set up", "uptime", uptime().Round(time.Millisecond))
	seeds, _ := filepath.Glob("/images/*.tar")
	// The host daemon listens on published ports, as the agent asks it
	// to over each session (hostlink), and forwards each connection on a
	// session stream (see sessionListener.dispatch).
	pub, link := publish.NewHost(log), hostlink.New()
	link.OnSession(pub.Connect)
	// The host daemon watches the shared folders containers bind-mount
	// and streams their changes, which the agent replays for the
	// containers' inotify watchers; a container's own write, which the
	// host sends back too, is heard of through fanotify and left out.
	replay := &fsevents.Kernel{Log: log}
	if len(writable) > 0 {
		own, err := fsevents.WatchOwnWrites(log, writable)
		if err != nil {
			log.Warn("the guest's own writes to shares will be replayed to it", "err", err)
		}
		if own != nil {
			defer func() { _ = own.Close() }()
			replay.Own = own
		}
	}
	files := fsevents.NewClient(log, fsevents.NewMapper(cfg.Shares), replay)
	link.OnSession(files.Connect)
	// Containers reach the host daemon's Docker API by binding the
	// machine's docker socket: it is there before any starts.
	dsock, err := listenDockerSocket(wire.DockerSocket, link, log)
	if err != nil {
		log.Error("serve the docker socket", "err", err)
	} else {
		go dsock.serve()
	}
	// The image's interpreters go to the data disk, once per image, and
	// leave the memory the initramfs unpacked them into.
	emu := &emulation.Options{QEMUDirs: []string{emulatorDir}, Packed: emulation.PackedDir, UnpackTo: filepath.Join(agentRoot, "emulation"),
		RosettaTag: cfg.RosettaTag, RosettaMissing: cfg.RosettaMissing, MissingHint: emulation.MachineHint}
	a, err := agent.New(ctx, agent.Config{Root: agentRoot, SeedImages: seeds, Log: log, OwnsClock: true,
		Publisher: pub, Emulation: emu, HostLoopback: cfg.HostLoopback})
	if err != nil {
		if dsock != nil {
			dsock.Close()
		}
		return err
	}
	log.Debug("agent state opened", "uptime", uptime().Round(time.Millisecond))
	go a.WatchBinds(ctx, files.SetBinds)
	lis := newSessionListener()
	served := make(chan error, 1)
	go func() { served <- a.Serve(lis) }()
	phases.ready = uptime()
	fmt.Fprintf(os.Stderr, "skiff-agent: boot phases: %s\n", phases)
	fmt.Fprintf(os.Stderr, "skiff-agent: ready (%.3fs after boot)\n", phases.ready.Seconds())
	// What the boot allocated and dropped goes back to the guest's kernel
	// now rather than at the runtime's own pace, so free page reporting
	// can hand it to the host while the machine idles.
	go debug.FreeOSMemory()
	go connectLoop(ctx, cfg.Agent, lis, link, log)

	select {
	case <-ctx.Done():
		log.Info("stopping: signal received")
	case <-a.Stopped():
	case err := <-served:
		log.Error("agent server ended", "err", err)
	}
	sctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	if dsock != nil {
		dsock.Close()
	}
	a.Shutdown(sctx)
	_ = lis.Close()
	unix.Sync()
	return nil
}

// connectLoop keeps a yamux session with the host, feeds the streams the
// host opens to lis and has link open streams to the host on it, dialling again whenever the connection drops, until ctx ends.
// A serial port stays open across sessions: closing it would drop what
// the host already sent (its next hello).
func connectLoop(ctx context.Context, t wire.Transport, lis *sessionListener, link *hostlink.Link, log *slog.Logger) {
	ycfg := yamux.DefaultConfig()
	ycfg.EnableKeepAlive = true
	ycfg.KeepAliveInterval = 10 * time.Second
	ycfg.MaxStreamWindowSize = 1 << 20
	ycfg.LogOutput = io.Discard
	for ctx.Err() == nil {
		conn, err := dialHost(ctx, t)
		if err != nil {
			return
		}
		closeOnCancel := context.AfterFunc(ctx, func() { conn.Close() })
		for ctx.Err() == nil {
			err = session(ctx, conn, ycfg, lis, link, log)
			log.Debug("host session ended", "err", err)
			if !conn.keepOpen() || (err != nil && !errors.Is(err, errSessionOver)) {
				break
			}
		}
		closeOnCancel()
		conn.Close()
	}
}

// errSessionOver ends a session whose connection can carry the next one.
var errSessionOver = errors.New("host session over")

// session runs one session: the handshake, then a yamux server whose
// streams go to lis and on which link opens streams to the host, until
// the session fails.
func session(ctx context.Context, conn hostConn, ycfg *yamux.Config, lis *sessionListener, link *hostlink.Link, log *slog.Logger) error {
	_ = conn.SetReadDeadline(time.Time{})
	if err := handshake(ctx, conn, conn, conn.idle); err != nil {
		return err
	}
	sc := &sessionConn{hostConn: conn, closed: make(chan struct{}), in: wire.SkipHellos(conn)}
	sess, err := yamux.Server(sc, ycfg)
	if err != nil {
		return err
	}
	defer func() { _ = sess.Close() }()
	log.Info("host connected")
	up, down := context.WithCancel(ctx)
	defer down()
	link.Up(up, sess)
	err = lis.serve(sess)
	if conn.keepOpen() && !errors.Is(err, errListenerClosed) {
		return errSessionOver
	}
	return err
}

// sessionConn is one yamux session's view of a connection that outlives
// it: closing it stops the session's reads (a pending one by a deadline)
// and leaves the connection open.
type sessionConn struct {
	hostConn
	once   sync.Once
	closed chan struct{}
	// in is the connection's input with the host's repeated hellos
	// dropped.
	in io.Reader
}

func (s *sessionConn) Read(b []byte) (int, error) {
	select {
	case <-s.closed:
		return 0, net.ErrClosed
	default:
	}
	return s.in.Read(b)
}

func (s *sessionConn) Close() error {
	s.once.Do(func() {
		close(s.closed)
		if s.keepOpen() {
			_ = s.SetReadDeadline(time.Unix(1, 0))
		} else {
			s.hostConn.Close()
		}
	})
	return nil
}

// SetClock sets the machine's clock.
func SetClock(t time.Time) error {
	tv := unix.NsecToTimeval(t.UnixNano())
	if err := unix.Settimeofday(&tv); err != nil {
		return fmt.Errorf("settimeofday: %w", err)
	}
	return nil
}

func uptime() time.Duration {
	var ts unix.Timespec
	if err := unix.ClockGettime(unix.CLOCK_BOOTTIME, &ts); err != nil {
		return 0
	}
	return time.Duration(ts.Nano())
}
