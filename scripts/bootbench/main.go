// Command bootbench measures how long the machine takes from QEMU's launch
// to the agent's ready line, and how long the same kernel, on the same
// QEMU command line, takes to reach a trivial init (tinyinit) and power
// off: the difference is what skiff's own boot work costs. With -stock,
// Debian's stock kernel (a linux-image package's vmlinuz) boots tinyinit
// on the same line too, the baseline skiff's own kernel is measured
// against. Runs of the kinds alternate, so load on the host hits all alike.
//
//	go run ./scripts/bootbench -image build/vmimage/amd64 -runs 5 [-stock vmlinuz-6.1.0-NN-amd64]
package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/skiffrun/skiff/vmimage/cpio"
	"github.com/skiffrun/skiff/vmimage/kernel"
)

func main() {
	image := flag.String("image", filepath.Join("build", "vmimage", runtime.GOARCH), "the guest image's folder (make vmimage)")
	runs := flag.Int("runs", 5, "boots of each kind")
	verbose := flag.Bool("v", false, "print each boot's time, and the last machine boot's console")
	debug := flag.Bool("debug", false, "boot the machine with skiff.debug=1")
	stock := flag.String("stock", "", "a Debian linux-image package's vmlinuz, booted with the trivial init for comparison")
	flag.Parse()
	if err := run(*image, *stock, *runs, *verbose, *debug); err != nil {
		fmt.Fprintln(os.Stderr, "bootbench:", err)
		os.Exit(1)
	}
}

type manifest struct {
	Arch   string `json:"arch"`
	Kernel struct {
		File string `json:"file"`
	} `json:"kernel"`
	Initramfs struct {
		File string `json:"file"`
	} `json:"initramfs"`
}

func run(image, stock string, runs int, verbose, debug bool) error {
	data, err := os.ReadFile(filepath.Join(image, "manifest.json"))
	if err != nil {
		return fmt.Errorf("guest image (make vmimage): %w", err)
	}
	var m manifest
	if err := json.Unmarshal(data, &m); err != nil {
		return fmt.Errorf("%s: %w", filepath.Join(image, "manifest.json"), err)
	}
	dir, err := os.MkdirTemp("", "bootbench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	tiny, err := tinyInitramfs(dir, m.Arch)
	if err != nil {
		return err
	}
	disk := filepath.Join(dir, "data.raw")
	if err := os.WriteFile(disk, nil, 0o644); err != nil {
		return err
	}
	if err := os.Truncate(disk, 4<<30); err != nil {
		return err
	}
	vm := vmConfig{arch: m.Arch, kernel: filepath.Join(image, m.Kernel.File), dir: dir, disk: disk, debug: debug}
	var stockVM *vmConfig
	if stock != "" {
		k, err := stockKernel(stock, m.Arch, dir)
		if err != nil {
			return err
		}
		s := vm
		s.kernel = k
		stockVM = &s
	}

	var machine, guest, bare, stockBare []time.Duration
	hung := 0
	first, err := vm.bootMachine(filepath.Join(image, m.Initramfs.File))
	if errors.Is(err, errHung) {
		hung++
		fmt.Fprintf(os.Stderr, "bootbench: first boot hung: %v\n", err)
		// A format cut short leaves a disk the agent will not format.
		if err := errors.Join(os.Truncate(disk, 0), os.Truncate(disk, 4<<30)); err != nil {
			return err
		}
		first, err = vm.bootMachine(filepath.Join(image, m.Initramfs.File))
	}
	if err != nil {
		return fmt.Errorf("first boot: %w", err)
	}
	for i := 0; len(machine) < runs; i++ {
		b, err := vm.bootMachine(filepath.Join(image, m.Initramfs.File))
		if errors.Is(err, errHung) && hung < runs {
			// Counted and reported, not timed: a hang is a bug to fix,
			// not a slow boot.
			hung++
			fmt.Fprintf(os.Stderr, "bootbench: machine boot %d hung: %v\n", i+1, err)
			continue
		}
		if err != nil {
			return fmt.Errorf("machine boot %d: %w", i+1, err)
		}
		machine = append(machine, b.wall)
		guest = append(guest, b.guest)
		k, err := vm.bootBare(tiny)
		if err != nil {
			return fmt.Errorf("bare kernel boot %d: %w", i+1, err)
		}
		bare = append(bare, k)
		if stockVM != nil {
			sk, err := stockVM.bootBare(tiny)
			if err != nil {
				return fmt.Errorf("stock kernel boot %d: %w", i+1, err)
			}
			stockBare = append(stockBare, sk)
		}
		if verbose {
			fmt.Printf("run %d: machine %.2fs (guest %.2fs), bare kernel %.2fs\n", i+1, b.wall.Seconds(), b.guest.Seconds(), k.Seconds())
		}
	}
	if verbose {
		fmt.Printf("console of the last machine boot:\n%s\n", vm.lastConsole)
	}
	mm, bm := median(machine), median(bare)
	fmt.Printf("Machine boot (%s, TCG): QEMU launch to ready, median of %d\n", m.Arch, runs)
	fmt.Printf("%-34s %8s\n", "", "seconds")
	fmt.Printf("%-34s %8.2f\n", "skiff machine, agent ready", mm.Seconds())
	fmt.Printf("%-34s %8.2f\n", "  (the guest's own clock)", median(guest).Seconds())
	fmt.Printf("%-34s %8.2f\n", "same kernel, trivial init, off", bm.Seconds())
	fmt.Printf("%-34s %7.0f%%\n", "agent's overhead", 100*(mm.Seconds()-bm.Seconds())/bm.Seconds())
	fmt.Printf("%-34s %8.2f\n", "first boot (formats the disk)", first.wall.Seconds())
	if stockVM != nil {
		sm := median(stockBare)
		fmt.Printf("%-34s %8.2f\n", "Debian's stock kernel, trivial init", sm.Seconds())
		fmt.Printf("%-34s %7.2fx\n", "machine vs stock trivial", mm.Seconds()/sm.Seconds())
	}
	fmt.Printf("%-34s %7.2fx\n", "machine vs own kernel trivial", mm.Seconds()/bm.Seconds())
	if hung > 0 {
		fmt.Printf("%d machine boots hung (no ready line within %v) and were not timed\n", hung, hangAfter)
	}
	fmt.Println("Targets: the machine at most 0.5x the stock kernel's trivial boot, and at most 1.15x its own kernel's.")
	return nil
}

// stockKernel turns a Debian kernel package's vmlinuz into what the
// machine's QEMU line boots (the ELF vmlinux on amd64, the Image on
// arm64), the way the guest image used to ship it.
func stockKernel(vmlinuz, arch, dir string) (string, error) {
	data, err := os.ReadFile(vmlinuz)
	if err != nil {
		return "", err
	}
	unpack := kernel.Image
	if arch == "amd64" {
		unpack = kernel.VMLinux
	}
	k, err := unpack(data)
	if err != nil {
		return "", fmt.Errorf("stock kernel %s: %w", vmlinuz, err)
	}
	out := filepath.Join(dir, "stock-kernel")
	return out, os.WriteFile(out, k, 0o644)
}

// tinyInitramfs builds tinyinit for arch and packs it as an initramfs.
func tinyInitramfs(dir, arch string) (string, error) {
	bin := filepath.Join(dir, "tinyinit")
	cmd := exec.Command("go", "build", "-trimpath", "-ldflags=-s -w", "-o", bin, "./scripts/bootbench/tinyinit")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOARCH="+arch)
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("build tinyinit: %w: %s", err, out)
	}
	data, err := os.ReadFile(bin)
	if err != nil {
		return "", err
	}
	var buf bytes.Buffer
	if err := cpio.Write(&buf, []cpio.Entry{
		{Path: "init", Kind: cpio.File, Mode: 0o755, Data: data},
		{Path: "dev/console", Kind: cpio.CharDev, Mode: 0o600, Major: 5, Minor: 1},
	}); err != nil {
		return "", err
	}
	out := filepath.Join(dir, "tinyinit.cpio")
	return out, os.WriteFile(out, buf.Bytes(), 0o644)
}

type vmConfig struct {
	arch, kernel, dir, disk string
	debug                   bool
	lastConsole             []byte
}

func (vm *vmConfig) path(n string) string { return filepath.Join(vm.dir, n) }

// args is the QEMU command line of the machine as the guest e2e test
// boots it (the host driver's), with initrd as its initramfs.
func (vm *vmConfig) args(initrd string) []string {
	cmdline := fmt.Sprintf("panic=-1 quiet skiff.agent=serial:skiff.agent skiff.disk=vda skiff.net=static,10.0.2.15/24,10.0.2.2,10.0.2.3 skiff.time=%d skiff.hostname=bench", time.Now().UnixNano())
	if vm.debug {
		cmdline += " skiff.debug=1"
	}
	dev := "device"
	a := []string{"-accel", "tcg,tb-size=128", "-m", "1024", "-smp", "2", "-nodefaults", "-no-reboot", "-display", "none",
		"-object", "memory-backend-memfd,id=mem,size=1024M,share=on"}
	if vm.arch == "arm64" {
		dev = "pci"
		a = append(a, "-M", "virt,memory-backend=mem", "-cpu", "cortex-a57")
		cmdline = "console=ttyAMA0 " + cmdline
	} else {
		// QEMU's default CPU model, as the driver's: -cpu max is slower
		// under TCG.
		a = append(a, "-M", "microvm,acpi=on,memory-backend=mem", "-global", "virtio-mmio.force-legacy=false")
		cmdline = fmt.Sprintf("console=ttyS0 tsc_early_khz=%d tsc=reliable ", hostKHz()) + cmdline
	}
	return append(a,
		"-kernel", vm.kernel,
		"-initrd", initrd,
		"-append", cmdline,
		"-qmp", "unix:"+vm.path("qmp.sock")+",server=on,wait=off",
		"-device", "virtio-serial-"+dev,
		"-chardev", "socket,id=agent,path="+vm.path("agent.sock")+",server=on,wait=off",
		"-device", "virtserialport,chardev=agent,name=skiff.agent",
		"-chardev", "file,id=con,path="+vm.path("console.log"),
		"-serial", "chardev:con",
		"-drive", "if=none,id=data,file="+vm.disk+",format=raw",
		"-device", "virtio-blk-"+dev+",drive=data",
		"-device", "virtio-balloon-"+dev+",free-page-reporting=on",
		"-device", "virtio-rng-"+dev,
		"-netdev", "user,id=n0", "-device", "virtio-net-"+dev+",netdev=n0")
}

func (vm *vmConfig) qemu() string {
	if vm.arch == "arm64" {
		return "qemu-system-aarch64"
	}
	return "qemu-system-x86_64"
}

type bootTimes struct {
	wall, guest time.Duration
}

// hangAfter is how long a machine boot may take before it counts as hung.
const hangAfter = 90 * time.Second

var errHung = errors.New("the agent was not ready in time")

var readyLine = regexp.MustCompile(`skiff-agent: ready \(([0-9.]+)s after boot\)`)

// bootMachine boots the machine, waits for the agent's ready line and
// powers the machine off (the ACPI power button, as the host does).
func (vm *vmConfig) bootMachine(initrd string) (bootTimes, error) {
	console := vm.path("console.log")
	os.Remove(console)
	cmd := exec.Command(vm.qemu(), vm.args(initrd)...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	start := time.Now()
	if err := cmd.Start(); err != nil {
		return bootTimes{}, err
	}
	var waitErr error
	exited := make(chan struct{})
	go func() {
		waitErr = cmd.Wait()
		close(exited)
	}()
	off := false
	defer func() {
		if !off {
			_ = cmd.Process.Kill()
			<-exited
		}
	}()
	for deadline := start.Add(hangAfter); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		log, _ := os.ReadFile(console)
		if sm := readyLine.FindSubmatch(log); sm != nil {
			wall := time.Since(start)
			secs, _ := strconv.ParseFloat(string(sm[1]), 64)
			vm.lastConsole = log
			if err := powerdown(vm.path("qmp.sock")); err != nil {
				return bootTimes{}, err
			}
			select {
			case <-exited:
				off = true
			case <-time.After(time.Minute):
				return bootTimes{}, errors.New("the machine did not power off within a minute of the power button")
			}
			vm.lastConsole, _ = os.ReadFile(console)
			return bootTimes{wall: wall, guest: time.Duration(secs * float64(time.Second))}, nil
		}
		select {
		case <-exited:
			off = true
			log, _ := os.ReadFile(console)
			return bootTimes{}, fmt.Errorf("QEMU exited before the agent was ready: %w: %s\nconsole:\n%s", waitErr, stderr.Bytes(), log)
		default:
		}
	}
	log, _ := os.ReadFile(console)
	return bootTimes{}, fmt.Errorf("%w (%v); console:\n%s", errHung, hangAfter, log)
}

// bootBare boots the kernel with tinyinit and returns the time until QEMU
// exits (tinyinit powers off as soon as it runs).
func (vm *vmConfig) bootBare(initrd string) (time.Duration, error) {
	cmd := exec.Command(vm.qemu(), vm.args(initrd)...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	start := time.Now()
	if err := cmd.Start(); err != nil {
		return 0, err
	}
	var waitErr error
	exited := make(chan struct{})
	go func() {
		waitErr = cmd.Wait()
		close(exited)
	}()
	select {
	case <-exited:
		if waitErr != nil {
			return 0, fmt.Errorf("QEMU: %w: %s", waitErr, stderr.Bytes())
		}
		return time.Since(start), nil
	case <-time.After(3 * time.Minute):
		_ = cmd.Process.Kill()
		<-exited
		return 0, errors.New("the kernel did not power off within 3 minutes")
	}
}

// powerdown presses the machine's power button over QMP.
func powerdown(sock string) error {
	c, err := net.DialTimeout("unix", sock, 5*time.Second)
	if err != nil {
		return fmt.Errorf("qmp: %w", err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(10 * time.Second))
	r := bufio.NewReader(c)
	if _, err := r.ReadBytes('\n'); err != nil { // the greeting
		return fmt.Errorf("qmp: %w", err)
	}
	for _, cmd := range []string{"qmp_capabilities", "system_powerdown"} {
		if _, err := fmt.Fprintf(c, `{"execute":%q}`+"\n", cmd); err != nil {
			return fmt.Errorf("qmp %s: %w", cmd, err)
		}
		for {
			line, err := r.ReadBytes('\n')
			if err != nil {
				return fmt.Errorf("qmp %s: %w", cmd, err)
			}
			if bytes.Contains(line, []byte(`"return"`)) {
				break
			}
			if bytes.Contains(line, []byte(`"error"`)) {
				return fmt.Errorf("qmp %s: %s", cmd, bytes.TrimSpace(line))
			}
		}
	}
	return nil
}

// hostKHz is the host's TSC rate, which the TCG guest's TSC runs at.
func hostKHz() int {
	data, _ := os.ReadFile("/proc/cpuinfo")
	for line := range strings.Lines(string(data)) {
		if v, ok := strings.CutPrefix(line, "cpu MHz"); ok {
			mhz, _ := strconv.ParseFloat(strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(v), ":")), 64)
			return int(mhz * 1000)
		}
	}
	return 0
}

func median(ds []time.Duration) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := slices.Sorted(slices.Values(ds))
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}
