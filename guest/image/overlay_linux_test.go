package image

import (
	"errors"
	"path/filepath"
	"slices"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"golang.org/x/sys/unix"
)

// TestWhiteoutsInLowerDirs loads a two-layer image whose top layer
// deletes a file and hides a directory, then mounts its layers with
// overlayfs the way the runtime does.
func TestWhiteoutsInLowerDirs(t *testing.T) {
	s, _ := openStore(t)
	img := imageOf(t, "sh",
		layerOf(t, tarEntry{"etc/", ""}, tarEntry{"etc/gone", "x"}, tarEntry{"etc/kept", "k"}, tarEntry{"opt/", ""}, tarEntry{"opt/old/", ""}, tarEntry{"opt/old/f", "o"}),
		layerOf(t, tarEntry{"etc/", ""}, tarEntry{"etc/.wh.gone", ""}, tarEntry{"opt/", ""}, tarEntry{"opt/.wh..wh..opq", ""}, tarEntry{"opt/new", "n"}),
	)
	load(t, s, dockerSave(t, map[string]v1.Image{"wh": img}))
	top := get(t, s, "wh").Layers[1]

	var st unix.Stat_t
	if err := unix.Lstat(filepath.Join(top, "etc/gone"), &st); err != nil || st.Mode&unix.S_IFMT != unix.S_IFCHR || st.Rdev != 0 {
		t.Errorf("etc/gone in the top layer: mode %o rdev %d, %v; want a 0:0 character device", st.Mode, st.Rdev, err)
	}
	buf := make([]byte, 8)
	if n, err := unix.Lgetxattr(filepath.Join(top, "opt"), "trusted.overlay.opaque", buf); err != nil || string(buf[:n]) != "y" {
		t.Errorf("opt opaque xattr %q, %v", buf[:n], err)
	}

	layers := get(t, s, "wh").Layers
	merged := t.TempDir()
	err := unix.Mount("overlay", merged, "overlay", unix.MS_RDONLY, "lowerdir="+layers[1]+":"+layers[0])
	if errors.Is(err, unix.EPERM) || errors.Is(err, unix.ENODEV) || errors.Is(err, unix.EINVAL) {
		t.Skipf("cannot mount overlayfs here: %v", err)
	}
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { unix.Unmount(merged, unix.MNT_DETACH) })
	if got := dirNames(t, filepath.Join(merged, "etc")); !slices.Equal(got, []string{"kept"}) {
		t.Errorf("merged etc holds %v, want [kept]", got)
	}
	if got := dirNames(t, filepath.Join(merged, "opt")); !slices.Equal(got, []string{"new"}) {
		t.Errorf("merged opt holds %v, want [new]", got)
	}
}
