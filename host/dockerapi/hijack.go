package dockerapi

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"

	apiv1 "github.com/skiffrun/skiff/guest/api/v1"
)

// Stream kinds of docker's multiplexed framing (stdcopy): each frame is
// an 8-byte header, the stream's kind, three zero bytes and the payload's
// big-endian length, then the payload.
const (
	frameStdout byte = 1
	frameStderr byte = 2
)

// Content types of a hijacked stream.
const (
	rawStream         = "application/vnd.docker.raw-stream"
	multiplexedStream = "application/vnd.docker.multiplexed-stream"
)

// frameWriter writes the multiplexed framing, or passes bytes through for a
// TTY's single raw stream. It is safe for concurrent use.
type frameWriter struct {
	mu  sync.Mutex
	w   io.Writer
	raw bool
}

// write writes p as one frame of kind.
func (f *frameWriter) write(kind byte, p []byte) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.raw {
		_, err := f.w.Write(p)
		return err
	}
	var hdr [8]byte
	hdr[0] = kind
	binary.BigEndian.PutUint32(hdr[4:], uint32(len(p)))
	if _, err := f.w.Write(hdr[:]); err != nil {
		return err
	}
	_, err := f.w.Write(p)
	return err
}

// output writes one of the agent's output messages.
func (f *frameWriter) output(o *apiv1.Output) error {
	kind := frameStdout
	if o.GetStream() == apiv1.StreamKind_STREAM_STDERR {
		kind = frameStderr
	}
	return f.write(kind, o.GetData())
}

// hijacked is a connection taken over from net/http for a raw stream.
type hijacked struct {
	conn net.Conn
	// in reads the client's bytes, including any net/http had buffered.
	in  io.Reader
	out *frameWriter
}

// hijack takes over the connection and answers as docker does: 101
// UPGRADED when the client asked to upgrade to tcp, else 200, with the
// stream's content type. The caller closes the connection.
func hijack(w http.ResponseWriter, r *http.Request, tty bool) (*hijacked, error) {
	hj, ok := w.(http.Hijacker)
	if !ok {
		return nil, errors.New("the connection cannot be hijacked")
	}
	ct := multiplexedStream
	if tty || compareVersions(apiVersion(r.Context()), "1.42") < 0 {
		ct = rawStream
	}
	conn, rw, err := hj.Hijack()
	if err != nil {
		return nil, fmt.Errorf("hijack the connection: %w", err)
	}
	var head strings.Builder
	if strings.EqualFold(r.Header.Get("Upgrade"), "tcp") {
		head.WriteString("HTTP/1.1 101 UPGRADED\r\nConnection: Upgrade\r\nUpgrade: tcp\r\n")
	} else {
		head.WriteString("HTTP/1.1 200 OK\r\n")
	}
	fmt.Fprintf(&head, "Content-Type: %s\r\n", ct)
	for _, k := range []string{"Api-Version", "Docker-Experimental", "Ostype", "Server"} {
		if v := w.Header().Get(k); v != "" {
			fmt.Fprintf(&head, "%s: %s\r\n", k, v)
		}
	}
	head.WriteString("\r\n")
	if _, err := rw.WriteString(head.String()); err != nil {
		conn.Close()
		return nil, err
	}
	if err := rw.Flush(); err != nil {
		conn.Close()
		return nil, err
	}
	return &hijacked{conn: conn, in: bufferedThen(rw.Reader, conn), out: &frameWriter{w: conn, raw: tty}}, nil
}

// bufferedThen reads what br has buffered, then conn directly.
func bufferedThen(br *bufio.Reader, conn net.Conn) io.Reader {
	if n := br.Buffered(); n > 0 {
		b, _ := br.Peek(n)
		return io.MultiReader(strings.NewReader(string(b)), conn)
	}
	return conn
}

// closeWrite ends the server's half of the stream, so that a client that
// half-closed its own sees the end.
func (h *hijacked) closeWrite() {
	if cw, ok := h.conn.(interface{ CloseWrite() error }); ok {
		_ = cw.CloseWrite()
	}
}

// agentStream is the part of the agent's Attach and Exec streams used here.
type agentStream interface {
	Send(*apiv1.StreamInput) error
	Recv() (*apiv1.StreamOutput, error)
	CloseSend() error
}

// pumpStdin copies the client's input into st until the client closes
// its half (or the connection), then closes the process's stdin. ready,
// when not nil, holds input back until the process has started.
func pumpStdin(in io.Reader, st agentStream, ready <-chan struct{}) {
	if ready != nil {
		<-ready
	}
	buf := make([]byte, 32<<10)
	for {
		n, err := in.Read(buf)
		if n > 0 {
			data := append([]byte(nil), buf[:n]...)
			if serr := st.Send(&apiv1.StreamInput{Msg: &apiv1.StreamInput_Stdin{Stdin: data}}); serr != nil {
				return
			}
		}
		if err != nil {
			_ = st.Send(&apiv1.StreamInput{Msg: &apiv1.StreamInput_CloseStdin{CloseStdin: true}})
			return
		}
	}
}

// pumpOutput copies the agent's output to the client until the process
// exits, and returns its Exit message (nil when the stream broke).
func pumpOutput(st agentStream, out *frameWriter, first func()) (*apiv1.Exit, error) {
	for {
		msg, err := st.Recv()
		if err != nil {
			if errors.Is(err, io.EOF) {
				return nil, nil
			}
			return nil, err
		}
		if first != nil {
			first()
			first = nil
		}
		switch m := msg.Msg.(type) {
		case *apiv1.StreamOutput_Output:
			if err := out.output(m.Output); err != nil {
				return nil, err
			}
		case *apiv1.StreamOutput_Exit:
			return m.Exit, nil
		}
	}
}
