package registry

import (
	"encoding/base64"
	"os"
	"path/filepath"
	"runtime"
	"testing"

	"github.com/google/go-containerregistry/pkg/authn"
)

// withDockerConfig points docker's config at a fresh folder holding
// config.json with content.
func withDockerConfig(t *testing.T, content string) string {
	t.Helper()
	dir := t.TempDir()
	t.Setenv("DOCKER_CONFIG", dir)
	if content != "" {
		if err := os.WriteFile(filepath.Join(dir, "config.json"), []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func TestCredentialsFromAuths(t *testing.T) {
	auth := base64.StdEncoding.EncodeToString([]byte("alice:s3cret"))
	withDockerConfig(t, `{"auths":{"reg.example:5000":{"auth":"`+auth+`"}}}`)
	got, err := Credentials("reg.example:5000", authn.DefaultKeychain)
	if err != nil {
		t.Fatal(err)
	}
	if got == nil || got.Username != "alice" || got.Password != "s3cret" {
		t.Fatalf("credentials %+v, want alice/s3cret", got)
	}
	none, err := Credentials("other.example", authn.DefaultKeychain)
	if err != nil || none != nil {
		t.Fatalf("a registry without credentials: %+v, %v", none, err)
	}
}

func TestCredentialsFromHelper(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("the fake helper is a shell script")
	}
	bin := t.TempDir()
	// A credential helper answers "get" with the secret for the server
	// named on stdin, as docker-credential-* programs do.
	script := "#!/bin/sh\n[ \"$1\" = get ] || exit 1\nread server\necho '{\"ServerURL\":\"'$server'\",\"Username\":\"helper-user\",\"Secret\":\"helper-pass\"}'\n"
	if err := os.WriteFile(filepath.Join(bin, "docker-credential-skifftest"), []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Setenv("PATH", bin+string(os.PathListSeparator)+os.Getenv("PATH"))
	withDockerConfig(t, `{"credHelpers":{"helper.example":"skifftest"}}`)
	got, err := Credentials("helper.example", authn.DefaultKeychain)
	if err != nil {
		t.Fatal(err)
	}
	if got == nil || got.Username != "helper-user" || got.Password != "helper-pass" {
		t.Fatalf("credentials %+v, want the helper's", got)
	}
}

func TestSaveWritesOwnerOnlyAndErase(t *testing.T) {
	dir := withDockerConfig(t, "")
	if err := Save("reg.example:5000", "bob", "pw"); err != nil {
		t.Fatal(err)
	}
	st, err := os.Stat(filepath.Join(dir, "config.json"))
	if err != nil {
		t.Fatal(err)
	}
	if runtime.GOOS != "windows" && st.Mode().Perm() != 0o600 {
		t.Fatalf("config.json mode %v, want 0600", st.Mode().Perm())
	}
	got, err := Credentials("reg.example:5000", authn.DefaultKeychain)
	if err != nil || got == nil || got.Username != "bob" || got.Password != "pw" {
		t.Fatalf("after save: %+v, %v", got, err)
	}
	had, err := Erase("reg.example:5000")
	if err != nil || !had {
		t.Fatalf("erase: %v, %v", had, err)
	}
	if got, _ := Credentials("reg.example:5000", authn.DefaultKeychain); got != nil {
		t.Fatalf("credentials left after logout: %+v", got)
	}
}
