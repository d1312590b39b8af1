package machines

import (
	"bytes"
	"encoding/json"
	"testing"

	"github.com/skiffrun/skiff/host/machine"
)

func TestStatusAndListRendering(t *testing.T) {
	running := machine.Info{
		Name: "default", Driver: "qemu", State: machine.Running, Accel: "tcg", Arch: "amd64", CPUs: 2, MemoryMiB: 1024,
		DiskSize: 64 << 30, DiskAllocated: 8_500_000, Uptime: "2 minutes", AgentVersion: "v1.0",
		MemoryGuestUsed: 300 << 20, MemoryHostRSS: 410 << 20,
	}
	stopped := machine.Info{Name: "dev", Driver: "qemu", State: machine.Stopped, Arch: "amd64", DiskSize: 64 << 30}
	var b bytes.Buffer
	if err := WriteStatus(&b, running, ""); err != nil {
		t.Fatal(err)
	}
	want := `Name:         default
State:        running
Driver:       qemu
Acceleration: tcg
Arch:         amd64
CPUs:         2
Memory:       1GiB (guest uses 300MiB, host process holds 410MiB)
Disk:         8.5MB / 64GiB
Uptime:       2 minutes
Agent:        v1.0
`
	if b.String() != want {
		t.Errorf("status:\n%s\nwant:\n%s", b.String(), want)
	}
	b.Reset()
	gone := running
	gone.GoneShares = []string{"/Users/me/src"}
	if err := WriteStatus(&b, gone, ""); err != nil || !bytes.HasSuffix(b.Bytes(), []byte("Agent:        v1.0\nWarning: shared folder /Users/me/src is gone from the host: containers that use it get I/O errors; create it again, or stop sharing it with skiff machine set --unshare /Users/me/src and restart the machine\n")) {
		t.Errorf("status with a gone share:\n%s (%v)", b.String(), err)
	}
	b.Reset()
	if err := WriteStatus(&b, stopped, "{{.State}} {{.Accel}} {{.Memory}}"); err != nil || b.String() != "stopped  -\n" {
		t.Errorf("status --format = %q, %v", b.String(), err)
	}
	b.Reset()
	if err := WriteStatus(&b, running, "json"); err != nil {
		t.Fatal(err)
	}
	var back machine.Info
	if err := json.Unmarshal(b.Bytes(), &back); err != nil || back.Name != "default" || back.DiskAllocated != 8_500_000 || back.Accel != "tcg" {
		t.Errorf("status --format json = %s (%v)", b.String(), err)
	}

	for _, tc := range []struct {
		name, format string
		quiet        bool
		want         string
	}{
		{"table", "", false, `NAME      DRIVER    STATE     CPUS      MEMORY    DISK
default   qemu      running   2         1GiB      8.5MB / 64GiB
dev       qemu      stopped   -         -         0B / 64GiB
`},
		{"quiet", "", true, "default\ndev\n"},
		{"template", "{{.Name}}={{.State}}", false, "default=running\ndev=stopped\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var b bytes.Buffer
			if err := WriteList(&b, []machine.Info{running, stopped}, tc.format, tc.quiet); err != nil {
				t.Fatal(err)
			}
			if b.String() != tc.want {
				t.Errorf("got:\n%s\nwant:\n%s", b.String(), tc.want)
			}
		})
	}
}
