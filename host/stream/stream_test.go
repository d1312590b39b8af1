package stream

import (
	"bytes"
	"context"
	"errors"
	"io"
	"strings"
	"sync"
	"testing"
	"time"

	apiv1 "github.com/skiffrun/skiff/guest/api/v1"
	"github.com/skiffrun/skiff/host/tty"
)

// fakeStream records what Run sends and answers with scripted output once
// told to.
type fakeStream struct {
	mu   sync.Mutex
	sent []*apiv1.StreamInput
	// out is what Recv returns, in order; then io.EOF.
	out chan *apiv1.StreamOutput
}

func newFakeStream(out ...*apiv1.StreamOutput) *fakeStream {
	ch := make(chan *apiv1.StreamOutput, len(out)+1)
	for _, o := range out {
		ch <- o
	}
	return &fakeStream{out: ch}
}

func (f *fakeStream) Send(m *apiv1.StreamInput) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.sent = append(f.sent, m)
	return nil
}

func (f *fakeStream) Recv() (*apiv1.StreamOutput, error) {
	o, ok := <-f.out
	if !ok {
		return nil, io.EOF
	}
	return o, nil
}

func (f *fakeStream) inputs() []*apiv1.StreamInput {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]*apiv1.StreamInput(nil), f.sent...)
}

// waitFor polls until cond holds on what was sent.
func (f *fakeStream) waitFor(t *testing.T, cond func([]*apiv1.StreamInput) bool) []*apiv1.StreamInput {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		if in := f.inputs(); cond(in) {
			return in
		}
		time.Sleep(time.Millisecond)
	}
	t.Fatalf("never sent what was expected; sent %v", f.inputs())
	return nil
}

func output(kind apiv1.StreamKind, s string) *apiv1.StreamOutput {
	return &apiv1.StreamOutput{Msg: &apiv1.StreamOutput_Output{Output: &apiv1.Output{Stream: kind, Data: []byte(s)}}}
}

func exit(code int32) *apiv1.StreamOutput {
	return &apiv1.StreamOutput{Msg: &apiv1.StreamOutput_Exit{Exit: &apiv1.Exit{Code: code}}}
}

var first = &apiv1.StreamInput{Msg: &apiv1.StreamInput_Attach{Attach: &apiv1.AttachStart{Id: "c"}}}

func TestRunRoutesOutput(t *testing.T) {
	for _, tc := range []struct {
		name           string
		tty            bool
		stdout, stderr string
	}{
		{"separate streams", false, "o1o2", "e1"},
		{"terminal has one output", true, "o1e1o2", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := newFakeStream(
				output(apiv1.StreamKind_STREAM_STDOUT, "o1"),
				output(apiv1.StreamKind_STREAM_STDERR, "e1"),
				output(apiv1.StreamKind_STREAM_STDOUT, "o2"),
				exit(4),
			)
			var out, errb bytes.Buffer
			ex, err := Run(context.Background(), s, first, Options{Stdout: &out, Stderr: &errb, TTY: tc.tty})
			if err != nil || ex.GetCode() != 4 {
				t.Fatalf("exit %v, %v", ex, err)
			}
			if out.String() != tc.stdout || errb.String() != tc.stderr {
				t.Errorf("stdout %q stderr %q", out.String(), errb.String())
			}
			if in := s.inputs(); len(in) != 1 || in[0] != first {
				t.Errorf("sent %v, want only the opening message", in)
			}
		})
	}
}

func TestRunWithoutExitIsAnError(t *testing.T) {
	s := newFakeStream(output(apiv1.StreamKind_STREAM_STDOUT, "x"))
	close(s.out)
	_, err := Run(context.Background(), s, first, Options{Stdout: io.Discard})
	if !errors.Is(err, ErrNoExit) {
		t.Errorf("err = %v, want ErrNoExit", err)
	}
}

func TestStdinIsCopiedThenClosed(t *testing.T) {
	s := newFakeStream()
	big := strings.Repeat("z", chunkSize+5)
	done := make(chan struct{})
	go func() {
		defer close(done)
		Run(context.Background(), s, first, Options{Stdin: strings.NewReader(big), Stdout: io.Discard})
	}()
	in := s.waitFor(t, func(in []*apiv1.StreamInput) bool {
		return len(in) > 0 && in[len(in)-1].GetCloseStdin()
	})
	var got strings.Builder
	for _, m := range in[1 : len(in)-1] {
		if len(m.GetStdin()) > chunkSize {
			t.Errorf("sent a %d-byte chunk", len(m.GetStdin()))
		}
		got.Write(m.GetStdin())
	}
	if got.String() != big {
		t.Errorf("sent %d bytes of stdin, want %d", got.Len(), len(big))
	}
	s.out <- exit(0)
	<-done
}

func TestDetachKeysOnTerminalDetach(t *testing.T) {
	s := newFakeStream()
	pr, pw := io.Pipe()
	defer pw.Close()
	go Run(context.Background(), s, first, Options{Stdin: pr, Stdout: io.Discard, TTY: true, DetachKeys: []byte{0x10, 0x11}})
	pw.Write([]byte("ls\x10"))
	pw.Write([]byte("\x11more"))
	in := s.waitFor(t, func(in []*apiv1.StreamInput) bool {
		return len(in) > 0 && in[len(in)-1].GetDetach()
	})
	var typed strings.Builder
	for _, m := range in[1:] {
		typed.Write(m.GetStdin())
		if m.GetCloseStdin() {
			t.Error("detaching closed the container's stdin")
		}
	}
	if typed.String() != "ls" {
		t.Errorf("sent %q before detaching, want %q", typed.String(), "ls")
	}
	s.out <- &apiv1.StreamOutput{Msg: &apiv1.StreamOutput_Exit{Exit: &apiv1.Exit{Detached: true}}}
}

func TestDetachKeysIgnoredWithoutTerminal(t *testing.T) {
	s := newFakeStream()
	go Run(context.Background(), s, first, Options{Stdin: strings.NewReader("a\x10\x11b"), Stdout: io.Discard, DetachKeys: []byte{0x10, 0x11}})
	in := s.waitFor(t, func(in []*apiv1.StreamInput) bool {
		return len(in) > 0 && in[len(in)-1].GetCloseStdin()
	})
	var got strings.Builder
	for _, m := range in[1:] {
		got.Write(m.GetStdin())
	}
	if got.String() != "a\x10\x11b" {
		t.Errorf("piped input changed to %q", got.String())
	}
	s.out <- exit(0)
}

func TestResizeIsForwarded(t *testing.T) {
	s := newFakeStream()
	sizes := make(chan tty.Size, 1)
	go Run(context.Background(), s, first, Options{Stdout: io.Discard, TTY: true, Resize: sizes})
	sizes <- tty.Size{Width: 120, Height: 40}
	in := s.waitFor(t, func(in []*apiv1.StreamInput) bool { return len(in) == 2 })
	if r := in[1].GetResize(); r.GetWidth() != 120 || r.GetHeight() != 40 {
		t.Errorf("resize = %v", in[1])
	}
	s.out <- exit(0)
}
