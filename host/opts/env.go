package opts

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"strings"
	"unicode"
)

// Env builds a container's environment the way docker does: the lines of
// each env file in order, then each -e item. An item or line without "="
// takes its value from lookup (the CLI's own environment); an -e item
// whose variable is unset there is passed bare, which unsets it, and such
// a line of a file is dropped.
func Env(files, items []string, lookup func(string) (string, bool)) ([]string, error) {
	var env []string
	for _, f := range files {
		lines, err := envFile(f, lookup)
		if err != nil {
			return nil, err
		}
		env = append(env, lines...)
	}
	for _, it := range items {
		k, _, ok := strings.Cut(it, "=")
		if k == "" {
			return nil, Invalid("env", it, "use NAME=value, or NAME to pass this shell's value")
		}
		if !ok {
			if v, found := lookup(k); found {
				it = k + "=" + v
			}
		}
		env = append(env, it)
	}
	return env, nil
}

func envFile(name string, lookup func(string) (string, bool)) ([]string, error) {
	data, err := os.ReadFile(name)
	if err != nil {
		return nil, Invalid("env-file", name, "%v", err)
	}
	data = bytes.TrimPrefix(data, []byte("\xef\xbb\xbf"))
	var out []string
	sc := bufio.NewScanner(bytes.NewReader(data))
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimLeftFunc(sc.Text(), unicode.IsSpace)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		k, v, hasValue := strings.Cut(line, "=")
		if k == "" || strings.ContainsFunc(k, unicode.IsSpace) {
			return nil, Invalid("env-file", name, "line %d: %q is not a variable name; write NAME=value", n, k)
		}
		if hasValue {
			out = append(out, k+"="+v)
		} else if v, ok := lookup(k); ok {
			out = append(out, k+"="+v)
		}
	}
	if err := sc.Err(); err != nil {
		return nil, Invalid("env-file", name, "%v", fmt.Errorf("read: %w", err))
	}
	return out, nil
}
