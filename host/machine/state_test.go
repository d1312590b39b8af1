package machine

import (
	"os"
	"path/filepath"
	"testing"
)

func TestVMStatus(t *testing.T) {
	tests := []struct {
		name           string
		answers, alive bool
		last           Status
		want           Status
	}{
		{"never started", false, false, "", Stopped},
		{"booting", false, true, Starting, Starting},
		{"serving", true, true, Running, Running},
		{"powered off", false, false, Stopped, Stopped},
		{"failed to boot", false, false, Error, Error},
		{"daemon killed while running", false, false, Running, Error},
		{"stale socket, no daemon", true, false, Stopped, Stopped},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := vmStatus(tc.answers, tc.alive, state{Status: tc.last}); got != tc.want {
				t.Errorf("vmStatus = %s, want %s", got, tc.want)
			}
		})
	}
}

func TestGoneShares(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "file")
	if err := os.WriteFile(file, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	removed := filepath.Join(dir, "removed")
	got := goneShares([]string{dir, file, removed})
	if len(got) != 2 || got[0] != file || got[1] != removed {
		t.Errorf("goneShares = %q, want the file and the removed folder", got)
	}
}
