package machine

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"runtime"
	"strings"
	"time"

	units "github.com/docker/go-units"

	apiv1 "github.com/skiffrun/skiff/guest/api/v1"
	"github.com/skiffrun/skiff/platform"
)

// versionTimeout bounds asking a running agent its version for status.
const versionTimeout = 3 * time.Second

// Info is what `skiff machine status`, `ls` and `inspect` show of a
// machine. Sizes are 0 where the driver chooses them and none is known.
type Info struct {
	Name   string
	Driver string
	State  Status
	// Error says why the machine stopped, when State is error.
	Error string `json:",omitempty"`
	// Accel is how the VM runs ("kvm", "tcg"), as of its last start.
	Accel     string `json:",omitempty"`
	Arch      string
	CPUs      int
	MemoryMiB int
	// MemoryGuestUsed is what the running guest uses of its memory (total
	// less MemAvailable); MemoryHostRSS what the VM's process holds on the
	// host, which the balloon's free page reporting brings down.
	MemoryGuestUsed int64 `json:",omitempty"`
	MemoryHostRSS   int64 `json:",omitempty"`
	// DiskSize is the data disk's size; DiskAllocated what its sparse
	// file takes on the host.
	DiskSize      int64
	DiskAllocated int64
	// Network is a VM's uplink, user or nat (as of its next start).
	Network      string    `json:",omitempty"`
	StartedAt    time.Time `json:",omitzero"`
	Uptime       string    `json:",omitempty"`
	AgentVersion string    `json:",omitempty"`
	// Emulators are the image architectures the running machine runs,
	// its own first, and how; EmulatorNotes what its agent said of them
	// (Rosetta not installed).
	Emulators     []Emulator `json:",omitempty"`
	EmulatorNotes []string   `json:",omitempty"`
	// Image is the guest image a VM machine boots (or last booted);
	// before its first start, the one it would boot.
	Image *BootImage `json:",omitempty"`
	// NextImage is the image its next start (or skiff machine upgrade)
	// moves it to, when that differs from Image and is known without
	// asking a registry.
	NextImage string `json:",omitempty"`
	// GoneShares are host folders the running machine shares that are no
	// longer folders on the host: containers that bind-mount them get I/O
	// errors until the folder is back or the machine restarts without it.
	GoneShares []string `json:",omitempty"`
	Dir        string
	Config     Config
}

// Emulator is how a machine runs one image architecture.
type Emulator struct {
	// Arch is the image architecture ("arm64").
	Arch string
	// Kind is "native", "qemu" or "rosetta".
	Kind string
	// Interpreter is the emulator's program in the machine, and Entry
	// its binfmt_misc entry; empty when native.
	Interpreter string `json:",omitempty"`
	Entry       string `json:",omitempty"`
}

// Info describes the machine; with version, a running machine's agent is
// asked its version.
func (m *Machine) Info(ctx context.Context, version bool) (Info, error) {
	st, detail := m.Describe(ctx)
	c, err := m.Config()
	if err != nil {
		return Info{}, err
	}
	in := Info{Name: m.spec.Name, Driver: m.spec.Driver, State: st, Error: detail, Arch: runtime.GOARCH, Dir: m.spec.Dir, Config: c}
	if d, err := platform.Lookup(m.spec.Driver); err == nil {
		if _, detached := d.(platform.Detached); detached {
			// The agent runs on the host: its CPUs and memory.
			in.Accel, in.CPUs = "none", runtime.NumCPU()
			m.agentVersion(ctx, &in, version)
			return in, nil
		}
	}
	in.Image, in.NextImage = m.imageInfo()
	in.Network = c.networkMode()
	last := m.readState()
	in.Accel, in.CPUs, in.MemoryMiB = last.Accel, last.CPUs, last.MemoryMiB
	if last.Arch != "" {
		in.Arch = last.Arch
	}
	if st == Running {
		in.GoneShares = goneShares(last.Shares)
	}
	if st == Running && last.VMPID > 0 {
		if rss, err := processRSS(last.VMPID); err == nil {
			in.MemoryHostRSS = rss
		}
	}
	if st == Running || st == Starting {
		if !last.Started.IsZero() {
			in.StartedAt = last.Started
			in.Uptime = units.HumanDuration(time.Since(last.Started))
		}
	} else {
		// What the next start uses.
		if c.CPUs != 0 {
			in.CPUs = c.CPUs
		}
		if c.MemoryMiB != 0 {
			in.MemoryMiB = c.MemoryMiB
		}
	}
	in.DiskAllocated, in.DiskSize, err = DiskUse(m.diskPath())
	if err != nil && !errors.Is(err, platform.ErrNotSupported) {
		return in, fmt.Errorf("data disk of machine %q: %w", m.spec.Name, err)
	}
	if in.DiskSize == 0 {
		in.DiskSize = m.diskSize(c)
	}
	m.agentVersion(ctx, &in, version)
	return in, nil
}

func (m *Machine) agentVersion(ctx context.Context, in *Info, version bool) {
	if !version || in.State != Running {
		return
	}
	c, err := m.Client(false)
	if err != nil {
		return
	}
	defer c.Close()
	ctx, cancel := context.WithTimeout(ctx, versionTimeout)
	defer cancel()
	if v, err := c.System.Version(ctx, &apiv1.Empty{}); err == nil {
		in.AgentVersion = v.GetVersion()
	}
	if si, err := c.System.Info(ctx, &apiv1.Empty{}); err == nil && si.GetMemAvailable() > 0 {
		in.MemoryGuestUsed = max(si.GetMemTotal()-si.GetMemAvailable(), 0)
	}
	// An agent older than the emulation service leaves the list empty.
	if e, err := c.Emulation.Emulators(ctx, &apiv1.Empty{}); err == nil {
		for _, em := range e.GetEmulators() {
			in.Emulators = append(in.Emulators, Emulator{Arch: em.GetArch(), Kind: em.GetKind(), Interpreter: em.GetInterpreter(), Entry: em.GetEntry()})
		}
		in.EmulatorNotes = e.GetNotes()
	}
}

// Accel is the acceleration the daemon recorded for the machine's VM
// ("kvm", "tcg"); "" until its driver has started it.
func (m *Machine) Accel() string { return m.readState().Accel }

// Driver is the machine's driver.
func (m *Machine) Driver() string { return m.spec.Driver }

// List describes every machine under home.
func List(ctx context.Context, home string) ([]Info, error) {
	names, err := Names(home)
	if err != nil {
		return nil, err
	}
	var out []Info
	var errs []error
	for _, n := range names {
		m, err := New(Options{Home: home, Name: n})
		if err != nil {
			errs = append(errs, err)
			continue
		}
		in, err := m.Info(ctx, false)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		out = append(out, in)
	}
	return out, errors.Join(errs...)
}

// LogsOptions select what `skiff machine logs` prints.
type LogsOptions struct {
	// Daemon selects the host daemon's log rather than the console.
	Daemon bool
	// Tail is the number of lines from the end; negative for all.
	Tail int
	// Follow keeps printing what is appended until ctx ends.
	Follow bool
}

// followPoll paces logs -f.
const followPoll = 200 * time.Millisecond

// Logs writes the machine's console log (or its daemon's) to w.
func (m *Machine) Logs(ctx context.Context, w io.Writer, o LogsOptions) error {
	if err := m.MustExist(); err != nil {
		return err
	}
	path := m.consoleLog()
	if o.Daemon {
		path = m.daemonLog()
	}
	b, err := os.ReadFile(path)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("read %s: %w", path, err)
	}
	off := int64(len(b))
	if _, err := io.WriteString(w, tail(string(b), o.Tail)); err != nil {
		return err
	}
	for o.Follow {
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(followPoll):
		}
		off, err = copyFrom(w, path, off)
		if err != nil {
			return err
		}
	}
	return nil
}

// copyFrom writes what path holds past off and returns the new offset; a
// file that shrank (a new boot's log) is read from its start.
func copyFrom(w io.Writer, path string, off int64) (int64, error) {
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return 0, nil
	}
	if err != nil {
		return off, err
	}
	defer f.Close()
	if st, err := f.Stat(); err == nil && st.Size() < off {
		off = 0
	}
	if _, err := f.Seek(off, io.SeekStart); err != nil {
		return off, err
	}
	n, err := io.Copy(w, f)
	return off + n, err
}

// tail returns the last n lines of s (all when n < 0).
func tail(s string, n int) string {
	if n < 0 || s == "" {
		return s
	}
	if n == 0 {
		return ""
	}
	lines := strings.SplitAfter(s, "\n")
	if lines[len(lines)-1] == "" {
		lines = lines[:len(lines)-1]
	}
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "")
}

// goneShares are the folders of paths that are not folders on the host
// any more (removed, or replaced by a file).
func goneShares(paths []string) []string {
	var gone []string
	for _, p := range paths {
		if fi, err := os.Stat(p); err != nil || !fi.IsDir() {
			gone = append(gone, p)
		}
	}
	return gone
}
