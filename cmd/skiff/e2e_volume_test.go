//go:build e2e

package main_test

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// The volume tests run natively and, with SKIFF_E2E_DRIVER=qemu, in the
// machine, where bind mounts go through the shared folders (t.TempDir()
// is under the temp folder, which every machine shares).

// TestVolumeBind shows a bind-mounted folder shared both ways at once,
// read-only binds refusing writes, -v making a missing folder, --mount,
// inspect's Mounts, and no mount left once the container is removed.
func TestVolumeBind(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "from-host"), []byte("host wrote this\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	name := "vol-bind"
	cleanup(t, name)
	must(t, "run", "-d", "--name", name, "-v", dir+":/work", busybox, "sleep", "300")

	if out := must(t, "exec", name, "cat", "/work/from-host"); out != "host wrote this" {
		t.Errorf("the container read %q", out)
	}
	must(t, "exec", name, "sh", "-c", "echo container wrote this > /work/from-ctr")
	if data, err := os.ReadFile(filepath.Join(dir, "from-ctr")); err != nil || string(data) != "container wrote this\n" {
		t.Errorf("the host read %q, %v", data, err)
	}
	// A change on the host is seen at once, with no caching in between.
	if err := os.WriteFile(filepath.Join(dir, "from-host"), []byte("changed\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if out := must(t, "exec", name, "cat", "/work/from-host"); out != "changed" {
		t.Errorf("after a change on the host the container read %q", out)
	}

	var mounts []struct {
		Type, Source, Destination, Propagation string
		RW                                     bool
	}
	if err := json.Unmarshal([]byte(must(t, "inspect", "--format", "{{json .Mounts}}", name)), &mounts); err != nil {
		t.Fatal(err)
	}
	if len(mounts) != 1 || mounts[0].Type != "bind" || mounts[0].Source != dir || mounts[0].Destination != "/work" || !mounts[0].RW || mounts[0].Propagation != "rprivate" {
		t.Errorf("inspect Mounts: %+v", mounts)
	}
	id := must(t, "inspect", "--format", "{{.Id}}", name)
	must(t, "rm", "-f", name)
	assertGone(t, id)
	if driver() == "native" {
		if mi, _ := os.ReadFile("/proc/self/mountinfo"); strings.Contains(string(mi), dir) {
			t.Errorf("a mount of %s is left after rm:\n%s", dir, mi)
		}
	}

	// :ro refuses writes; the host's file is untouched.
	r := skiff(t, "run", "--rm", "-v", dir+":/work:ro", busybox, "sh", "-c", "cat /work/from-ctr && echo x > /work/from-ctr")
	if r.code != 1 || !strings.Contains(r.stdout, "container wrote this") || !strings.Contains(r.stderr, "Read-only file system") {
		t.Errorf("write to a :ro bind: %s", r)
	}
	r = skiff(t, "run", "--rm", "--mount", "type=bind,source="+dir+",target=/work,readonly", busybox, "touch", "/work/new")
	if r.code != 1 || !strings.Contains(r.stderr, "Read-only file system") {
		t.Errorf("write to a readonly --mount: %s", r)
	}
	if _, err := os.Stat(filepath.Join(dir, "new")); err == nil {
		t.Error("a read-only mount let a file be created")
	}

	// -v makes a missing host folder, as docker does.
	missing := filepath.Join(dir, "made", "by", "run")
	must(t, "run", "--rm", "-v", missing+":/m", busybox, "sh", "-c", "echo in > /m/f")
	if data, err := os.ReadFile(filepath.Join(missing, "f")); err != nil || string(data) != "in\n" {
		t.Errorf("-v with a missing folder: %q, %v", data, err)
	}
	// A relative -v source starting with . is the working directory's.
	cmd := exec.Command(filepath.Join(binDir, "skiff"), "run", "--rm", "-v", "./made:/m", busybox, "ls", "/m")
	cmd.Env, cmd.Dir = env(), dir
	if out, err := cmd.CombinedOutput(); err != nil || strings.TrimSpace(string(out)) != "by" {
		t.Errorf("-v ./made: %v: %s", err, out)
	}
}

// TestVolumeNamed shows a named volume keeping its data across container
// removal and a restart of the agent (in the machine: of the machine),
// the ls, inspect and rm commands, and a volume in use refused.
// A command may live in a bind mount: docker looks for it after the
// mounts are in place, not in the image alone.
func TestVolumeBindCommand(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "hello"), []byte("#!/bin/sh\necho from the mount\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	if out := must(t, "run", "--rm", "-v", dir+":/cli", busybox, "/cli/hello"); out != "from the mount" {
		t.Errorf("run printed %q", out)
	}
	name := "vol-bind-cmd"
	cleanup(t, name)
	must(t, "run", "-d", "--name", name, "-v", dir+":/cli", "-e", "PATH=/cli:/bin", busybox, "sleep", "300")
	if out := must(t, "exec", name, "hello"); out != "from the mount" {
		t.Errorf("exec through PATH printed %q", out)
	}
}

func TestVolumeNamed(t *testing.T) {
	vol := "skiff-e2e-named"
	t.Cleanup(func() { skiff(t, "rm", "-f", "vol-named"); skiff(t, "volume", "rm", "-f", vol) })
	if out := must(t, "volume", "create", "--label", "purpose=e2e", vol); out != vol {
		t.Fatalf("volume create printed %q", out)
	}
	must(t, "run", "--rm", "-v", vol+":/data", busybox, "sh", "-c", "echo kept > /data/f")
	if out := must(t, "volume", "ls", "-q", "--filter", "name=e2e-named"); out != vol {
		t.Errorf("volume ls -q --filter name=: %q", out)
	}
	if out := must(t, "volume", "ls", "--filter", "label=purpose=e2e", "--format", "{{.Name}} {{.Driver}} {{.Labels}}"); out != vol+" local purpose=e2e" {
		t.Errorf("volume ls --format: %q", out)
	}
	if out := must(t, "volume", "ls", "--filter", "dangling=true", "-q"); !strings.Contains(out, vol) {
		t.Errorf("an unused volume is not dangling: %q", out)
	}
	var info []struct{ Name, Driver, Mountpoint, Scope string }
	if err := json.Unmarshal([]byte(must(t, "volume", "inspect", vol)), &info); err != nil || len(info) != 1 || info[0].Name != vol || info[0].Driver != "local" || info[0].Scope != "local" || info[0].Mountpoint == "" {
		t.Errorf("volume inspect: %+v %v", info, err)
	}

	must(t, "machine", "stop")
	if out := must(t, "run", "--rm", "-v", vol+":/data", busybox, "cat", "/data/f"); out != "kept" {
		t.Errorf("after a restart the volume holds %q", out)
	}

	must(t, "create", "--name", "vol-named", "-v", vol+":/data", busybox, "true")
	r := skiff(t, "volume", "rm", vol)
	if r.code != 125 || !strings.Contains(r.stderr, "volume is in use - [vol-named]") {
		t.Errorf("rm of a volume in use: %s", r)
	}
	if out := must(t, "volume", "ls", "--filter", "dangling=false", "-q"); !strings.Contains(out, vol) {
		t.Errorf("a used volume is dangling: %q", out)
	}
	must(t, "rm", "-v", "vol-named")
	// rm -v takes anonymous volumes only; the named one stays.
	if out := must(t, "run", "--rm", "-v", vol+":/data", busybox, "cat", "/data/f"); out != "kept" {
		t.Errorf("after rm -v the volume holds %q", out)
	}
	if out := must(t, "volume", "rm", vol); out != vol {
		t.Errorf("volume rm printed %q", out)
	}
	if r := skiff(t, "volume", "inspect", vol); r.code != 125 || !strings.Contains(r.stderr, "no such volume") {
		t.Errorf("inspect of a removed volume: %s", r)
	}
}

// TestVolumeCopyUp shows an image's content filled into a new volume
// with owners, modes and links kept: an anonymous volume for the image's
// VOLUME, a named one too, but not with nocopy; and anonymous volumes
// going with rm -v and --rm, but not with a plain rm.
func TestVolumeCopyUp(t *testing.T) {
	root := t.TempDir()
	for _, d := range []string{"bin", "data/sub"} {
		if err := os.MkdirAll(filepath.Join(root, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	bb, err := os.ReadFile("/bin/busybox")
	if err != nil {
		unmet(t, "needs a static /bin/busybox on the host: %v", err)
	}
	steps := []func() error{
		func() error { return os.WriteFile(filepath.Join(root, "bin/busybox"), bb, 0o755) },
		func() error { return os.WriteFile(filepath.Join(root, "data/f"), []byte("from the image\n"), 0o640) },
		func() error { return os.Chown(filepath.Join(root, "data/f"), 1000, 1001) },
		func() error { return os.Symlink("f", filepath.Join(root, "data/l")) },
		func() error { return os.Link(filepath.Join(root, "data/f"), filepath.Join(root, "data/h")) },
		func() error { return os.Chmod(filepath.Join(root, "data/sub"), os.ModeSticky|0o777) },
		func() error { return os.Chmod(filepath.Join(root, "data/f"), 0o640) },
	}
	for _, s := range steps {
		if err := s(); err != nil {
			t.Fatal(err)
		}
	}
	tarPath := filepath.Join(t.TempDir(), "rootfs.tar")
	if out, err := exec.Command("tar", "--numeric-owner", "-C", root, "-cf", tarPath, ".").CombinedOutput(); err != nil {
		t.Fatalf("tar: %v %s", err, out)
	}
	img := "localhost/skiff-e2e-volume:latest"
	must(t, "import", "--change", "VOLUME /data", "--change", `ENTRYPOINT ["/bin/busybox"]`, tarPath, img)
	t.Cleanup(func() { skiff(t, "rm", "-f", "vol-copy"); skiff(t, "rmi", img) })

	const check = "stat -c '%n %u:%g %a %h' /data/f /data/sub && readlink /data/l && cat /data/l"
	want := "/data/f 1000:1001 640 2\n/data/sub 0:0 1777 2\nf\nfrom the image"
	must(t, "run", "--name", "vol-copy", img, "sh", "-c", check+" && echo more > /data/g")
	if out := must(t, "logs", "vol-copy"); out != want {
		t.Errorf("an anonymous volume got:\n%s\nwant:\n%s", out, want)
	}
	var mounts []struct{ Type, Name, Destination string }
	if err := json.Unmarshal([]byte(must(t, "inspect", "--format", "{{json .Mounts}}", "vol-copy")), &mounts); err != nil || len(mounts) != 1 || mounts[0].Type != "volume" || mounts[0].Destination != "/data" || len(mounts[0].Name) != 64 {
		t.Fatalf("inspect Mounts: %+v %v", mounts, err)
	}
	anon := mounts[0].Name
	// Starting again keeps what the container wrote: no second copy.
	must(t, "start", "-a", "vol-copy")
	if out := must(t, "run", "--rm", "-v", anon+":/v", busybox, "cat", "/v/g"); out != "more" {
		t.Errorf("the anonymous volume holds %q", out)
	}
	must(t, "rm", "-v", "vol-copy")
	if out := must(t, "volume", "ls", "-q"); strings.Contains(out, anon) {
		t.Errorf("rm -v left the anonymous volume %s", anon)
	}

	named := "skiff-e2e-copy"
	t.Cleanup(func() { skiff(t, "volume", "rm", "-f", named) })
	if out := must(t, "run", "--rm", "-v", named+":/data", img, "sh", "-c", check); out != want {
		t.Errorf("a new named volume got:\n%s", out)
	}
	if out := must(t, "run", "--rm", "--mount", "type=volume,source=nocopy-vol,target=/data,volume-nocopy", img, "ls", "-A", "/data"); out != "" {
		t.Errorf("volume-nocopy still copied: %q", out)
	}
	must(t, "volume", "rm", "nocopy-vol")

	// --rm takes the anonymous volume with it; plain rm does not.
	before := must(t, "volume", "ls", "-q")
	must(t, "run", "--rm", img, "true")
	if after := must(t, "volume", "ls", "-q"); after != before {
		t.Errorf("--rm left a volume: before %q, after %q", before, after)
	}
	must(t, "run", "--name", "vol-copy", "-v", "/extra", img, "true")
	must(t, "rm", "vol-copy")
	left := strings.Fields(must(t, "volume", "ls", "-q", "--filter", "dangling=true"))
	if len(left) < 2 {
		t.Errorf("rm without -v removed the anonymous volumes: %v", left)
	}
	if out := must(t, "volume", "prune", "-f"); !strings.Contains(out, "Deleted Volumes:") || strings.Contains(out, named) {
		t.Errorf("volume prune: %s", out)
	}
	if out := must(t, "volume", "ls", "-q"); out != named {
		t.Errorf("after prune: %q", out)
	}
}

// TestVolumeBadInput shows skiff's own errors: exit 125 and a message
// that says what to do.
func TestVolumeBadInput(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"bad option", []string{"-v", dir + ":/d:rx"}, `invalid mode "rx"`},
		{"relative target", []string{"-v", dir + ":d"}, "must be absolute inside the container"},
		{"bad volume name", []string{"-v", "a/b:/d"}, "includes invalid characters for a local volume name"},
		{"options on anonymous", []string{"-v", "/d:ro"}, "an anonymous volume takes no options"},
		{"duplicate target", []string{"-v", dir + ":/d", "-v", "x1:/d"}, "duplicate mount point /d"},
		{"missing bind source", []string{"--mount", "type=bind,source=" + filepath.Join(dir, "nope") + ",target=/d"}, "bind source path does not exist"},
		{"unknown mount key", []string{"--mount", "type=bind,src=" + dir + ",dst=/d,colour=red"}, `unexpected key "colour"`},
		{"unknown type", []string{"--mount", "type=npipe,src=x,dst=/d"}, `mount type "npipe" is not supported`},
		{"tmpfs with source", []string{"--mount", "type=tmpfs,src=x,dst=/d"}, "a tmpfs mount takes no source"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := skiff(t, append(append([]string{"run", "--rm"}, tc.args...), busybox, "true")...)
			if r.code != 125 || !strings.Contains(r.stderr, tc.want) {
				t.Errorf("got %s\nwant exit 125 and %q", r, tc.want)
			}
		})
	}
	if out := must(t, "run", "--rm", "--mount", "type=tmpfs,target=/t,tmpfs-size=1m", busybox, "sh", "-c", "df -k /t | tail -1"); !strings.HasPrefix(out, "tmpfs") || !strings.Contains(out, " 1024 ") {
		t.Errorf("--mount type=tmpfs: %q", out)
	}

	if driver() == "native" {
		return
	}
	// A folder outside the machine's shares (home and temp).
	outside, err := os.MkdirTemp("/var/tmp", "skiff-e2e-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(outside) })
	r := skiff(t, "run", "--rm", "-v", outside+":/d", busybox, "true")
	want := "skiff: " + outside + ` is not shared with machine "default"; add it with skiff machine set --share ` + outside
	if r.code != 125 || !strings.HasPrefix(r.stderr, want) {
		t.Errorf("a folder outside the shares: %s\nwant exit 125 and %q", r, want)
	}
	// Shared (read-only) from the next start: a restart brings it in.
	must(t, "machine", "set", "--share", outside+":ro")
	r = skiff(t, "run", "--rm", "-v", outside+":/d", busybox, "true")
	if r.code != 125 || !strings.Contains(r.stderr, "from its next start") {
		t.Errorf("a folder shared since the machine started: %s", r)
	}
	must(t, "machine", "stop")
	if err := os.WriteFile(filepath.Join(outside, "f"), []byte("now shared\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	if out := must(t, "run", "--rm", "-v", outside+":/d", busybox, "cat", "/d/f"); out != "now shared" {
		t.Errorf("after --share and a restart: %q", out)
	}
	t.Logf("restart with the new share took %v", time.Since(start).Round(time.Millisecond))
	if r := skiff(t, "run", "--rm", "-v", outside+":/d", busybox, "touch", "/d/new"); r.code != 1 || !strings.Contains(r.stderr, "Read-only file system") {
		t.Errorf("a write to a read-only share: %s", r)
	}
	must(t, "machine", "set", "--unshare", outside)
}
