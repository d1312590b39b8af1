package container

import (
	"fmt"

	"github.com/containerd/errdefs"

	"github.com/skiffrun/skiff/guest/api/ociplatform"
)

// Emulation says which image architectures the machine runs, natively
// or emulated.
type Emulation interface {
	// Check is nil when images of arch run, else an error that says what
	// to install.
	Check(arch string) error
}

// WithEmulation has the manager refuse, at create, an image that
// nothing in the machine runs.
func WithEmulation(e Emulation) Option { return func(m *Manager) { m.emulation = e } }

// imagePlatform is img's platform; an image that names none is the
// machine's.
func imagePlatform(img *Image) ociplatform.Platform {
	p := ociplatform.Platform{OS: img.OS, Architecture: img.Architecture, Variant: img.Variant}
	if p.OS == "" {
		p.OS = "linux"
	}
	if p.Architecture == "" {
		p.Architecture = ociplatform.Machine().Architecture
	}
	return ociplatform.Normalize(p)
}

// checkPlatform judges img for a container created with --platform
// want (empty when none was given), as docker does: an image of
// another platform than the one asked for is not found (the client then
// pulls the one asked for); an image of another platform than the
// machine's, when none was asked for, runs with a warning. Either way
// the machine must have an emulator for it.
func (m *Manager) checkPlatform(want, ref string, img *Image) (warnings []string, err error) {
	have := imagePlatform(img)
	if want != "" {
		w, err := ociplatform.Parse(want)
		if err != nil {
			return nil, err
		}
		if !ociplatform.NewMatcher(w).Match(have) {
			return nil, errdefs.ErrNotFound.WithMessage(fmt.Sprintf("image with reference %s was found but does not match the specified platform: wanted %s, actual: %s", ref, ociplatform.Format(w), ociplatform.Format(have)))
		}
	} else if !ociplatform.NewMatcher(ociplatform.Machine()).Match(have) {
		warnings = append(warnings, fmt.Sprintf("The requested image's platform (%s) does not match the detected host platform (%s) and no specific platform was requested", ociplatform.Format(have), ociplatform.Format(ociplatform.Detected())))
	}
	if m.emulation != nil {
		if err := m.emulation.Check(have.Architecture); err != nil {
			return nil, err
		}
	}
	return warnings, nil
}
