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
