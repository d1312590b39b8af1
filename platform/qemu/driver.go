//go:build linux || darwin

package qemu

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/skiffrun/skiff/platform"
)

func init() { platform.Register(Name, Driver{}) }

// Driver boots machines under QEMU.
type Driver struct{}

var (
	_ platform.Accelerated = Driver{}
	_ platform.Checker     = Driver{}
	_ platform.Described   = (*machine)(nil)
)

// pollInterval paces the waits for sockets to appear and to answer.
const pollInterval = 20 * time.Millisecond

// killGrace is how long a killed QEMU gets to be reaped.
const killGrace = 5 * time.Second

// helperGrace is how long QEMU gets to exit by itself after a helper did.
const helperGrace = time.Second

// Accelerated reports whether a trial boot of spec's kernel under KVM
// reaches init (cached per host boot in the skiff home).
func (Driver) Accelerated(ctx context.Context, spec platform.MachineSpec) bool {
	if runtime.GOOS != "linux" || spec.Arch != runtime.GOARCH || spec.Kernel == "" {
		return false
	}
	qemu, err := exec.LookPath(binary(spec.Arch))
	if err != nil {
		return false
	}
	p := prober{devKVM: canOpenKVM, bootID: bootID, run: runProbe, cache: probeCache(spec)}
	return p.works(ctx, probeArgs(spec, qemu))
}

// probeCache is $SKIFF_HOME/kvm-probe.json: the machine directory is
// $SKIFF_HOME/machines/NAME.
func probeCache(spec platform.MachineSpec) string {
	return filepath.Join(filepath.Dir(filepath.Dir(spec.Dir)), "kvm-probe.json")
}

func binary(arch string) string {
	if arch == "arm64" {
		return "qemu-system-aarch64"
	}
	return "qemu-system-x86_64"
}

// Check reports a missing QEMU binary or a guest image that does not match
// its manifest.
func (Driver) Check(spec platform.MachineSpec) error {
	if spec.Arch == "" {
		spec.Arch = runtime.GOARCH
	}
	if _, err := findQEMU(spec.Arch); err != nil {
		return err
	}
	return VerifyImage(spec.Kernel, spec.Initrd)
}

// findQEMU looks the system emulator for arch up on $PATH (or takes
// $SKIFF_QEMU), naming the package that has it when it is missing.
func findQEMU(arch string) (string, error) {
	if p := os.Getenv("SKIFF_QEMU"); p != "" {
		found, err := exec.LookPath(p)
		if err != nil {
			return "", fmt.Errorf("SKIFF_QEMU=%s: %w; unset it to use %s from $PATH", p, err, binary(arch))
		}
		return found, nil
	}
	p, err := exec.LookPath(binary(arch))
	if err != nil {
		pkg := "qemu-system-x86"
		if arch == "arm64" {
			pkg = "qemu-system-arm"
		}
		return "", fmt.Errorf("%s not found on $PATH; install QEMU (Debian and Ubuntu: apt-get install %s; Homebrew: brew install qemu)", binary(arch), pkg)
	}
	return p, nil
}

// Start verifies the guest image, creates the data disk on first start,
// starts one virtiofsd per virtiofs share and then QEMU, and returns the
// running machine. The agent is not waited for.
func (d Driver) Start(ctx context.Context, spec platform.MachineSpec) (_ platform.Machine, err error) {
	if spec.Arch == "" {
		spec.Arch = runtime.GOARCH
	}
	qemu, err := findQEMU(spec.Arch)
	if err != nil {
		return nil, err
	}
	h := Host{Now: time.Now(), Accel: "tcg", QEMU: qemu, TSCkHz: tscKHz(), Virtiofsd: findVirtiofsd(), VhostVsock: vhostVsock(), Unprivileged: os.Geteuid() != 0}
	if d.Accelerated(ctx, spec) {
		h.Accel = "kvm"
	} else {
		log.Printf("skiff: KVM does not work on this host; machine %q runs under TCG emulation, several times slower", spec.Name)
	}
	if spec.Arch != "amd64" {
		h.TSCkHz = 0
	}
	spec = Resolve(spec, h)
	if err := spec.ValidateVM(); err != nil {
		return nil, err
	}
	if err := VerifyImage(spec.Kernel, spec.Initrd); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(spec.Dir, 0o700); err != nil {
		return nil, fmt.Errorf("create machine directory: %w", err)
	}
	if spec, err = stageBootFiles(spec); err != nil {
		return nil, err
	}
	cmd, err := Build(spec, h)
	if err != nil {
		return nil, err
	}
	if spec.Disk.Path != "" {
		if err := spec.Disk.EnsureRaw(); err != nil {
			return nil, err
		}
	}
	m := &machine{spec: spec, accel: h.Accel, done: make(chan struct{})}
	defer func() {
		if err != nil {
			m.kill()
		}
	}()
	m.removeSockets()
	if spec.Agent.VsockPort != 0 {
		// The guest dials out at boot: listen before it can.
		if m.vsock, err = listenVsock(cmd.VsockCID, spec.Agent.VsockPort); err != nil {
			return nil, fmt.Errorf("listen for the agent on vsock port %d: %w", spec.Agent.VsockPort, err)
		}
	}
	helperLog, err := os.OpenFile(filepath.Join(spec.Dir, "qemu.log"), os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600)
	if err != nil {
		return nil, fmt.Errorf("open qemu log: %w", err)
	}
	defer helperLog.Close()
	fmt.Fprintf(helperLog, "%s skiff: starting %s\n", time.Now().UTC().Format(time.RFC3339), strings.Join(cmd.QEMU, " "))
	for i, argv := range cmd.Virtiofsd {
		h, err := startHelper("virtiofsd for "+spec.Shares[i].HostPath, argv, helperLog)
		if err != nil {
			return nil, err
		}
		m.helpers = append(m.helpers, h)
		if err := waitSocket(ctx, strings.TrimPrefix(argv[1], "--socket-path="), h); err != nil {
			return nil, fmt.Errorf("%w; its log is %s", err, helperLog.Name())
		}
	}
	var consoleStart int64
	if f, err := os.OpenFile(spec.Log, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600); err == nil {
		fmt.Fprintf(f, "%s skiff: booting machine %q (%s)\n", time.Now().UTC().Format(time.RFC3339), spec.Name, h.Accel)
		consoleStart, _ = f.Seek(0, io.SeekEnd)
		f.Close()
	}
	if m.qemu, err = startHelper("qemu", cmd.QEMU, helperLog); err != nil {
		return nil, err
	}
	go m.watch()
	go m.timeBoot(time.Now(), consoleStart)
	return m, nil
}

// timeBoot waits for the agent's ready line on the console (written after
// offset) and adds the boot's host-side phases to the console.
func (m *machine) timeBoot(launched time.Time, offset int64) {
	tick := time.NewTicker(pollInterval)
	defer tick.Stop()
	for time.Since(launched) < 10*time.Minute {
		select {
		case <-m.done:
			return
		case <-tick.C:
		}
		f, err := os.Open(m.spec.Log)
		if err != nil {
			continue
		}
		seen := time.Now()
		data, err := io.ReadAll(io.NewSectionReader(f, offset, 1<<20))
		f.Close()
		if err != nil {
			continue
		}
		up, ok := readyUptime(data)
		if !ok {
			continue
		}
		if err := releaseBootFiles(m.spec); err != nil {
			log.Printf("skiff: machine %q: %v", m.spec.Name, err)
		}
		line := hostPhases(seen.Sub(launched), up)
		// QEMU writes the console a byte at a time (the UART) and the
		// agent logs as the host connects: the line goes in once the
		// console has stood still at a line's end for a poll, so that it
		// does not land inside a line of the guest's.
		last := int64(-1)
		for range 100 {
			size, atEnd := lineEnd(m.spec.Log)
			if atEnd && size == last {
				break
			}
			last = size
			select {
			case <-m.done:
				return
			case <-tick.C:
			}
		}
		if f, err := os.OpenFile(m.spec.Log, os.O_WRONLY|os.O_APPEND, 0o600); err == nil {
			fmt.Fprintf(f, "%s %s\n", time.Now().UTC().Format(time.RFC3339), line)
			f.Close()
		}
		return
	}
}

// machine is a running QEMU and its helpers, owned by this process.
type machine struct {
	spec    platform.MachineSpec
	qemu    *helper
	helpers []*helper // the virtiofsds, one per virtiofs share
	vsock   net.Listener
	accel   string

	done    chan struct{} // closed once QEMU and its helpers have exited
	exitErr error         // why the machine stopped; read after done closes

	stopOnce sync.Once
}

// RunInfo reports QEMU's pid, the acceleration and the resolved sizes.
func (m *machine) RunInfo() platform.RunInfo {
	ri := platform.RunInfo{Accel: m.accel, CPUs: m.spec.CPUs, MemoryMiB: m.spec.MemoryMiB}
	if m.qemu != nil && m.qemu.cmd.Process != nil {
		ri.PID = m.qemu.cmd.Process.Pid
	}
	return ri
}

// watch waits for QEMU or a helper to exit. A helper that exits first
// takes the machine down with it (QEMU cannot go on without its shares)
// and its own last line becomes the reason the machine stopped; QEMU's
// exit ends the helpers.
func (m *machine) watch() {
	var failed *helper
	exits := make(chan *helper, len(m.helpers))
	for _, h := range m.helpers {
		go func() {
			<-h.exited
			exits <- h
		}()
	}
	select {
	case <-m.qemu.exited:
	case h := <-exits:
		// At a power-off a virtiofsd may see QEMU hang up and exit just
		// before QEMU does; that QEMU then exits cleanly.
		select {
		case <-m.qemu.exited:
			if m.qemu.err != nil {
				failed = h
			}
		case <-time.After(helperGrace):
			failed = h
			m.qemu.kill()
		}
	}
	switch {
	case failed != nil:
		m.exitErr = failed.failure()
	case m.qemu.err != nil:
		m.exitErr = m.qemu.failure()
	}
	for _, h := range m.helpers {
		h.kill()
	}
	if err := os.Remove(m.spec.Initrd); err != nil && !errors.Is(err, fs.ErrNotExist) {
		log.Printf("skiff: remove %s: %v", m.spec.Initrd, err)
	}
	close(m.done)
}

// AgentConn connects to the host end of the agent's channel: the
// virtio-serial port's unix socket (QEMU is the server), or the next
// connection the guest makes to the vsock listener.
func (m *machine) AgentConn(ctx context.Context) (net.Conn, error) {
	if m.vsock != nil {
		c, err := acceptCtx(ctx, m.vsock, m.done)
		if err != nil && ctx.Err() == nil {
			select {
			case <-m.done:
				return nil, m.stoppedErr()
			default:
			}
		}
		return c, err
	}
	var d net.Dialer
	for {
		select {
		case <-m.done:
			return nil, m.stoppedErr()
		default:
		}
		c, err := d.DialContext(ctx, "unix", m.spec.Agent.SerialSocket)
		if err == nil {
			return c, nil
		}
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("connect to the agent of machine %q: %w", m.spec.Name, ctx.Err())
		case <-m.done:
			return nil, m.stoppedErr()
		case <-time.After(pollInterval):
		}
	}
}

func (m *machine) stoppedErr() error {
	if m.exitErr != nil {
		return fmt.Errorf("machine %q stopped: %w", m.spec.Name, m.exitErr)
	}
	return fmt.Errorf("machine %q stopped", m.spec.Name)
}

func acceptCtx(ctx context.Context, l net.Listener, done <-chan struct{}) (net.Conn, error) {
	type result struct {
		c   net.Conn
		err error
	}
	ch := make(chan result, 1)
	go func() {
		c, err := l.Accept()
		ch <- result{c, err}
	}()
	select {
	case r := <-ch:
		return r.c, r.err
	case <-ctx.Done():
		l.Close()
		return nil, ctx.Err()
	case <-done:
		l.Close()
		return nil, errors.New("machine stopped")
	}
}

// Wait returns once QEMU has exited: nil when the guest powered off.
func (m *machine) Wait(ctx context.Context) error {
	select {
	case <-m.done:
		return m.exitErr
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Stop presses the virtual power button, waits for QEMU to exit until ctx
// ends, then kills it, its helpers, and removes their sockets.
func (m *machine) Stop(ctx context.Context) error {
	select {
	case <-m.done:
	default:
		if err := powerdown(ctx, QMPSocket(m.spec)); err != nil {
			log.Printf("skiff: machine %q: power button: %v", m.spec.Name, err)
		}
		select {
		case <-m.done:
		case <-ctx.Done():
			m.kill()
		}
	}
	m.stopOnce.Do(func() {
		if m.vsock != nil {
			m.vsock.Close()
		}
		m.removeSockets()
	})
	return nil
}

// kill ends QEMU and the helpers at once and waits for them.
func (m *machine) kill() {
	if m.qemu != nil {
		m.qemu.kill()
		select {
		case <-m.done:
		case <-time.After(killGrace):
		}
	} else {
		for _, h := range m.helpers {
			h.kill()
		}
	}
	m.removeSockets()
}

func (m *machine) removeSockets() {
	paths := []string{QMPSocket(m.spec)}
	if m.spec.Agent.SerialSocket != "" {
		paths = append(paths, m.spec.Agent.SerialSocket)
	}
	for i := range m.spec.Shares {
		paths = append(paths, filepath.Join(m.spec.Dir, "fs"+strconv.Itoa(i)+".sock"))
	}
	for _, p := range paths {
		if err := os.Remove(p); err != nil && !errors.Is(err, fs.ErrNotExist) {
			log.Printf("skiff: remove %s: %v", p, err)
		}
	}
}

// powerdown asks QEMU, over QMP, to press the ACPI power button.
func powerdown(ctx context.Context, sock string) error {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	var d net.Dialer
	c, err := d.DialContext(ctx, "unix", sock)
	if err != nil {
		return err
	}
	defer c.Close()
	if dl, ok := ctx.Deadline(); ok {
		_ = c.SetDeadline(dl)
	}
	r := bufio.NewReader(c)
	if _, err := r.ReadBytes('\n'); err != nil { // the greeting
		return err
	}
	for _, cmd := range []string{"qmp_capabilities", "system_powerdown"} {
		b, _ := json.Marshal(map[string]string{"execute": cmd})
		if _, err := c.Write(append(b, '\n')); err != nil {
			return err
		}
		line, err := r.ReadBytes('\n')
		if err != nil {
			return err
		}
		if strings.Contains(string(line), `"error"`) {
			return fmt.Errorf("%s: %s", cmd, strings.TrimSpace(string(line)))
		}
	}
	return nil
}

// tscKHz is the host's TSC rate as /proc/cpuinfo's "cpu MHz" gives it.
func tscKHz() int64 {
	f, err := os.Open("/proc/cpuinfo")
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), ":")
		if ok && strings.TrimSpace(k) == "cpu MHz" {
			mhz, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
			if err != nil {
				return 0
			}
			return int64(mhz*1000 + 0.5)
		}
	}
	return 0
}

// findVirtiofsd takes $SKIFF_VIRTIOFSD, else looks for QEMU's bundled C
// daemon, then the Rust one.
func findVirtiofsd() string {
	if p := os.Getenv("SKIFF_VIRTIOFSD"); p != "" {
		return p
	}
	for _, p := range []string{"/usr/lib/qemu/virtiofsd", "/usr/libexec/virtiofsd", "/usr/lib/virtiofsd"} {
		if st, err := os.Stat(p); err == nil && st.Mode().IsRegular() && st.Mode()&0o111 != 0 {
			return p
		}
	}
	if p, err := exec.LookPath("virtiofsd"); err == nil {
		return p
	}
	return ""
}
