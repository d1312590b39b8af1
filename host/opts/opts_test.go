package opts

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/containerd/errdefs"
	"google.golang.org/protobuf/proto"

	apiv1 "github.com/skiffrun/skiff/guest/api/v1"
)

func TestBytes(t *testing.T) {
	tests := []struct {
		in      string
		want    int64
		wantErr bool
	}{
		{"", 0, false},
		{"512m", 512 << 20, false},
		{"1g", 1 << 30, false},
		{"1G", 1 << 30, false},
		{"100", 100, false},
		{"1.5k", 1536, false},
		{"lots", 0, true},
		{"-1", 0, true},
		{"12x", 0, true},
	}
	for _, tc := range tests {
		t.Run(tc.in, func(t *testing.T) {
			got, err := Bytes("memory", tc.in)
			if (err != nil) != tc.wantErr || got != tc.want {
				t.Errorf("Bytes(%q) = %d, %v", tc.in, got, err)
			}
			if err != nil {
				checkUsage(t, err, `invalid argument "`+tc.in+`" for "--memory": `)
			}
		})
	}
	if n, err := Swap("memory-swap", "-1"); n != -1 || err != nil {
		t.Errorf("Swap(-1) = %d, %v", n, err)
	}
}

func checkUsage(t *testing.T, err error, prefix string) {
	t.Helper()
	var u *UsageError
	if !errors.As(err, &u) || !errdefs.IsInvalidArgument(err) {
		t.Errorf("%v is not a usage error", err)
	}
	if !strings.HasPrefix(err.Error(), prefix) || strings.Contains(err.Error(), "\n") {
		t.Errorf("message %q, want one line starting %q", err, prefix)
	}
}

func TestNanoCPUs(t *testing.T) {
	tests := []struct {
		in      string
		want    int64
		wantErr string
	}{
		{"1.5", 1_500_000_000, ""},
		{"0.01", 10_000_000, ""},
		{"2", 2_000_000_000, ""},
		{"", 0, ""},
		{"3/2", 1_500_000_000, ""},
		{"one", 0, "not a number"},
		{"-1", 0, "not a number"},
		{"0.0000000001", 0, "too precise"},
	}
	for _, tc := range tests {
		got, err := NanoCPUs("cpus", tc.in)
		if got != tc.want || (err == nil) != (tc.wantErr == "") || err != nil && !strings.Contains(err.Error(), tc.wantErr) {
			t.Errorf("NanoCPUs(%q) = %d, %v", tc.in, got, err)
		}
	}
}

func TestUlimit(t *testing.T) {
	tests := []struct {
		in      string
		want    *apiv1.Ulimit
		wantErr bool
	}{
		{"nofile=1024:2048", &apiv1.Ulimit{Name: "nofile", Soft: 1024, Hard: 2048}, false},
		{"nproc=64", &apiv1.Ulimit{Name: "nproc", Soft: 64, Hard: 64}, false},
		{"nofile=2048:1024", nil, true},
		{"bogus=1", nil, true},
		{"nofile", nil, true},
		{"nofile=x", nil, true},
	}
	for _, tc := range tests {
		got, err := Ulimit("ulimit", tc.in)
		if (err != nil) != tc.wantErr || !proto.Equal(got, tc.want) {
			t.Errorf("Ulimit(%q) = %v, %v", tc.in, got, err)
		}
		if err != nil {
			checkUsage(t, err, `invalid argument "`+tc.in+`" for "--ulimit": `)
		}
	}
}

func TestRestart(t *testing.T) {
	tests := []struct {
		in      string
		name    string
		count   int32
		wantErr bool
	}{
		{"", "no", 0, false},
		{"no", "no", 0, false},
		{"always", "always", 0, false},
		{"unless-stopped", "unless-stopped", 0, false},
		{"on-failure", "on-failure", 0, false},
		{"on-failure:3", "on-failure", 3, false},
		{"on-failure:-1", "", 0, true},
		{"on-failure:x", "", 0, true},
		{"always:3", "", 0, true},
		{"sometimes", "", 0, true},
	}
	for _, tc := range tests {
		p, err := Restart("restart", tc.in)
		if (err != nil) != tc.wantErr || err == nil && (p.GetName() != tc.name || p.GetMaximumRetryCount() != tc.count) {
			t.Errorf("Restart(%q) = %v, %v", tc.in, p, err)
		}
	}
}

func TestEnv(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "env")
	content := "\xef\xbb\xbf# comment\n\nA=1\n  B=two words\nFROM_HOST\nUNSET_ON_HOST\nEMPTY=\n"
	if err := os.WriteFile(file, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	lookup := func(k string) (string, bool) {
		v, ok := map[string]string{"FROM_HOST": "h", "HOME": "/root"}[k]
		return v, ok
	}
	got, err := Env([]string{file}, []string{"A=override", "HOME", "NOT_SET"}, lookup)
	want := []string{"A=1", "B=two words", "FROM_HOST=h", "EMPTY=", "A=override", "HOME=/root", "NOT_SET"}
	if err != nil || strings.Join(got, "|") != strings.Join(want, "|") {
		t.Errorf("Env = %q, %v; want %q", got, err, want)
	}

	bad := filepath.Join(dir, "bad")
	os.WriteFile(bad, []byte("GOOD=1\nBAD KEY=1\n"), 0o600)
	if _, err := Env([]string{bad}, nil, lookup); err == nil || !strings.Contains(err.Error(), "line 2") {
		t.Errorf("bad env file: %v", err)
	}
	if _, err := Env([]string{filepath.Join(dir, "missing")}, nil, lookup); err == nil {
		t.Error("a missing env file was accepted")
	}
	if _, err := Env(nil, []string{"=x"}, lookup); err == nil {
		t.Error("-e =x was accepted")
	}
}

func TestTimestamp(t *testing.T) {
	now := time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		in   string
		want time.Time
	}{
		{"", time.Time{}},
		{"10m", now.Add(-10 * time.Minute)},
		{"1h30m", now.Add(-90 * time.Minute)},
		{"2024-05-01T11:00:00Z", time.Date(2024, 5, 1, 11, 0, 0, 0, time.UTC)},
		{"2024-05-01T11:00:00.5+02:00", time.Date(2024, 5, 1, 9, 0, 0, 5e8, time.UTC)},
		{"2024-05-01T11:00:00", time.Date(2024, 5, 1, 11, 0, 0, 0, time.Local)},
		{"2024-05-01", time.Date(2024, 5, 1, 0, 0, 0, 0, time.Local)},
		{"1714564800", time.Unix(1714564800, 0)},
		{"1714564800.25", time.Unix(1714564800, 25e7)},
	}
	for _, tc := range tests {
		got, err := Timestamp("since", tc.in, now)
		if err != nil || !got.Equal(tc.want) {
			t.Errorf("Timestamp(%q) = %v, %v; want %v", tc.in, got, err, tc.want)
		}
	}
	for _, bad := range []string{"yesterday", "2024-13-01", "1714564800.", "10 minutes"} {
		if _, err := Timestamp("since", bad, now); err == nil {
			t.Errorf("Timestamp(%q) accepted", bad)
		} else {
			checkUsage(t, err, `invalid argument "`+bad+`" for "--since": `)
		}
	}
}

func TestListValues(t *testing.T) {
	f, err := Filters("filter", []string{"status=exited", "Status=running", "label=a=b"})
	if err != nil || len(f["status"].GetValues()) != 2 || f["label"].GetValues()[0] != "a=b" {
		t.Errorf("Filters = %v, %v", f, err)
	}
	if _, err := Filters("filter", []string{"status"}); err == nil {
		t.Error("filter without = accepted")
	}
	labels, err := KeyValues("label", []string{"a=1", "flag"}, true)
	if err != nil || labels["a"] != "1" || labels["flag"] != "" {
		t.Errorf("labels = %v, %v", labels, err)
	}
	if _, err := KeyValues("sysctl", []string{"net.x"}, false); err == nil {
		t.Error("sysctl without value accepted")
	}
	hosts, err := Hosts("add-host", []string{"db:10.0.0.2", "gw=host-gateway", "v6:[::1]"})
	if err != nil || strings.Join(hosts, ",") != "db:10.0.0.2,gw:host-gateway,v6:::1" {
		t.Errorf("hosts = %v, %v", hosts, err)
	}
	for _, bad := range []string{"db", "db:nope", ":1.2.3.4"} {
		if _, err := Hosts("add-host", []string{bad}); err == nil {
			t.Errorf("--add-host %q accepted", bad)
		}
	}
	if _, err := Tmpfs("tmpfs", []string{"run"}); err == nil {
		t.Error("relative tmpfs accepted")
	}
	if _, err := CPUSet("cpuset-cpus", "0-3,5"); err != nil {
		t.Error(err)
	}
	if _, err := CPUSet("cpuset-cpus", "a"); err == nil {
		t.Error("cpuset a accepted")
	}
	if n, err := Name("name", "/web"); n != "web" || err != nil {
		t.Errorf("Name(/web) = %q, %v", n, err)
	}
}
