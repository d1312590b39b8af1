package ocispec

import (
	"fmt"
	"path"
	"sort"
	"strings"

	"github.com/containerd/errdefs"
	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// Options is what a container's spec is built from: the image and the
// user's flags, already merged and resolved by the caller.
type Options struct {
	ID     string
	Rootfs string

	Args     []string
	Env      []string
	Cwd      string
	UID, GID uint32
	// AdditionalGids are the user's supplementary groups.
	AdditionalGids []uint32
	Terminal       bool
	Hostname       string

	// HostsPath, ResolvConfPath and HostnamePath are files prepared by the
	// caller and bind-mounted over the container's own.
	HostsPath      string
	ResolvConfPath string
	HostnamePath   string

	ReadOnly   bool
	Privileged bool
	CapAdd     []string
	CapDrop    []string
	// NoNewPrivileges and SeccompUnconfined come from --security-opt.
	NoNewPrivileges   bool
	SeccompUnconfined bool
	// ImageArch is the architecture the image was built for ("amd64",
	// "386", "arm64", "arm"), which decides the ABIs seccomp covers.
	ImageArch string

	// NetworkMode "host" shares the machine's network namespace; anything
	// else gives the container its own, with loopback up.
	NetworkMode string
	// NetNSPath, when set, is a network namespace prepared for the
	// container, which it joins instead of getting a new one.
	NetNSPath string

	Resources Resources
	Ulimits   []Ulimit
	ShmSize   int64
	Sysctls   map[string]string
	// Tmpfs lists "/path[:options]" mounts.
	Tmpfs []string
	// Mounts are the container's binds and volumes, mounted after every
	// other, parents first.
	Mounts []specs.Mount

	// CgroupsPath is the container's cgroup, e.g. "/skiff/<id>".
	CgroupsPath string
}

// Resources are the cgroup limits, in Docker's units.
type Resources struct {
	Memory            int64
	MemorySwap        int64
	MemoryReservation int64
	NanoCPUs          int64
	CPUShares         int64
	CpusetCpus        string
	PidsLimit         int64
}

// Ulimit is one --ulimit.
type Ulimit struct {
	Name       string
	Soft, Hard uint64
}

// maskedPaths and readonlyPaths are Docker's defaults.
var (
	maskedPaths = []string{
		"/proc/asound",
		"/proc/acpi",
		"/proc/interrupts",
		"/proc/kcore",
		"/proc/keys",
		"/proc/latency_stats",
		"/proc/timer_list",
		"/proc/timer_stats",
		"/proc/sched_debug",
		"/proc/scsi",
		"/sys/firmware",
		"/sys/devices/virtual/powercap",
	}
	readonlyPaths = []string{
		"/proc/bus",
		"/proc/fs",
		"/proc/irq",
		"/proc/sys",
		"/proc/sysrq-trigger",
	}
)

const defaultShmSize = 64 << 20

// Build returns the runtime spec for o.
func Build(o Options) (*specs.Spec, error) {
	if o.ID == "" || o.Rootfs == "" || len(o.Args) == 0 {
		return nil, fmt.Errorf("build spec: id, rootfs and args are required: %w", errdefs.ErrInvalidArgument)
	}
	caps := DefaultCapabilities
	if o.Privileged {
		caps = boundingSet()
	}
	caps, err := Capabilities(caps, o.CapAdd, o.CapDrop)
	if err != nil {
		return nil, err
	}
	rlimits, err := rlimits(o.Ulimits)
	if err != nil {
		return nil, err
	}
	cwd := o.Cwd
	if cwd == "" {
		cwd = "/"
	}
	if !path.IsAbs(cwd) {
		return nil, fmt.Errorf("working directory %q is not an absolute path: %w", cwd, errdefs.ErrInvalidArgument)
	}

	s := &specs.Spec{
		Version: specs.Version,
		Root:    &specs.Root{Path: o.Rootfs, Readonly: o.ReadOnly},
		Process: &specs.Process{
			Terminal: o.Terminal,
			Args:     o.Args,
			Env:      o.Env,
			Cwd:      path.Clean(cwd),
			User: specs.User{
				UID:            o.UID,
				GID:            o.GID,
				AdditionalGids: o.AdditionalGids,
			},
			Capabilities: &specs.LinuxCapabilities{
				Bounding:  caps,
				Effective: caps,
				Permitted: caps,
			},
			Rlimits:         rlimits,
			NoNewPrivileges: o.NoNewPrivileges,
		},
		Hostname: o.Hostname,
		Mounts:   mounts(o),
		Linux: &specs.Linux{
			Namespaces:  namespaces(o.NetworkMode, o.NetNSPath),
			CgroupsPath: o.CgroupsPath,
			Resources:   resources(o.Resources, o.Privileged),
			Sysctl:      o.Sysctls,
		},
	}
	if o.Privileged {
		// A privileged container sees every device of the machine.
		s.Linux.Resources.Devices = []specs.LinuxDeviceCgroup{{Allow: true, Access: "rwm"}}
		s.Linux.Devices = hostDevices()
	} else {
		s.Linux.MaskedPaths = maskedPaths
		s.Linux.ReadonlyPaths = readonlyPaths
		if !o.SeccompUnconfined {
			if s.Linux.Seccomp, err = defaultSeccomp(s, o.ImageArch); err != nil {
				return nil, fmt.Errorf("build seccomp profile: %w", err)
			}
		}
	}
	return s, nil
}

func namespaces(networkMode, netnsPath string) []specs.LinuxNamespace {
	ns := []specs.LinuxNamespace{
		{Type: specs.PIDNamespace},
		{Type: specs.MountNamespace},
		{Type: specs.UTSNamespace},
		{Type: specs.IPCNamespace},
	}
	if networkMode != "host" {
		ns = append(ns, specs.LinuxNamespace{Type: specs.NetworkNamespace, Path: netnsPath})
	}
	// On cgroup v2, as with Docker, a container sees its own cgroup as
	// the root of /sys/fs/cgroup, not the machine's whole tree.
	if cgroup2() {
		ns = append(ns, specs.LinuxNamespace{Type: specs.CgroupNamespace})
	}
	return ns
}

func mounts(o Options) []specs.Mount {
	shm := o.ShmSize
	if shm <= 0 {
		shm = defaultShmSize
	}
	sysOpts := []string{"nosuid", "noexec", "nodev", "ro"}
	cgroupOpts := []string{"nosuid", "noexec", "nodev", "relatime", "ro"}
	if o.Privileged {
		sysOpts = []string{"nosuid", "noexec", "nodev"}
		cgroupOpts = []string{"nosuid", "noexec", "nodev", "relatime"}
	}
	m := []specs.Mount{
		{Destination: "/proc", Type: "proc", Source: "proc", Options: []string{"nosuid", "noexec", "nodev"}},
		{Destination: "/dev", Type: "tmpfs", Source: "tmpfs", Options: []string{"nosuid", "strictatime", "mode=755", "size=65536k"}},
		{Destination: "/dev/pts", Type: "devpts", Source: "devpts", Options: []string{"nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"}},
		{Destination: "/sys", Type: "sysfs", Source: "sysfs", Options: sysOpts},
		{Destination: "/sys/fs/cgroup", Type: "cgroup", Source: "cgroup", Options: cgroupOpts},
		{Destination: "/dev/mqueue", Type: "mqueue", Source: "mqueue", Options: []string{"nosuid", "noexec", "nodev"}},
		{Destination: "/dev/shm", Type: "tmpfs", Source: "shm", Options: []string{"nosuid", "noexec", "nodev", "mode=1777", fmt.Sprintf("size=%d", shm)}},
	}
	system := len(m)
	user := map[string]bool{}
	for _, um := range o.Mounts {
		user[path.Clean(um.Destination)] = true
	}
	for _, f := range []struct{ dst, src string }{
		{"/etc/resolv.conf", o.ResolvConfPath},
		{"/etc/hostname", o.HostnamePath},
		{"/etc/hosts", o.HostsPath},
	} {
		// A user's own file there wins, as with docker.
		if f.src != "" && !user[f.dst] {
			m = append(m, specs.Mount{Destination: f.dst, Type: "bind", Source: f.src, Options: []string{"rbind", "rprivate"}})
		}
	}
	for _, t := range o.Tmpfs {
		dst, opts, _ := strings.Cut(t, ":")
		options := []string{"nosuid", "nodev", "noexec"}
		if opts != "" {
			options = append(options, strings.Split(opts, ",")...)
		}
		m = append(m, specs.Mount{Destination: dst, Type: "tmpfs", Source: "tmpfs", Options: options})
	}
	m = append(m, o.Mounts...)
	// Parents before children: a volume at /etc must not cover
	// /etc/hosts.
	rest := m[system:]
	sort.SliceStable(rest, func(i, j int) bool { return depth(rest[i].Destination) < depth(rest[j].Destination) })
	return m
}

func depth(p string) int {
	return strings.Count(path.Clean(p), "/")
}

func resources(r Resources, privileged bool) *specs.LinuxResources {
	out := &specs.LinuxResources{}
	if !privileged {
		// Docker's default device rules: deny all, then allow the standard
		// devices that libcontainer creates.
		out.Devices = []specs.LinuxDeviceCgroup{{Allow: false, Access: "rwm"}}
	}
	if r.Memory > 0 || r.MemoryReservation > 0 || r.MemorySwap != 0 {
		out.Memory = &specs.LinuxMemory{}
		if r.Memory > 0 {
			out.Memory.Limit = &r.Memory
		}
		if r.MemoryReservation > 0 {
			out.Memory.Reservation = &r.MemoryReservation
		}
		if r.MemorySwap != 0 {
			out.Memory.Swap = &r.MemorySwap
		}
	}
	if r.NanoCPUs > 0 || r.CPUShares > 0 || r.CpusetCpus != "" {
		out.CPU = &specs.LinuxCPU{Cpus: r.CpusetCpus}
		if r.NanoCPUs > 0 {
			period := uint64(100000)
			quota := r.NanoCPUs * int64(period) / 1e9
			out.CPU.Period = &period
			out.CPU.Quota = &quota
		}
		if r.CPUShares > 0 {
			shares := uint64(r.CPUShares)
			out.CPU.Shares = &shares
		}
	}
	if r.PidsLimit != 0 {
		limit := r.PidsLimit
		out.Pids = &specs.LinuxPids{Limit: &limit}
	}
	return out
}

var rlimitNames = map[string]string{
	"as": "RLIMIT_AS", "core": "RLIMIT_CORE", "cpu": "RLIMIT_CPU",
	"data": "RLIMIT_DATA", "fsize": "RLIMIT_FSIZE", "locks": "RLIMIT_LOCKS",
	"memlock": "RLIMIT_MEMLOCK", "msgqueue": "RLIMIT_MSGQUEUE",
	"nice": "RLIMIT_NICE", "nofile": "RLIMIT_NOFILE", "nproc": "RLIMIT_NPROC",
	"rss": "RLIMIT_RSS", "rtprio": "RLIMIT_RTPRIO", "rttime": "RLIMIT_RTTIME",
	"sigpending": "RLIMIT_SIGPENDING", "stack": "RLIMIT_STACK",
}

// UlimitNames lists the names --ulimit accepts.
func UlimitNames() []string {
	names := make([]string, 0, len(rlimitNames))
	for n := range rlimitNames {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

func rlimits(us []Ulimit) ([]specs.POSIXRlimit, error) {
	var out []specs.POSIXRlimit
	for _, u := range us {
		t, ok := rlimitNames[u.Name]
		if !ok {
			return nil, fmt.Errorf("unknown ulimit %q: use one of %s: %w", u.Name, strings.Join(UlimitNames(), ", "), errdefs.ErrInvalidArgument)
		}
		if u.Soft > u.Hard {
			return nil, fmt.Errorf("ulimit %s: soft limit %d is above hard limit %d: %w", u.Name, u.Soft, u.Hard, errdefs.ErrInvalidArgument)
		}
		out = append(out, specs.POSIXRlimit{Type: t, Soft: u.Soft, Hard: u.Hard})
	}
	return out, nil
}

// LinuxResources is r as the runtime spec spells it, without device
// rules: what a running container's cgroup is updated to.
func LinuxResources(r Resources) *specs.LinuxResources {
	return resources(r, true)
}
