package machine

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"time"

	"github.com/containerd/errdefs"

	"github.com/skiffrun/skiff/guest/api/errclass"
)

// namePattern is platform.MachineSpec's rule for names.
var namePattern = regexp.MustCompile(`^[a-zA-Z0-9][a-zA-Z0-9_.-]*$`)

// maxNameLen bounds a machine's name: it becomes a directory and part of
// socket paths, which are short on every OS.
const maxNameLen = 40

// ValidateName reports whether name can name a machine.
func ValidateName(name string) error {
	if len(name) > maxNameLen {
		return errclass.Errorf(errdefs.ErrInvalidArgument, "machine name %q: use at most %d characters", name, maxNameLen)
	}
	if !namePattern.MatchString(name) {
		return errclass.Errorf(errdefs.ErrInvalidArgument, "machine name %q: use letters, digits, '_', '.' and '-', starting with a letter or digit", name)
	}
	return nil
}

// Name returns the machine's name.
func (m *Machine) Name() string { return m.spec.Name }

// Exists reports whether the machine has been created: started or
// configured at least once.
func (m *Machine) Exists() bool {
	st, err := os.Stat(m.spec.Dir)
	return err == nil && st.IsDir()
}

// MustExist returns a not-found error naming the fix when the machine
// does not exist.
func (m *Machine) MustExist() error {
	if m.Exists() {
		return nil
	}
	return errclass.Errorf(errdefs.ErrNotFound, "machine %q does not exist; create it with: skiff machine start --machine %s (skiff machine ls lists machines)", m.spec.Name, m.spec.Name)
}

func (m *Machine) diskPath() string { return filepath.Join(m.spec.Dir, "data.img") }

// diskSize is the data disk's size: its file's, or the configured size
// when it is larger (or the file not made yet).
func (m *Machine) diskSize(c Config) int64 {
	size := c.DiskBytes
	if size == 0 {
		size = DefaultDiskSize
	}
	if st, err := os.Stat(m.diskPath()); err == nil && st.Size() > size {
		size = st.Size()
	}
	return size
}

// DiskUse reports the data disk's size and the bytes its sparse file
// takes on the host; both 0 when it has not been made.
func DiskUse(path string) (alloc, size int64, err error) {
	st, err := os.Stat(path)
	if errors.Is(err, fs.ErrNotExist) {
		return 0, 0, nil
	}
	if err != nil {
		return 0, 0, err
	}
	alloc, err = allocated(st)
	return alloc, st.Size(), err
}

// Remove deletes the machine's directory, data disk included. A running
// machine is refused unless force is set; then it is stopped first.
func (m *Machine) Remove(ctx context.Context, force bool) error {
	if err := m.MustExist(); err != nil {
		return err
	}
	if st := m.Status(ctx); st == Running || st == Starting {
		if !force {
			return errclass.Errorf(errdefs.ErrFailedPrecondition, "machine %q is %s; stop it first (skiff machine stop --machine %s) or use skiff machine rm -f", m.spec.Name, st, m.spec.Name)
		}
		if err := m.Stop(ctx); err != nil {
			return err
		}
	}
	// No start may begin, and no daemon may run, while the files go.
	lctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	unlockStart, err := lockFile(lctx, m.startLock())
	if err != nil {
		return fmt.Errorf("remove machine %q: %w", m.spec.Name, err)
	}
	defer unlockStart()
	unlockDaemon, err := lockFile(lctx, m.daemonLock())
	if err != nil {
		return fmt.Errorf("remove machine %q: its host daemon still runs: %w", m.spec.Name, err)
	}
	defer unlockDaemon()
	if err := os.RemoveAll(m.spec.Dir); err != nil {
		return fmt.Errorf("remove machine %q: %w", m.spec.Name, err)
	}
	return nil
}

// Names lists the machines under home, sorted.
func Names(home string) ([]string, error) {
	entries, err := os.ReadDir(filepath.Join(home, "machines"))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("list machines: %w", err)
	}
	var names []string
	for _, e := range entries {
		if e.IsDir() && ValidateName(e.Name()) == nil {
			names = append(names, e.Name())
		}
	}
	sort.Strings(names)
	return names, nil
}
