package container

import (
	"fmt"
	"os"

	apiv1 "github.com/skiffrun/skiff/guest/api/v1"
)

// pipes are the standard streams of a process started without a
// terminal: the process's ends go in stdio; the agent keeps stdin's
// writer and reads each output pipe with its own reader.
type pipes struct {
	stdio Stdio
	stdin *os.File
	child []*os.File
}

// openPipes makes a process's pipes. read is started for each output
// pipe, in a goroutine, with the read end and the stream it carries.
// closeChild must be called once the process holds its ends.
func openPipes(withStdin bool, read func(r *os.File, kind apiv1.StreamKind)) (*pipes, error) {
	p := &pipes{}
	if withStdin {
		r, w, err := os.Pipe()
		if err != nil {
			return nil, fmt.Errorf("create stdin pipe: %w", err)
		}
		p.stdio.Stdin, p.stdin = r, w
		p.child = append(p.child, r)
	}
	for _, kind := range []apiv1.StreamKind{apiv1.StreamKind_STREAM_STDOUT, apiv1.StreamKind_STREAM_STDERR} {
		r, w, err := os.Pipe()
		if err != nil {
			p.closeChild()
			if p.stdin != nil {
				p.stdin.Close()
			}
			return nil, fmt.Errorf("create output pipe: %w", err)
		}
		p.child = append(p.child, w)
		if kind == apiv1.StreamKind_STREAM_STDOUT {
			p.stdio.Stdout = w
		} else {
			p.stdio.Stderr = w
		}
		go read(r, kind)
	}
	return p, nil
}

// closeChild closes the agent's copies of the process's ends, so that
// the output pipes end when the process does.
func (p *pipes) closeChild() {
	for _, f := range p.child {
		_ = f.Close()
	}
	p.child = nil
}
