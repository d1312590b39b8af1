package layer

import (
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

func TestChanges(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("whiteouts are character devices: needs root")
	}
	lower, upper := t.TempDir(), t.TempDir()
	writeFiles(t, lower, map[string]string{"etc/passwd": "root", "etc/group": "g", "bin/vi": "x", "tmp/keep": "k"})
	writeFiles(t, upper, map[string]string{"etc/passwd": "root2", "new.txt": "n", "tmp/keep2": "k"})
	if err := os.MkdirAll(filepath.Join(upper, "bin"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := unix.Mknod(filepath.Join(upper, "bin", "vi"), unix.S_IFCHR|0o644, 0); err != nil {
		t.Fatal(err)
	}
	// /tmp only holds a change: same time as below, so not listed.
	same := time.Unix(1700000000, 0)
	for _, d := range []string{filepath.Join(lower, "tmp"), filepath.Join(upper, "tmp")} {
		if err := os.Chtimes(d, same, same); err != nil {
			t.Fatal(err)
		}
	}
	// /etc and /bin were written to: a later time above than below. Set, since two
	// directories made within one clock tick share their time.
	later := same.Add(time.Second)
	for _, d := range []string{"etc", "bin"} {
		if err := os.Chtimes(filepath.Join(lower, d), same, same); err != nil {
			t.Fatal(err)
		}
		if err := os.Chtimes(filepath.Join(upper, d), later, later); err != nil {
			t.Fatal(err)
		}
	}
	got, err := Changes(upper, []string{lower})
	if err != nil {
		t.Fatal(err)
	}
	want := []Change{{"/bin", Modified}, {"/bin/vi", Deleted}, {"/etc", Modified}, {"/etc/passwd", Modified}, {"/new.txt", Added}, {"/tmp/keep2", Added}}
	if !slices.Equal(got, want) {
		t.Errorf("Changes = %v, want %v", got, want)
	}
}
