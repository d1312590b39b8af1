package fsevents

import (
	"errors"
	"log/slog"
	"path"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"

	apiv1 "github.com/skiffrun/skiff/guest/api/v1"
)

// Kernel replays changes through the guest's kernel, on the shares'
// mounts: see the package doc for what each change becomes.
type Kernel struct {
	Log *slog.Logger
	// Own, when set, is what the guest wrote itself: the host's report
	// of such a write is left out, as its watchers heard of it already.
	Own *OwnWrites

	grace time.Duration // ownGrace when zero; tests wait longer, as a loaded machine may
}

var _ Replayer = (*Kernel)(nil)

// ownGrace is how long the writes a batch reports wait for the guest's
// own word, when the guest's writes are heard of: a container that
// creates a file and writes it a moment later (more than the host's
// 5 ms window) has the host report the create before the write, and
// fanotify tells of the write only once it is done.
const ownGrace = 20 * time.Millisecond

// Replay replays a batch. A path that is gone by now is its folder's
// change; each folder is signalled once per batch. A file written or
// created that is as the guest itself left it, or that the guest is
// writing, is not replayed.
func (k *Kernel) Replay(events []Event, rescan []string) {
	own := 0
	signalled := map[string]bool{}
	signal := func(dir string) {
		if signalled[dir] {
			return
		}
		signalled[dir] = true
		if err := touchMtime(dir); err != nil && !errors.Is(err, unix.ENOENT) {
			k.Log.Debug("replay a file event", "path", dir, "err", err)
		}
	}
	done := func(p string, err error) {
		if errors.Is(err, unix.ENOENT) {
			// Gone since the host looked: its folder changed.
			signal(path.Dir(p))
			return
		}
		if err != nil {
			k.Log.Debug("replay a file event", "path", p, "err", err)
		}
	}
	var later []string // files written or made, looked at after ownGrace
	for _, ev := range events {
		switch ev.Change {
		case apiv1.FileChange_FILE_CHANGE_GONE:
			signal(path.Dir(ev.Path))
		case apiv1.FileChange_FILE_CHANGE_ATTRIB:
			done(ev.Path, touchBoth(ev.Path))
		default:
			if signalled[ev.Path] {
				continue
			}
			signalled[ev.Path] = true
			if k.Own != nil && !ev.Dir {
				later = append(later, ev.Path)
				continue
			}
			st, err := fresh(ev.Path)
			if err == nil {
				err = rewrite(ev.Path, st)
			}
			done(ev.Path, err)
		}
	}
	if len(later) > 0 {
		grace := k.grace
		if grace == 0 {
			grace = ownGrace
		}
		time.Sleep(grace)
		for _, p := range later {
			st, err := fresh(p)
			switch {
			case err != nil:
				done(p, err)
			case k.Own.Own(&st):
				own++
			default:
				done(p, rewrite(p, st))
			}
		}
	}
	for _, dir := range rescan {
		signal(dir)
	}
	if own > 0 {
		k.Log.Debug("file events left out: the guest's own writes", "files", own)
	}
}

// fresh is p's metadata as the host has it now, not as the guest last
// cached it: a time set back from a stale cache would move it.
func fresh(p string) (unix.Statx_t, error) {
	var st unix.Statx_t
	err := unix.Statx(unix.AT_FDCWD, p, unix.AT_SYMLINK_NOFOLLOW|unix.AT_STATX_FORCE_SYNC, unix.STATX_TYPE|unix.STATX_INO|unix.STATX_SIZE|unix.STATX_ATIME|unix.STATX_MTIME, &st)
	return st, err
}

func ts(t unix.StatxTimestamp) unix.Timespec { return unix.Timespec{Sec: t.Sec, Nsec: int64(t.Nsec)} }

var omit = unix.Timespec{Nsec: unix.UTIME_OMIT}

// touchMtime sets p's mtime, alone, to its value: IN_MODIFY.
func touchMtime(p string) error {
	st, err := fresh(p)
	if err != nil {
		return err
	}
	return unix.UtimesNanoAt(unix.AT_FDCWD, p, []unix.Timespec{omit, ts(st.Mtime)}, unix.AT_SYMLINK_NOFOLLOW)
}

// touchBoth sets p's atime and mtime to their values: IN_ATTRIB.
func touchBoth(p string) error {
	st, err := fresh(p)
	if err != nil {
		return err
	}
	return unix.UtimesNanoAt(unix.AT_FDCWD, p, []unix.Timespec{ts(st.Atime), ts(st.Mtime)}, unix.AT_SYMLINK_NOFOLLOW)
}

// rewrite replays a write of p, whose fresh metadata is st: a regular
// file is opened for writing (never truncated or created), its mtime
// set to its value through the descriptor, and closed: IN_OPEN,
// IN_MODIFY, IN_CLOSE_WRITE. Anything else, or a file that may not be
// opened for writing, gets IN_MODIFY from the mtime alone.
func rewrite(p string, st unix.Statx_t) error {
	if st.Mode&unix.S_IFMT != unix.S_IFREG {
		return touchMtime(p)
	}
	fd, err := unix.Open(p, unix.O_WRONLY|unix.O_NOFOLLOW|unix.O_NONBLOCK|unix.O_NOCTTY|unix.O_CLOEXEC, 0)
	if err != nil {
		return unix.UtimesNanoAt(unix.AT_FDCWD, p, []unix.Timespec{omit, ts(st.Mtime)}, unix.AT_SYMLINK_NOFOLLOW)
	}
	defer unix.Close(fd)
	var now unix.Stat_t
	if err := unix.Fstat(fd, &now); err != nil || now.Ino != st.Ino || now.Mode&unix.S_IFMT != unix.S_IFREG {
		// Replaced between the two looks: its own event follows.
		return err
	}
	return futimens(fd, [2]unix.Timespec{omit, ts(st.Mtime)})
}

// futimens sets the times of the file open as fd (utimensat with no
// path, which x/sys/unix does not offer).
func futimens(fd int, times [2]unix.Timespec) error {
	_, _, errno := unix.Syscall6(unix.SYS_UTIMENSAT, uintptr(fd), 0, uintptr(unsafe.Pointer(&times[0])), 0, 0, 0)
	if errno != 0 {
		return errno
	}
	return nil
}
