package qemu

import (
	"context"
	"path/filepath"
	"testing"
	"time"
)

type fakeRunner struct {
	calls  int
	result bool
	block  bool
}

func (f *fakeRunner) run(ctx context.Context, argv []string, marker string) bool {
	f.calls++
	if marker != probeMarker || argv[2] != "kvm" {
		return false
	}
	if f.block {
		<-ctx.Done()
		return false
	}
	return f.result
}

func TestKVMProbe(t *testing.T) {
	old := probeTimeout
	probeTimeout = 50 * time.Millisecond
	t.Cleanup(func() { probeTimeout = old })
	argv := probeArgs(goldenSpec("amd64"), "qemu-system-x86_64")
	tests := []struct {
		name      string
		devKVM    bool
		boot      string
		runner    fakeRunner
		want      bool
		wantCalls int // over two calls
	}{
		{"no /dev/kvm: no trial", false, "b1", fakeRunner{result: true}, false, 0},
		{"kernel reaches init: cached", true, "b1", fakeRunner{result: true}, true, 1},
		{"kernel never reaches init: cached", true, "b1", fakeRunner{block: true}, false, 1},
		{"no boot id: tried every time", true, "", fakeRunner{result: true}, true, 2},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := tc.runner
			p := prober{
				devKVM: func() bool { return tc.devKVM },
				bootID: func() string { return tc.boot },
				run:    r.run,
				cache:  filepath.Join(t.TempDir(), "kvm.json"),
			}
			for i := range 2 {
				if got := p.works(context.Background(), argv); got != tc.want {
					t.Errorf("call %d: works = %v, want %v", i, got, tc.want)
				}
			}
			if r.calls != tc.wantCalls {
				t.Errorf("trial boots = %d, want %d", r.calls, tc.wantCalls)
			}
		})
	}
}

func TestKVMProbeCacheIsPerBoot(t *testing.T) {
	r := fakeRunner{result: true}
	boot := "b1"
	p := prober{devKVM: func() bool { return true }, bootID: func() string { return boot }, run: r.run, cache: filepath.Join(t.TempDir(), "kvm.json")}
	argv := probeArgs(goldenSpec("arm64"), "qemu-system-aarch64")
	p.works(context.Background(), argv)
	boot = "b2"
	p.works(context.Background(), argv)
	if r.calls != 2 {
		t.Errorf("a new boot reused the old answer (%d trials)", r.calls)
	}
}

func TestKVMProbeCallerCancelIsNotCached(t *testing.T) {
	r := fakeRunner{block: true}
	p := prober{devKVM: func() bool { return true }, bootID: func() string { return "b" }, run: r.run, cache: filepath.Join(t.TempDir(), "kvm.json")}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	p.works(ctx, []string{"q", "-accel", "kvm"})
	r.block, r.result = false, true
	if !p.works(context.Background(), []string{"q", "-accel", "kvm"}) || r.calls != 2 {
		t.Errorf("a cancelled trial was cached (%d trials)", r.calls)
	}
}
