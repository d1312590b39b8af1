package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestMachineCommandsNeedAnExistingMachine(t *testing.T) {
	noAgent(t)
	t.Setenv("SKIFF_DRIVER", "native")
	for _, args := range [][]string{
		{"machine", "status", "--machine", "ghost"},
		{"machine", "stop", "--machine", "ghost"},
		{"machine", "logs", "--machine", "ghost"},
		{"machine", "inspect", "ghost"},
		{"machine", "rm", "-f", "ghost"},
		{"machine", "set", "--machine", "ghost", "--cpus", "2"},
	} {
		t.Run(strings.Join(args[:2], " "), func(t *testing.T) {
			res := runCLI(t, "", args...)
			want := "skiff: machine \"ghost\" does not exist; create it with: skiff machine start --machine ghost (skiff machine ls lists machines)\n"
			if res.code != 125 || res.stderr != want {
				t.Errorf("exit %d stderr %q", res.code, res.stderr)
			}
		})
	}
}

func TestMachineSetRejectsBadValues(t *testing.T) {
	noAgent(t)
	t.Setenv("SKIFF_DRIVER", "native")
	home := os.Getenv("SKIFF_HOME")
	if err := os.MkdirAll(filepath.Join(home, "machines", "default"), 0o700); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--cpus", "0"}, `invalid argument "0" for "--cpus": use 1 to 255`},
		{[]string{"--cpus", "many"}, `invalid argument "many" for "--cpus": use a whole number`},
		{[]string{"--memory", "12k"}, `invalid argument "12k" for "--memory": use a size such as 2g or 4096m, at least 128m`},
		{[]string{"--disk-size", "big"}, `invalid argument "big" for "--disk-size": use a size such as 64g, at least 64m`},
		{[]string{"--disk-size", "1g"}, `the data disk of machine "default" is 64GiB; --disk-size can only grow it (give at least 64GiB)`},
		{[]string{"--unshare", "/nowhere"}, `/nowhere is not a shared folder of machine "default"`},
		{[]string{"--network", "bogus"}, `invalid argument "bogus" for "--network": use user (connections made by the host, the default) or nat (the hypervisor's NAT)`},
		{nil, `needs at least one of --cpus`},
		{[]string{"--machine", "no/slash", "--cpus", "2"}, `machine name "no/slash": use letters, digits`},
	} {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			res := runCLI(t, "", append([]string{"machine", "set"}, tc.args...)...)
			if res.code != 125 || !strings.Contains(res.stderr, tc.want) || !strings.HasPrefix(res.stderr, "skiff: ") {
				t.Errorf("exit %d stderr %q, want %q", res.code, res.stderr, tc.want)
			}
		})
	}
	res := runCLI(t, "", "machine", "set", "--cpus", "3", "--memory", "2g", "--disk-size", "100g", "--network", "nat")
	if res.code != 0 || res.stdout != "Machine \"default\" updated; the changes apply when it next starts\n" {
		t.Fatalf("set: exit %d stdout %q stderr %q", res.code, res.stdout, res.stderr)
	}
	res = runCLI(t, "", "machine", "inspect", "--format", "{{.Config.CPUs}} {{.Config.MemoryMiB}} {{.Config.DiskBytes}} {{.Config.Network}}")
	if res.code != 0 || res.stdout != "3 2048 107374182400 nat\n" {
		t.Errorf("inspect after set: exit %d stdout %q stderr %q", res.code, res.stdout, res.stderr)
	}
	res = runCLI(t, "", "machine", "ls", "--format", "{{.Name}} {{.State}}")
	if res.code != 0 || res.stdout != "default stopped\n" {
		t.Errorf("ls: exit %d stdout %q stderr %q", res.code, res.stdout, res.stderr)
	}
}

func TestMachineRmAsksFirst(t *testing.T) {
	noAgent(t)
	t.Setenv("SKIFF_DRIVER", "native")
	dir := filepath.Join(os.Getenv("SKIFF_HOME"), "machines", "dev")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	res := runCLI(t, "n\n", "machine", "rm", "dev")
	if res.code != 125 || !strings.Contains(res.stderr, "[y/N]") {
		t.Errorf("answered no: exit %d stderr %q", res.code, res.stderr)
	}
	if _, err := os.Stat(dir); err != nil {
		t.Fatal("removed after no")
	}
	res = runCLI(t, "y\n", "machine", "rm", "dev")
	if res.code != 0 || res.stdout != "dev\n" {
		t.Errorf("answered yes: exit %d stdout %q stderr %q", res.code, res.stdout, res.stderr)
	}
	if _, err := os.Stat(dir); err == nil {
		t.Error("left after yes")
	}
}
