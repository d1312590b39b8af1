//go:build e2e

package main_test

import (
	"crypto/rand"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"golang.org/x/crypto/bcrypt"
)

// startRegistry runs Debian's docker-registry on a free loopback port,
// with htpasswd basic auth when user is set, and returns its host:port.
func startRegistry(t *testing.T, user, password string) string {
	t.Helper()
	return startRegistryOn(t, "127.0.0.1", user, password)
}

// startRegistryOn is startRegistry listening on ip (0.0.0.0 for every
// address of the host), plain HTTP; it returns the listening host:port.
func startRegistryOn(t *testing.T, ip, user, password string) string {
	t.Helper()
	addr, _ := runRegistry(t, ip, user, password)
	return addr
}

// runRegistry is startRegistryOn that also returns the folder the
// registry stores its blobs and manifests in.
func runRegistry(t *testing.T, ip, user, password string) (addr, data string) {
	t.Helper()
	bin, err := exec.LookPath("docker-registry")
	if err != nil {
		unmet(t, "docker-registry is not installed (scripts/install-deps)")
	}
	l, err := net.Listen("tcp", net.JoinHostPort(ip, "0"))
	if err != nil {
		t.Fatal(err)
	}
	addr = net.JoinHostPort(ip, strconv.Itoa(l.Addr().(*net.TCPAddr).Port))
	l.Close()
	dir := t.TempDir()
	conf := fmt.Sprintf("version: 0.1\nlog:\n  level: error\nstorage:\n  filesystem:\n    rootdirectory: %s\n  delete:\n    enabled: true\nhttp:\n  addr: %s\n", filepath.Join(dir, "data"), addr)
	if user != "" {
		hash, err := bcrypt.GenerateFromPassword([]byte(password), bcrypt.DefaultCost)
		if err != nil {
			t.Fatal(err)
		}
		htpasswd := filepath.Join(dir, "htpasswd")
		if err := os.WriteFile(htpasswd, []byte(user+":"+string(hash)+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		conf += fmt.Sprintf("auth:\n  htpasswd:\n    realm: test\n    path: %s\n", htpasswd)
	}
	cfg := filepath.Join(dir, "config.yml")
	if err := os.WriteFile(cfg, []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "serve", cfg)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	})
	eventually(t, 10*time.Second, "the registry to listen", func() bool {
		c, err := net.Dial("tcp", addr)
		if err == nil {
			c.Close()
		}
		return err == nil
	})
	return addr, filepath.Join(dir, "data")
}

// dockerConfig points docker's config.json at a fresh directory for the
// test.
func dockerConfig(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	t.Setenv("DOCKER_CONFIG", dir)
	return dir
}

// storeTemps lists the work files of the image store (its tmp/).
func storeTemps(t *testing.T) []string {
	t.Helper()
	var out []string
	_ = filepath.WalkDir(skiffHome, func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() && filepath.Base(filepath.Dir(p)) == "tmp" {
			if _, err := os.Stat(filepath.Join(filepath.Dir(filepath.Dir(p)), "blobs")); err == nil {
				out = append(out, p)
			}
		}
		return nil
	})
	return out
}

func TestImagesPushPullRun(t *testing.T) {
	dockerConfig(t)
	reg := startRegistry(t, "", "")
	name := reg + "/busybox:e2e"
	must(t, "tag", busybox, name)
	out := must(t, "push", name)
	if !strings.Contains(out, "digest: sha256:") {
		t.Errorf("push output: %s", out)
	}
	must(t, "rmi", name)
	out = must(t, "pull", name)
	if !strings.Contains(out, "Status: Downloaded newer image for "+name) || !strings.Contains(out, "Digest: sha256:") {
		t.Errorf("pull output: %s", out)
	}
	if out := must(t, "pull", "-q", name); out != name {
		t.Errorf("pull -q printed %q", out)
	}
	if out := must(t, "images", "--digests", "--format", "{{.Digest}}", reg+"/busybox"); !strings.HasPrefix(out, "sha256:") {
		t.Errorf("images --digests: %q", out)
	}
	if out := must(t, "run", "--rm", name, "echo", "pulled"); out != "pulled" {
		t.Errorf("run: %q", out)
	}
	// run pulls what is missing, progress on stderr.
	must(t, "rmi", name)
	r := skiff(t, "run", "--rm", name, "echo", "auto")
	if r.code != 0 || strings.TrimSpace(r.stdout) != "auto" || !strings.Contains(r.stderr, "Unable to find image '"+name+"' locally") {
		t.Errorf("run of a missing image: %v", r)
	}
	must(t, "rmi", name)
	if r := skiff(t, "run", "--rm", "--pull", "never", name, "true"); r.code != 125 {
		t.Errorf("--pull never of a missing image: %v", r)
	}
	if r := skiff(t, "run", "--rm", "--pull", "always", name, "true"); r.code != 0 {
		t.Errorf("--pull always: %v", r)
	}
	must(t, "rmi", name)
}

// TestPullInsecureRefused: a plain-HTTP registry that is not on loopback
// is refused, with advice that names the setting, until the user allows
// it in $SKIFF_HOME/config.json; then the same pull works.
func TestPullInsecureRefused(t *testing.T) {
	dockerConfig(t)
	ip := hostIPv4(t)
	_, port, err := net.SplitHostPort(startRegistryOn(t, "0.0.0.0", "", ""))
	if err != nil {
		t.Fatal(err)
	}
	// Loopback is always allowed plain HTTP: push the image that way.
	local := net.JoinHostPort("127.0.0.1", port) + "/busybox:plain"
	must(t, "tag", busybox, local)
	must(t, "push", local)
	must(t, "rmi", local)

	reg := net.JoinHostPort(ip, port)
	name := reg + "/busybox:plain"
	r := skiff(t, "pull", name)
	advice := fmt.Sprintf(`if you trust it, add %q to "insecure-registries" in $SKIFF_HOME/config.json`, reg)
	if r.code != 125 || !strings.Contains(r.stderr, "registry "+reg+" ") || !strings.Contains(r.stderr, advice) {
		t.Fatalf("pull from a plain-HTTP registry at %s: %v; want exit 125 and %q", reg, r, advice)
	}
	if out := must(t, "images", "-q", name); out != "" {
		t.Errorf("a refused pull stored an image: %q", out)
	}

	settings := filepath.Join(skiffHome, "config.json")
	if err := os.WriteFile(settings, fmt.Appendf(nil, `{"insecure-registries": [%q]}`, reg), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.Remove(settings) })
	if out := must(t, "pull", name); !strings.Contains(out, "Status: Downloaded newer image for "+name) {
		t.Errorf("pull once allowed: %s", out)
	}
	must(t, "rmi", name)
}

// hostIPv4 is an address of this host that is not loopback, which the
// native agent reaches as any other host's.
func hostIPv4(t *testing.T) string {
	t.Helper()
	addrs, err := net.InterfaceAddrs()
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range addrs {
		if n, ok := a.(*net.IPNet); ok && n.IP.To4() != nil && !n.IP.IsLoopback() && !n.IP.IsLinkLocalUnicast() {
			return n.IP.String()
		}
	}
	unmet(t, "this host has no IPv4 address but loopback")
	return ""
}

func TestImagesLogin(t *testing.T) {
	cfgDir := dockerConfig(t)
	reg := startRegistry(t, "boat", "s3cret")
	r := skiffIn(t, "wrong\n", "login", "-u", "boat", "--password-stdin", reg)
	if r.code == 0 || !strings.Contains(r.stderr, "incorrect username or password") || strings.Count(strings.TrimSpace(r.stderr), "\n") != 0 {
		t.Errorf("login with a wrong password: %v", r)
	}
	name := reg + "/busybox:auth"
	must(t, "tag", busybox, name)
	if r := skiff(t, "push", name); r.code == 0 || !strings.Contains(r.stderr, "skiff login") {
		t.Errorf("push without login: %v", r)
	}
	r = skiffIn(t, "s3cret\n", "login", "-u", "boat", "--password-stdin", reg)
	if r.code != 0 || !strings.Contains(r.stdout, "Login Succeeded") {
		t.Fatalf("login: %v", r)
	}
	fi, err := os.Stat(filepath.Join(cfgDir, "config.json"))
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("config.json: %v %v", fi, err)
	}
	must(t, "push", name)
	must(t, "rmi", name)
	must(t, "pull", name)
	must(t, "rmi", name)
	if out := must(t, "logout", reg); !strings.Contains(out, "Removing login credentials") {
		t.Errorf("logout: %q", out)
	}
	if r := skiff(t, "pull", name); r.code == 0 || !strings.Contains(r.stderr, "skiff login") {
		t.Errorf("pull after logout: %v", r)
	}
}

func TestImagesSkopeoImage(t *testing.T) {
	if _, err := exec.LookPath("skopeo"); err != nil {
		unmet(t, "skopeo is not installed")
	}
	dockerConfig(t)
	reg := startRegistry(t, "", "")
	archive := filepath.Join(t.TempDir(), "b.tar")
	must(t, "save", "-o", archive, busybox)
	cmd := exec.Command("skopeo", "copy", "--dest-tls-verify=false", "--format", "oci", "docker-archive:"+archive, "docker://"+reg+"/skopeo:latest")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("skopeo copy: %v: %s", err, out)
	}
	if out := must(t, "run", "--rm", reg+"/skopeo", "echo", "from skopeo"); out != "from skopeo" {
		t.Errorf("run: %q", out)
	}
	must(t, "rmi", reg+"/skopeo")
}

func TestImagesKillDuringPull(t *testing.T) {
	dockerConfig(t)
	reg := startRegistry(t, "", "")
	// A 100 MiB random layer, made with import and pushed.
	dir := t.TempDir()
	data := make([]byte, 100<<20)
	_, _ = rand.Read(data)
	if err := os.WriteFile(filepath.Join(dir, "random.bin"), data, 0o644); err != nil {
		t.Fatal(err)
	}
	tarPath := filepath.Join(t.TempDir(), "big.tar")
	if out, err := exec.Command("tar", "-C", dir, "-cf", tarPath, ".").CombinedOutput(); err != nil {
		t.Fatalf("tar: %v %s", err, out)
	}
	name := reg + "/big:latest"
	must(t, "import", tarPath, name)
	must(t, "push", name)
	must(t, "rmi", name)

	pidFile := filepath.Join(skiffHome, "machines", "default", "agent.pid")
	pull := exec.Command(filepath.Join(binDir, "skiff"), "pull", name)
	pull.Env = env()
	if err := pull.Start(); err != nil {
		t.Fatal(err)
	}
	// Kill the agent once the big layer is half written.
	eventually(t, 30*time.Second, "the big layer to be half downloaded", func() bool {
		for _, p := range storeTemps(t) {
			if fi, err := os.Stat(p); err == nil && strings.HasPrefix(fi.Name(), "blob-") && fi.Size() > 10<<20 {
				return true
			}
		}
		return false
	})
	data, err := os.ReadFile(pidFile)
	if err != nil {
		t.Fatal(err)
	}
	pid, _ := strconv.Atoi(strings.TrimSpace(string(data)))
	_ = syscall.Kill(pid, syscall.SIGKILL)
	_ = pull.Wait()

	if out := must(t, "images", "--format", "{{.Repository}}:{{.Tag}}"); strings.Contains(out, "big") {
		t.Errorf("an interrupted pull is listed: %s", out)
	}
	if temps := storeTemps(t); len(temps) != 0 {
		t.Errorf("temp files left: %v", temps)
	}
	must(t, "pull", name)
	if out := must(t, "image", "inspect", "--format", "{{len .RootFS.Layers}}", name); out != "1" {
		t.Errorf("pulled image has %s layers", out)
	}
	must(t, "rmi", name)
}

func TestImagesSaveLoadPrune(t *testing.T) {
	archive := filepath.Join(t.TempDir(), "b.tar")
	must(t, "tag", busybox, "saved:e2e")
	must(t, "save", "-o", archive, "saved:e2e")
	must(t, "rmi", "saved:e2e")
	if out := must(t, "load", "-i", archive); !strings.Contains(out, "Loaded image: saved:e2e") {
		t.Errorf("load: %q", out)
	}
	// A dangling image goes with prune.
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "f"), []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	tarPath := filepath.Join(t.TempDir(), "f.tar")
	if out, err := exec.Command("tar", "-C", dir, "-cf", tarPath, ".").CombinedOutput(); err != nil {
		t.Fatalf("tar: %v %s", err, out)
	}
	id := must(t, "import", "--change", "CMD [\"/f\"]", tarPath)
	out := must(t, "image", "prune", "-f")
	if !strings.Contains(out, "deleted: "+id) || !strings.Contains(out, "Total reclaimed space") {
		t.Errorf("prune: %q", out)
	}
	must(t, "rmi", "saved:e2e")
	if r := skiff(t, "save", "nope:missing"); r.code == 0 || !strings.Contains(r.stderr, "No such image") {
		t.Errorf("save of a missing image: %v", r)
	}
}

func TestImagesBadInput(t *testing.T) {
	dockerConfig(t)
	reg := startRegistry(t, "", "")
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"pull", reg + "/absent:tag"}, "not found"},
		{[]string{"pull", "Bad//Ref"}, "invalid reference format"},
		{[]string{"pull", "127.0.0.1:1/x"}, "cannot reach registry"},
	} {
		r := skiff(t, tc.args...)
		if r.code == 0 || !strings.Contains(r.stderr, tc.want) || strings.Count(strings.TrimSpace(r.stderr), "\n") > 1 {
			t.Errorf("%v: %v, want %q", tc.args, r, tc.want)
		}
	}
	if r := skiff(t, "run", "--rm", reg+"/absent:tag", "true"); r.code != 125 {
		t.Errorf("run of an unknown image: %v", r)
	}
	if temps := storeTemps(t); len(temps) != 0 {
		t.Errorf("temp files left: %v", temps)
	}
}

func TestImagesBuildahImage(t *testing.T) {
	if _, err := exec.LookPath("buildah"); err != nil {
		unmet(t, "buildah is not installed")
	}
	// buildah wants the auth file it is pointed at to exist.
	os.WriteFile(filepath.Join(dockerConfig(t), "config.json"), []byte(`{"auths":{}}`), 0o600)
	reg := startRegistry(t, "", "")
	dir := t.TempDir()
	archive := filepath.Join(dir, "b.tar")
	must(t, "save", "-o", archive, busybox)
	hello := filepath.Join(dir, "hello.txt")
	os.WriteFile(hello, []byte("made by buildah\n"), 0o644)
	bh := func(args ...string) string {
		t.Helper()
		base := []string{"--root", filepath.Join(dir, "root"), "--runroot", filepath.Join(dir, "runroot"), "--storage-driver", "vfs"}
		out, err := exec.Command("buildah", append(base, args...)...).CombinedOutput()
		if err != nil {
			t.Fatalf("buildah %v: %v: %s", args, err, out)
		}
		return strings.TrimSpace(string(out))
	}
	w := lastLine(bh("from", "-q", "--pull-never", "docker-archive:"+archive))
	bh("copy", w, hello, "/hello.txt")
	bh("config", "--cmd", `["cat","/hello.txt"]`, "--env", "MADE_BY=buildah", w)
	bh("commit", "--format", "docker", w, "localhost/bh:1")
	bh("push", "--tls-verify=false", "localhost/bh:1", "docker://"+reg+"/buildah:latest")
	if out := must(t, "run", "--rm", reg+"/buildah"); out != "made by buildah" {
		t.Errorf("run of the buildah image: %q", out)
	}
	if out := must(t, "run", "--rm", reg+"/buildah", "sh", "-c", "echo $MADE_BY"); out != "buildah" {
		t.Errorf("env of the buildah image: %q", out)
	}
	must(t, "rmi", reg+"/buildah")
}

func lastLine(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return lines[len(lines)-1]
}

func TestImagesMultiArchIndex(t *testing.T) {
	dockerConfig(t)
	reg := startRegistry(t, "", "")
	archive := filepath.Join(t.TempDir(), "b.tar")
	must(t, "save", "-o", archive, busybox)
	amd, err := tarball.ImageFromPath(archive, nil)
	if err != nil {
		t.Fatal(err)
	}
	arm, err := random.Image(1024, 1)
	if err != nil {
		t.Fatal(err)
	}
	cf, _ := arm.ConfigFile()
	cf.Architecture, cf.OS = "arm64", "linux"
	if arm, err = mutate.ConfigFile(arm, cf); err != nil {
		t.Fatal(err)
	}
	idx := mutate.AppendManifests(empty.Index,
		mutate.IndexAddendum{Add: arm, Descriptor: v1.Descriptor{Platform: &v1.Platform{OS: "linux", Architecture: "arm64"}}},
		mutate.IndexAddendum{Add: amd, Descriptor: v1.Descriptor{Platform: &v1.Platform{OS: "linux", Architecture: "amd64"}}},
	)
	ref, err := name.ParseReference(reg+"/multi:1", name.Insecure)
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.WriteIndex(ref, idx); err != nil {
		t.Fatalf("push the index: %v", err)
	}
	must(t, "pull", "-q", reg+"/multi:1")
	if arch := must(t, "image", "inspect", "--format", "{{.Architecture}}", reg+"/multi:1"); arch != "amd64" {
		t.Fatalf("pulled architecture %q, want this machine's amd64", arch)
	}
	if out := must(t, "run", "--rm", reg+"/multi:1", "echo", "picked"); out != "picked" {
		t.Fatalf("run: %q", out)
	}
	must(t, "pull", "-q", "--platform", "linux/arm64", reg+"/multi:1")
	if arch := must(t, "image", "inspect", "--format", "{{.Architecture}}", reg+"/multi:1"); arch != "arm64" {
		t.Fatalf("--platform linux/arm64 pulled %q", arch)
	}
	must(t, "rmi", reg+"/multi:1")
}
