package passwd

import (
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/containerd/errdefs"
)

func TestLookup(t *testing.T) {
	root := t.TempDir()
	if err := os.MkdirAll(filepath.Join(root, "etc"), 0o755); err != nil {
		t.Fatal(err)
	}
	write := func(name, data string) {
		if err := os.WriteFile(filepath.Join(root, "etc", name), []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("passwd", "root:x:0:0:root:/root:/bin/sh\napp:x:1000:1000:app:/home/app:/bin/sh\n")
	write("group", "root:x:0:\napp:x:1000:\nstaff:x:50:app\n")

	for _, tc := range []struct {
		spec string
		want User
	}{
		{"", User{UID: 0, GID: 0, Home: "/root"}},
		{"app", User{UID: 1000, GID: 1000, Groups: []uint32{50}, Home: "/home/app"}},
		{"app:staff", User{UID: 1000, GID: 50, Home: "/home/app"}},
		{"4242:77", User{UID: 4242, GID: 77, Home: "/"}},
	} {
		got, err := Lookup(root, tc.spec)
		if err != nil || got.UID != tc.want.UID || got.GID != tc.want.GID || got.Home != tc.want.Home || !slices.Equal(got.Groups, tc.want.Groups) {
			t.Errorf("Lookup(%q) = %+v, %v; want %+v", tc.spec, got, err, tc.want)
		}
	}
	if _, err := Lookup(root, "nobody"); !errdefs.IsInvalidArgument(err) {
		t.Errorf("Lookup(unknown user) = %v, want an invalid-argument error", err)
	}
}
