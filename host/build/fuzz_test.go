package build

import (
	"strings"
	"testing"
)

// FuzzMatcher checks that no .dockerignore content, however written,
// makes the matcher panic, and that a path it excludes stays excluded
// below it when no exception is given.
func FuzzMatcher(f *testing.F) {
	for _, s := range []string{"node_modules\n*.log\n", "!keep\n*\n", "**/*.tmp\n/abs\n../up\n", "[\n", "a/**/b\n!a/x/b\n", "# c\n\n  spaced  \n"} {
		f.Add(s, "a/x/b")
	}
	f.Fuzz(func(t *testing.T, ignore, rel string) {
		patterns := strings.Split(ignore, "\n")
		m, err := NewMatcher(patterns)
		if err != nil {
			return
		}
		excluded, err := m.Excluded(rel)
		if err != nil || !excluded || m.mayInclude() {
			return
		}
		if child, err := m.Excluded(rel + "/child"); err == nil && !child {
			t.Fatalf("patterns %q exclude %q but not %q", patterns, rel, rel+"/child")
		}
	})
}
