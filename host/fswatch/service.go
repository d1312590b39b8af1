package fswatch

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"path"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	"github.com/containerd/errdefs"
	"google.golang.org/grpc"

	apiv1 "github.com/skiffrun/skiff/guest/api/v1"
	"github.com/skiffrun/skiff/host/hostsvc"
)

// Share is a host folder the machine shares, as the file events service
// sees it.
type Share struct {
	// Tag names the share between host and guest.
	Tag string
	// Dir is the host folder.
	Dir string
}

// Register serves FileEvents on each session of reg for the machine's
// shares: each Watch stream has a Watcher of its own, closed with it.
func Register(reg *hostsvc.Registry, shares []Share, opts Options) {
	s := &server{shares: map[string]string{}, opts: opts}
	for _, sh := range shares {
		s.shares[sh.Tag] = filepath.Clean(sh.Dir)
	}
	reg.RegisterGRPC(func(_ *hostsvc.Session, r grpc.ServiceRegistrar) {
		apiv1.RegisterFileEventsServer(r, s)
	})
}

type server struct {
	apiv1.UnimplementedFileEventsServer
	shares map[string]string // tag → host folder
	opts   Options
}

func (s *server) logf(format string, args ...any) {
	if s.opts.Logf != nil {
		s.opts.Logf(format, args...)
		return
	}
	log.Printf(format, args...)
}

func (s *server) Watch(stream grpc.BidiStreamingServer[apiv1.FileWatchRequest, apiv1.FileEventBatch]) error {
	w, err := New(s.opts)
	if err != nil {
		return err
	}
	defer func() { _ = w.Close() }()
	ctx, cancel := context.WithCancelCause(stream.Context())
	defer cancel(nil)
	go func() {
		for {
			req, err := stream.Recv()
			if err != nil {
				cancel(err)
				return
			}
			dirs, err := s.resolveRoots(req.GetRoots())
			if err != nil {
				cancel(err)
				return
			}
			w.Set(dirs)
		}
	}()
	for {
		b, err := w.Next(ctx)
		if err != nil {
			if cause := context.Cause(ctx); cause != nil && !errors.Is(cause, context.Canceled) {
				if errors.Is(cause, io.EOF) {
					return nil
				}
				return cause
			}
			return err
		}
		msg := &apiv1.FileEventBatch{}
		for _, ev := range b.Events {
			fp, ok := s.filePath(ev.Path)
			if !ok {
				continue
			}
			msg.Events = append(msg.Events, &apiv1.FileEvent{Path: fp, Change: wireChange(ev.Change), Dir: ev.Dir, SeenUnixNano: ev.Seen.UnixNano()})
		}
		for _, r := range b.Rescan {
			if fp, ok := s.filePath(r); ok {
				msg.Rescan = append(msg.Rescan, fp)
			}
		}
		if len(msg.Events) == 0 && len(msg.Rescan) == 0 {
			continue
		}
		msg.SentUnixNano = nowNano()
		if err := stream.Send(msg); err != nil {
			return err
		}
	}
}

func wireChange(c Change) apiv1.FileChange {
	switch c {
	case Content:
		return apiv1.FileChange_FILE_CHANGE_CONTENT
	case Attrib:
		return apiv1.FileChange_FILE_CHANGE_ATTRIB
	case Gone:
		return apiv1.FileChange_FILE_CHANGE_GONE
	}
	return apiv1.FileChange_FILE_CHANGE_UNSPECIFIED
}

// resolveRoots maps the agent's roots to host folders. A root whose real
// path leaves its share (through a symbolic link) is left out: the guest
// sees that link pointing into the guest, not at the host's folder.
func (s *server) resolveRoots(roots []*apiv1.FilePath) ([]string, error) {
	var dirs []string
	for _, r := range roots {
		dir, err := s.hostPath(r)
		if err != nil {
			return nil, err
		}
		if !s.inShare(r.GetShare(), dir) {
			s.logf("skiff: not watching %s for file events: it leads out of its shared folder", dir)
			continue
		}
		dirs = append(dirs, dir)
	}
	return dirs, nil
}

// hostPath is the host path of fp, checked to name a path in a share.
func (s *server) hostPath(fp *apiv1.FilePath) (string, error) {
	dir, ok := s.shares[fp.GetShare()]
	if !ok {
		return "", fmt.Errorf("watch %q: the machine has no share %q: %w", fp.GetPath(), fp.GetShare(), errdefs.ErrInvalidArgument)
	}
	rel, err := LocalPath(fp.GetPath())
	if err != nil {
		return "", fmt.Errorf("watch %q in share %q: %w", fp.GetPath(), fp.GetShare(), err)
	}
	return filepath.Join(dir, rel), nil
}

// LocalPath turns a share-relative slash path from the agent into a
// relative host path inside the share, or fails: it must be "" or clean,
// relative and free of ".." (and, on Windows, of volume names, reserved
// names and backslashes), so that joined to the share's folder it stays
// inside it.
func LocalPath(rel string) (string, error) {
	if rel == "" {
		return "", nil
	}
	bad := strings.ContainsRune(rel, 0) || path.Clean(rel) != rel || path.IsAbs(rel) || rel == "." ||
		strings.HasPrefix(rel, "../") || rel == ".." || strings.Contains(rel, "/../") || strings.HasSuffix(rel, "/..")
	if !bad && runtime.GOOS == "windows" && strings.ContainsAny(rel, `\:`) {
		bad = true
	}
	local := filepath.FromSlash(rel)
	if bad || !filepath.IsLocal(local) {
		return "", fmt.Errorf("path %q is not a clean path inside the share: %w", rel, errdefs.ErrInvalidArgument)
	}
	return local, nil
}

// inShare reports whether dir, its links resolved, is still in share
// tag's folder (also resolved). A dir that does not exist yet passes: it
// is checked again, by the Watcher, only as a plain path.
func (s *server) inShare(tag, dir string) bool {
	base, err := filepath.EvalSymlinks(s.shares[tag])
	if err != nil {
		return true
	}
	real, err := filepath.EvalSymlinks(dir)
	if err != nil {
		return true
	}
	return real == base || under(real, base)
}

// filePath maps a host path back to its share and relative path, the
// share with the longest folder that holds it.
func (s *server) filePath(p string) (*apiv1.FilePath, bool) {
	best, bestTag := "", ""
	for tag, dir := range s.shares {
		if (p == dir || under(p, dir)) && len(dir) > len(best) {
			best, bestTag = dir, tag
		}
	}
	if bestTag == "" {
		return nil, false
	}
	rel, err := filepath.Rel(best, p)
	if err != nil {
		return nil, false
	}
	if rel == "." {
		rel = ""
	}
	return &apiv1.FilePath{Share: bestTag, Path: filepath.ToSlash(rel)}, true
}

func nowNano() int64 { return time.Now().UnixNano() }
