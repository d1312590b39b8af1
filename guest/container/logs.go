package container

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"sync"
	"time"

	apiv1 "github.com/skiffrun/skiff/guest/api/v1"
)

// maxLogLine is where a line without a newline is cut into a partial
// entry, as Docker's json-file driver does.
const maxLogLine = 16 << 10

// logRecord is one line of a container's log file, in the json-file
// format Docker writes.
type logRecord struct {
	Log    string    `json:"log"`
	Stream string    `json:"stream"`
	Time   time.Time `json:"time"`
}

// logFile appends a container's output to its log and passes each entry
// to followers. It outlives runs: one per container.
type logFile struct {
	path string

	mu        sync.Mutex
	f         *os.File
	size      int64
	followers map[chan *apiv1.LogEntry]struct{}
	// pending holds each stream's text after its last newline.
	pending [3][]byte
}

func openLog(path string) (*logFile, error) {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("open log: %w", err)
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("open log: %w", err)
	}
	return &logFile{path: path, f: f, size: st.Size(), followers: map[chan *apiv1.LogEntry]struct{}{}}, nil
}

// Write records data written by the container to stream, a line an entry.
func (l *logFile) Write(stream apiv1.StreamKind, data []byte) {
	l.mu.Lock()
	defer l.mu.Unlock()
	buf := l.pending[stream]
	buf = append(buf, data...)
	for {
		i := bytes.IndexByte(buf, '\n')
		if i < 0 {
			break
		}
		l.emit(stream, buf[:i+1])
		buf = buf[i+1:]
	}
	for len(buf) >= maxLogLine {
		l.emit(stream, buf[:maxLogLine])
		buf = buf[maxLogLine:]
	}
	l.pending[stream] = append([]byte(nil), buf...)
}

// Flush records what is left of each stream's last line, at the end of a
// run.
func (l *logFile) Flush() {
	l.mu.Lock()
	defer l.mu.Unlock()
	for s, buf := range l.pending {
		if len(buf) > 0 {
			l.emit(apiv1.StreamKind(s), buf)
			l.pending[s] = nil
		}
	}
}

func (l *logFile) emit(stream apiv1.StreamKind, line []byte) {
	now := time.Now().UTC()
	rec, _ := json.Marshal(logRecord{Log: string(line), Stream: streamName(stream), Time: now})
	rec = append(rec, '\n')
	if l.f != nil {
		if n, err := l.f.Write(rec); err == nil {
			l.size += int64(n)
		}
	}
	e := &apiv1.LogEntry{Stream: stream, Time: now.UnixNano(), Data: append([]byte(nil), line...)}
	for ch := range l.followers {
		select {
		case ch <- e:
		default:
			// A follower that cannot keep up loses its feed rather than
			// stall the container's output.
			delete(l.followers, ch)
			close(ch)
		}
	}
}

// follow returns the log's size so far and a channel of the entries
// written after it. stop ends the feed.
func (l *logFile) follow() (int64, <-chan *apiv1.LogEntry, func()) {
	l.mu.Lock()
	defer l.mu.Unlock()
	ch := make(chan *apiv1.LogEntry, 1024)
	l.followers[ch] = struct{}{}
	return l.size, ch, func() {
		l.mu.Lock()
		defer l.mu.Unlock()
		if _, ok := l.followers[ch]; ok {
			delete(l.followers, ch)
			close(ch)
		}
	}
}

// endFollowers closes every follower's feed: the container has stopped.
func (l *logFile) endFollowers() {
	l.mu.Lock()
	defer l.mu.Unlock()
	for ch := range l.followers {
		delete(l.followers, ch)
		close(ch)
	}
}

func (l *logFile) Close() error {
	l.endFollowers()
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.f == nil {
		return nil
	}
	err := l.f.Close()
	l.f = nil
	return err
}

func streamName(s apiv1.StreamKind) string {
	if s == apiv1.StreamKind_STREAM_STDERR {
		return "stderr"
	}
	return "stdout"
}

// readLog returns the entries of the log file at path, up to limit bytes,
// that pass keep; tail >= 0 keeps only that many from the end.
func readLog(path string, limit int64, tail int64, keep func(*apiv1.LogEntry) bool) ([]*apiv1.LogEntry, error) {
	f, err := os.Open(path)
	if err != nil {
		if os.IsNotExist(err) {
			return nil, nil
		}
		return nil, fmt.Errorf("read log: %w", err)
	}
	defer f.Close()
	var out []*apiv1.LogEntry
	s := bufio.NewScanner(io.LimitReader(f, limit))
	s.Buffer(make([]byte, 64<<10), 4*maxLogLine)
	for s.Scan() {
		var r logRecord
		if json.Unmarshal(s.Bytes(), &r) != nil {
			// A line cut short by a crash is skipped; the rest is good.
			continue
		}
		e := &apiv1.LogEntry{Stream: apiv1.StreamKind_STREAM_STDOUT, Time: r.Time.UnixNano(), Data: []byte(r.Log)}
		if r.Stream == "stderr" {
			e.Stream = apiv1.StreamKind_STREAM_STDERR
		}
		if !keep(e) {
			continue
		}
		out = append(out, e)
		if tail >= 0 && int64(len(out)) > 2*tail+1024 {
			out = append(out[:0:0], out[int64(len(out))-tail:]...)
		}
	}
	if tail >= 0 && int64(len(out)) > tail {
		out = out[int64(len(out))-tail:]
	}
	return out, s.Err()
}
