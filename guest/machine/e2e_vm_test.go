//go:build e2e && linux

package machine

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/yamux"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	apiv1 "github.com/skiffrun/skiff/guest/api/v1"
	"github.com/skiffrun/skiff/guest/api/wire"
	"github.com/skiffrun/skiff/internal/e2eneed"
)

// TestMachineBootsAndRunsContainers boots the built vmimage under QEMU
// (TCG works), talks to the agent over the virtio-serial port the way
// the host does, runs a container, shuts the machine down, and boots it
// again to see the data disk kept its state.
func TestMachineBootsAndRunsContainers(t *testing.T) {
	for _, arch := range []string{"amd64", "arm64"} {
		t.Run(arch, func(t *testing.T) {
			if a := os.Getenv("SKIFF_E2E_ARCHES"); a != "" && !strings.Contains(a, arch) {
				t.Skipf("SKIFF_E2E_ARCHES=%s", a)
			}
			vm := newTestVM(t, arch)
			ready := vm.boot(t)
			t.Logf("%s: launch to \"skiff-agent: ready\": %v", arch, ready)
			c := vm.connect(t, []byte("stale bytes of an old session SKIFF"))
			ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
			defer cancel()

			sys := apiv1.NewSystemClient(c)
			v, err := sys.Version(ctx, &apiv1.Empty{})
			if err != nil {
				t.Fatal(err)
			}
			if v.Os != "linux" || v.Arch != arch || !strings.HasSuffix(v.KernelVersion, "-"+arch) {
				t.Errorf("version %+v", v)
			}
			host := time.Now().Add(time.Hour)
			if _, err := sys.SetTime(ctx, &apiv1.SetTimeRequest{UnixNano: host.UnixNano()}); err != nil {
				t.Errorf("SetTime: %v", err)
			}
			info, err := sys.Info(ctx, &apiv1.Empty{})
			if err != nil {
				t.Fatal(err)
			}
			if info.CgroupVersion != "2" || info.RootDir != agentRoot || info.Images != 1 || info.Name != "skiff-e2e" {
				t.Errorf("info %+v", info)
			}

			out, code := runContainer(ctx, t, c, "sh", "-c", "echo hello from $(hostname); cat /proc/self/cgroup; date +%Y; exit 3")
			if code != 3 || !strings.Contains(out, "hello from") || !strings.Contains(out, strconv.Itoa(host.UTC().Year())) {
				t.Errorf("container exit %d, output %q", code, out)
			}

			// The host goes away and comes back: the agent dials again.
			vm.disconnect()
			c = vm.connect(t, nil)
			sys = apiv1.NewSystemClient(c)
			if _, err := sys.Version(ctx, &apiv1.Empty{}); err != nil {
				t.Fatalf("Version after reconnecting: %v", err)
			}
			vm.shutdown(ctx, t, sys)

			// The data disk keeps images and containers.
			vm.boot(t)
			c = vm.connect(t, nil)
			list, err := apiv1.NewContainersClient(c).List(ctx, &apiv1.ListContainersRequest{All: true})
			if err != nil {
				t.Fatal(err)
			}
			if len(list.Containers) != 1 {
				t.Errorf("containers after a reboot: %v", list.Containers)
			}
			vm.shutdown(ctx, t, apiv1.NewSystemClient(c))
		})
	}
}

// TestMachineNeverFormatsADiskWithData boots a machine whose data disk
// holds something other than ext4: the agent must say so on the console
// and stop, leaving the disk as it was.
func TestMachineNeverFormatsADiskWithData(t *testing.T) {
	for _, arch := range []string{"amd64", "arm64"} {
		t.Run(arch, func(t *testing.T) {
			if a := os.Getenv("SKIFF_E2E_ARCHES"); a != "" && !strings.Contains(a, arch) {
				t.Skipf("SKIFF_E2E_ARCHES=%s", a)
			}
			vm := newTestVM(t, arch)
			disk := filepath.Join(vm.dir, "data.raw")
			f, err := os.OpenFile(disk, os.O_WRONLY, 0)
			if err != nil {
				t.Fatal(err)
			}
			// An XFS superblock's magic: data skiff did not write.
			if _, err := f.WriteAt([]byte("XFSB"), 0); err != nil {
				t.Fatal(err)
			}
			f.Close()
			vm.cmd = exec.Command(vm.qemu(), vm.args()...)
			if err := vm.cmd.Start(); err != nil {
				t.Fatal(err)
			}
			vm.exited = make(chan error, 1)
			go func() { vm.exited <- vm.cmd.Wait() }()
			select {
			case <-vm.exited:
			case <-time.After(3 * time.Minute):
				t.Fatal("the machine still runs 3 minutes after boot")
			}
			log, _ := os.ReadFile(filepath.Join(vm.dir, "console.log"))
			if !bytes.Contains(log, []byte("holds data but no ext4 file system")) || bytes.Contains(log, []byte("skiff-agent: ready")) {
				t.Errorf("console:\n%s", log)
			}
			head := make([]byte, 4)
			f, err = os.Open(disk)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			if _, err := f.ReadAt(head, 0); err != nil || string(head) != "XFSB" {
				t.Errorf("the disk starts with %q (%v), want it untouched", head, err)
			}
		})
	}
}

type testVM struct {
	arch, dir, image string
	manifest         struct {
		Kernel, Initramfs struct{ File string }
	}
	// memMiB is the guest's memory; 1024 unless a test sets it.
	memMiB int
	cmd    *exec.Cmd
	exited chan error
	conn   net.Conn
	sess   *yamux.Session
	grpc   *grpc.ClientConn
}

func newTestVM(t *testing.T, arch string) *testVM {
	t.Helper()
	vm := &testVM{arch: arch, dir: t.TempDir(), image: filepath.Join("..", "..", "build", "vmimage", arch), memMiB: 1024}
	data, err := os.ReadFile(filepath.Join(vm.image, "manifest.json"))
	if err != nil {
		unmet(t, "no vmimage for %s (make vmimage): %v", arch, err)
	}
	if err := json.Unmarshal(data, &vm.manifest); err != nil {
		t.Fatal(err)
	}
	if _, err := exec.LookPath(vm.qemu()); err != nil {
		unmet(t, "%s is not installed (apt-get install qemu-system-x86 qemu-system-arm)", vm.qemu())
	}
	if err := os.Truncate(filepath.Join(vm.dir, "data.raw"), 0); err != nil {
		f, err := os.Create(filepath.Join(vm.dir, "data.raw"))
		if err != nil {
			t.Fatal(err)
		}
		f.Close()
	}
	if err := os.Truncate(filepath.Join(vm.dir, "data.raw"), 4<<30); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		vm.disconnect()
		if vm.cmd != nil && vm.cmd.ProcessState == nil {
			vm.cmd.Process.Kill()
			<-vm.exited
		}
		if t.Failed() {
			log, _ := os.ReadFile(filepath.Join(vm.dir, "console.log"))
			t.Logf("console:\n%s", log)
		}
	})
	return vm
}

func (vm *testVM) qemu() string {
	if vm.arch == "arm64" {
		return "qemu-system-aarch64"
	}
	return "qemu-system-x86_64"
}

// args is the QEMU command line the host's driver uses.
func (vm *testVM) args() []string {
	run := func(n string) string { return filepath.Join(vm.dir, n) }
	cmdline := fmt.Sprintf("panic=-1 quiet skiff.agent=serial:skiff.agent skiff.disk=vda skiff.net=static,10.0.2.15/24,10.0.2.2,10.0.2.3 skiff.time=%d skiff.hostname=skiff-e2e", time.Now().UnixNano())
	if os.Getenv("SKIFF_E2E_DEBUG") == "1" {
		cmdline += " skiff.debug=1"
	}
	dev := "device"
	a := []string{"-accel", "tcg,tb-size=128", "-m", strconv.Itoa(vm.memMiB), "-smp", "2", "-nodefaults", "-no-reboot", "-display", "none",
		"-object", fmt.Sprintf("memory-backend-memfd,id=mem,size=%dM,share=on", vm.memMiB)}
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
		"-kernel", filepath.Join(vm.image, vm.manifest.Kernel.File),
		"-initrd", filepath.Join(vm.image, vm.manifest.Initramfs.File),
		"-append", cmdline,
		"-device", "virtio-serial-"+dev,
		"-chardev", "socket,id=agent,path="+run("agent.sock")+",server=on,wait=off",
		"-device", "virtserialport,chardev=agent,name=skiff.agent",
		"-chardev", "file,id=con,path="+run("console.log"),
		"-serial", "chardev:con",
		"-drive", "if=none,id=data,file="+run("data.raw")+",format=raw",
		"-device", "virtio-blk-"+dev+",drive=data",
		"-device", "virtio-balloon-"+dev+",free-page-reporting=on",
		"-device", "virtio-rng-"+dev,
		"-netdev", "user,id=n0", "-device", "virtio-net-"+dev+",netdev=n0")
}

// hostKHz is the host's TSC rate, which the TCG guest's TSC runs at.
func hostKHz() int {
	f, err := os.Open("/proc/cpuinfo")
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "cpu MHz"); ok {
			mhz, _ := strconv.ParseFloat(strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(v), ":")), 64)
			return int(mhz * 1000)
		}
	}
	return 0
}

// boot starts QEMU and waits for the agent's ready line on the console.
func (vm *testVM) boot(t *testing.T) time.Duration {
	t.Helper()
	console := filepath.Join(vm.dir, "console.log")
	os.Remove(console)
	vm.cmd = exec.Command(vm.qemu(), vm.args()...)
	var stderr bytes.Buffer
	vm.cmd.Stderr = &stderr
	start := time.Now()
	if err := vm.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	vm.exited = make(chan error, 1)
	go func() { vm.exited <- vm.cmd.Wait() }()
	for deadline := time.Now().Add(3 * time.Minute); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		log, _ := os.ReadFile(console)
		if bytes.Contains(log, []byte("skiff-agent: ready")) {
			return time.Since(start)
		}
		select {
		case err := <-vm.exited:
			t.Fatalf("QEMU exited before the agent was ready: %v: %s", err, stderr.Bytes())
		default:
		}
	}
	t.Fatal("the agent was not ready within 3 minutes")
	return 0
}

// connect does what the host does: connect to the serial port's socket,
// send the hello (after junk, if given), wait for the answer, and run a
// yamux client whose streams carry gRPC.
func (vm *testVM) connect(t *testing.T, junk []byte) *grpc.ClientConn {
	t.Helper()
	conn, err := net.Dial("unix", filepath.Join(vm.dir, "agent.sock"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := conn.Write(junk); err != nil {
		t.Fatal(err)
	}
	// A serial port does not tell the agent that the host left and came
	// back at once, so its old session may eat the first hello: say it
	// again until the agent answers.
	answered := make(chan struct{})
	go func() {
		for {
			if _, err := conn.Write([]byte(wire.Hello)); err != nil {
				return
			}
			select {
			case <-answered:
				return
			case <-time.After(500 * time.Millisecond):
			}
		}
	}()
	defer close(answered)
	// Bytes the agent wrote to the old session after the host left are
	// still queued in the serial port: skip to the answer.
	conn.SetReadDeadline(time.Now().Add(time.Minute))
	var got []byte
	b := make([]byte, 1)
	for !bytes.HasSuffix(got, []byte(wire.OK)) {
		if _, err := io.ReadFull(conn, b); err != nil {
			t.Fatalf("handshake answer: read %q, %v", got, err)
		}
		got = append(got, b[0])
	}
	if len(got) > 8 {
		t.Logf("skipped %d stale bytes before the handshake answer", len(got)-8)
	}
	conn.SetReadDeadline(time.Time{})
	sess, err := yamux.Client(conn, nil)
	if err != nil {
		t.Fatal(err)
	}
	// The agent opens streams to the host's services (hostlink); this
	// host serves none: refuse them, as a daemon without the service.
	go func() {
		for {
			s, err := sess.Accept()
			if err != nil {
				return
			}
			s.Close()
		}
	}()
	c, err := grpc.NewClient("passthrough:///skiff-agent",
		grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithContextDialer(func(context.Context, string) (net.Conn, error) { return sess.Open() }))
	if err != nil {
		t.Fatal(err)
	}
	vm.conn, vm.sess, vm.grpc = conn, sess, c
	return c
}

func (vm *testVM) disconnect() {
	if vm.grpc != nil {
		vm.grpc.Close()
		vm.sess.Close()
		vm.conn.Close()
		vm.grpc = nil
	}
}

// shutdown asks the agent to stop and waits for QEMU to exit.
func (vm *testVM) shutdown(ctx context.Context, t *testing.T, sys apiv1.SystemClient) {
	t.Helper()
	start := time.Now()
	if _, err := sys.Shutdown(ctx, &apiv1.Empty{}); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-vm.exited:
		var ee *exec.ExitError
		if err != nil && !errors.As(err, &ee) {
			t.Fatal(err)
		}
		t.Logf("shutdown took %v", time.Since(start))
	case <-time.After(2 * time.Minute):
		t.Fatal("QEMU still runs 2 minutes after Shutdown")
	}
	vm.disconnect()
	log, _ := os.ReadFile(filepath.Join(vm.dir, "console.log"))
	if !bytes.Contains(log, []byte("powering off")) {
		t.Errorf("no power-off on the console:\n%s", log)
	}
}

// runContainer runs args in a busybox container and returns its output
// and exit code.
func runContainer(ctx context.Context, t *testing.T, c *grpc.ClientConn, args ...string) (string, int32) {
	t.Helper()
	ctrs := apiv1.NewContainersClient(c)
	created, err := ctrs.Create(ctx, &apiv1.CreateContainerRequest{Config: &apiv1.ContainerConfig{Image: "localhost/busybox", Cmd: args}})
	if err != nil {
		t.Fatal(err)
	}
	stream, err := ctrs.Attach(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := stream.Send(&apiv1.StreamInput{Msg: &apiv1.StreamInput_Attach{Attach: &apiv1.AttachStart{
		Id: created.Id, Stdout: true, Stderr: true, Start: true}}}); err != nil {
		t.Fatal(err)
	}
	var out strings.Builder
	for {
		msg, err := stream.Recv()
		if err != nil {
			t.Fatalf("attach: %v (output so far %q)", err, out.String())
		}
		switch m := msg.Msg.(type) {
		case *apiv1.StreamOutput_Output:
			out.Write(m.Output.Data)
		case *apiv1.StreamOutput_Exit:
			if m.Exit.Error != "" {
				t.Errorf("container error: %s", m.Exit.Error)
			}
			return out.String(), m.Exit.Code
		}
	}
}

// unmet fails t for a missing prerequisite (see e2eneed).
var unmet = e2eneed.Unmet
