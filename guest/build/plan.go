package build

import (
	"fmt"
	"strings"

	"github.com/containerd/errdefs"
	"github.com/moby/buildkit/frontend/dockerfile/instructions"
)

// stagePlan is what a stage needs before it can be built.
type stagePlan struct {
	// base is the index of the stage FROM names, or -1 for an image or
	// scratch.
	base int
	// baseName is FROM's argument after expansion.
	baseName string
	platform string
	// from maps each COPY --from value that names a stage to its index.
	from map[string]int
}

// plan resolves FROM and COPY --from against the stages and returns the
// stages that target needs, each after the ones it depends on. expand
// expands FROM's and --from's words with the global build arguments.
func (d *Dockerfile) plan(target string, expand func(string) (string, error)) (order []int, plans []stagePlan, err error) {
	plans = make([]stagePlan, len(d.Stages))
	for i := range d.Stages {
		st := &d.Stages[i]
		p := stagePlan{base: -1, from: map[string]int{}}
		bad := func(line int, format string, args ...any) error {
			return &Error{File: d.Name, Line: line, Err: errdefs.ErrInvalidArgument.WithMessage(fmt.Sprintf(format, args...))}
		}
		if p.baseName, err = expand(st.BaseName); err != nil {
			return nil, nil, bad(startLine(st.Location), "FROM %s: %v", st.BaseName, err)
		}
		if p.baseName == "" {
			return nil, nil, bad(startLine(st.Location), "FROM %s names no image; set the build argument it uses with --build-arg", st.BaseName)
		}
		if p.platform, err = expand(st.Platform); err != nil {
			return nil, nil, bad(startLine(st.Location), "FROM --platform=%s: %v", st.Platform, err)
		}
		// FROM names a stage defined before it; a later name is an image,
		// as with BuildKit, so "FROM busybox AS busybox" works.
		if j, ok := d.findStage(p.baseName, i, false); ok {
			p.base = j
		}
		for _, c := range st.Commands {
			cp, ok := c.(*instructions.CopyCommand)
			if !ok || cp.From == "" {
				continue
			}
			from, err := expand(cp.From)
			if err != nil {
				return nil, nil, bad(startLine(cp.Location()), "COPY --from=%s: %v", cp.From, err)
			}
			if j, ok := d.findStage(from, len(d.Stages), true); ok {
				p.from[from] = j
			}
		}
		plans[i] = p
	}

	last := len(d.Stages) - 1
	if target != "" {
		j, ok := d.findStage(target, len(d.Stages), false)
		if !ok {
			return nil, nil, &Error{File: d.Name, Err: errdefs.ErrInvalidArgument.WithMessage(fmt.Sprintf("target stage %q could not be found; name a stage of the Dockerfile (FROM ... AS %s)", target, strings.ToLower(target)))}
		}
		last = j
	}

	const (
		unseen = iota
		visiting
		done
	)
	mark := make([]int, len(d.Stages))
	var visit func(i, line int) error
	visit = func(i, line int) error {
		switch mark[i] {
		case done:
			return nil
		case visiting:
			return &Error{File: d.Name, Line: line, Err: errdefs.ErrInvalidArgument.WithMessage(fmt.Sprintf("circular dependency detected on stage: %s", d.stageName(i)))}
		}
		mark[i] = visiting
		if b := plans[i].base; b >= 0 {
			if err := visit(b, startLine(d.Stages[i].Location)); err != nil {
				return err
			}
		}
		for _, c := range d.Stages[i].Commands {
			cp, ok := c.(*instructions.CopyCommand)
			if !ok || cp.From == "" {
				continue
			}
			from, _ := expand(cp.From)
			if j, ok := plans[i].from[from]; ok {
				if err := visit(j, startLine(cp.Location())); err != nil {
					return err
				}
			}
		}
		mark[i] = done
		order = append(order, i)
		return nil
	}
	if err := visit(last, 0); err != nil {
		return nil, nil, err
	}
	return order, plans, nil
}
