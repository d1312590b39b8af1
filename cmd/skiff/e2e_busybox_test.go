//go:build e2e

package main_test

import (
	"strings"
	"testing"
)

// TestRunBusyboxApplets checks that the bundled busybox image has every
// applet of its binary on $PATH, as docker's busybox image does: the
// binary's own list, run inside the container, against the image's /bin.
// (which, not the shell's command -v: busybox's sh runs its applets
// without a path lookup and names them without a directory.)
func TestRunBusyboxApplets(t *testing.T) {
	out := must(t, "run", "--rm", busybox, "sh", "-c",
		`for a in httpd vi nslookup; do which $a || echo "no $a"; done
busybox --list | sort >/tmp/listed
ls /bin | sort >/tmp/linked
echo listed $(wc -l </tmp/listed) linked $(wc -l </tmp/linked)
diff /tmp/listed /tmp/linked && echo same`)
	lines := strings.Split(out, "\n")
	want := []string{"/bin/httpd", "/bin/vi", "/bin/nslookup"}
	if len(lines) < 5 || strings.Join(lines[:3], " ") != strings.Join(want, " ") || lines[len(lines)-1] != "same" {
		t.Fatalf("want %q, the counts and same; got:\n%s", want, out)
	}
	t.Log(lines[3])
}
