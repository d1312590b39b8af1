package platform

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/containerd/errdefs"
)

func validSpec() MachineSpec {
	return MachineSpec{
		Name:        "default",
		Dir:         "/home/u/.skiff/machines/default",
		Driver:      "native",
		AgentSocket: "/home/u/.skiff/machines/default/skiff.sock",
		AgentRoot:   "/home/u/.skiff/machines/default/agent",
		Log:         "/home/u/.skiff/machines/default/agent.log",
		PIDFile:     "/home/u/.skiff/machines/default/agent.pid",
	}
}

func TestValidate(t *testing.T) {
	tests := []struct {
		name   string
		change func(*MachineSpec)
		want   string
	}{
		{"valid", func(*MachineSpec) {}, ""},
		{"name with slash", func(s *MachineSpec) { s.Name = "a/b" }, "machine name"},
		{"empty name", func(s *MachineSpec) { s.Name = "" }, "machine name"},
		{"no driver", func(s *MachineSpec) { s.Driver = "" }, "driver"},
		{"relative dir", func(s *MachineSpec) { s.Dir = "machines/default" }, "not an absolute path"},
		{"long socket", func(s *MachineSpec) { s.AgentSocket = "/" + strings.Repeat("x", 110) }, "set SKIFF_HOME"},
		{"negative cpus", func(s *MachineSpec) { s.CPUs = -1 }, "CPUs"},
		{"negative memory", func(s *MachineSpec) { s.MemoryMiB = -1 }, "memory"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := validSpec()
			tc.change(&s)
			err := s.Validate()
			if tc.want == "" {
				if err != nil {
					t.Errorf("Validate = %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.want) || !errdefs.IsInvalidArgument(err) {
				t.Errorf("Validate = %v, want an invalid argument about %q", err, tc.want)
			}
		})
	}
}

type nopDriver struct{}

func (nopDriver) Start(context.Context, MachineSpec) error { return nil }
func (nopDriver) Stop(context.Context, MachineSpec) error  { return nil }

func TestRegistry(t *testing.T) {
	Register("test-b", nopDriver{})
	Register("test-a", nopDriver{})
	if d, err := Lookup("test-a"); err != nil || d == nil {
		t.Errorf("Lookup = %v, %v", d, err)
	}
	_, err := Lookup("nope")
	if !errdefs.IsNotFound(err) || !strings.Contains(err.Error(), "use one of: test-a, test-b") {
		t.Errorf("Lookup(nope) = %v", err)
	}
	defer func() {
		if recover() == nil {
			t.Error("a duplicate registration did not panic")
		}
	}()
	Register("test-a", nopDriver{})
}

func TestErrNotSupported(t *testing.T) {
	err := errors.Join(errors.New("x"), ErrNotSupported)
	if !errors.Is(err, ErrNotSupported) || !errdefs.IsNotImplemented(ErrNotSupported) || ErrNotSupported.Error() != "not supported on this platform" {
		t.Errorf("ErrNotSupported = %v", ErrNotSupported)
	}
}
