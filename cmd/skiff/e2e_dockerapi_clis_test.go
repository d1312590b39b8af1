//go:build e2e

package main_test

import (
	"archive/tar"
	"bytes"
	"context"
	"errors"
	"io"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// TestDockerAPIEngineVerbs: the engine's newer verbs — diff, export,
// update, history, system df, top — through the socket with both docker
// CLIs, where their own tests drive the raw API and skiff's CLI.
func TestDockerAPIEngineVerbs(t *testing.T) {
	startForDocker(t)
	for _, c := range dockerCLIs(t) {
		t.Run(c.name, func(t *testing.T) {
			name := "e2e-dapi-verbs-" + c.name
			cleanup(t, name)
			c.must(t, "run", "-d", "--name", name, busybox, "sh", "-c", "echo made > /made-"+c.name+"; rm /bin/vi; sleep 300")
			eventually(t, 10*time.Second, "the container's file", func() bool {
				return c.run(t, "", "exec", name, "test", "-f", "/made-"+c.name).code == 0
			})
			for _, tc := range []struct {
				name  string
				args  []string
				check func(out string) bool
			}{
				{"diff", []string{"diff", name}, func(out string) bool {
					return containsLine(out, "A /made-"+c.name) && containsLine(out, "D /bin/vi") && containsLine(out, "C /bin")
				}},
				{"update", []string{"update", "--memory", "96m", "--memory-swap", "192m", "--pids-limit", "40", name}, func(out string) bool { return out == name }},
				{"inspect after update", []string{"inspect", "--format", "{{.HostConfig.Memory}} {{.HostConfig.PidsLimit}}", name}, func(out string) bool { return out == "100663296 40" }},
				{"history", []string{"history", "--no-trunc", "--format", "{{.ID}}|{{.CreatedBy}}", busybox}, func(out string) bool {
					return strings.HasPrefix(out, "sha256:") && strings.Contains(out, "|")
				}},
				{"system df", []string{"system", "df", "--format", "{{.Type}}"}, func(out string) bool {
					return out == "Images\nContainers\nLocal Volumes\nBuild Cache"
				}},
				{"top", []string{"top", name}, func(out string) bool { return strings.Contains(out, "PID") && strings.Contains(out, "sleep 300") }},
			} {
				if out := c.must(t, tc.args...); !tc.check(out) {
					t.Errorf("docker %s: %q", tc.name, out)
				}
			}

			// export writes the container's root as a tar on stdout.
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			cmd := exec.CommandContext(ctx, c.path, "export", name)
			cmd.Env = c.env()
			var out, errb bytes.Buffer
			cmd.Stdout, cmd.Stderr = &out, &errb
			if err := cmd.Run(); err != nil {
				t.Fatalf("docker export: %v: %s", err, errb.String())
			}
			files := map[string]bool{}
			tr := tar.NewReader(&out)
			for {
				h, err := tr.Next()
				if errors.Is(err, io.EOF) {
					break
				}
				if err != nil {
					t.Fatalf("docker export's tar: %v", err)
				}
				files[strings.TrimPrefix(h.Name, "./")] = true
			}
			if !files["made-"+c.name] || files["bin/vi"] || !files["bin/sh"] {
				t.Errorf("docker export: made %v, vi %v, sh %v", files["made-"+c.name], files["bin/vi"], files["bin/sh"])
			}

			if r := c.run(t, "", "diff", "e2e-dapi-no-such"); r.code == 0 {
				t.Errorf("diff of a missing container: %s", r)
			}
		})
	}
}
