package platform

import (
	"os"
	"path/filepath"
	"testing"
)

func TestDiskEnsureRawGrowsNeverShrinks(t *testing.T) {
	d := Disk{Path: filepath.Join(t.TempDir(), "data.img"), SizeBytes: 1 << 20}
	size := func() int64 {
		t.Helper()
		st, err := os.Stat(d.Path)
		if err != nil {
			t.Fatal(err)
		}
		return st.Size()
	}
	if err := d.EnsureRaw(); err != nil || size() != 1<<20 {
		t.Fatalf("create: size %d, err %v", size(), err)
	}
	d.SizeBytes = 2 << 20
	if err := d.EnsureRaw(); err != nil || size() != 2<<20 {
		t.Fatalf("grow: size %d, err %v", size(), err)
	}
	d.SizeBytes = 1 << 20
	if err := d.EnsureRaw(); err != nil || size() != 2<<20 {
		t.Fatalf("a smaller size shrank the disk to %d (err %v)", size(), err)
	}
	under := Disk{Path: filepath.Join(d.Path, "data.img"), SizeBytes: 1 << 20}
	if err := under.EnsureRaw(); err == nil {
		t.Error("a disk under a file was created")
	}
}
