package container

import (
	"errors"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"strings"

	"github.com/containerd/errdefs"
	securejoin "github.com/cyphar/filepath-securejoin"
	"golang.org/x/sys/unix"

	apiv1 "github.com/skiffrun/skiff/guest/api/v1"
)

// mountRootfs mounts the container's root: overlayfs with the image's
// layers below (lowest first in layers) and the container's own writable
// layer above. A volatile mount never syncs the writable layer, not even
// at unmount, where overlayfs would otherwise flush the whole data disk:
// it is for containers removed when they exit (podman does the same for
// --rm), whose layer no crash needs to keep.
func mountRootfs(layers []string, upper, work, target string, volatile bool) error {
	if len(layers) == 0 {
		// overlayfs needs a lower layer; an image without layers gets an
		// empty one.
		empty := filepath.Join(filepath.Dir(upper), "empty")
		if err := os.MkdirAll(empty, 0o755); err != nil {
			return fmt.Errorf("mount rootfs: %w", err)
		}
		layers = []string{empty}
	}
	lower := make([]string, len(layers))
	for i, l := range layers {
		lower[len(layers)-1-i] = l
	}
	opts := "lowerdir=" + strings.Join(lower, ":") + ",upperdir=" + upper + ",workdir=" + work
	if volatile {
		opts += ",volatile"
	}
	// A volatile mount leaves a marker in the work directory, and
	// overlayfs refuses the next mount while it is there, lest a layer
	// torn by a crash be used. The agent removes every auto-remove
	// container when it starts after a crash, so a marker it finds comes
	// from its own clean unmount (a start again, a copy out of the
	// container) and can go.
	if err := os.RemoveAll(filepath.Join(work, "work", "incompat")); err != nil {
		return fmt.Errorf("mount rootfs: %w", err)
	}
	if len(opts) >= os.Getpagesize() {
		return fmt.Errorf("mount rootfs: the image has too many layers (%d) for one overlay mount: %w", len(layers), errdefs.ErrNotImplemented)
	}
	if err := unix.Mount("overlay", target, "overlay", 0, opts); err != nil {
		return fmt.Errorf("mount rootfs overlay at %s: %w", target, err)
	}
	return nil
}

// unmountRootfs undoes mountRootfs; an unmounted target is fine.
func unmountRootfs(target string) error {
	for {
		err := unix.Unmount(target, unix.MNT_DETACH)
		if err == nil {
			continue // a mount may be stacked; take them all
		}
		if errors.Is(err, unix.EINVAL) || errors.Is(err, unix.ENOENT) {
			return nil
		}
		return fmt.Errorf("unmount rootfs %s: %w", target, err)
	}
}

// ensureDir creates the working directory in rootfs when the image lacks
// it, owned by the process's user, as Docker does.
func ensureDir(rootfs, dir string, uid, gid uint32) error {
	p, err := securejoin.SecureJoin(rootfs, dir)
	if err != nil {
		return fmt.Errorf("working directory %s: %w", dir, err)
	}
	st, err := os.Stat(p)
	if err == nil {
		if !st.IsDir() {
			return fmt.Errorf("working directory %s is not a directory in the image: %w", dir, errdefs.ErrInvalidArgument)
		}
		return nil
	}
	if err := os.MkdirAll(p, 0o755); err != nil {
		return fmt.Errorf("create working directory %s: %w", dir, err)
	}
	return os.Lchown(p, int(uid), int(gid))
}

// checkCommand finds the container's command the way its exec will, so
// that a missing or non-executable one fails with Docker's exit codes
// (127, 126) and a message that names it.
// checkCommand finds a container's command before it starts, so a missing
// one gets docker's exit code and message. A path under one of the
// container's mounts is looked up in the mount's source, since the mounts
// are applied only inside the container.
func checkCommand(rootfs string, mounts []*apiv1.MountPoint, name, pathEnv string) error {
	if strings.Contains(name, "/") {
		return checkExecutable(rootfs, mounts, name)
	}
	if pathEnv == "" {
		pathEnv = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
	}
	var denied error
	for _, dir := range filepath.SplitList(pathEnv) {
		if dir == "" || !path.IsAbs(dir) {
			continue
		}
		err := checkExecutable(rootfs, mounts, path.Join(dir, name))
		if err == nil {
			return nil
		}
		if errors.Is(err, ErrNotExecutable) && denied == nil {
			denied = err
		}
	}
	if denied != nil {
		return denied
	}
	return &ExitCodeError{Code: 127, Err: commandError(fmt.Sprintf("exec: %q: executable file not found in $PATH", name), ErrCommandNotFound)}
}

func checkExecutable(rootfs string, mounts []*apiv1.MountPoint, name string) error {
	root, rel := rootfs, name
	if mp := mountOf(mounts, name); mp != nil {
		root, rel = mp.Source, strings.TrimPrefix(path.Clean("/"+name), path.Clean(mp.Destination))
	}
	p, err := securejoin.SecureJoin(root, rel)
	if err != nil {
		return &ExitCodeError{Code: 127, Err: commandError(fmt.Sprintf("exec: %q: no such file or directory", name), ErrCommandNotFound)}
	}
	st, err := os.Stat(p)
	if err != nil {
		return &ExitCodeError{Code: 127, Err: commandError(fmt.Sprintf("exec: %q: no such file or directory", name), ErrCommandNotFound)}
	}
	if st.IsDir() || st.Mode().Perm()&0o111 == 0 {
		return &ExitCodeError{Code: 126, Err: commandError(fmt.Sprintf("exec: %q: permission denied", name), ErrNotExecutable)}
	}
	return nil
}

// mountOf is the mount that holds the container path name: the one with
// the longest destination at or above it, as the last mounted wins.
func mountOf(mounts []*apiv1.MountPoint, name string) *apiv1.MountPoint {
	name = path.Clean("/" + name)
	var best *apiv1.MountPoint
	for _, mp := range mounts {
		dst := path.Clean(mp.Destination)
		if dst == "/" || (name != dst && !strings.HasPrefix(name, dst+"/")) {
			continue
		}
		if best == nil || len(dst) >= len(path.Clean(best.Destination)) {
			best = mp
		}
	}
	return best
}
