package main

import (
	"slices"
	"strings"
	"testing"
)

func TestComposeTakesOnlyLeadingMachineFlags(t *testing.T) {
	tests := []struct {
		args            []string
		machine, driver string
		rest            []string
	}{
		{[]string{"up", "-d"}, "", "", []string{"up", "-d"}},
		{[]string{"--machine", "dev", "up"}, "dev", "", []string{"up"}},
		{[]string{"--machine=dev", "--driver", "qemu", "-f", "c.yaml", "up"}, "dev", "qemu", []string{"-f", "c.yaml", "up"}},
		// Past compose's first argument, --machine is the project's.
		{[]string{"run", "svc", "echo", "--machine", "x"}, "", "", []string{"run", "svc", "echo", "--machine", "x"}},
	}
	for _, tc := range tests {
		a := &app{}
		rest, err := a.takeMachineFlags(tc.args)
		if err != nil {
			t.Fatalf("%q: %v", tc.args, err)
		}
		if a.machineOpts.Name != tc.machine || a.machineOpts.Driver != tc.driver || !slices.Equal(rest, tc.rest) {
			t.Errorf("%q: machine %q driver %q rest %q; want %q %q %q", tc.args, a.machineOpts.Name, a.machineOpts.Driver, rest, tc.machine, tc.driver, tc.rest)
		}
	}
	if _, err := (&app{}).takeMachineFlags([]string{"--machine"}); err == nil {
		t.Error("--machine with no value was accepted")
	}
}

func TestComposeWithoutThePluginExits125(t *testing.T) {
	noAgent(t)
	t.Setenv("SKIFF_COMPOSE", "/nonexistent/docker-compose")
	r := runCLI(t, "", "compose", "up")
	if r.code != 125 || !strings.Contains(r.stderr, "SKIFF_COMPOSE=/nonexistent/docker-compose") {
		t.Errorf("exit %d, stderr %q", r.code, r.stderr)
	}
}
