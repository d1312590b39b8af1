package build

import (
	"errors"
	"strings"
	"testing"

	"github.com/containerd/errdefs"
	"github.com/moby/buildkit/frontend/dockerfile/shell"
)

func noExpand(s string) (string, error) { return s, nil }

func TestParseErrorsNameFileAndLine(t *testing.T) {
	for _, tc := range []struct {
		name, df string
		line     int
		want     string
	}{
		{"unknown instruction", "FROM scratch\nRUN true\nFOO bar\n", 3, "unknown instruction: FOO"},
		{"no FROM", "RUN true\n", 1, "no build stage"},
		{"empty", "# nothing\n", 1, "file with no instructions"},
		{"bad FROM", "FROM a b\n", 1, "FROM requires either one or three arguments"},
		{"COPY without destination", "FROM scratch\n\nCOPY onlyone\n", 3, "COPY requires at least two arguments"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse("app.Dockerfile", []byte(tc.df))
			var be *Error
			if !errors.As(err, &be) {
				t.Fatalf("Parse: %v, want an *Error", err)
			}
			if be.File != "app.Dockerfile" || be.Line != tc.line {
				t.Errorf("error at %s:%d, want app.Dockerfile:%d (%v)", be.File, be.Line, tc.line, err)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %q does not say %q", err, tc.want)
			}
			if !errdefs.IsInvalidArgument(err) {
				t.Errorf("error %v is not invalid argument", err)
			}
		})
	}
}

func TestPlanOrdersDependenciesAndFindsCycles(t *testing.T) {
	for _, tc := range []struct {
		name, df, target string
		want             []int
		err              string
	}{
		{"single", "FROM busybox\nRUN true\n", "", []int{0}, ""},
		{"only what the target needs", "FROM busybox AS a\nFROM busybox AS b\nFROM a AS c\n", "", []int{0, 2}, ""},
		{"copy from a later stage", "FROM busybox AS a\nCOPY --from=b /x /x\nFROM busybox AS b\n", "a", []int{1, 0}, ""},
		{"copy from by index", "FROM busybox\nFROM busybox\nCOPY --from=0 /x /x\n", "", []int{0, 1}, ""},
		{"target", "FROM busybox AS a\nFROM busybox AS b\n", "a", []int{0}, ""},
		{"unknown target", "FROM busybox AS a\n", "zzz", nil, `target stage "zzz" could not be found`},
		{"image named like a later stage", "FROM b AS a\nFROM busybox AS b\n", "a", []int{0}, ""},
		{"cycle", "FROM busybox AS a\nCOPY --from=b /x /x\nFROM busybox AS b\nCOPY --from=a /y /y\n", "", nil, "Dockerfile:2: circular dependency detected on stage: b"},
		{"self", "FROM busybox AS a\nCOPY --from=a /x /x\n", "", nil, "circular dependency detected on stage: a"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			df, err := Parse("Dockerfile", []byte(tc.df))
			if err != nil {
				t.Fatal(err)
			}
			order, _, err := df.plan(tc.target, noExpand)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("plan: %v, want %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(order) != len(tc.want) {
				t.Fatalf("order %v, want %v", order, tc.want)
			}
			for i := range order {
				if order[i] != tc.want[i] {
					t.Fatalf("order %v, want %v", order, tc.want)
				}
			}
		})
	}
}

func TestPlanExpandsFrom(t *testing.T) {
	df, err := Parse("Dockerfile", []byte("ARG BASE=busybox\nFROM ${BASE}:1.36\n"))
	if err != nil {
		t.Fatal(err)
	}
	lex := shell.NewLex('\\')
	expand := func(w string) (string, error) {
		res, err := lex.ProcessWordWithMatches(w, shell.EnvsFromSlice([]string{"BASE=alpine"}))
		return res.Result, err
	}
	_, plans, err := df.plan("", expand)
	if err != nil {
		t.Fatal(err)
	}
	if plans[0].baseName != "alpine:1.36" {
		t.Errorf("FROM expanded to %q, want alpine:1.36", plans[0].baseName)
	}
	if _, _, err := df.plan("", func(string) (string, error) { return "", nil }); err == nil || !strings.Contains(err.Error(), "Dockerfile:2") {
		t.Errorf("FROM naming nothing: %v, want an error at line 2", err)
	}
}
