package qemu

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"os"
	"os/exec"
	"strings"
	"time"

	"github.com/skiffrun/skiff/guest/api/atomicfile"
	"github.com/skiffrun/skiff/platform"
)

// probeMarker is the line the kernel prints when it starts init: a guest
// that gets that far under KVM runs. (A KVM that runs firmware but cannot
// run a stock kernel, such as a PVM host's, fails before it.)
const probeMarker = "Run /init as init process"

// probeTimeout bounds the trial boot. With working KVM the kernel reaches
// init in well under a second.
var probeTimeout = 5 * time.Second

// probeRunner runs argv until its output contains marker, then ends it,
// and reports whether the marker came before ctx ended.
type probeRunner func(ctx context.Context, argv []string, marker string) bool

// prober decides whether KVM works by trying it, once per host boot.
type prober struct {
	// devKVM reports whether /dev/kvm can be opened for reading and writing.
	devKVM func() bool
	// bootID names the host's current boot; "" disables the cache.
	bootID func() string
	run    probeRunner
	// cache is the file the answer is kept in.
	cache string
}

type probeResult struct {
	BootID string `json:"boot_id"`
	Key    string `json:"key"`
	Works  bool   `json:"works"`
}

// works reports whether argv, a trial boot under KVM, reaches init.
func (p prober) works(ctx context.Context, argv []string) bool {
	if !p.devKVM() {
		return false
	}
	key := strings.Join(argv, " ")
	boot := p.bootID()
	if boot != "" {
		if b, err := os.ReadFile(p.cache); err == nil {
			var r probeResult
			if json.Unmarshal(b, &r) == nil && r.BootID == boot && r.Key == key {
				return r.Works
			}
		}
	}
	pctx, cancel := context.WithTimeout(ctx, probeTimeout)
	defer cancel()
	ok := p.run(pctx, argv, probeMarker)
	if !ok && ctx.Err() != nil {
		// The caller gave up, which says nothing about KVM.
		return false
	}
	if boot != "" {
		if b, err := json.Marshal(probeResult{BootID: boot, Key: key, Works: ok}); err == nil {
			_ = atomicfile.WriteFile(p.cache, b)
		}
	}
	return ok
}

// probeArgs boots spec's kernel with KVM, printing to stdout.
func probeArgs(spec platform.MachineSpec, qemu string) []string {
	machine, console := "microvm,acpi=on", "ttyS0"
	if spec.Arch == "arm64" {
		machine, console = "virt", "ttyAMA0"
	}
	return []string{qemu, "-accel", "kvm", "-M", machine, "-cpu", "host", "-m", "256", "-smp", "1",
		"-nodefaults", "-no-user-config", "-display", "none", "-no-reboot",
		"-kernel", spec.Kernel, "-initrd", spec.Initrd, "-append", "console=" + console + " panic=-1",
		"-serial", "stdio"}
}

// runProbe is the real probeRunner.
func runProbe(ctx context.Context, argv []string, marker string) bool {
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	out, err := cmd.StdoutPipe()
	if err != nil {
		return false
	}
	if err := cmd.Start(); err != nil {
		return false
	}
	found := make(chan bool, 1)
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			if strings.Contains(sc.Text(), marker) {
				found <- true
				_, _ = io.Copy(io.Discard, out)
				return
			}
		}
		found <- false
	}()
	var ok bool
	select {
	case ok = <-found:
	case <-ctx.Done():
	}
	_ = cmd.Process.Kill()
	_ = cmd.Wait()
	return ok
}

func canOpenKVM() bool {
	f, err := os.OpenFile("/dev/kvm", os.O_RDWR, 0)
	if err != nil {
		return false
	}
	f.Close()
	return true
}

func bootID() string {
	b, err := os.ReadFile("/proc/sys/kernel/random/boot_id")
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(b))
}
