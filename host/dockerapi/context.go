package dockerapi

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"

	"github.com/skiffrun/skiff/guest/api/atomicfile"
)

// ContextName is the docker context skiff writes for a machine: "skiff"
// for the default machine, "skiff-NAME" for another.
func ContextName(machine string) string {
	if machine == "default" {
		return "skiff"
	}
	return "skiff-" + machine
}

// contextMeta is the docker CLI's context metadata file.
type contextMeta struct {
	Name      string                     `json:"Name"`
	Metadata  map[string]string          `json:"Metadata"`
	Endpoints map[string]contextEndpoint `json:"Endpoints"`
}

type contextEndpoint struct {
	Host          string `json:"Host"`
	SkipTLSVerify bool   `json:"SkipTLSVerify"`
}

// dockerConfigDir is the docker CLI's configuration directory:
// $DOCKER_CONFIG, else ~/.docker.
func dockerConfigDir() (string, error) {
	if d := os.Getenv("DOCKER_CONFIG"); d != "" {
		return d, nil
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return "", fmt.Errorf("find the docker configuration directory (or set DOCKER_CONFIG): %w", err)
	}
	return filepath.Join(home, ".docker"), nil
}

// WriteContext writes (or rewrites) the docker context for machine, whose
// endpoint is host (a DOCKER_HOST value), into the docker CLI's own
// context store. The user's current context is left alone: `docker
// context use skiff` switches to it. It returns the context's name.
func WriteContext(machine, host string) (string, error) {
	cfg, err := dockerConfigDir()
	if err != nil {
		return "", err
	}
	name := ContextName(machine)
	sum := sha256.Sum256([]byte(name))
	dir := filepath.Join(cfg, "contexts", "meta", hex.EncodeToString(sum[:]))
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", fmt.Errorf("write docker context %s: %w", name, err)
	}
	data, err := json.Marshal(contextMeta{
		Name:      name,
		Metadata:  map[string]string{"Description": fmt.Sprintf("skiff machine %q", machine)},
		Endpoints: map[string]contextEndpoint{"docker": {Host: host}},
	})
	if err != nil {
		return "", err
	}
	if old, err := os.ReadFile(filepath.Join(dir, "meta.json")); err == nil && string(old) == string(data) {
		return name, nil
	}
	if err := atomicfile.WriteFile(filepath.Join(dir, "meta.json"), data); err != nil {
		return "", fmt.Errorf("write docker context %s: %w", name, err)
	}
	return name, nil
}
