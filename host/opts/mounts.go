package opts

import (
	"encoding/csv"
	"fmt"
	"path"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"

	units "github.com/docker/go-units"

	apiv1 "github.com/skiffrun/skiff/guest/api/v1"
)

// Mount types.
const (
	MountBind   = "bind"
	MountVolume = "volume"
	MountTmpfs  = "tmpfs"
)

// volumeNamePattern is the local volume driver's rule for names, as
// docker's.
var volumeNamePattern = regexp.MustCompile(`^[a-zA-Z0-9][a-zA-Z0-9_.-]+$`)

// VolumeName checks the name of a named volume.
func VolumeName(flag, v string) error {
	if volumeNamePattern.MatchString(v) {
		return nil
	}
	return Invalid(flag, v, "%q includes invalid characters for a local volume name, only \"[a-zA-Z0-9][a-zA-Z0-9_.-]\" are allowed (at least two); if you intended to pass a host directory, use an absolute path or one starting with ./", v)
}

var propagations = map[string]bool{"shared": true, "rshared": true, "slave": true, "rslave": true, "private": true, "rprivate": true}

// Volume parses one -v value the way docker does:
//
//	/ctr                  a new anonymous volume at /ctr
//	NAME:/ctr[:OPTS]      the named volume NAME
//	/host:/ctr[:OPTS]     a bind mount of the host folder /host
//	./rel:/ctr[:OPTS]     the same, relative to the working directory
//
// OPTS are comma-separated: ro or rw, a propagation (rprivate, shared,
// ...) for binds, nocopy for volumes, and z, Z, consistent, cached,
// delegated, which are accepted and have no effect here. A bind's
// HostSource is its absolute host path; Source is left for the caller to
// translate to the agent's view.
func Volume(flag, v string) (*apiv1.Mount, error) {
	bad := func(format string, args ...any) error { return Invalid(flag, v, format, args...) }
	if strings.TrimSpace(v) == "" {
		return nil, bad("give /container/path, NAME:/container/path or /host/path:/container/path[:ro]")
	}
	parts := strings.Split(v, ":")
	if len(parts) > 2 && len(parts[0]) == 1 && isDriveLetter(parts[0][0]) && strings.HasPrefix(parts[1], `\`) {
		// A Windows host path: C:\src:/src.
		parts = append([]string{parts[0] + ":" + parts[1]}, parts[2:]...)
	}
	var src, dst, mode string
	switch len(parts) {
	case 1:
		dst = parts[0]
	case 2:
		if _, err := volumeMode(parts[1]); err == nil && parts[1] != "" && !path.IsAbs(parts[1]) {
			// "/data:ro" names no source: docker refuses it too.
			return nil, bad("an anonymous volume takes no options; give NAME:/container/path:%s or /host/path:/container/path:%s", parts[1], parts[1])
		}
		src, dst = parts[0], parts[1]
	case 3:
		src, dst, mode = parts[0], parts[1], parts[2]
	default:
		return nil, bad("too many ':'; use [SOURCE:]/container/path[:OPTIONS]")
	}
	if err := checkTarget(dst); err != nil {
		return nil, bad("%s", err)
	}
	m := &apiv1.Mount{Type: MountVolume, Target: path.Clean(dst), Mode: mode}
	opts, err := volumeMode(mode)
	if err != nil {
		return nil, bad("%s", err)
	}
	switch {
	case src == "":
		if len(parts) > 1 {
			return nil, bad("the source before ':' is empty; give NAME:%s or /host/path:%s", dst, dst)
		}
	case strings.HasPrefix(src, "."):
		// docker's CLI resolves ./x, ../x and . against the working
		// directory.
		abs, err := filepath.Abs(src)
		if err != nil {
			return nil, bad("resolve %s: %s", src, err)
		}
		m.Type, m.HostSource = MountBind, abs
	case filepath.IsAbs(src) || path.IsAbs(src):
		m.Type, m.HostSource = MountBind, filepath.Clean(src)
	default:
		if err := VolumeName(flag, src); err != nil {
			return nil, err
		}
		m.Source = src
	}
	m.ReadOnly = opts.readOnly
	if opts.propagation != "" {
		if m.Type != MountBind {
			return nil, bad("propagation %s applies only to bind mounts of host folders", opts.propagation)
		}
		m.Propagation = opts.propagation
	}
	if opts.noCopy {
		if m.Type != MountVolume {
			return nil, bad("nocopy applies only to volumes, not to bind mounts")
		}
		m.NoCopy = true
	}
	return m, nil
}

func isDriveLetter(b byte) bool { return b >= 'a' && b <= 'z' || b >= 'A' && b <= 'Z' }

type modeOpts struct {
	readOnly    bool
	propagation string
	noCopy      bool
}

// volumeMode parses -v's options.
func volumeMode(mode string) (modeOpts, error) {
	var o modeOpts
	if mode == "" {
		return o, nil
	}
	seen := map[string]bool{}
	once := func(kind, opt string) error {
		if seen[kind] {
			return fmt.Errorf("invalid mode %s: more than one %s option", mode, kind)
		}
		seen[kind] = true
		return nil
	}
	for _, opt := range strings.Split(mode, ",") {
		var err error
		switch {
		case opt == "ro" || opt == "rw":
			err = once("ro/rw", opt)
			o.readOnly = opt == "ro"
		case opt == "z" || opt == "Z":
			// SELinux relabelling: nothing to do on a machine without it.
			err = once("z/Z", opt)
		case propagations[opt]:
			err = once("propagation", opt)
			o.propagation = opt
		case opt == "nocopy":
			err = once("nocopy", opt)
			o.noCopy = true
		case opt == "consistent" || opt == "cached" || opt == "delegated":
			err = once("consistency", opt)
		default:
			return o, fmt.Errorf("invalid mode %q: use ro or rw, a propagation (rprivate, rshared, rslave, private, shared, slave), nocopy, z or Z, separated by commas", opt)
		}
		if err != nil {
			return o, err
		}
	}
	return o, nil
}

func checkTarget(dst string) error {
	switch {
	case dst == "":
		return fmt.Errorf("no path inside the container; give one, like /data")
	case !path.IsAbs(dst):
		return fmt.Errorf("mount path %q must be absolute inside the container, like /%s", dst, strings.TrimLeft(dst, "./"))
	case path.Clean(dst) == "/":
		return fmt.Errorf("the destination can't be '/'; mount at a folder like /data")
	}
	return nil
}

// MountSpec parses one --mount value, docker's comma-separated key=value
// list (type=bind|volume|tmpfs, source, target, readonly, bind-*,
// volume-*, tmpfs-*). A tmpfs mount comes back as a --tmpfs item
// ("/path:size=...,mode=...") instead of a Mount.
func MountSpec(flag, v string) (*apiv1.Mount, string, error) {
	bad := func(format string, args ...any) error { return Invalid(flag, v, format, args...) }
	fields, err := csv.NewReader(strings.NewReader(v)).Read()
	if err != nil {
		return nil, "", bad("not a comma-separated list of key=value: %s", err)
	}
	m := &apiv1.Mount{Type: MountVolume}
	var (
		kinds       = map[string]bool{}
		tmpfsOpts   []string
		hasSource   bool
		volumeLabel map[string]string
	)
	boolVal := func(key, val string) (bool, error) {
		b, err := strconv.ParseBool(val)
		if err != nil {
			return false, bad("%s=%s: use true or false", key, val)
		}
		return b, nil
	}
	for _, f := range fields {
		key, val, hasVal := strings.Cut(f, "=")
		key = strings.ToLower(strings.TrimSpace(key))
		if !hasVal {
			switch key {
			case "readonly", "ro":
				m.ReadOnly = true
			case "volume-nocopy":
				m.NoCopy, kinds["volume"] = true, true
			case "bind-nonrecursive":
				m.NonRecursive, kinds["bind"] = true, true
			default:
				return nil, "", bad("%q must be a key=value pair", f)
			}
			continue
		}
		switch key {
		case "type":
			m.Type = strings.ToLower(val)
		case "source", "src":
			m.Source, hasSource = val, true
		case "target", "dst", "destination":
			m.Target = val
		case "readonly", "ro":
			if m.ReadOnly, err = boolVal(key, val); err != nil {
				return nil, "", err
			}
		case "consistency":
			// Only Docker Desktop's file sharing ever used it.
		case "bind-propagation":
			if !propagations[strings.ToLower(val)] {
				return nil, "", bad("bind-propagation %q: use rprivate, private, rshared, shared, rslave or slave", val)
			}
			m.Propagation, kinds["bind"] = strings.ToLower(val), true
		case "bind-nonrecursive":
			if m.NonRecursive, err = boolVal(key, val); err != nil {
				return nil, "", err
			}
			kinds["bind"] = true
		case "volume-nocopy":
			if m.NoCopy, err = boolVal(key, val); err != nil {
				return nil, "", err
			}
			kinds["volume"] = true
		case "volume-label":
			k, lv, _ := strings.Cut(val, "=")
			if k == "" {
				return nil, "", bad("volume-label %q: use volume-label=key=value", val)
			}
			if volumeLabel == nil {
				volumeLabel = map[string]string{}
			}
			volumeLabel[k], kinds["volume"] = lv, true
		case "volume-driver":
			if val != "local" {
				return nil, "", bad("volume driver %q: only the local driver exists here; leave volume-driver out", val)
			}
			kinds["volume"] = true
		case "tmpfs-size":
			n, err := units.RAMInBytes(val)
			if err != nil || n < 0 {
				return nil, "", bad("tmpfs-size %q: use a size like 64m", val)
			}
			tmpfsOpts, kinds["tmpfs"] = append(tmpfsOpts, fmt.Sprintf("size=%d", n)), true
		case "tmpfs-mode":
			mode, err := strconv.ParseUint(val, 8, 32)
			if err != nil {
				return nil, "", bad("tmpfs-mode %q: use octal permissions, like 1777", val)
			}
			tmpfsOpts, kinds["tmpfs"] = append(tmpfsOpts, fmt.Sprintf("mode=%o", mode)), true
		default:
			return nil, "", bad("unexpected key %q; use type, source, target, readonly, bind-propagation, bind-nonrecursive, volume-nocopy, volume-label, tmpfs-size or tmpfs-mode", key)
		}
	}
	m.VolumeLabels = volumeLabel
	switch m.Type {
	case MountBind, MountVolume, MountTmpfs:
	case "":
		return nil, "", bad("type is required; use type=bind, type=volume or type=tmpfs")
	default:
		return nil, "", bad("mount type %q is not supported; use bind, volume or tmpfs", m.Type)
	}
	for kind := range kinds {
		if kind != m.Type {
			return nil, "", bad("cannot mix '%s-*' options with mount type '%s'", kind, m.Type)
		}
	}
	if m.Target == "" {
		return nil, "", bad("target is required, as in target=/data")
	}
	if err := checkTarget(m.Target); err != nil {
		return nil, "", bad("%s", err)
	}
	m.Target = path.Clean(m.Target)
	switch m.Type {
	case MountTmpfs:
		if hasSource {
			return nil, "", bad("a tmpfs mount takes no source; drop source=")
		}
		if m.ReadOnly {
			tmpfsOpts = append(tmpfsOpts, "ro")
		}
		t := m.Target
		if len(tmpfsOpts) > 0 {
			t += ":" + strings.Join(tmpfsOpts, ",")
		}
		return nil, t, nil
	case MountBind:
		src := m.Source
		if src == "" {
			return nil, "", bad("a bind mount needs source=/host/path")
		}
		if src == "." || strings.HasPrefix(src, "./") {
			if src, err = filepath.Abs(src); err != nil {
				return nil, "", bad("resolve %s: %s", m.Source, err)
			}
		}
		if !filepath.IsAbs(src) && !path.IsAbs(src) {
			return nil, "", bad("bind source %q must be an absolute path (or start with ./)", m.Source)
		}
		m.Source, m.HostSource = "", filepath.Clean(src)
	case MountVolume:
		if m.Source != "" {
			if err := VolumeName(flag, m.Source); err != nil {
				return nil, "", err
			}
		}
	}
	return m, "", nil
}
