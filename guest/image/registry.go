package image

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/http"
	"slices"
	"strings"

	"github.com/containerd/errdefs"
	"github.com/distribution/reference"
	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
)

// RegistryOptions are what the caller knows about the registry a pull
// or push talks to. They live for one request.
type RegistryOptions struct {
	Username, Password string
	IdentityToken      string
	RegistryToken      string
	// Insecure lists host[:port] registries that may be reached over
	// plain HTTP or with an unverified certificate. localhost,
	// 127.0.0.1 and [::1] always may, as with docker.
	Insecure []string
}

// insecureSetting is where the user allows a plain-HTTP registry; it
// names the host's configuration, which sends the list with each call.
const insecureSetting = `"insecure-registries" in $SKIFF_HOME/config.json`

func (o RegistryOptions) authenticator() authn.Authenticator {
	if o.Username == "" && o.Password == "" && o.IdentityToken == "" && o.RegistryToken == "" {
		return authn.Anonymous
	}
	return authn.FromConfig(authn.AuthConfig{
		Username:      o.Username,
		Password:      o.Password,
		IdentityToken: o.IdentityToken,
		RegistryToken: o.RegistryToken,
	})
}

// isInsecure reports whether registry host may be reached without TLS.
func (o RegistryOptions) isInsecure(host string) bool {
	if isLoopback(host) {
		return true
	}
	return slices.Contains(o.Insecure, host)
}

func isLoopback(host string) bool {
	h := host
	if hh, _, err := net.SplitHostPort(host); err == nil {
		h = hh
	}
	h = strings.Trim(h, "[]")
	if h == "localhost" || strings.HasSuffix(h, ".localhost") {
		return true
	}
	ip := net.ParseIP(h)
	return ip != nil && ip.IsLoopback()
}

// parseRemote parses ref with docker's normalization ("ubuntu" is
// "docker.io/library/ubuntu:latest") into the normalized name and the
// registry reference to fetch.
func parseRemote(ref string, o RegistryOptions) (reference.Named, name.Reference, error) {
	named, err := reference.ParseNormalizedNamed(ref)
	if err != nil {
		return nil, nil, errdefs.ErrInvalidArgument.WithMessage(fmt.Sprintf("invalid reference format %q: %v", ref, err))
	}
	named = reference.TagNameOnly(named)
	var opts []name.Option
	if o.isInsecure(reference.Domain(named)) {
		opts = append(opts, name.Insecure)
	}
	r, err := name.ParseReference(named.String(), opts...)
	if err != nil {
		return nil, nil, errdefs.ErrInvalidArgument.WithMessage(fmt.Sprintf("invalid reference format %q: %v", ref, err))
	}
	return named, r, nil
}

// remoteOptions are the go-containerregistry options for one request
// to the registry of ref.
func remoteOptions(ctx context.Context, ref name.Reference, o RegistryOptions) []remote.Option {
	host := ref.Context().RegistryStr()
	base := remote.DefaultTransport.(*http.Transport).Clone()
	insecure := o.isInsecure(host)
	if insecure {
		base.TLSClientConfig = &tls.Config{InsecureSkipVerify: true} //nolint:gosec // the user allowed this registry
	}
	return []remote.Option{
		remote.WithContext(ctx),
		remote.WithAuth(o.authenticator()),
		remote.WithTransport(&httpsOnly{next: base, allowHTTP: insecure}),
		remote.WithUserAgent("skiff"),
	}
}

// errPlainHTTP is what a registry that is not allowed plain HTTP gets
// when it answers only in plain HTTP.
var errPlainHTTP = errors.New("registry is not allowed plain HTTP")

// httpsOnly refuses plain-HTTP requests to registries the user has not
// allowed them for. go-containerregistry would otherwise fall back to
// HTTP for private (RFC 1918) addresses on its own.
type httpsOnly struct {
	next      http.RoundTripper
	allowHTTP bool
}

func (t *httpsOnly) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.URL.Scheme == "http" && !t.allowHTTP && !isLoopback(req.URL.Host) {
		return nil, errPlainHTTP
	}
	return t.next.RoundTrip(req)
}

// registryError turns what go-containerregistry returns into an error
// the user can act on, categorised with errdefs.
func registryError(err error, named reference.Named, push bool) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	fam := reference.FamiliarString(named)
	repo := reference.FamiliarName(named)
	host := reference.Domain(named)
	var terr *transport.Error
	if errors.As(err, &terr) {
		codes := map[transport.ErrorCode]bool{}
		for _, d := range terr.Errors {
			codes[d.Code] = true
		}
		switch {
		case terr.StatusCode == http.StatusUnauthorized || codes[transport.UnauthorizedErrorCode] || codes[transport.DeniedErrorCode] || terr.StatusCode == http.StatusForbidden:
			if push {
				return errdefs.ErrPermissionDenied.WithMessage(fmt.Sprintf("denied: requested access to the resource is denied; log in with skiff login %s, and check that %s is yours to push", host, repo))
			}
			return errdefs.ErrPermissionDenied.WithMessage(fmt.Sprintf("pull access denied for %s, repository does not exist or may require 'skiff login %s'", repo, host))
		case codes[transport.ManifestUnknownErrorCode] || codes[transport.NameUnknownErrorCode] || terr.StatusCode == http.StatusNotFound:
			return errdefs.ErrNotFound.WithMessage(fmt.Sprintf("manifest for %s not found: manifest unknown; check the name and tag (skiff pull %s)", fam, repo))
		}
		return errdefs.ErrUnavailable.WithMessage(fmt.Sprintf("registry %s: %v", host, err))
	}
	if errors.Is(err, http.ErrSchemeMismatch) || errors.Is(err, errPlainHTTP) {
		return errdefs.ErrUnavailable.WithMessage(fmt.Sprintf("registry %s answers only over plain HTTP; if you trust it, add %q to %s", host, host, insecureSetting))
	}
	var rh tls.RecordHeaderError
	if errors.As(err, &rh) {
		return errdefs.ErrUnavailable.WithMessage(fmt.Sprintf("registry %s does not speak TLS; if you trust it, add %q to %s", host, host, insecureSetting))
	}
	var nerr net.Error
	var oerr *net.OpError
	if errors.As(err, &oerr) || errors.As(err, &nerr) {
		return errdefs.ErrUnavailable.WithMessage(fmt.Sprintf("cannot reach registry %s: %v; check the address and your network", host, err))
	}
	return fmt.Errorf("registry %s: %w", host, err)
}
