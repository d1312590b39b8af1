package images

import (
	"io"

	apiv1 "github.com/skiffrun/skiff/guest/api/v1"
	hprogress "github.com/skiffrun/skiff/host/progress"
)

// progress prints the agent's pull and push progress messages as docker
// does (host/progress.Lines): a message without a layer is a line of its
// own.
type progress struct{ lines *hprogress.Lines }

func newProgress(out io.Writer, terminal bool) *progress {
	return &progress{lines: hprogress.NewLines(out, terminal)}
}

func (p *progress) update(m *apiv1.PullProgress) {
	if m.GetId() == "" {
		p.lines.Println(m.GetStatus())
		return
	}
	p.lines.Update(m.GetId(), m.GetStatus(), m.GetCurrent(), m.GetTotal())
}
