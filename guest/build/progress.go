package build

import (
	"fmt"
	"io"
	"sync"
	"time"
)

// progress writes a build's output: numbered steps, as BuildKit's plain
// progress shows them.
type progress struct {
	mu sync.Mutex
	w  io.Writer
	n  int
}

func newProgress(w io.Writer) *progress { return &progress{w: w} }

func (p *progress) printf(format string, args ...any) {
	p.mu.Lock()
	defer p.mu.Unlock()
	fmt.Fprintf(p.w, format, args...)
}

func (p *progress) step(title string) *stepOut {
	p.mu.Lock()
	p.n++
	n := p.n
	p.mu.Unlock()
	s := &stepOut{p: p, prefix: fmt.Sprintf("#%d ", n), atStart: true}
	p.printf("%s%s\n", s.prefix, title)
	return s
}

// stepOut is one step's output; as an io.Writer it prefixes each line
// with the step's number.
type stepOut struct {
	p       *progress
	prefix  string
	atStart bool
	// wasCached reports whether the step came from the cache.
	wasCached bool
}

func (s *stepOut) Write(b []byte) (int, error) {
	s.p.mu.Lock()
	defer s.p.mu.Unlock()
	var buf []byte
	for _, c := range b {
		if s.atStart {
			buf = append(buf, s.prefix...)
			s.atStart = false
		}
		buf = append(buf, c)
		if c == '\n' {
			s.atStart = true
		}
	}
	_, err := s.p.w.Write(buf)
	return len(b), err
}

func (s *stepOut) endLine() {
	if !s.atStart {
		_, _ = s.Write([]byte("\n"))
	}
}

func (s *stepOut) printf(format string, args ...any) {
	s.endLine()
	fmt.Fprintf(s, format, args...)
}

func (s *stepOut) done(d time.Duration) {
	s.printf("DONE %.1fs\n", d.Seconds())
}

func (s *stepOut) cached() {
	s.printf("CACHED\n")
	s.wasCached = true
}

func (s *stepOut) isCached() bool { return s.wasCached }
