package registry

import (
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"net/http"
	"slices"

	"github.com/containerd/errdefs"
	"github.com/docker/cli/cli/config"
	"github.com/docker/cli/cli/config/configfile"
	"github.com/docker/cli/cli/config/types"
	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
)

// dockerHubKey is the key docker keeps Docker Hub's credentials under.
const dockerHubKey = "https://index.docker.io/v1/"

// serverKey is the config.json key of a registry host: docker's own
// for Docker Hub, else the host itself.
func serverKey(host string) string {
	switch host {
	case "", "docker.io", "index.docker.io", "registry-1.docker.io", dockerHubKey:
		return dockerHubKey
	}
	return host
}

// registryHost is the host for a login server argument; empty is
// Docker Hub.
func registryHost(server string) string {
	if serverKey(server) == dockerHubKey {
		return name.DefaultRegistry
	}
	return server
}

// Verify checks username and password against the registry at host:
// the registry must accept them for its /v2/ endpoint.
func Verify(ctx context.Context, host, username, password string, s *Settings) error {
	host = registryHost(host)
	insecure := s != nil && slices.Contains(s.InsecureRegistries, host)
	var nopts []name.Option
	if insecure {
		nopts = append(nopts, name.Insecure)
	}
	reg, err := name.NewRegistry(host, nopts...)
	if err != nil {
		return fmt.Errorf("%w: invalid registry %q: %w", errdefs.ErrInvalidArgument, host, err)
	}
	base := remote.DefaultTransport.(*http.Transport).Clone()
	if insecure {
		base.TLSClientConfig = &tls.Config{InsecureSkipVerify: true} //nolint:gosec // the user allowed this registry
	}
	auth := authn.FromConfig(authn.AuthConfig{Username: username, Password: password})
	tr, err := transport.NewWithContext(ctx, reg, auth, base, []string{reg.Scope(transport.PullScope)})
	if err != nil {
		return loginError(host, err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, reg.Scheme()+"://"+reg.RegistryStr()+"/v2/", nil)
	if err != nil {
		return err
	}
	resp, err := (&http.Client{Transport: tr}).Do(req)
	if err != nil {
		return loginError(host, err)
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<16))
	if resp.StatusCode == http.StatusUnauthorized || resp.StatusCode == http.StatusForbidden {
		return errdefs.ErrUnauthenticated.WithMessage(fmt.Sprintf("login to %s failed: unauthorized: incorrect username or password", host))
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("login to %s failed: the registry answered %s", host, resp.Status)
	}
	return nil
}

func loginError(host string, err error) error {
	if terr, ok := err.(*transport.Error); ok && (terr.StatusCode == http.StatusUnauthorized || terr.StatusCode == http.StatusForbidden) { //nolint:errorlint // transport returns it unwrapped
		return errdefs.ErrUnauthenticated.WithMessage(fmt.Sprintf("login to %s failed: unauthorized: incorrect username or password", host))
	}
	return fmt.Errorf("login to %s failed: %w; check the address, or add it to \"insecure-registries\" in $SKIFF_HOME/config.json if it is a plain-HTTP registry", host, err)
}

// loadConfig reads docker's config.json ($DOCKER_CONFIG or ~/.docker).
func loadConfig() (*configfile.ConfigFile, error) {
	cf, err := config.Load(config.Dir())
	if err != nil {
		return nil, fmt.Errorf("read docker's config.json: %w", err)
	}
	return cf, nil
}

// Save stores username and password for host as docker login does: in
// the credential helper config.json names for it, or else base64 in
// its auths. The file is replaced atomically and readable only by the
// user.
func Save(host, username, password string) error {
	cf, err := loadConfig()
	if err != nil {
		return err
	}
	key := serverKey(host)
	ac := types.AuthConfig{Username: username, Password: password, ServerAddress: key}
	if err := cf.GetCredentialsStore(key).Store(ac); err != nil {
		return fmt.Errorf("save credentials for %s: %w", host, err)
	}
	return nil
}

// Erase removes the credentials for host, from its credential helper
// and config.json. It reports whether there were any.
func Erase(host string) (bool, error) {
	cf, err := loadConfig()
	if err != nil {
		return false, err
	}
	key := serverKey(host)
	store := cf.GetCredentialsStore(key)
	ac, err := store.Get(key)
	if err != nil {
		return false, fmt.Errorf("read credentials for %s: %w", host, err)
	}
	if ac.Username == "" && ac.Password == "" && ac.IdentityToken == "" {
		return false, nil
	}
	if err := store.Erase(key); err != nil {
		return true, fmt.Errorf("remove credentials for %s: %w", host, err)
	}
	return true, nil
}
