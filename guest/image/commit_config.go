package image

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/containerd/errdefs"
	v1 "github.com/google/go-containerregistry/pkg/v1"

	apiv1 "github.com/skiffrun/skiff/guest/api/v1"
)

// ContainerCommit is what docker commit adds to a container's image.
type ContainerCommit struct {
	// Config is the container's config; what it sets overrides the
	// image's.
	Config *apiv1.ContainerConfig
	// Body is the config a Docker API client sent with its commit: what
	// it sets wins over the container's, merged as docker merges them.
	Body *apiv1.ImageConfig
	// Changes are Dockerfile-like instructions applied last (see
	// applyChange).
	Changes []string
	// CreatedBy is the container's command, for the history entry.
	CreatedBy string
	Comment   string
	Author    string
	// DiffID is the digest of the container's layer tar.
	DiffID string
	Now    time.Time
}

// CommitConfig returns the config blob of an image made from base (the
// container's image's config blob) and o: the container's settings over
// the image's, then the changes, the new layer and a history entry.
func CommitConfig(base []byte, o ContainerCommit) ([]byte, error) {
	cf, err := v1.ParseConfigFile(bytes.NewReader(base))
	if err != nil {
		return nil, fmt.Errorf("%w: parse base image config: %w", errdefs.ErrInvalidArgument, err)
	}
	c := &cf.Config
	if cc := o.Config; cc != nil {
		if cc.GetEntrypointSet() {
			c.Entrypoint = cc.GetEntrypoint()
		}
		if len(cc.GetCmd()) > 0 {
			c.Cmd = cc.GetCmd()
		}
		for _, e := range cc.GetEnv() {
			k, v, _ := strings.Cut(e, "=")
			c.Env = setEnv(c.Env, k, v)
		}
		if cc.GetWorkingDir() != "" {
			c.WorkingDir = cc.GetWorkingDir()
		}
		if cc.GetUser() != "" {
			c.User = cc.GetUser()
		}
		if cc.GetStopSignal() != "" {
			c.StopSignal = cc.GetStopSignal()
		}
		for k, v := range cc.GetLabels() {
			if c.Labels == nil {
				c.Labels = map[string]string{}
			}
			c.Labels[k] = v
		}
		for _, p := range cc.GetExposedPorts() {
			if c.ExposedPorts == nil {
				c.ExposedPorts = map[string]struct{}{}
			}
			c.ExposedPorts[p] = struct{}{}
		}
		for _, v := range cc.GetVolumes() {
			if c.Volumes == nil {
				c.Volumes = map[string]struct{}{}
			}
			c.Volumes[v] = struct{}{}
		}
		if h := cc.GetHealthcheck(); h != nil {
			c.Healthcheck = &v1.HealthConfig{Test: h.GetTest(), Interval: time.Duration(h.GetInterval()), Timeout: time.Duration(h.GetTimeout()), StartPeriod: time.Duration(h.GetStartPeriod()), Retries: int(h.GetRetries())}
		}
	}
	if o.Body != nil {
		mergeBody(c, o.Body)
	}
	if err := applyChanges(c, o.Changes); err != nil {
		return nil, err
	}
	d, err := v1.NewHash(o.DiffID)
	if err != nil {
		return nil, fmt.Errorf("commit layer digest %q: %w", o.DiffID, err)
	}
	if cf.RootFS.Type == "" {
		cf.RootFS.Type = "layers"
	}
	cf.RootFS.DiffIDs = append(cf.RootFS.DiffIDs, d)
	now := v1.Time{Time: o.Now.UTC()}
	cf.Created = now
	cf.Author = o.Author
	cf.History = append(cf.History, v1.History{Created: now, CreatedBy: o.CreatedBy, Author: o.Author, Comment: o.Comment})
	data, err := json.Marshal(commentedConfig{ConfigFile: cf, Comment: o.Comment})
	if err != nil {
		return nil, fmt.Errorf("encode image config: %w", err)
	}
	return data, nil
}

// commentedConfig is an image config with docker's top-level comment,
// which image inspect shows and go-containerregistry's ConfigFile lacks.
type commentedConfig struct {
	*v1.ConfigFile
	Comment string `json:"comment,omitempty"`
}

// mergeBody lays a commit body's config over c as docker's commit merges
// its user config with the container's: set scalars win, Env entries
// replace those of the same name, labels, ports and volumes add up, and
// an entrypoint given brings its own command (none, when the body has
// none).
func mergeBody(c *v1.Config, b *apiv1.ImageConfig) {
	if b.GetUser() != "" {
		c.User = b.GetUser()
	}
	if b.GetWorkingDir() != "" {
		c.WorkingDir = b.GetWorkingDir()
	}
	if b.GetStopSignal() != "" {
		c.StopSignal = b.GetStopSignal()
	}
	for _, e := range b.GetEnv() {
		k, v, _ := strings.Cut(e, "=")
		c.Env = setEnv(c.Env, k, v)
	}
	for k, v := range b.GetLabels() {
		if c.Labels == nil {
			c.Labels = map[string]string{}
		}
		c.Labels[k] = v
	}
	for _, p := range b.GetExposedPorts() {
		if c.ExposedPorts == nil {
			c.ExposedPorts = map[string]struct{}{}
		}
		c.ExposedPorts[p] = struct{}{}
	}
	for _, v := range b.GetVolumes() {
		if c.Volumes == nil {
			c.Volumes = map[string]struct{}{}
		}
		c.Volumes[v] = struct{}{}
	}
	switch {
	case len(b.GetEntrypoint()) > 0:
		c.Entrypoint, c.Cmd = b.GetEntrypoint(), b.GetCmd()
	case len(b.GetCmd()) > 0:
		c.Cmd = b.GetCmd()
	}
	if h := b.GetHealthcheck(); h != nil {
		// What the body's check leaves unset, the container's gives.
		var hc v1.HealthConfig
		if c.Healthcheck != nil {
			hc = *c.Healthcheck
		}
		if len(h.GetTest()) > 0 {
			hc.Test = h.GetTest()
		}
		if h.GetInterval() != 0 {
			hc.Interval = time.Duration(h.GetInterval())
		}
		if h.GetTimeout() != 0 {
			hc.Timeout = time.Duration(h.GetTimeout())
		}
		if h.GetStartPeriod() != 0 {
			hc.StartPeriod = time.Duration(h.GetStartPeriod())
		}
		if h.GetRetries() != 0 {
			hc.Retries = int(h.GetRetries())
		}
		c.Healthcheck = &hc
	}
}

// WorkDir returns a directory on the store's filesystem for files that
// are to become blobs (a committed layer tar): Commit links them in.
func (s *Store) WorkDir() string { return s.tmpDir() }
