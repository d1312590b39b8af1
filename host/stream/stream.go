// Package stream is the client side of the agent's Attach and Exec
// streams: it sends the opening message, turns standard input into stdin
// messages (close_stdin at its end, detach when the user types the detach
// keys), forwards terminal size changes, writes the output chunks to
// stdout and stderr, and returns the Exit that ends the stream. It also
// proxies the CLI's signals to a container. Raw mode and sizes of the
// terminal are host/tty's; what to attach to, the caller's.
package stream

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"

	apiv1 "github.com/skiffrun/skiff/guest/api/v1"
	"github.com/skiffrun/skiff/host/tty"
)

// Stream is the part of a Containers_AttachClient that Run uses.
type Stream interface {
	Send(*apiv1.StreamInput) error
	Recv() (*apiv1.StreamOutput, error)
}

// chunkSize is the most stdin sent in one message.
const chunkSize = 32 << 10

// Options say how to connect the local streams.
type Options struct {
	// Stdin, when set, is copied to the process.
	Stdin io.Reader
	// Stdout and Stderr receive the output. With TTY set, everything goes
	// to Stdout, as a terminal has only one output.
	Stdout io.Writer
	Stderr io.Writer
	TTY    bool
	// DetachKeys, when set, are looked for in Stdin; typing them detaches.
	DetachKeys []byte
	// Resize carries terminal size changes until it closes.
	Resize <-chan tty.Size
}

// ErrNoExit is returned when a stream ends without its Exit message, which
// happens when the agent goes away mid-stream.
var ErrNoExit = errors.New("the agent ended the stream without an exit status")

// Run sends first, which opens an attach or exec, then pumps the streams
// until the Exit message arrives and returns it. Cancelling the context
// that opened s is how the caller abandons it; Run's goroutines that
// send end with it. Run does not close o.Stdin: a goroutine may still be
// blocked reading it when Run returns.
func Run(ctx context.Context, s Stream, first *apiv1.StreamInput, o Options) (*apiv1.Exit, error) {
	snd := &sender{s: s}
	if err := snd.send(first); err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	if o.Stdin != nil {
		go snd.copyStdin(o.Stdin, o.DetachKeys, o.TTY)
	}
	if o.Resize != nil {
		go snd.forwardResize(ctx, o.Resize)
	}
	stderr := o.Stderr
	if o.TTY || stderr == nil {
		stderr = o.Stdout
	}
	for {
		msg, err := s.Recv()
		if errors.Is(err, io.EOF) {
			return nil, ErrNoExit
		}
		if err != nil {
			return nil, err
		}
		switch m := msg.GetMsg().(type) {
		case *apiv1.StreamOutput_Output:
			w := o.Stdout
			if m.Output.GetStream() == apiv1.StreamKind_STREAM_STDERR {
				w = stderr
			}
			if w == nil {
				continue
			}
			if _, err := w.Write(m.Output.GetData()); err != nil {
				return nil, fmt.Errorf("write output: %w", err)
			}
		case *apiv1.StreamOutput_Exit:
			return m.Exit, nil
		}
	}
}

// sender serialises Send: a gRPC stream allows one sender at a time, and
// stdin and resizes come from different goroutines.
type sender struct {
	mu sync.Mutex
	s  Stream
}

func (s *sender) send(m *apiv1.StreamInput) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.s.Send(m)
}

// copyStdin sends in as stdin messages. Its end closes the process's
// stdin; the detach keys (only looked for on a terminal, as docker does,
// so piped binary data passes untouched) detach instead.
func (s *sender) copyStdin(in io.Reader, keys []byte, terminal bool) {
	var det *tty.Detector
	if terminal && len(keys) > 0 {
		det = tty.NewDetector(keys)
	}
	buf := make([]byte, chunkSize)
	for {
		n, err := in.Read(buf)
		if n > 0 {
			data := buf[:n]
			detached := false
			if det != nil {
				data, detached = det.Feed(data)
			}
			if len(data) > 0 {
				// A copy: the message may still be queued when buf is
				// reused for the next read.
				chunk := append([]byte(nil), data...)
				if s.send(&apiv1.StreamInput{Msg: &apiv1.StreamInput_Stdin{Stdin: chunk}}) != nil {
					return
				}
			}
			if detached {
				_ = s.send(&apiv1.StreamInput{Msg: &apiv1.StreamInput_Detach{Detach: true}})
				return
			}
		}
		if err != nil {
			if det != nil {
				if rest := det.Flush(); len(rest) > 0 {
					_ = s.send(&apiv1.StreamInput{Msg: &apiv1.StreamInput_Stdin{Stdin: rest}})
				}
			}
			_ = s.send(&apiv1.StreamInput{Msg: &apiv1.StreamInput_CloseStdin{CloseStdin: true}})
			return
		}
	}
}

func (s *sender) forwardResize(ctx context.Context, sizes <-chan tty.Size) {
	for {
		select {
		case <-ctx.Done():
			return
		case sz, ok := <-sizes:
			if !ok {
				return
			}
			if s.send(&apiv1.StreamInput{Msg: &apiv1.StreamInput_Resize{Resize: Resize(sz)}}) != nil {
				return
			}
		}
	}
}

// Resize converts a terminal size into the API's.
func Resize(sz tty.Size) *apiv1.Resize {
	return &apiv1.Resize{Width: uint32(sz.Width), Height: uint32(sz.Height)}
}
