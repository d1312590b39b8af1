package build

import (
	"slices"
	"testing"

	"github.com/moby/buildkit/frontend/dockerfile/instructions"
	"github.com/moby/buildkit/frontend/dockerfile/shell"
)

// applyAll parses a one-stage Dockerfile and applies its metadata
// instructions to st, expanding words as a build does.
func applyAll(t *testing.T, st *state, body string) {
	t.Helper()
	df, err := Parse("Dockerfile", []byte("FROM scratch\n"+body))
	if err != nil {
		t.Fatal(err)
	}
	lex := shell.NewLex(df.Escape)
	for _, cmd := range df.Stages[0].Commands {
		if ex, ok := cmd.(instructions.SupportsSingleWordExpansion); ok {
			env := shell.EnvsFromSlice(st.expandEnv())
			if err := ex.Expand(func(w string) (string, error) {
				res, err := lex.ProcessWordWithMatches(w, env)
				return res.Result, err
			}); err != nil {
				t.Fatal(err)
			}
		}
		if _, ok, err := st.applyMeta(cmd, lex); err != nil || !ok {
			t.Fatalf("apply %s: ok %v, %v", instructionName(cmd), ok, err)
		}
	}
}

func instructionName(c interface{ Name() string }) string { return c.Name() }

func TestApplyMetaConfig(t *testing.T) {
	st := &state{}
	st.cfg.Config.Cmd = []string{"inherited"}
	st.args = []arg{{"VERSION", "1.2"}}
	applyAll(t, st, `ENV A=1 B=$VERSION
ENV A=2
WORKDIR /app
WORKDIR sub
USER 1000:1000
EXPOSE 80 8000-8001/udp
LABEL org.example.v=$VERSION
VOLUME ["/data"]
STOPSIGNAL SIGINT
ENTRYPOINT ["/bin/app"]
HEALTHCHECK --interval=5s --retries=2 CMD wget -q localhost
ONBUILD RUN echo child
SHELL ["/bin/bash", "-c"]
`)
	c := st.cfg.Config
	if !slices.Equal(c.Env, []string{"A=2", "B=1.2"}) {
		t.Errorf("Env %v", c.Env)
	}
	if c.WorkingDir != "/app/sub" {
		t.Errorf("WorkingDir %q, want /app/sub", c.WorkingDir)
	}
	if c.User != "1000:1000" || c.StopSignal != "SIGINT" {
		t.Errorf("User %q StopSignal %q", c.User, c.StopSignal)
	}
	for _, p := range []string{"80/tcp", "8000/udp", "8001/udp"} {
		if _, ok := c.ExposedPorts[p]; !ok {
			t.Errorf("ExposedPorts %v lacks %s", c.ExposedPorts, p)
		}
	}
	if c.Labels["org.example.v"] != "1.2" {
		t.Errorf("Labels %v", c.Labels)
	}
	if _, ok := c.Volumes["/data"]; !ok {
		t.Errorf("Volumes %v", c.Volumes)
	}
	// ENTRYPOINT drops a CMD the stage did not set, as docker does.
	if !slices.Equal(c.Entrypoint, []string{"/bin/app"}) || c.Cmd != nil {
		t.Errorf("Entrypoint %v Cmd %v", c.Entrypoint, c.Cmd)
	}
	if h := c.Healthcheck; h == nil || !slices.Equal(h.Test, []string{"CMD-SHELL", "wget -q localhost"}) || h.Retries != 2 || h.Interval.Seconds() != 5 {
		t.Errorf("Healthcheck %+v", h)
	}
	if !slices.Equal(c.OnBuild, []string{"RUN echo child"}) {
		t.Errorf("OnBuild %v", c.OnBuild)
	}
	if !slices.Equal(c.Shell, []string{"/bin/bash", "-c"}) {
		t.Errorf("Shell %v", c.Shell)
	}

	applyAll(t, st, "CMD echo $HOME\n")
	if !slices.Equal(st.cfg.Config.Cmd, []string{"/bin/bash", "-c", "echo $HOME"}) {
		t.Errorf("shell-form CMD %v, want it run by SHELL, unexpanded", st.cfg.Config.Cmd)
	}
}

func TestExposeRejectsBadPorts(t *testing.T) {
	for _, p := range []string{"0", "70000", "80/icmp", "9-8", "x"} {
		if _, err := exposedPorts(p); err == nil {
			t.Errorf("exposedPorts(%q) accepted", p)
		}
	}
}

func TestRunEnvAndHistoryOfArgs(t *testing.T) {
	st := &state{args: []arg{{"A", "1"}, {"http_proxy", "http://p"}}}
	st.cfg.Config.Env = []string{"A=env"}
	env := st.runEnv(map[string]string{"HTTPS_PROXY": "http://q"})
	want := []string{"A=env", defaultPath, "http_proxy=http://p", "HTTPS_PROXY=http://q"}
	if !slices.Equal(env, want) {
		t.Errorf("runEnv %v, want %v", env, want)
	}
	if got := st.argPrefix(); got != "|1 A=1 " {
		t.Errorf("argPrefix %q: proxies must stay out of the history", got)
	}
}

func TestStepKeyChains(t *testing.T) {
	a := stepKey("p", "RUN", "x")
	if a != stepKey("p", "RUN", "x") {
		t.Error("same step, different keys")
	}
	for _, other := range []string{stepKey("q", "RUN", "x"), stepKey("p", "RUN", "y"), stepKey("p", "RUNx"), stepKey("p", "RU", "Nx")} {
		if other == a {
			t.Error("different steps share a key")
		}
	}
}
