package images

import (
	"fmt"
	"io"
	"strings"

	units "github.com/docker/go-units"

	apiv1 "github.com/skiffrun/skiff/guest/api/v1"
)

// progress prints pull and push progress as docker does: on a terminal
// one line per layer, rewritten in place, with a bar while bytes move;
// elsewhere a plain line each time a layer's status changes.
type progress struct {
	out      io.Writer
	terminal bool
	// ids are the layers in the order their lines were printed.
	ids []string
	// status holds each layer's last status, for plain output.
	status map[string]string
}

func newProgress(out io.Writer, terminal bool) *progress {
	return &progress{out: out, terminal: terminal, status: map[string]string{}}
}

func (p *progress) update(m *apiv1.PullProgress) {
	if m.GetId() == "" {
		fmt.Fprintln(p.out, m.GetStatus())
		if p.terminal {
			// Lines already printed stay; later updates of their
			// layers are printed anew.
			p.ids = nil
		}
		return
	}
	line := m.GetId() + ": " + m.GetStatus()
	if m.GetTotal() > 0 || m.GetCurrent() > 0 {
		line += " " + bar(m.GetCurrent(), m.GetTotal())
	}
	if !p.terminal {
		if p.status[m.GetId()] == m.GetStatus() {
			return
		}
		p.status[m.GetId()] = m.GetStatus()
		fmt.Fprintln(p.out, m.GetId()+": "+m.GetStatus())
		return
	}
	i := -1
	for j, id := range p.ids {
		if id == m.GetId() {
			i = j
		}
	}
	if i < 0 {
		p.ids = append(p.ids, m.GetId())
		fmt.Fprintf(p.out, "%s\n", line)
		return
	}
	up := len(p.ids) - i
	// Up to the layer's line, clear it, write, and back down.
	fmt.Fprintf(p.out, "\x1b[%dA\r\x1b[2K%s\r\x1b[%dB", up, line, up)
}

// bar draws docker's progress bar: [=====>     ]  12.3MB/45.6MB.
func bar(current, total int64) string {
	const width = 50
	if total <= 0 {
		return units.HumanSize(float64(current))
	}
	n := int(float64(width) * float64(current) / float64(total))
	n = max(0, min(n, width))
	b := strings.Repeat("=", n)
	if n < width {
		b += ">" + strings.Repeat(" ", width-n-1)
	}
	return fmt.Sprintf("[%s]  %s/%s", b, units.HumanSize(float64(current)), units.HumanSize(float64(total)))
}
