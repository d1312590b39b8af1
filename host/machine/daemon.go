package machine

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"log"
	"net"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/hashicorp/yamux"

	"github.com/skiffrun/skiff/guest/api/atomicfile"
	apiv1 "github.com/skiffrun/skiff/guest/api/v1"
	"github.com/skiffrun/skiff/host/agentclient"
	"github.com/skiffrun/skiff/host/hostsvc"
	"github.com/skiffrun/skiff/host/relay"
	"github.com/skiffrun/skiff/host/usernet"
	"github.com/skiffrun/skiff/platform"
)

// DaemonCommand is the hidden skiff subcommand that runs a machine's host
// daemon.
const DaemonCommand = "__machine-daemon"

// Daemon timings.
const (
	// vmStartTimeout bounds booting a VM to a connected agent; TCG on a
	// busy host is slow.
	vmStartTimeout = 3 * time.Minute
	// relayWait is how long a CLI connection waits for the agent while the
	// daemon dials it again.
	relayWait = time.Minute
	// vmStopTimeout is how long a VM has to power off when the daemon is
	// told to stop before it is killed.
	vmStopTimeout = 10 * time.Second
	// daemonLockWait is how long a daemon waits for daemon.lock.
	daemonLockWait = 3 * time.Second
)

func (m *Machine) daemonArgs() []string {
	return []string{DaemonCommand, "--home", m.home, "--machine", m.spec.Name, "--driver", m.spec.Driver}
}

// RunDaemon is the host daemon of a VM machine: it boots the VM, connects
// to its agent, relays CLI connections on the machine's socket into
// streams of one yamux session, keeps the machine's clock, dials again
// when the channel drops, and returns when the VM has stopped (after an
// agent Shutdown, or SIGTERM/SIGINT here). It records its state for
// `skiff machine status`, and runs services (the Docker API) while the
// machine runs.
func RunDaemon(ctx context.Context, o Options, services ...Service) (err error) {
	m, err := New(o)
	if err != nil {
		return err
	}
	d, err := platform.Lookup(m.spec.Driver)
	if err != nil {
		return err
	}
	if _, ok := d.(platform.Detached); ok {
		return fmt.Errorf("driver %q runs machines without a host daemon", m.spec.Driver)
	}
	if err := os.MkdirAll(m.spec.Dir, 0o700); err != nil {
		return fmt.Errorf("create machine directory: %w", err)
	}
	// The daemon holds daemon.lock for its life: a second daemon of the
	// machine (a start racing this one) finds it taken and leaves the
	// machine, its pid file and its socket to this one. The wait lets a
	// brief holder (rm checking that none runs) go first.
	lctx, lcancel := context.WithTimeout(ctx, daemonLockWait)
	unlock, err := lockFile(lctx, m.daemonLock())
	lcancel()
	if err != nil {
		return fmt.Errorf("machine %q already has a host daemon: %w", m.spec.Name, err)
	}
	defer unlock()
	if err := atomicfile.WriteFile(m.daemonPIDFile(), []byte(strconv.Itoa(os.Getpid())+"\n")); err != nil {
		return fmt.Errorf("write daemon pid file: %w", err)
	}
	pid := os.Getpid()
	run := state{Status: Starting, PID: pid}
	m.writeState(run)
	defer func() {
		_ = os.Remove(m.spec.AgentSocket)
		_ = os.Remove(m.daemonPIDFile())
		if err != nil {
			log.Printf("skiff: machine %q: %v", m.spec.Name, err)
			run.Status, run.Error = Error, err.Error()
		} else {
			run.Status = Stopped
		}
		// Keep what the last run was (its sizes, acceleration) for status.
		run.PID, run.VMPID = 0, 0
		m.writeState(run)
	}()

	ctx, stopSignals := signal.NotifyContext(ctx, syscall.SIGTERM, syscall.SIGINT)
	defer stopSignals()

	spec, err := m.vmSpec()
	if err != nil {
		return err
	}
	if spec.Network.Mode == platform.NetworkUser {
		// The stack listens before the VM boots: QEMU dials it at start.
		// It closes after the VM has stopped (defers run in reverse).
		st, err := usernet.Listen(ctx, spec.Network)
		if err != nil {
			return err
		}
		defer st.Close()
	}
	startCtx, cancel := context.WithTimeout(ctx, vmStartTimeout)
	defer cancel()
	vm, err := d.Start(startCtx, spec)
	if err != nil {
		return err
	}
	defer func() {
		sctx, cancel := context.WithTimeout(context.Background(), vmStopTimeout)
		defer cancel()
		_ = vm.Stop(sctx)
	}()
	began := time.Now()
	run.Arch, run.Started = spec.Arch, began.UTC()
	run.Shares = []string{}
	for _, sh := range spec.Shares {
		run.Shares = append(run.Shares, sh.HostPath)
	}
	if dv, ok := vm.(platform.Described); ok {
		ri := dv.RunInfo()
		run.VMPID, run.Accel, run.CPUs, run.MemoryMiB = ri.PID, ri.Accel, ri.CPUs, ri.MemoryMiB
	}
	m.writeState(run)
	rel, svc := relay.New(), hostServices(spec.Shares)
	m.services = svc
	sess, err := m.connect(startCtx, vm, rel, svc)
	if err != nil {
		return fmt.Errorf("%w%s", err, consoleTail(spec.Log, 5))
	}
	log.Printf("skiff: machine %q: agent connected %.2fs after boot", m.spec.Name, time.Since(began).Seconds())

	_ = os.Remove(m.spec.AgentSocket)
	l, err := net.Listen("unix", m.spec.AgentSocket)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", m.spec.AgentSocket, err)
	}
	defer l.Close()
	if err := os.Chmod(m.spec.AgentSocket, 0o600); err != nil {
		return fmt.Errorf("restrict %s: %w", m.spec.AgentSocket, err)
	}
	go func() { _ = rel.Serve(l, relayWait) }()
	run.Status = Running
	m.writeState(run)
	m.startServices(ctx, services)

	vmDone := make(chan error, 1)
	go func() { vmDone <- vm.Wait(context.Background()) }()
	for {
		select {
		case werr := <-vmDone:
			if werr != nil {
				return fmt.Errorf("the machine stopped: %w%s", werr, consoleTail(spec.Log, 5))
			}
			return nil
		case <-ctx.Done():
			log.Printf("skiff: machine %q: stopping", m.spec.Name)
			return nil
		case <-sess.CloseChan():
			log.Printf("skiff: machine %q: lost the agent; connecting again", m.spec.Name)
			select {
			case werr := <-vmDone:
				vmDone <- werr
				continue
			case <-time.After(100 * time.Millisecond):
			}
			rctx, cancel := context.WithTimeout(ctx, vmStartTimeout)
			sess, err = m.connect(rctx, vm, rel, svc)
			cancel()
			if err != nil {
				// A VM that powered off (after Shutdown) is a clean stop.
				wctx, wcancel := context.WithTimeout(context.Background(), time.Second)
				werr := vm.Wait(wctx)
				wcancel()
				if werr == nil || ctx.Err() != nil {
					return nil
				}
				return err
			}
		}
	}
}

// connect dials the agent, does the handshake, starts the session, sets
// the machine's clock, and keeps it set for as long as the session lives;
// the host services (svc) are served on it for as long, too.
func (m *Machine) connect(ctx context.Context, vm platform.Machine, rel *relay.Relay, svc *hostsvc.Registry) (*yamux.Session, error) {
	for {
		conn, err := vm.AgentConn(ctx)
		if err != nil {
			return nil, fmt.Errorf("connect to the agent: %w", err)
		}
		sess, err := relay.Connect(ctx, conn, log.Writer())
		if err != nil {
			if ctx.Err() != nil {
				return nil, err
			}
			log.Printf("skiff: machine %q: %v; trying again", m.spec.Name, err)
			continue
		}
		rel.SetSession(sess)
		go m.keepTime(sess)
		if b, ok := vm.(platform.Ballooner); ok {
			go m.steerBalloon(b, sess)
		}
		go svc.Serve(sess)
		return sess, nil
	}
}

// keepTime sets the machine's clock now and whenever clock says so, until
// the session ends.
func (m *Machine) keepTime(sess *yamux.Session) {
	c, err := agentclient.New(m.spec.AgentSocket, func(context.Context) (net.Conn, error) { return sess.OpenStream() })
	if err != nil {
		return
	}
	defer c.Close()
	var clk clock
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		<-sess.CloseChan()
		cancel()
	}()
	tick := time.NewTicker(clockTick)
	defer tick.Stop()
	for {
		if clk.due(time.Now()) {
			if err := clk.sync(ctx, c.System); err != nil && ctx.Err() == nil {
				log.Printf("skiff: machine %q: set the clock: %v", m.spec.Name, err)
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}

// steerBalloon runs the VM's balloon from the memory the agent reports,
// until the session ends.
func (m *Machine) steerBalloon(b platform.Ballooner, sess *yamux.Session) {
	c, err := agentclient.New(m.spec.AgentSocket, func(context.Context) (net.Conn, error) { return sess.OpenStream() })
	if err != nil {
		return
	}
	defer c.Close()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		<-sess.CloseChan()
		cancel()
	}()
	err = b.RunBalloon(ctx, func(ctx context.Context) (platform.MemoryReport, error) {
		si, err := c.System.Info(ctx, &apiv1.Empty{})
		if err != nil {
			return platform.MemoryReport{}, err
		}
		return platform.MemoryReport{Total: uint64(max(si.GetMemTotal(), 0)), Available: uint64(max(si.GetMemAvailable(), 0))}, nil
	})
	if err != nil && ctx.Err() == nil {
		log.Printf("skiff: machine %q: memory balloon: %v", m.spec.Name, err)
	}
}

// consoleTail returns the last n lines the console got in the last boot,
// indented under a heading, for an error message; "" when there are none.
func consoleTail(path string, n int) string {
	lines := lastLines(path, 1<<10)
	// Only the last boot's lines say what went wrong; each driver starts
	// a boot's lines with its "skiff: booting machine" line.
	for i := len(lines) - 1; i >= 0; i-- {
		if strings.Contains(lines[i], bootMarker) {
			lines = lines[i+1:]
			break
		}
	}
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	if len(lines) == 0 {
		return ""
	}
	return "; the machine's console (" + path + ") ends:\n  " + strings.Join(lines, "\n  ")
}

func lastLines(path string, n int) []string {
	f, err := os.Open(path)
	if err != nil {
		return nil
	}
	defer f.Close()
	if st, err := f.Stat(); err == nil && st.Size() > 64<<10 {
		_, _ = f.Seek(-64<<10, 2)
	}
	var lines []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if l := strings.TrimSpace(sc.Text()); l != "" {
			lines = append(lines, l)
		}
	}
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return lines
}

// bootMarker is in the line a driver writes to the console at each boot.
const bootMarker = "skiff: booting machine"

var errDaemonExited = errors.New("the machine's host daemon exited")
