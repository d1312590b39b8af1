package progress

import (
	"fmt"
	"io"
	"strings"

	units "github.com/docker/go-units"
)

// Lines prints the progress of several items moving at once (the layers
// of a pull or push, the files of a guest image) as docker does: on a
// terminal one line per item, rewritten in place, with a bar while bytes
// move; elsewhere a plain line each time an item's status changes. It is
// not safe for concurrent use.
type Lines struct {
	out      io.Writer
	terminal bool
	// ids are the items in the order their lines were printed.
	ids []string
	// status holds each item's last status, for plain output.
	status map[string]string
}

// NewLines prints to out, a terminal when terminal is set.
func NewLines(out io.Writer, terminal bool) *Lines {
	return &Lines{out: out, terminal: terminal, status: map[string]string{}}
}

// Println prints a line of its own, below the items' lines; items
// updated later are printed anew below it.
func (p *Lines) Println(s string) {
	fmt.Fprintln(p.out, s)
	if p.terminal {
		p.ids = nil
	}
}

// Update sets item id's status; with a total or a current count of
// bytes, a terminal shows a bar.
func (p *Lines) Update(id, status string, current, total int64) {
	line := id + ": " + status
	if total > 0 || current > 0 {
		line += " " + Bar(current, total)
	}
	if !p.terminal {
		if p.status[id] == status {
			return
		}
		p.status[id] = status
		fmt.Fprintln(p.out, id+": "+status)
		return
	}
	i := -1
	for j, have := range p.ids {
		if have == id {
			i = j
		}
	}
	if i < 0 {
		p.ids = append(p.ids, id)
		fmt.Fprintf(p.out, "%s\n", line)
		return
	}
	up := len(p.ids) - i
	// Up to the item's line, clear it, write, and back down.
	fmt.Fprintf(p.out, "\x1b[%dA\r\x1b[2K%s\r\x1b[%dB", up, line, up)
}

// Bar draws docker's progress bar: [=====>     ]  12.3MB/45.6MB, or only
// the count when the total is unknown.
func Bar(current, total int64) string {
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
