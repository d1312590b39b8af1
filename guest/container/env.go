package container

import (
	"io/fs"
	"path/filepath"
	"strings"
)

// mergeEnv overlays the user's variables on the image's, by name, keeping
// the image's order first.
func mergeEnv(image, user []string) []string {
	out := append([]string{}, image...)
	for _, kv := range user {
		out = setEnvPair(out, kv)
	}
	return out
}

func setEnvPair(env []string, kv string) []string {
	name, _, _ := strings.Cut(kv, "=")
	for i, e := range env {
		if n, _, _ := strings.Cut(e, "="); n == name {
			env[i] = kv
			return env
		}
	}
	return append(env, kv)
}

func setEnv(env []string, name, value string) []string {
	return setEnvPair(env, name+"="+value)
}

func setDefaultEnv(env []string, name, value string) []string {
	for _, e := range env {
		if n, _, _ := strings.Cut(e, "="); n == name {
			return env
		}
	}
	return append(env, name+"="+value)
}

func envValue(env []string, name string) string {
	for _, e := range env {
		if n, v, ok := strings.Cut(e, "="); ok && n == name {
			return v
		}
	}
	return ""
}

// dirSize adds up the sizes of the regular files under dir.
func dirSize(dir string) int64 {
	var n int64
	_ = filepath.WalkDir(dir, func(_ string, d fs.DirEntry, err error) error {
		if err == nil && d.Type().IsRegular() {
			if info, err := d.Info(); err == nil {
				n += info.Size()
			}
		}
		return nil
	})
	return n
}
