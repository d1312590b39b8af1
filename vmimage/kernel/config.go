package kernel

import (
	"bufio"
	"bytes"
	"embed"
	"fmt"
	"slices"
	"strings"
)

// The configuration fragments skiff's kernel is built from: skiff.config
// for every architecture, skiff-<arch>.config on top.
//
//go:embed skiff.config skiff-amd64.config skiff-arm64.config
var fragments embed.FS

// Fragment is the configuration fragment for arch (amd64 or arm64): the
// common one followed by the architecture's.
func Fragment(arch string) ([]byte, error) {
	common, err := fragments.ReadFile("skiff.config")
	if err != nil {
		return nil, err
	}
	own, err := fragments.ReadFile("skiff-" + arch + ".config")
	if err != nil {
		return nil, fmt.Errorf("no kernel configuration for architecture %q", arch)
	}
	return append(append(common, '\n'), own...), nil
}

// Config is a parsed kernel configuration: each symbol (with its CONFIG_
// prefix) mapped to its value as written, "y", "m", a number or a quoted
// string. A symbol written "# CONFIG_X is not set" maps to "n"; one not
// mentioned at all is absent.
type Config map[string]string

// ParseConfig reads a .config or a fragment. Lines it does not recognise
// (comments, blanks) are skipped; a malformed assignment is an error.
func ParseConfig(data []byte) (Config, error) {
	c := Config{}
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if sym, ok := strings.CutPrefix(line, "# "); ok {
			if sym, ok = strings.CutSuffix(sym, " is not set"); ok && isSymbol(sym) {
				c[sym] = "n"
			}
			continue
		}
		if line == "" || line[0] == '#' {
			continue
		}
		sym, val, ok := strings.Cut(line, "=")
		if !ok || !isSymbol(sym) || val == "" {
			return nil, fmt.Errorf("kernel config line %d: %q is not CONFIG_X=value", n, line)
		}
		c[sym] = val
	}
	return c, sc.Err()
}

func isSymbol(s string) bool {
	name, ok := strings.CutPrefix(s, "CONFIG_")
	if !ok || name == "" {
		return false
	}
	for _, r := range name {
		if !(r >= 'A' && r <= 'Z' || r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '_') {
			return false
		}
	}
	return true
}

// Missing lists, sorted, what of want config does not have: a symbol
// whose value differs, or one want says is not set that config sets.
// Kconfig drops a requested symbol silently when a dependency is off,
// so every kernel built is checked against its fragment with this.
func Missing(want, config Config) []string {
	var out []string
	for sym, v := range want {
		got, ok := config[sym]
		if v == "n" {
			if ok && got != "n" {
				out = append(out, fmt.Sprintf("%s=%s (want it not set)", sym, got))
			}
			continue
		}
		if !ok || got == "n" {
			got = "not set"
		}
		if got != v {
			out = append(out, fmt.Sprintf("%s=%s (have %s)", sym, v, got))
		}
	}
	slices.Sort(out)
	return out
}
