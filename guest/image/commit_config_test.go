package image

import (
	"encoding/json"
	"slices"
	"testing"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	apiv1 "github.com/skiffrun/skiff/guest/api/v1"
)

func TestCommitConfig(t *testing.T) {
	base := []byte(`{"architecture":"amd64","os":"linux","config":{"Env":["PATH=/bin","A=1"],"Cmd":["sh"]},
"rootfs":{"type":"layers","diff_ids":["sha256:1111111111111111111111111111111111111111111111111111111111111111"]},
"history":[{"created_by":"ADD rootfs"}]}`)
	diff := "sha256:2222222222222222222222222222222222222222222222222222222222222222"
	data, err := CommitConfig(base, ContainerCommit{
		Config:    &apiv1.ContainerConfig{Env: []string{"A=2", "B=3"}, Labels: map[string]string{"k": "v"}},
		Changes:   []string{`CMD ["echo","hi"]`, "EXPOSE 80"},
		CreatedBy: "sh -c touch /x",
		Comment:   "msg",
		Author:    "me",
		DiffID:    diff,
		Now:       time.Unix(1700000000, 0),
	})
	if err != nil {
		t.Fatal(err)
	}
	var cf v1.ConfigFile
	if err := json.Unmarshal(data, &cf); err != nil {
		t.Fatal(err)
	}
	c := cf.Config
	if !slices.Equal(c.Env, []string{"PATH=/bin", "A=2", "B=3"}) || !slices.Equal(c.Cmd, []string{"echo", "hi"}) || c.Labels["k"] != "v" {
		t.Errorf("config = %+v", c)
	}
	if _, ok := c.ExposedPorts["80/tcp"]; !ok {
		t.Errorf("exposed ports = %v", c.ExposedPorts)
	}
	if len(cf.RootFS.DiffIDs) != 2 || cf.RootFS.DiffIDs[1].String() != diff {
		t.Errorf("diff IDs = %v", cf.RootFS.DiffIDs)
	}
	if n := len(cf.History); n != 2 || cf.History[1].Comment != "msg" || cf.History[1].CreatedBy != "sh -c touch /x" || cf.Author != "me" || cf.Created.Unix() != 1700000000 {
		t.Errorf("history = %+v, author %q, created %v", cf.History, cf.Author, cf.Created)
	}
	if _, err := CommitConfig(base, ContainerCommit{DiffID: diff, Changes: []string{"FROM x"}}); err == nil {
		t.Error("an unknown change was applied")
	}
}

// TestCommitConfigBody: a Docker API commit body merges over the
// container's config as docker's does, the changes come after it, an
// ENTRYPOINT change drops the inherited command, and the comment lands
// where image inspect reads it.
func TestCommitConfigBody(t *testing.T) {
	base := []byte(`{"architecture":"amd64","os":"linux","config":{"Env":["PATH=/bin","A=1"],"Cmd":["sh"],"Labels":{"old":"1"},"ExposedPorts":{"22/tcp":{}},"User":"root"},
"rootfs":{"type":"layers","diff_ids":[]}}`)
	diff := "sha256:2222222222222222222222222222222222222222222222222222222222222222"
	for _, tc := range []struct {
		name    string
		body    *apiv1.ImageConfig
		changes []string
		check   func(t *testing.T, c v1.Config)
	}{
		{
			name: "merge",
			body: &apiv1.ImageConfig{Cmd: []string{"echo", "body"}, Env: []string{"A=2", "C=3"}, Labels: map[string]string{"new": "2"}, ExposedPorts: []string{"80/tcp"}, WorkingDir: "/w"},
			check: func(t *testing.T, c v1.Config) {
				if !slices.Equal(c.Cmd, []string{"echo", "body"}) || !slices.Equal(c.Env, []string{"PATH=/bin", "A=2", "C=3"}) ||
					c.Labels["old"] != "1" || c.Labels["new"] != "2" || c.WorkingDir != "/w" || c.User != "root" || len(c.ExposedPorts) != 2 {
					t.Errorf("config = %+v", c)
				}
			},
		},
		{
			name:    "changes after the body",
			body:    &apiv1.ImageConfig{Cmd: []string{"echo", "body"}, User: "nobody"},
			changes: []string{"USER app", `CMD ["echo","change"]`},
			check: func(t *testing.T, c v1.Config) {
				if !slices.Equal(c.Cmd, []string{"echo", "change"}) || c.User != "app" {
					t.Errorf("config = %+v", c)
				}
			},
		},
		{
			name: "body entrypoint brings its own command",
			body: &apiv1.ImageConfig{Entrypoint: []string{"/bin/ep"}},
			check: func(t *testing.T, c v1.Config) {
				if !slices.Equal(c.Entrypoint, []string{"/bin/ep"}) || c.Cmd != nil {
					t.Errorf("config = %+v", c)
				}
			},
		},
		{
			name:    "entrypoint change drops the command",
			changes: []string{`ENTRYPOINT ["/bin/ep"]`},
			check: func(t *testing.T, c v1.Config) {
				if c.Cmd != nil {
					t.Errorf("cmd = %q, want none", c.Cmd)
				}
			},
		},
		{
			name:    "cmd before entrypoint stays",
			changes: []string{`CMD ["x"]`, `ENTRYPOINT ["/bin/ep"]`},
			check: func(t *testing.T, c v1.Config) {
				if !slices.Equal(c.Cmd, []string{"x"}) {
					t.Errorf("cmd = %q, want x", c.Cmd)
				}
			},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			data, err := CommitConfig(base, ContainerCommit{Body: tc.body, Changes: tc.changes, Comment: "why", Author: "who", DiffID: diff, Now: time.Unix(1700000000, 0)})
			if err != nil {
				t.Fatal(err)
			}
			var cf v1.ConfigFile
			if err := json.Unmarshal(data, &cf); err != nil {
				t.Fatal(err)
			}
			tc.check(t, cf.Config)
			ic, err := parseConfig(data)
			if err != nil {
				t.Fatal(err)
			}
			if ic.comment != "why" || ic.author != "who" {
				t.Errorf("comment %q, author %q", ic.comment, ic.author)
			}
		})
	}
}
