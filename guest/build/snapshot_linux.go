package build

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/containerd/errdefs"
	securejoin "github.com/cyphar/filepath-securejoin"
	"golang.org/x/sys/unix"
)

// snapshot is an overlayfs mount of some layers with a fresh writable
// layer above: what a step changes lands in upper.
type snapshot struct {
	dir    string
	rootfs string
	upper  string
}

// mountSnapshot mounts layers (lowest first) at dir/rootfs, with
// dir/upper above them.
func mountSnapshot(dir string, layers []string) (*snapshot, error) {
	s := &snapshot{dir: dir, rootfs: filepath.Join(dir, "rootfs"), upper: filepath.Join(dir, "upper")}
	work := filepath.Join(dir, "work")
	for _, d := range []string{s.rootfs, s.upper, work} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return nil, fmt.Errorf("create snapshot: %w", err)
		}
	}
	if len(layers) == 0 {
		// overlayfs wants a lower layer; scratch gets an empty one.
		empty := filepath.Join(dir, "empty")
		if err := os.MkdirAll(empty, 0o755); err != nil {
			return nil, fmt.Errorf("create snapshot: %w", err)
		}
		layers = []string{empty}
	}
	lower := make([]string, len(layers))
	for i, l := range layers {
		lower[len(layers)-1-i] = l
	}
	opts := "lowerdir=" + strings.Join(lower, ":") + ",upperdir=" + s.upper + ",workdir=" + work
	if len(opts) >= os.Getpagesize() {
		return nil, fmt.Errorf("mount snapshot: the image has too many layers (%d) for one overlay mount: %w", len(layers), errdefs.ErrNotImplemented)
	}
	if err := unix.Mount("overlay", s.rootfs, "overlay", 0, opts); err != nil {
		return nil, fmt.Errorf("mount snapshot at %s: %w", s.rootfs, err)
	}
	return s, nil
}

// unmount unmounts the snapshot; an unmounted one is fine.
func (s *snapshot) unmount() error {
	for {
		err := unix.Unmount(s.rootfs, unix.MNT_DETACH)
		if err == nil {
			continue // a mount may be stacked; take them all
		}
		if errors.Is(err, unix.EINVAL) || errors.Is(err, unix.ENOENT) {
			return nil
		}
		return fmt.Errorf("unmount snapshot %s: %w", s.rootfs, err)
	}
}

// mkdirAllOwned creates dir inside rootfs, giving the directories it
// creates to uid:gid.
func mkdirAllOwned(rootfs, dir string, uid, gid int) (string, error) {
	p, err := securejoin.SecureJoin(rootfs, dir)
	if err != nil {
		return "", fmt.Errorf("resolve %s: %w", dir, err)
	}
	var missing []string
	for q := p; q != rootfs && len(q) > len(rootfs); q = filepath.Dir(q) {
		if _, err := os.Lstat(q); err == nil {
			break
		}
		missing = append(missing, q)
	}
	if err := os.MkdirAll(p, 0o755); err != nil {
		return "", fmt.Errorf("create %s: %w", dir, err)
	}
	for _, m := range missing {
		if err := os.Lchown(m, uid, gid); err != nil {
			return "", fmt.Errorf("create %s: %w", dir, err)
		}
	}
	if fi, err := os.Stat(p); err != nil || !fi.IsDir() {
		return "", errdefs.ErrInvalidArgument.WithMessage(fmt.Sprintf("%s is not a directory in the image", dir))
	}
	return p, nil
}
