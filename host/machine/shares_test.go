package machine

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/containerd/errdefs"

	"github.com/skiffrun/skiff/platform"
)

func TestAgentPath(t *testing.T) {
	useFakeDriver(t)
	vmOnce.Do(func() { platform.Register("fakevm", fakeVM{}) })
	home := shortHome(t)
	tmp := t.TempDir() // under the temp folder, shared by default
	extra := t.TempDir()
	outsideRoot, err := os.MkdirTemp("/var/tmp", "skiff-paths-")
	if err != nil {
		t.Skip("needs a folder outside the temp folder:", err)
	}
	t.Cleanup(func() { os.RemoveAll(outsideRoot) })
	if err := os.Symlink(tmp, filepath.Join(outsideRoot, "link")); err != nil {
		t.Fatal(err)
	}

	native, err := New(Options{Home: home, Name: "n", Driver: "fake"})
	if err != nil {
		t.Fatal(err)
	}
	if p, err := native.AgentPath(outsideRoot); err != nil || p != outsideRoot {
		t.Errorf("a detached driver maps %s to %q, %v", outsideRoot, p, err)
	}

	vm, err := New(Options{Home: home, Name: "v", Driver: "fakevm"})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ in, want, err string }{
		{in: tmp, want: tmp},
		{in: filepath.Join(tmp, "not", "made", "yet"), want: filepath.Join(tmp, "not", "made", "yet")},
		{in: filepath.Join(outsideRoot, "link"), want: tmp},
		{in: outsideRoot, err: outsideRoot + ` is not shared with machine "v"; add it with skiff machine set --share ` + outsideRoot},
		{in: filepath.Join(outsideRoot, "missing"), err: "add it with skiff machine set --share " + outsideRoot},
	} {
		p, err := vm.AgentPath(tc.in)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) || !errdefs.IsFailedPrecondition(err) {
				t.Errorf("AgentPath(%s) = %q, %v; want an error with %q", tc.in, p, err, tc.err)
			}
			if strings.Contains(err.Error(), "restart") {
				t.Errorf("a stopped machine needs no restart: %v", err)
			}
			continue
		}
		if err != nil || p != tc.want {
			t.Errorf("AgentPath(%s) = %q, %v; want %q", tc.in, p, err, tc.want)
		}
	}

	// A folder shared with --share: at once for a stopped machine; for
	// a running one only from its next start.
	if _, err := vm.Set(Changes{Share: []Mount{{Path: outsideRoot}}}); err != nil {
		t.Fatal(err)
	}
	if p, err := vm.AgentPath(outsideRoot); err != nil || p != outsideRoot {
		t.Errorf("after --share: %q, %v", p, err)
	}
	vm.writeState(state{Status: Running, Shares: []string{filepath.Clean(os.TempDir())}})
	if _, err := vm.AgentPath(outsideRoot); err == nil || !strings.Contains(err.Error(), "from its next start; restart it with skiff machine stop") {
		t.Errorf("a share added while running: %v", err)
	}
	if p, err := vm.AgentPath(extra); err != nil || p != extra {
		t.Errorf("a share the running machine has: %q, %v", p, err)
	}
	if _, err := vm.Set(Changes{Unshare: []string{outsideRoot}}); err != nil {
		t.Fatal(err)
	}
	if _, err := vm.AgentPath(outsideRoot); err == nil || !strings.Contains(err.Error(), "then restart the machine") {
		t.Errorf("outside the shares of a running machine: %v", err)
	}
}
