package machine

import (
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"time"

	"golang.org/x/sys/unix"
)

// moduleFiles are the kernel modules the initramfs ships, opened so they
// can load after the initramfs is gone.
type moduleFiles struct {
	deps       moduleDeps
	files      map[string]*os.File
	now, later []string
	// failed holds the modules that did not load, and why.
	failed map[string]error
}

// openModules opens every module shipped for the running kernel and
// plans which load before the agent starts (planModules).
func openModules(cfg Config) (*moduleFiles, error) {
	m := &moduleFiles{files: map[string]*os.File{}, failed: map[string]error{}}
	var u unix.Utsname
	if err := unix.Uname(&u); err != nil {
		return m, err
	}
	dir := filepath.Join("/lib/modules", unix.ByteSliceToString(u.Release[:]))
	data, err := os.ReadFile(filepath.Join(dir, "modules.dep"))
	if errors.Is(err, os.ErrNotExist) {
		return m, nil // a kernel with everything built in
	} else if err != nil {
		return m, err
	}
	if m.deps, err = parseModulesDep(data); err != nil {
		return m, err
	}
	if m.now, m.later, err = planModules(m.deps, cfg); err != nil {
		return m, err
	}
	var errs []error
	for p := range m.deps {
		f, err := os.Open(filepath.Join(dir, p))
		if err != nil {
			errs = append(errs, err)
			continue
		}
		m.files[p] = f
	}
	return m, errors.Join(errs...)
}

// load loads mods, each after those it needs, on every CPU. A module that
// fails (hv_vmbus outside Hyper-V) is skipped with the modules that need
// it; that is not an error.
func (m *moduleFiles) load(mods []string, debug bool) {
	if len(mods) == 0 {
		return
	}
	start := time.Now()
	// Modules that need one that failed before are not tried again.
	var todo []string
next:
	for _, p := range mods {
		for _, d := range m.deps[p] {
			if m.failed[d] != nil {
				m.failed[p] = m.failed[d]
				continue next
			}
		}
		todo = append(todo, p)
	}
	failed := loadAll(todo, m.deps, runtime.NumCPU(), func(p string) error {
		f, ok := m.files[p]
		if !ok {
			return os.ErrNotExist
		}
		defer f.Close()
		t := time.Now()
		err := unix.FinitModule(int(f.Fd()), "", 0)
		if errors.Is(err, unix.EEXIST) {
			err = nil
		}
		if debug && err == nil {
			logf("module %s loaded in %v", moduleName(p), time.Since(t).Round(time.Millisecond))
		}
		return err
	})
	for p, err := range failed {
		m.failed[p] = err
		if debug {
			logf("module %s: %v", moduleName(p), err)
		}
	}
	logf("loaded %d of %d kernel modules in %v", len(todo)-len(failed), len(mods), time.Since(start).Round(time.Millisecond))
}
