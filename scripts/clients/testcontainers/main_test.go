//go:build e2e

package testcontainers

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"
)

// The tests start a machine of their own (native by default,
// SKIFF_E2E_DRIVER=qemu for the VM) with the skiff in SKIFF_BIN, and point
// testcontainers at its Docker API socket through DOCKER_HOST, as a user
// would.

// busybox is the bundled image every machine is seeded with.
const busybox = "localhost/busybox:latest"

var (
	binDir    string
	skiffHome string
)

func TestMain(m *testing.M) {
	os.Exit(testMain(m))
}

func testMain(m *testing.M) int {
	binDir = os.Getenv("SKIFF_BIN")
	if binDir == "" {
		fmt.Println("SKIFF_BIN is not set: run the end-to-end tests with make e2e")
		return 1
	}
	if os.Geteuid() != 0 {
		fmt.Println("the end-to-end tests run containers and need root")
		return 1
	}
	home, err := os.MkdirTemp("", "skiff-tc-")
	if err != nil {
		fmt.Println(err)
		return 1
	}
	skiffHome = home
	defer func() {
		if out, err := skiff("machine", "stop"); err != nil {
			fmt.Printf("machine stop: %v: %s\n", err, out)
		}
		_ = os.RemoveAll(home)
	}()
	host, err := startMachine()
	if err != nil {
		fmt.Println(err)
		return 1
	}
	os.Setenv("DOCKER_HOST", host)
	// testcontainers' reaper (ryuk) is an image from Docker Hub, which the
	// tests never reach; each test removes what it made instead.
	os.Setenv("TESTCONTAINERS_RYUK_DISABLED", "true")
	// skiff publishes ports on the host's loopback. testcontainers dials
	// a bridge gateway instead when it finds /.dockerenv, as on a CI
	// runner that is itself a container.
	os.Setenv("TESTCONTAINERS_HOST_OVERRIDE", "localhost")
	// No ~/.testcontainers.properties or docker context of the user's may
	// point the tests elsewhere.
	os.Setenv("HOME", home)
	os.Setenv("DOCKER_CONFIG", filepath.Join(home, "docker-config"))
	return m.Run()
}

func driver() string {
	if d := os.Getenv("SKIFF_E2E_DRIVER"); d != "" {
		return d
	}
	return "native"
}

// skiff runs the CLI against the tests' machine.
func skiff(args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, filepath.Join(binDir, "skiff"), args...)
	cmd.Env = append(os.Environ(), "SKIFF_HOME="+skiffHome, "SKIFF_DRIVER="+driver())
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	return out.String(), err
}

// startMachine starts the machine, makes sure the bundled busybox is in
// it, and returns its DOCKER_HOST, as skiff machine status prints it.
func startMachine() (string, error) {
	if out, err := skiff("machine", "start"); err != nil {
		return "", fmt.Errorf("skiff machine start: %w: %s", err, out)
	}
	if _, err := skiff("image", "inspect", busybox); err != nil {
		tar := filepath.Join(binDir, "images", "busybox-"+runtime.GOARCH+".tar")
		if out, err := skiff("load", "-i", tar); err != nil {
			return "", fmt.Errorf("skiff load -i %s: %w: %s", tar, err, out)
		}
	}
	out, err := skiff("machine", "status")
	if err != nil {
		return "", fmt.Errorf("skiff machine status: %w: %s", err, out)
	}
	s := bufio.NewScanner(strings.NewReader(out))
	for s.Scan() {
		line := strings.TrimSpace(s.Text())
		if _, after, ok := strings.Cut(line, "DOCKER_HOST="); ok {
			return strings.Trim(after, `"'`), nil
		}
	}
	return "", fmt.Errorf("skiff machine status prints no DOCKER_HOST line:\n%s", out)
}
