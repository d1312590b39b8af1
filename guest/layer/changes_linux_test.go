package layer

import (
	"os"
	"path/filepath"
	"slices"
	"testing"

	"golang.org/x/sys/unix"
)

func TestChanges(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("whiteouts are character devices: needs root")
	}
	lower, upper := t.TempDir(), t.TempDir()
	writeFiles(t, lower, map[string]string{"etc/passwd": "root", "etc/group": "g", "bin/vi": "x", "tmp/keep": "k", "run/x": ""})
	writeFiles(t, upper, map[string]string{"etc/passwd": "root2", "new.txt": "n", "tmp/keep2": "k", "run/mnt": ""})
	if err := os.MkdirAll(filepath.Join(upper, "bin"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := unix.Mknod(filepath.Join(upper, "bin", "vi"), unix.S_IFCHR|0o644, 0); err != nil {
		t.Fatal(err)
	}
	// /run only holds what skip leaves out, so it is not listed.
	got, err := Changes(upper, []string{lower}, func(rel string) bool { return rel == "run/mnt" })
	if err != nil {
		t.Fatal(err)
	}
	want := []Change{{"/bin", Modified}, {"/bin/vi", Deleted}, {"/etc", Modified}, {"/etc/passwd", Modified}, {"/new.txt", Added}, {"/tmp", Modified}, {"/tmp/keep2", Added}}
	if !slices.Equal(got, want) {
		t.Errorf("Changes = %v, want %v", got, want)
	}
}
