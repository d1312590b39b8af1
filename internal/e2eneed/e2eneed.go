// Package e2eneed is what the end-to-end tests of every package do when
// the host lacks something they need.
package e2eneed

import (
	"fmt"
	"os"
	"testing"
)

// Unmet fails t for a missing prerequisite, so that a run that cannot
// test does not pass; only SKIFF_E2E_SKIP=<reason>, set on purpose,
// skips it instead.
func Unmet(t testing.TB, format string, args ...any) {
	t.Helper()
	msg := fmt.Sprintf(format, args...)
	if reason := os.Getenv("SKIFF_E2E_SKIP"); reason != "" {
		t.Skipf("%s; skipped: SKIFF_E2E_SKIP=%s", msg, reason)
	}
	t.Fatalf("%s (or set SKIFF_E2E_SKIP=<reason> to skip)", msg)
}
