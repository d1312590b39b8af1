// Package registry gives the agent what it needs to reach a registry on
// the user's behalf: credentials, resolved on the host from docker's
// config.json (auths, credsStore, credHelpers and the
// docker-credential-* programs), and skiff's insecure-registries
// setting, sent with each pull or push and never stored in the machine.
// It also carries out login and logout, verifying against the registry
// and saving to config.json as docker does. Pulling itself is the
// agent's.
package registry

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"

	"github.com/distribution/reference"
	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"

	apiv1 "github.com/skiffrun/skiff/guest/api/v1"
	"github.com/skiffrun/skiff/host/opts"
)

// Settings are skiff's own registry settings, from $SKIFF_HOME/config.json.
type Settings struct {
	// InsecureRegistries are host[:port] registries reached over plain
	// HTTP or with unverified TLS. localhost, 127.0.0.1 and [::1]
	// always are.
	InsecureRegistries []string `json:"insecure-registries,omitempty"`
}

// LoadSettings reads the settings file in skiff's home directory home;
// a missing file is no settings.
func LoadSettings(home string) (*Settings, error) {
	p := filepath.Join(home, "config.json")
	data, err := os.ReadFile(p)
	if errors.Is(err, os.ErrNotExist) {
		return &Settings{}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read skiff settings: %w", err)
	}
	var s Settings
	if err := json.Unmarshal(data, &s); err != nil {
		return nil, fmt.Errorf("read skiff settings %s: %w; fix or remove the file", p, err)
	}
	return &s, nil
}

// Domain returns the registry host of an image reference, with docker's
// normalization ("busybox" is on docker.io).
func Domain(ref string) (string, error) {
	named, err := reference.ParseNormalizedNamed(ref)
	if err != nil {
		return "", opts.Usagef("invalid reference format %q: %v", ref, err)
	}
	return reference.Domain(named), nil
}

// Options resolves what the agent needs to reach the registry of ref:
// the credentials for it, if any, and the insecure registries.
func Options(ref string, s *Settings, keychain authn.Keychain) (*apiv1.RegistryOptions, error) {
	domain, err := Domain(ref)
	if err != nil {
		return nil, err
	}
	if keychain == nil {
		keychain = authn.DefaultKeychain
	}
	o := &apiv1.RegistryOptions{}
	if s != nil {
		o.InsecureRegistries = slices.Clone(s.InsecureRegistries)
	}
	auth, err := Credentials(domain, keychain)
	if err != nil {
		return nil, err
	}
	o.Auth = auth
	return o, nil
}

// Credentials returns the credentials keychain holds for registry host,
// or nil for none.
func Credentials(host string, keychain authn.Keychain) (*apiv1.RegistryAuth, error) {
	reg, err := name.NewRegistry(host)
	if err != nil {
		return nil, opts.Usagef("invalid registry %q: %v", host, err)
	}
	a, err := keychain.Resolve(reg)
	if err != nil {
		return nil, fmt.Errorf("read credentials for %s from docker's config.json: %w", host, err)
	}
	if a == authn.Anonymous {
		return nil, nil
	}
	cfg, err := a.Authorization()
	if err != nil {
		return nil, fmt.Errorf("read credentials for %s: %w", host, err)
	}
	if cfg.Auth != "" && cfg.Username == "" {
		// go-containerregistry decodes "auth" itself; this is only for
		// a keychain that hands it back encoded.
		return nil, fmt.Errorf("credentials for %s are not username and password", host)
	}
	if *cfg == (authn.AuthConfig{}) {
		return nil, nil
	}
	return &apiv1.RegistryAuth{
		Username:      cfg.Username,
		Password:      cfg.Password,
		IdentityToken: cfg.IdentityToken,
		RegistryToken: cfg.RegistryToken,
	}, nil
}
