package fsevents

import (
	"container/list"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// Bounds of what the agent remembers of the guest's own writes: a write
// the host sends back comes within milliseconds (its window, the link),
// seconds under a storm; past maxOwn recent files, or ownTTL, the echo
// is replayed as any change. The host sends at most 4,096 paths one by
// one before it rescans instead (host/fswatch MaxPending), so maxOwn
// covers two such bursts; a full table takes about 1.9 MB of heap
// (some 230 bytes an entry, map and list included).
const (
	maxOwn = 8192
	ownTTL = 10 * time.Second
)

// readEvents is how many fanotify events one read takes: the kernel
// opens a descriptor for each, so a read must stay well under the
// agent's limit of open files.
const readEvents = 256

// fileID names a file across its names: a rename keeps it.
type fileID struct{ dev, ino uint64 }

// written is a file the guest writes (open, not closed yet), or as the
// guest left it when it closed it after writing.
type written struct {
	id      fileID
	writing bool
	size    uint64
	mtime   unix.StatxTimestamp
	at      time.Time
}

// OwnWrites is what processes in the guest (containers) write on the
// shares, heard through fanotify, so that the host's report of the same
// write is not replayed to them a second time. It hears of files being
// written (FAN_MODIFY) and written and closed (FAN_CLOSE_WRITE), and of
// nothing else: fanotify reports creates, removals, renames and
// metadata changes only to a group that reports file handles
// (FAN_REPORT_FID), which needs a file system that has both a non-zero
// fsid and decodable file handles; neither 9p (no export operations)
// nor virtiofs (a zero fsid) has both. Its methods are safe for
// concurrent use.
type OwnWrites struct {
	log *slog.Logger
	f   *os.File // the fanotify group
	rc  syscall.RawConn
	pid int32 // the agent's: its replays are writes too, not the guest's
	now func() time.Time

	closing atomic.Bool

	mu    sync.Mutex
	files map[fileID]*list.Element // of *written
	order list.List                // of *written, oldest first
	done  chan struct{}            // closed when the reader has stopped
}

// WatchOwnWrites hears of the files processes other than this one write
// on the file systems mounted at mounts (the writable shares'
// mount points). A file system mark, not a mount mark: containers write
// through their own bind mounts of a share. It fails when fanotify
// cannot be had or no mount can be marked; with some marked, it returns
// an OwnWrites and the error of the others.
func WatchOwnWrites(log *slog.Logger, mounts []string) (*OwnWrites, error) {
	// Each event comes with a descriptor of its file, opened read-only
	// (never read from): it is what fstat is asked.
	fd, err := unix.FanotifyInit(unix.FAN_CLASS_NOTIF|unix.FAN_CLOEXEC|unix.FAN_NONBLOCK, unix.O_RDONLY|unix.O_CLOEXEC|unix.O_LARGEFILE)
	if err != nil {
		return nil, fmt.Errorf("fanotify_init: %w", err)
	}
	var errs []error
	marked := 0
	for _, m := range mounts {
		if err := unix.FanotifyMark(fd, unix.FAN_MARK_ADD|unix.FAN_MARK_FILESYSTEM, unix.FAN_MODIFY|unix.FAN_CLOSE_WRITE, unix.AT_FDCWD, m); err != nil {
			errs = append(errs, fmt.Errorf("fanotify mark %s: %w", m, err))
			continue
		}
		marked++
	}
	if marked == 0 {
		unix.Close(fd)
		if len(errs) == 0 {
			return nil, errors.New("fanotify: no writable share to mark")
		}
		return nil, errors.Join(errs...)
	}
	// The descriptor is non-blocking, so Go's poller waits on it.
	f := os.NewFile(uintptr(fd), "fanotify")
	rc, err := f.SyscallConn()
	if err != nil {
		_ = f.Close()
		return nil, fmt.Errorf("fanotify: %w", err)
	}
	o := &OwnWrites{log: log, f: f, rc: rc, pid: int32(os.Getpid()), now: time.Now,
		files: map[fileID]*list.Element{}, done: make(chan struct{})}
	go o.run()
	return o, errors.Join(errs...)
}

// Close stops hearing of writes. It is not to be called twice.
func (o *OwnWrites) Close() error {
	o.closing.Store(true)
	err := o.f.Close()
	<-o.done
	return err
}

// run records events as they come, until Close: an entry's time is when
// the write was closed, give or take the reader's wake-up, however long
// the host takes.
func (o *OwnWrites) run() {
	defer close(o.done)
	err := o.rc.Read(func(fd uintptr) bool {
		o.mu.Lock()
		defer o.mu.Unlock()
		// false waits for more: there is nothing to read now.
		return o.readLocked(int(fd))
	})
	if err != nil && !o.closing.Load() {
		o.log.Warn("fanotify of the guest's writes", "err", err)
	}
}

// drainLocked records the events waiting in the kernel's queue.
func (o *OwnWrites) drainLocked() {
	// Control, not Read: the reader holds the file's read lock while it
	// waits.
	_ = o.rc.Control(func(fd uintptr) { o.readLocked(int(fd)) })
}

// readLocked reads and records what is queued; it reports true when
// reading failed for good (the group is closed), false when the queue
// is empty.
func (o *OwnWrites) readLocked(fd int) bool {
	var buf [readEvents * unix.FAN_EVENT_METADATA_LEN]byte
	for {
		n, err := unix.Read(fd, buf[:])
		switch {
		case errors.Is(err, unix.EAGAIN):
			return false
		case errors.Is(err, unix.EINTR):
			continue
		case err != nil:
			// One event's descriptor could not be opened (EMFILE, a file
			// gone stale): that event is lost, the rest wait.
			if errors.Is(err, unix.EBADF) || errors.Is(err, unix.EINVAL) {
				o.log.Warn("read fanotify events", "err", err)
				return true
			}
			o.log.Debug("read fanotify events", "err", err)
			continue
		case n <= 0:
			return false
		}
		o.record(buf[:n])
	}
}

// record remembers the files of a read's events and closes their
// descriptors.
func (o *OwnWrites) record(b []byte) {
	now := o.now()
	for len(b) >= unix.FAN_EVENT_METADATA_LEN {
		md := (*unix.FanotifyEventMetadata)(unsafe.Pointer(&b[0]))
		if md.Event_len < unix.FAN_EVENT_METADATA_LEN || int(md.Event_len) > len(b) {
			return
		}
		b = b[md.Event_len:]
		if md.Vers != unix.FANOTIFY_METADATA_VERSION {
			o.log.Warn("fanotify events of an unknown version", "version", md.Vers)
			if md.Fd >= 0 {
				unix.Close(int(md.Fd))
			}
			continue
		}
		if md.Mask&unix.FAN_Q_OVERFLOW != 0 {
			o.log.Debug("fanotify queue overflowed: some of the guest's writes will be replayed to it")
		}
		if md.Fd < 0 {
			continue
		}
		fd := int(md.Fd)
		if md.Pid == o.pid {
			unix.Close(fd)
			continue
		}
		// A write in progress needs only which file: what the guest's
		// kernel has cached of it will do. A closed one, what the host
		// has, as the replayer reads it.
		writing := md.Mask&unix.FAN_CLOSE_WRITE == 0
		flags, mask := unix.AT_EMPTY_PATH|unix.AT_STATX_FORCE_SYNC, unix.STATX_TYPE|unix.STATX_INO|unix.STATX_SIZE|unix.STATX_MTIME
		if writing {
			flags, mask = unix.AT_EMPTY_PATH|unix.AT_STATX_DONT_SYNC, unix.STATX_TYPE|unix.STATX_INO
		}
		var st unix.Statx_t
		err := unix.Statx(fd, "", flags, mask, &st)
		unix.Close(fd)
		if err != nil || st.Mode&unix.S_IFMT != unix.S_IFREG {
			continue
		}
		o.remember(&written{id: idOf(&st), writing: writing, size: st.Size, mtime: st.Mtime, at: now})
	}
}

func idOf(st *unix.Statx_t) fileID {
	return fileID{dev: unix.Mkdev(st.Dev_major, st.Dev_minor), ino: st.Ino}
}

// remember records w, the newest write of its file, evicting the
// oldest entry when maxOwn are held.
func (o *OwnWrites) remember(w *written) {
	o.expireLocked(w.at)
	if e, ok := o.files[w.id]; ok {
		e.Value = w
		o.order.MoveToBack(e)
		return
	}
	if o.order.Len() >= maxOwn {
		o.removeLocked(o.order.Front())
	}
	o.files[w.id] = o.order.PushBack(w)
}

func (o *OwnWrites) expireLocked(now time.Time) {
	for e := o.order.Front(); e != nil && now.Sub(e.Value.(*written).at) > ownTTL; e = o.order.Front() {
		o.removeLocked(e)
	}
}

func (o *OwnWrites) removeLocked(e *list.Element) {
	delete(o.files, e.Value.(*written).id)
	o.order.Remove(e)
}

// Own reports whether the host's report of a write to a file whose
// metadata, read fresh, is st is the guest's own write coming back: a
// process in the guest writes the file now, or it is as the guest left
// it. A file the host wrote after the guest differs in size or mtime.
// What is remembered stays: the host may report one write twice (once
// as it began, once more when it saw the rest), and each report is
// read as the file is by then. Events queued before st was read are
// taken into account first.
func (o *OwnWrites) Own(st *unix.Statx_t) bool {
	if st.Mode&unix.S_IFMT != unix.S_IFREG {
		return false
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	o.drainLocked()
	o.expireLocked(o.now())
	e, ok := o.files[idOf(st)]
	if !ok {
		return false
	}
	w := e.Value.(*written)
	return w.writing || w.size == st.Size && w.mtime.Sec == st.Mtime.Sec && w.mtime.Nsec == st.Mtime.Nsec
}

// len is how many writes are remembered.
func (o *OwnWrites) len() int {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.order.Len()
}
