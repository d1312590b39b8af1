package machine

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/sys/unix"

	"github.com/skiffrun/skiff/guest/api/wire"
)

// AgentCommand is the hidden skiff-agent subcommand that PID 1 starts as
// the agent process.
const AgentCommand = "machine-agent"

// Init is the machine's PID 1. It never returns: it powers the VM off.
func Init() {
	started := uptime()
	logf("started")
	if err := switchRoot(); err != nil {
		fatal(fmt.Errorf("move to a root that containers can leave: %w", err))
	}
	if err := mountSystem(); err != nil {
		fatal(err)
	}
	// The kernel has every driver built in: the devices are there.
	reopenConsole()
	if err := os.WriteFile(pcpFractionFile, []byte(strconv.Itoa(pcpFraction)), 0); err != nil {
		logf("keep the per-CPU free page lists short: %v", err)
	}
	// Ctrl-Alt-Del should reach the agent as a signal, not reset the VM.
	_ = unix.Reboot(unix.LINUX_REBOOT_CMD_CAD_OFF)
	code := superviseAgent(started)
	logf("agent ended (%s); powering off", code)
	powerOff()
}

// superviseAgent starts the agent as PID 1's child, telling it when PID 1
// started, and reaps every other process that ends up as PID 1's child
// (orphans), until the agent ends.
// The agent's own children stay its own: their exit statuses reach
// libcontainer and os/exec, not this loop.
func superviseAgent(started time.Duration) string {
	sigs := make(chan os.Signal, 4)
	signal.Notify(sigs, unix.SIGTERM, unix.SIGINT, unix.SIGPWR, unix.SIGCHLD)
	// By its path, not /proc/self/exe: the agent's own exe must name a
	// folder under the root it runs in (wire.AgentPath).
	p, err := os.StartProcess(wire.AgentPath, []string{wire.AgentPath, AgentCommand}, &os.ProcAttr{
		Env:   append(os.Environ(), "PATH=/usr/sbin:/usr/bin:/sbin:/bin", initStartedEnv+"="+strconv.FormatInt(int64(started), 10)),
		Files: []*os.File{os.Stdin, os.Stdout, os.Stderr},
	})
	if err != nil {
		return fmt.Sprintf("start: %v", err)
	}
	for {
		// Reap what has ended before waiting for the next signal, so a
		// SIGCHLD that arrived before Notify is not missed.
		for {
			var ws unix.WaitStatus
			pid, err := unix.Wait4(-1, &ws, unix.WNOHANG, nil)
			if err != nil || pid <= 0 {
				break
			}
			if pid == p.Pid {
				if ws.Signaled() {
					return "killed by " + ws.Signal().String()
				}
				return fmt.Sprintf("exit status %d", ws.ExitStatus())
			}
		}
		switch sig := <-sigs; sig {
		case unix.SIGCHLD:
		default:
			// SIGINT is Ctrl-Alt-Del; SIGPWR and SIGTERM ask for a
			// power-off. The agent stops its containers first.
			_ = p.Signal(unix.SIGTERM)
		}
	}
}

// The kernel keeps pages freed on each CPU in a per-CPU list, for the
// next allocation there, before they go back to the free areas. Free
// page reporting sees only those areas: by default the lists may hold a
// quarter of the low watermark each, and after a boot they held ~30 MiB
// of a 2 GiB machine that the host never got back. A fraction this
// large gives every list the kernel's floor, 4 batches (~1 MiB).
const (
	pcpFractionFile = "/proc/sys/vm/percpu_pagelist_high_fraction"
	pcpFraction     = 1 << 30
)

// switchRoot makes a bind mount of the initramfs's root the process's
// root. pivot_root, which containers need, refuses to leave the
// initramfs's own mount (rootfs), but not a mount on top of it; binding
// costs nothing where copying every file onto a new tmpfs cost a large
// part of the boot under emulation. It runs before any other mount, so
// nothing needs to move along.
func switchRoot() error {
	const newRoot = "/.root"
	if err := os.Mkdir(newRoot, 0o755); err != nil && !errors.Is(err, fs.ErrExist) {
		return err
	}
	if err := unix.Mount("/", newRoot, "", unix.MS_BIND, ""); err != nil {
		return fmt.Errorf("bind the root: %w", err)
	}
	if err := os.Chdir(newRoot); err != nil {
		return err
	}
	if err := unix.Mount(".", "/", "", unix.MS_MOVE, ""); err != nil {
		return fmt.Errorf("move root: %w", err)
	}
	if err := unix.Chroot("."); err != nil {
		return fmt.Errorf("chroot: %w", err)
	}
	if err := os.Chdir("/"); err != nil {
		return err
	}
	// The bind shows the directory it was made on, empty.
	_ = os.Remove(newRoot)
	return nil
}

type mountPoint struct {
	source, target, fstype string
	flags                  uintptr
	data                   string
}

var systemMounts = []mountPoint{
	{"proc", "/proc", "proc", unix.MS_NOSUID | unix.MS_NODEV | unix.MS_NOEXEC, ""},
	{"sysfs", "/sys", "sysfs", unix.MS_NOSUID | unix.MS_NODEV | unix.MS_NOEXEC, ""},
	{"devtmpfs", "/dev", "devtmpfs", unix.MS_NOSUID, "mode=0755"},
	{"devpts", "/dev/pts", "devpts", unix.MS_NOSUID | unix.MS_NOEXEC, "gid=5,mode=0620,ptmxmode=0666"},
	{"shm", "/dev/shm", "tmpfs", unix.MS_NOSUID | unix.MS_NODEV, "mode=1777"},
	{"tmpfs", "/run", "tmpfs", unix.MS_NOSUID | unix.MS_NODEV, "mode=0755"},
	{"tmpfs", "/tmp", "tmpfs", unix.MS_NOSUID | unix.MS_NODEV, "mode=1777"},
	{"cgroup2", "/sys/fs/cgroup", "cgroup2", unix.MS_NOSUID | unix.MS_NODEV | unix.MS_NOEXEC, "nsdelegate"},
}

// mountSystem mounts the kernel's file systems and enables every cgroup
// controller for the cgroups below the root.
func mountSystem() error {
	for _, m := range systemMounts {
		if err := os.MkdirAll(m.target, 0o755); err != nil {
			return err
		}
		err := unix.Mount(m.source, m.target, m.fstype, m.flags, m.data)
		if errors.Is(err, unix.EBUSY) {
			continue // mounted by the kernel already
		}
		if err != nil {
			return fmt.Errorf("mount %s on %s: %w", m.fstype, m.target, err)
		}
	}
	for _, l := range [][2]string{{"/proc/self/fd", "/dev/fd"}, {"/proc/self/fd/0", "/dev/stdin"}, {"/proc/self/fd/1", "/dev/stdout"}, {"/proc/self/fd/2", "/dev/stderr"}, {"pts/ptmx", "/dev/ptmx"}} {
		_ = os.Remove(l[1])
		_ = os.Symlink(l[0], l[1])
	}
	return enableControllers("/sys/fs/cgroup")
}

// enableControllers turns on, for the children of the cgroup at dir,
// every controller the kernel offers there.
func enableControllers(dir string) error {
	data, err := os.ReadFile(filepath.Join(dir, "cgroup.controllers"))
	if err != nil {
		return err
	}
	var errs []error
	for _, c := range strings.Fields(string(data)) {
		if err := os.WriteFile(filepath.Join(dir, "cgroup.subtree_control"), []byte("+"+c), 0); err != nil {
			errs = append(errs, fmt.Errorf("enable cgroup controller %s: %w", c, err))
		}
	}
	return errors.Join(errs...)
}

// reopenConsole points stdio at /dev/console, and writes what was logged
// before it. With console=hvc0, virtio_console registers the console when
// the device has announced its ports, which may come after init starts:
// until then opening /dev/console fails, so it tries again for a while.
func reopenConsole() {
	fd, err := unix.Open("/dev/console", unix.O_RDWR|unix.O_NOCTTY|unix.O_CLOEXEC, 0)
	for deadline := time.Now().Add(10 * time.Second); err != nil && time.Now().Before(deadline); {
		time.Sleep(5 * time.Millisecond)
		fd, err = unix.Open("/dev/console", unix.O_RDWR|unix.O_NOCTTY|unix.O_CLOEXEC, 0)
	}
	if err == nil {
		for i := range 3 {
			_ = unix.Dup3(fd, i, 0)
		}
		unix.Close(fd)
	}
	earlyLog.Lock()
	defer earlyLog.Unlock()
	for _, l := range earlyLog.lines {
		fmt.Fprint(os.Stderr, l)
	}
	earlyLog.lines, earlyLog.console = nil, true
}

// earlyLog keeps the lines logged before reopenConsole: until the
// console is open, they would go nowhere.
var earlyLog struct {
	sync.Mutex
	lines   []string
	console bool
}

func readCmdline() string {
	b, _ := os.ReadFile("/proc/cmdline")
	return string(b)
}

// logf writes a line on the console; the console is what the host keeps
// as the machine's log.
func logf(format string, args ...any) {
	line := fmt.Sprintf("skiff-init: [%7.3fs] %s\n", uptime().Seconds(), fmt.Sprintf(format, args...))
	earlyLog.Lock()
	defer earlyLog.Unlock()
	if !earlyLog.console {
		earlyLog.lines = append(earlyLog.lines, line)
		return
	}
	fmt.Fprint(os.Stderr, line)
}

func fatal(err error) {
	logf("fatal: %v", err)
	reopenConsole() // so the lines kept until the console existed are seen
	powerOff()
}

// powerOff syncs, unmounts what it can and turns the VM off.
func powerOff() {
	unix.Sync()
	unmountAll()
	unix.Sync()
	_ = unix.Reboot(unix.LINUX_REBOOT_CMD_POWER_OFF)
	// Without a power-off device the kernel halts; keep PID 1 alive so it
	// does not panic with "Attempted to kill init".
	for {
		time.Sleep(time.Hour)
	}
}

// unmountAll unmounts every mount below / (deepest first) and remounts
// the rest read-only, so the data disk is clean at power-off.
func unmountAll() {
	data, err := os.ReadFile("/proc/self/mounts")
	if err != nil {
		return
	}
	lines := strings.Split(strings.TrimSpace(string(data)), "\n")
	for i := len(lines) - 1; i >= 0; i-- {
		f := strings.Fields(lines[i])
		if len(f) < 3 || f[1] == "/" {
			continue
		}
		switch f[2] {
		case "proc", "sysfs", "devtmpfs", "devpts", "cgroup2":
			continue
		}
		target := unescapeMount(f[1])
		if err := unix.Unmount(target, 0); err != nil {
			_ = unix.Mount("", target, "", unix.MS_REMOUNT|unix.MS_RDONLY, "")
		}
	}
}

// unescapeMount undoes the octal escapes of /proc/self/mounts ("\040").
func unescapeMount(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+3 < len(s) {
			var v byte
			ok := true
			for _, c := range s[i+1 : i+4] {
				if c < '0' || c > '7' {
					ok = false
					break
				}
				v = v*8 + byte(c-'0')
			}
			if ok {
				b.WriteByte(v)
				i += 3
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}
