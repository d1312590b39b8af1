package build

import (
	"strings"
	"testing"

	"github.com/moby/buildkit/frontend/dockerfile/instructions"
	"github.com/moby/buildkit/frontend/dockerfile/shell"
)

// FuzzDockerfile feeds untrusted Dockerfiles through everything a build
// does before it touches a file: parsing, stage planning and the
// conversion of metadata instructions into the image config. None may
// panic, and a failure must name the file.
func FuzzDockerfile(f *testing.F) {
	for _, s := range []string{
		"FROM busybox\nRUN echo hi\nCMD [\"sh\"]\n",
		"ARG V=1\nFROM busybox:$V AS a\nENV A=$V B=${V:-x}\nFROM a\nCOPY --from=a /x /y\n",
		"FROM scratch AS a\nCOPY --from=b / /\nFROM scratch AS b\nCOPY --from=a / /\n",
		"FROM x\nEXPOSE 80 1-3/udp ${P}\nHEALTHCHECK --interval=1s CMD true\nONBUILD RUN x\nSHELL [\"a\"]\n",
		"# escape=`\nFROM x\nRUN a `\n b\nWORKDIR rel\nVOLUME [\"/v\"]\nSTOPSIGNAL 9\nLABEL a=b\n",
		"FROM x\nRUN <<EOF\necho\nEOF\n",
		"FROM x\nENTRYPOINT echo\nUSER 1:2\nMAINTAINER m\n",
	} {
		f.Add(s, "")
	}
	f.Add("FROM a AS t\nFROM b\n", "t")
	f.Fuzz(func(t *testing.T, df, target string) {
		d, err := Parse("Dockerfile", []byte(df))
		if err != nil {
			if !strings.HasPrefix(err.Error(), "Dockerfile") {
				t.Fatalf("error does not name the file: %v", err)
			}
			return
		}
		lex := shell.NewLex(d.Escape)
		expand := func(w string) (string, error) {
			res, err := lex.ProcessWordWithMatches(w, shell.EnvsFromSlice([]string{"V=1"}))
			return res.Result, err
		}
		if _, _, err := d.plan(target, expand); err != nil && !strings.HasPrefix(err.Error(), "Dockerfile") {
			t.Fatalf("error does not name the file: %v", err)
		}
		for _, stage := range d.Stages {
			st := &state{}
			for _, cmd := range stage.Commands {
				if ex, ok := cmd.(instructions.SupportsSingleWordExpansion); ok {
					env := shell.EnvsFromSlice(st.expandEnv())
					if ex.Expand(func(w string) (string, error) {
						res, err := lex.ProcessWordWithMatches(w, env)
						return res.Result, err
					}) != nil {
						continue
					}
				}
				_, _, _ = st.applyMeta(cmd, lex)
				_ = instructionText(cmd)
			}
		}
	})
}

// FuzzCleanSource checks that no COPY source, however written, names a
// path outside the context.
func FuzzCleanSource(f *testing.F) {
	for _, s := range []string{"a", "../a", "/../../a", "a/../../b", "./", "..", "a/./b/../..", `..\a`, ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, src string) {
		got, err := cleanSource(src)
		if err != nil {
			return
		}
		if strings.HasPrefix(got, "/") || got == ".." || strings.HasPrefix(got, "../") || strings.Contains(got, "/../") || strings.HasSuffix(got, "/..") {
			t.Fatalf("cleanSource(%q) = %q, outside the context", src, got)
		}
	})
}
