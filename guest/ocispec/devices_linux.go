package ocispec

import (
	"fmt"
	"github.com/opencontainers/cgroups"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// hostDevices lists the machine's device nodes, which a privileged
// container gets, as Docker gives them. Directories that the container
// mounts afresh (pts, shm, mqueue) are skipped.
func hostDevices() []specs.LinuxDevice {
	var out []specs.LinuxDevice
	_ = filepath.WalkDir("/dev", func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return nil
		}
		if d.IsDir() {
			switch path {
			case "/dev/pts", "/dev/shm", "/dev/mqueue":
				return fs.SkipDir
			}
			return nil
		}
		if d.Type()&fs.ModeDevice == 0 || path == "/dev/console" || strings.HasPrefix(path, "/dev/ptmx") {
			return nil
		}
		var st unix.Stat_t
		if unix.Lstat(path, &st) != nil {
			return nil
		}
		typ := "b"
		if st.Mode&unix.S_IFMT == unix.S_IFCHR {
			typ = "c"
		}
		mode := os.FileMode(st.Mode & 0o777)
		uid, gid := st.Uid, st.Gid
		out = append(out, specs.LinuxDevice{
			Path:     path,
			Type:     typ,
			Major:    int64(unix.Major(uint64(st.Rdev))),
			Minor:    int64(unix.Minor(uint64(st.Rdev))),
			FileMode: &mode,
			UID:      &uid,
			GID:      &gid,
		})
		return nil
	})
	return out
}

// boundingSet is the agent's own capability bounding set: a container can
// get no capability outside it, so "all capabilities" means these (a
// machine that withholds one, like CAP_SYS_RESOURCE in some sandboxes,
// still runs privileged containers).
func boundingSet() []string {
	data, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return allCapabilities
	}
	for _, line := range strings.Split(string(data), "\n") {
		v, ok := strings.CutPrefix(line, "CapBnd:")
		if !ok {
			continue
		}
		var mask uint64
		if _, err := fmt.Sscanf(strings.TrimSpace(v), "%x", &mask); err != nil {
			return allCapabilities
		}
		var out []string
		for i, c := range allCapabilities {
			if mask&(1<<i) != 0 {
				out = append(out, c)
			}
		}
		return out
	}
	return allCapabilities
}

// cgroup2 reports whether the machine has the unified cgroup v2
// hierarchy only.
func cgroup2() bool { return cgroups.IsCgroup2UnifiedMode() }
