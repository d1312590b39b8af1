package machine

import (
	"path"
	"strings"
	"testing"

	"github.com/skiffrun/skiff/guest/api/wire"
)

// The agent's folder must hold none of libcontainer's state, or each
// container's init starts from a copy of the whole agent in memory
// rather than an overlayfs view of it (wire.AgentPath).
func TestAgentFolderHoldsNoState(t *testing.T) {
	dir := path.Dir(wire.AgentPath)
	if dir == "/" {
		t.Fatalf("the agent is in the root folder (%s), which holds every state folder", wire.AgentPath)
	}
	for _, state := range []string{agentRoot, path.Join(agentRoot, "runtime"), "/run", "/tmp"} {
		if state == dir || strings.HasPrefix(state, dir+"/") {
			t.Errorf("state folder %s is inside the agent's folder %s", state, dir)
		}
	}
}
