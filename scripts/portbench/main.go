// Command portbench measures how fast bytes go from the host into a
// container through a published port, against plain loopback between two
// host processes in the same run: it sends -size bytes over one TCP
// connection and times until the receiver has read them all and closed.
//
//	portbench -skiff bin/skiff   # native driver, or SKIFF_DRIVER=qemu
//
// The receiver is this program itself (built static, imported as an
// image for the container side) and, as a second pair, busybox nc -l on
// the host and in a container; each skiff row is compared with loopback
// to the same receiver.
package main

import (
	"archive/tar"
	"bufio"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"slices"
	"strings"
	"time"
)

func main() {
	skiff := flag.String("skiff", "bin/skiff", "the skiff CLI")
	size := flag.Int64("size", 1<<30, "bytes to send")
	label := flag.String("label", "native", "the machine driver, for the table")
	loopback := flag.Bool("loopback", true, "also measure loopback between two host processes")
	runs := flag.Int("runs", 3, "transfers of each kind; each row is their median")
	sink := flag.Bool("sink", false, "(internal) accept one connection on loopback and discard it")
	serve := flag.String("serve", "", "(internal) discard every connection to this address")
	flag.Parse()
	switch {
	case *sink:
		runSink()
	case *serve != "":
		runServe(*serve)
	default:
		if err := run(*skiff, *label, *size, *loopback, *runs); err != nil {
			fmt.Fprintln(os.Stderr, "portbench:", err)
			os.Exit(1)
		}
	}
}

// runSink accepts one connection on loopback, prints its address first,
// and discards what arrives.
func runSink() {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	fmt.Println(ln.Addr().String())
	c, err := ln.Accept()
	if err != nil {
		os.Exit(1)
	}
	_, _ = io.Copy(io.Discard, c)
	c.Close()
}

// runServe is the container's receiver: it discards every connection.
func runServe(addr string) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	for {
		c, err := ln.Accept()
		if err != nil {
			os.Exit(1)
		}
		go func() { _, _ = io.Copy(io.Discard, c); c.Close() }()
	}
}

type row struct {
	name string
	mbps float64
}

func run(skiff, label string, size int64, loopback bool, runs int) error {
	var rows []row
	self, err := os.Executable()
	if err != nil {
		return err
	}
	img, err := sinkImage(skiff)
	if err != nil {
		return err
	}
	// Loopback and the container alternate, so that load on the host hits
	// both alike; each row is the median of its runs.
	var hostGo, ctrGo, hostNC, ctrNC []time.Duration
	bb, bbErr := exec.LookPath("busybox")
	for range max(runs, 1) {
		if loopback {
			d, err := viaHostSink(size, self, "-sink")
			if err != nil {
				return fmt.Errorf("loopback: %w", err)
			}
			hostGo = append(hostGo, d)
		}
		d, err := viaContainer(skiff, size, img, "/portbench", "-serve", ":5001")
		if err != nil {
			return err
		}
		ctrGo = append(ctrGo, d)
		if loopback && bbErr == nil {
			if d, err := viaHostSink(size, "sh", "-c", "echo 127.0.0.1:15901; exec "+bb+" nc -l -p 15901 >/dev/null"); err == nil {
				hostNC = append(hostNC, d)
			}
		}
		d, err = viaContainer(skiff, size, "localhost/busybox", "sh", "-c", "nc -l -p 5001 >/dev/null")
		if err != nil {
			return err
		}
		ctrNC = append(ctrNC, d)
	}
	add := func(name string, ds []time.Duration) {
		if len(ds) > 0 {
			rows = append(rows, row{name, mbps(size, median(ds))})
		}
	}
	add("loopback, Go receiver", hostGo)
	add("skiff -p "+label+", Go receiver", ctrGo)
	add("loopback, busybox nc", hostNC)
	add("skiff -p "+label+", busybox nc", ctrNC)

	fmt.Printf("%-32s %8s %12s\n", "path (one TCP connection)", "MB/s", "vs loopback")
	for i, r := range rows {
		rel := "-"
		// Each skiff row compares with the loopback row of its receiver,
		// just above it.
		if i > 0 && strings.HasPrefix(rows[i-1].name, "loopback") && !strings.HasPrefix(r.name, "loopback") {
			rel = fmt.Sprintf("%.0f%%", 100*r.mbps/rows[i-1].mbps)
		}
		fmt.Printf("%-32s %8.0f %12s\n", r.name, r.mbps, rel)
	}
	return nil
}

func mbps(size int64, d time.Duration) float64 { return float64(size) / d.Seconds() / 1e6 }

func median(ds []time.Duration) time.Duration {
	s := slices.Clone(ds)
	slices.Sort(s)
	return s[len(s)/2]
}

// viaHostSink starts a receiver on the host that prints its address and
// sends to it.
func viaHostSink(size int64, name string, args ...string) (time.Duration, error) {
	cmd := exec.Command(name, args...)
	// An open stdin, as in the container (run -i): busybox nc shuts its
	// sending side when stdin ends.
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return 0, err
	}
	defer stdin.Close()
	out, err := cmd.StdoutPipe()
	if err != nil {
		return 0, err
	}
	if err := cmd.Start(); err != nil {
		return 0, err
	}
	defer func() { _ = cmd.Process.Kill() }()
	addr, err := bufio.NewReader(out).ReadString('\n')
	if err != nil {
		return 0, fmt.Errorf("start the receiver: %w", err)
	}
	return sendRetry(strings.TrimSpace(addr), size)
}

// sinkImage imports this program (built static) as an image whose
// receiver runs in the container.
func sinkImage(skiff string) (string, error) {
	const img = "localhost/portbench-sink:latest"
	self, err := os.Executable()
	if err != nil {
		return "", err
	}
	data, err := os.ReadFile(self)
	if err != nil {
		return "", err
	}
	f, err := os.CreateTemp("", "portbench-*.tar")
	if err != nil {
		return "", err
	}
	defer os.Remove(f.Name())
	tw := tar.NewWriter(f)
	if err := tw.WriteHeader(&tar.Header{Name: "portbench", Mode: 0o755, Size: int64(len(data)), Typeflag: tar.TypeReg}); err != nil {
		return "", err
	}
	if _, err := tw.Write(data); err != nil {
		return "", err
	}
	if err := tw.Close(); err != nil {
		return "", err
	}
	f.Close()
	if out, err := exec.Command(skiff, "import", f.Name(), img).CombinedOutput(); err != nil {
		return "", fmt.Errorf("import the receiver image: %w: %s", err, out)
	}
	return img, nil
}

// viaContainer runs a receiver on port 5001 of a container published on
// a free loopback port, and sends to it.
func viaContainer(skiff string, size int64, image string, cmd ...string) (time.Duration, error) {
	name := fmt.Sprintf("portbench-%d", os.Getpid())
	// -i keeps the receiver's stdin open: busybox nc shuts its sending
	// side when stdin ends, which the probe in send would take for a
	// receiver that is not there.
	args := append([]string{"run", "-d", "-i", "--name", name, "-p", "127.0.0.1::5001", image}, cmd...)
	if out, err := exec.Command(skiff, args...).CombinedOutput(); err != nil {
		return 0, fmt.Errorf("start the receiving container: %w: %s", err, out)
	}
	defer func() { _ = exec.Command(skiff, "rm", "-f", name).Run() }()
	out, err := exec.Command(skiff, "port", name, "5001").Output()
	if err != nil {
		return 0, fmt.Errorf("skiff port: %w", err)
	}
	return sendRetry(strings.TrimSpace(string(out)), size)
}

// sendRetry sends until the receiver is listening: until then a
// connection is refused, or closed at once by the proxy.
func sendRetry(addr string, size int64) (time.Duration, error) {
	deadline := time.Now().Add(60 * time.Second)
	for {
		d, err := send(addr, size)
		if err == nil || time.Now().After(deadline) {
			return d, err
		}
		if os.Getenv("PORTBENCH_DEBUG") != "" {
			fmt.Fprintln(os.Stderr, "portbench: retrying:", err)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// send writes size bytes to addr, half-closes, and waits for the far end
// to close, which it does once it has read everything.
func send(addr string, size int64) (time.Duration, error) {
	c, err := net.Dial("tcp", addr)
	if err != nil {
		return 0, err
	}
	defer c.Close()
	tc := c.(*net.TCPConn)
	// A proxy accepts before it knows whether the container listens, and
	// closes at once when it does not: wait a moment for that.
	_ = tc.SetReadDeadline(time.Now().Add(time.Second))
	var probe [1]byte
	if _, err := tc.Read(probe[:]); err == nil || !errors.Is(err, os.ErrDeadlineExceeded) {
		return 0, fmt.Errorf("the receiver is not listening yet")
	}
	_ = tc.SetReadDeadline(time.Time{})
	buf := make([]byte, 256<<10)
	began := time.Now()
	var sent int64
	for sent < size {
		n := int64(len(buf))
		if size-sent < n {
			n = size - sent
		}
		w, err := tc.Write(buf[:n])
		sent += int64(w)
		if err != nil {
			return 0, fmt.Errorf("after %d bytes: %w", sent, err)
		}
	}
	if err := tc.CloseWrite(); err != nil {
		return 0, err
	}
	_ = tc.SetReadDeadline(time.Now().Add(2 * time.Minute))
	if _, err := io.Copy(io.Discard, tc); err != nil {
		return 0, err
	}
	d := time.Since(began)
	if sent < size/100 || d <= 0 {
		return 0, fmt.Errorf("connection closed early")
	}
	return d, nil
}
