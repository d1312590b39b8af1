//go:build e2e

package main_test

import (
	"encoding/json"
	"regexp"
	"strings"
	"testing"
)

// TestStats samples a running container once, in docker's table and as
// JSON, and refuses a stopped one.
func TestStats(t *testing.T) {
	name := "stats-test"
	cleanup(t, name)
	must(t, "run", "-d", "--name", name, "--memory", "64m", busybox, "sh", "-c", "i=0; while [ $i -lt 2000000 ]; do i=$((i+1)); done; sleep 600")

	table := must(t, "stats", "--no-stream", name)
	lines := strings.Split(table, "\n")
	if len(lines) != 2 || !regexp.MustCompile(`^CONTAINER ID\s+NAME\s+CPU %\s+MEM USAGE / LIMIT\s+MEM %\s+NET I/O\s+BLOCK I/O\s+PIDS$`).MatchString(lines[0]) {
		t.Fatalf("stats table:\n%s", table)
	}
	if !regexp.MustCompile(`^[0-9a-f]{12}\s+` + name + `\s+\d+\.\d\d%\s+[\d.]+[KMG]?i?B / 64MiB\s+\d+\.\d\d%\s+\S+ / \S+\s+\S+ / \S+\s+[12]$`).MatchString(lines[1]) {
		t.Fatalf("stats row: %q", lines[1])
	}
	var row map[string]string
	if err := json.Unmarshal([]byte(must(t, "stats", "--no-stream", "--format", "json", name)), &row); err != nil {
		t.Fatal(err)
	}
	if row["Name"] != name || row["PIDs"] == "" || !strings.HasSuffix(row["CPUPerc"], "%") {
		t.Fatalf("stats json: %v", row)
	}
	if all := must(t, "stats", "--no-stream", "--format", "{{.Name}}"); !strings.Contains(all, name) {
		t.Fatalf("stats of every running container: %q", all)
	}
	must(t, "kill", name)
	must(t, "wait", name)
	if r := skiff(t, "stats", "--no-stream", name); r.code != 125 || !strings.Contains(r.stderr, "not running") {
		t.Fatalf("stats of a stopped container: %s", r)
	}
}
