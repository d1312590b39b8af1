// Package ociplatform parses, formats and matches the platforms of
// container images (os/arch[/variant], as docker's --platform takes
// them), for the CLI, the Docker API and the agent alike. Parsing and
// normalizing are containerd's platforms package; this package narrows
// it to what skiff runs (Linux, a known architecture and variant) and
// says which forms it accepts when it refuses one. Emulating a foreign
// architecture is left to the agent.
package ociplatform

import (
	"fmt"
	"runtime"
	"slices"
	"strings"

	"github.com/containerd/errdefs"
	"github.com/containerd/platforms"
	specs "github.com/opencontainers/image-spec/specs-go/v1"
)

// Platform is an image's platform.
type Platform = specs.Platform

// Accepted is what an error about a platform lists as the forms skiff
// takes.
const Accepted = "linux/amd64, linux/amd64/v2, linux/amd64/v3, linux/arm64, linux/arm64/v8, linux/arm/v7, linux/arm/v6, linux/386, linux/ppc64le, linux/s390x, linux/riscv64 (or the architecture alone, like arm64)"

// variants are the variants each known architecture has; an
// architecture not listed takes none.
var variants = map[string][]string{
	"amd64": {"", "v2", "v3", "v4"},
	"arm64": {"", "v8", "v8.1", "v8.2", "v8.3", "v8.4", "v8.5", "v8.6", "v8.7", "v8.8", "v8.9", "v9", "v9.1", "v9.2", "v9.3", "v9.4", "v9.5"},
	"arm":   {"v5", "v6", "v7", "v8"},
}

// arches are the Linux architectures images are published for.
var arches = []string{"386", "amd64", "arm", "arm64", "loong64", "mips64le", "ppc64le", "riscv64", "s390x"}

// Parse reads a platform as docker's --platform takes it: os/arch,
// os/arch/variant, or an architecture alone (on Linux). It normalizes
// the aliases containerd knows (aarch64, x86_64, armhf) and refuses any
// OS but Linux, an unknown architecture or a variant the architecture
// does not have, with an invalid-argument error that lists the accepted
// forms.
func Parse(s string) (Platform, error) {
	bad := func(why string) (Platform, error) {
		return Platform{}, errdefs.ErrInvalidArgument.WithMessage(fmt.Sprintf("invalid platform %q: %s; use os/arch[/variant]: %s", s, why, Accepted))
	}
	if s == "" || len(s) > 64 || strings.ContainsFunc(s, func(r rune) bool { return r <= ' ' || r > '~' }) {
		return bad("not a platform")
	}
	one := !strings.Contains(s, "/")
	p, err := platforms.Parse(s)
	if err != nil {
		if one {
			return bad("unknown architecture")
		}
		return bad("not os/arch[/variant]")
	}
	if one {
		// An architecture alone is Linux's, whatever OS skiff runs on.
		if p.OS != runtime.GOOS || strings.EqualFold(s, runtime.GOOS) {
			return bad("give the architecture too")
		}
		p.OS = "linux"
	}
	if p.OSVersion != "" || len(p.OSFeatures) > 0 {
		return bad("OS versions and features are Windows'")
	}
	if p.OS != "linux" {
		return bad(fmt.Sprintf("skiff runs Linux images only, not %s", p.OS))
	}
	p = Normalize(p)
	if !slices.Contains(arches, p.Architecture) {
		return bad(fmt.Sprintf("unknown architecture %q", p.Architecture))
	}
	if !slices.Contains(variants[p.Architecture], p.Variant) && p.Variant != "" {
		return bad(fmt.Sprintf("unknown variant %q of %s", p.Variant, p.Architecture))
	}
	return p, nil
}

// Normalize is p in canonical form: aliases resolved, and the variants
// an architecture implies by default dropped (arm64/v8 is arm64, amd64/v1
// is amd64), so that equal platforms compare equal.
func Normalize(p Platform) Platform {
	if p.OS == "" {
		p.OS = "linux"
	}
	p = platforms.Normalize(p)
	if p.Architecture == "arm64" && p.Variant == "v8" {
		p.Variant = ""
	}
	return p
}

// Format is p as os/arch[/variant].
func Format(p Platform) string {
	return platforms.Format(p)
}

// Machine is the platform of the machine's own architecture: what an
// image must be to run without emulation.
func Machine() Platform {
	return Platform{OS: "linux", Architecture: runtime.GOARCH}
}

// Detected is the machine's platform as docker's warnings name it, with
// the CPU's level: linux/amd64/v3, linux/arm64/v8.
func Detected() Platform {
	p := Machine()
	switch p.Architecture {
	case "amd64":
		p.Variant = amd64Level()
	case "arm64":
		p.Variant = "v8"
	}
	return p
}

// Matcher chooses among an image index's platforms for one wanted
// platform.
type Matcher struct {
	want Platform
	mc   platforms.MatchComparer
}

// NewMatcher matches images that run as want: the same OS and
// architecture, and a variant want's CPU runs (linux/arm/v7 runs arm/v6;
// linux/amd64/v3 runs amd64/v2). Unlike containerd's default, another
// architecture never matches (386 for amd64, arm for arm64): the machine
// would need an emulator the user did not ask for.
func NewMatcher(want Platform) Matcher {
	want = Normalize(want)
	return Matcher{want: want, mc: platforms.Only(want)}
}

// Match reports whether an image of platform p runs as the wanted one.
func (m Matcher) Match(p Platform) bool {
	n := Normalize(p)
	return n.Architecture == m.want.Architecture && m.mc.Match(n)
}

// Best is the index of the best match among ps, or -1.
func (m Matcher) Best(ps []Platform) int {
	best := -1
	for i, p := range ps {
		if !m.Match(p) {
			continue
		}
		if best < 0 || m.mc.Less(Normalize(p), Normalize(ps[best])) {
			best = i
		}
	}
	return best
}

// Same reports whether a and b are one platform once normalized.
func Same(a, b Platform) bool {
	a, b = Normalize(a), Normalize(b)
	return a.OS == b.OS && a.Architecture == b.Architecture && a.Variant == b.Variant
}

// NoMatch is the error for an image index with no image for want,
// listing the platforms it has.
func NoMatch(want Platform, have []Platform) error {
	var names []string
	for _, p := range have {
		if p.OS == "unknown" || p.Architecture == "unknown" {
			continue // attestations
		}
		if n := Format(p); !slices.Contains(names, n) {
			names = append(names, n)
		}
	}
	list := "none"
	if len(names) > 0 {
		list = strings.Join(names, ", ")
	}
	return errdefs.ErrNotFound.WithMessage(fmt.Sprintf("no matching manifest for %s in the manifest list entries; the image provides %s: choose one with --platform", Format(want), list))
}
