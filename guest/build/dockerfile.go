package build

import (
	"bytes"
	"errors"
	"strconv"
	"strings"

	"github.com/containerd/errdefs"
	"github.com/moby/buildkit/frontend/dockerfile/instructions"
	"github.com/moby/buildkit/frontend/dockerfile/parser"
)

// Dockerfile is a parsed Dockerfile.
type Dockerfile struct {
	// Name names the file in messages.
	Name     string
	Stages   []instructions.Stage
	MetaArgs []instructions.ArgCommand
	Escape   rune
}

// Error is a build failure at a line of the Dockerfile.
type Error struct {
	File string
	// Line is 1-based; 0 when the failure has no line.
	Line int
	// Step names the step that failed, as the progress showed it
	// ("[stage-0 2/3] RUN exit 3"), when one did.
	Step string
	Err  error
}

func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString(e.File)
	if e.Line > 0 {
		b.WriteString(":" + strconv.Itoa(e.Line))
	}
	b.WriteString(": ")
	if e.Step != "" {
		b.WriteString(e.Step + ": ")
	}
	b.WriteString(e.Err.Error())
	return b.String()
}

func (e *Error) Unwrap() error { return e.Err }

// lineOf finds the first line a BuildKit error points at.
func lineOf(err error) int {
	var le *parser.LocationError
	if errors.As(err, &le) {
		for _, loc := range le.Locations {
			if len(loc) > 0 {
				return loc[0].Start.Line
			}
		}
	}
	var ue *instructions.UnknownInstructionError
	if errors.As(err, &ue) {
		return ue.Line
	}
	return 0
}

// messageOf is err's own words, without BuildKit's "dockerfile parse
// error on line N" prefix, which Error's "file:line:" replaces.
func messageOf(err error) string {
	var le *parser.LocationError
	if errors.As(err, &le) {
		return le.Error()
	}
	return err.Error()
}

// Parse parses a Dockerfile named name (for messages). An error names
// the file and line and satisfies errdefs.IsInvalidArgument.
func Parse(name string, data []byte) (*Dockerfile, error) {
	invalid := func(err error) error {
		return &Error{File: name, Line: lineOf(err), Err: errdefs.ErrInvalidArgument.WithMessage(messageOf(err))}
	}
	res, err := parser.Parse(bytes.NewReader(data))
	if err != nil {
		return nil, invalid(err)
	}
	stages, meta, err := instructions.Parse(res.AST, nil)
	if err != nil {
		return nil, invalid(err)
	}
	if len(stages) == 0 {
		return nil, &Error{File: name, Err: errdefs.ErrInvalidArgument.WithMessage("the Dockerfile has no FROM instruction; start it with FROM <image> or FROM scratch")}
	}
	return &Dockerfile{Name: name, Stages: stages, MetaArgs: meta, Escape: res.EscapeToken}, nil
}

// startLine is the first line of an instruction, or 0.
func startLine(locs []parser.Range) int {
	if len(locs) == 0 {
		return 0
	}
	return locs[0].Start.Line
}

// stageName is how progress and errors name stage i.
func (d *Dockerfile) stageName(i int) string {
	if n := d.Stages[i].Name; n != "" {
		return n
	}
	return "stage-" + strconv.Itoa(i)
}

// findStage finds a stage by name or, for COPY --from, by index, among
// stages [0, limit).
func (d *Dockerfile) findStage(ref string, limit int, byIndex bool) (int, bool) {
	if byIndex {
		if i, err := strconv.Atoi(ref); err == nil {
			return i, i >= 0 && i < limit
		}
	}
	ref = strings.ToLower(ref)
	for i := range limit {
		if d.Stages[i].Name != "" && d.Stages[i].Name == ref {
			return i, true
		}
	}
	return 0, false
}
