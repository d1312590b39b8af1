// Command fsbench measures how soon a change made on the host in a
// bind-mounted folder reaches an inotify watcher in a container: it runs
// an inotify watcher (-watcher, printing as busybox inotifyd -) on a
// fresh folder, writes -n new files on the host one
// at a time, and times each from the write until the container's output
// (skiff logs -f) names the file. It prints the median, the 90th
// percentile and the slowest.
//
//	fsbench -skiff bin/skiff -label native   # or SKIFF_DRIVER=qemu, -label qemu
package main

import (
	"bufio"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"time"
)

func main() {
	skiff := flag.String("skiff", "bin/skiff", "the skiff CLI")
	label := flag.String("label", "native", "the machine driver, for the table")
	n := flag.Int("n", 100, "events to time")
	watcher := flag.String("watcher", "", "a static inotify watcher that prints as busybox inotifyd - (cmd/skiff/testdata/inotifywatch)")
	flag.Parse()
	if err := run(*skiff, *label, *watcher, *n); err != nil {
		fmt.Fprintln(os.Stderr, "fsbench:", err)
		os.Exit(1)
	}
}

func run(skiff, label, watcher string, n int) (err error) {
	dir, err := os.MkdirTemp("", "skiff-fsbench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	name := fmt.Sprintf("fsbench-%d", os.Getpid())
	tool, err := filepath.Abs(watcher)
	if err != nil {
		return err
	}
	if out, err := exec.Command(skiff, "run", "-d", "--name", name, "-v", dir+":/work", "-v", filepath.Dir(tool)+":/tools:ro", "localhost/busybox", "/tools/"+filepath.Base(tool), "/work").CombinedOutput(); err != nil {
		return fmt.Errorf("start the watcher: %w: %s", err, out)
	}
	defer func() { _ = exec.Command(skiff, "rm", "-f", name).Run() }()
	logs := exec.Command(skiff, "logs", "-f", name)
	out, err := logs.StdoutPipe()
	if err != nil {
		return err
	}
	if err := logs.Start(); err != nil {
		return err
	}
	defer func() { _ = logs.Process.Kill(); _ = logs.Wait() }()
	lines := make(chan string, 1024)
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
	}()
	// wait waits for a line naming file, up to d.
	wait := func(file string, d time.Duration) error {
		timeout := time.After(d)
		for {
			select {
			case l, ok := <-lines:
				if !ok {
					return errors.New("the container's output ended")
				}
				if strings.HasSuffix(l, "\t"+file) {
					return nil
				}
			case <-timeout:
				return fmt.Errorf("no event for %s within %v", file, d)
			}
		}
	}
	// Warm up: the host daemon learns of the bind as the container
	// starts; probe until the watch is in place.
	ready := false
	for i := range 60 {
		p := fmt.Sprintf("warm%d", i)
		if err := os.WriteFile(filepath.Join(dir, p), nil, 0o644); err != nil {
			return err
		}
		if wait(p, time.Second) == nil {
			ready = true
			break
		}
	}
	if !ready {
		return errors.New("the watcher heard nothing in a minute")
	}
	var took []time.Duration
	for i := range n {
		// Let the previous event's echoes settle.
		time.Sleep(20 * time.Millisecond)
		for len(lines) > 0 {
			<-lines
		}
		f := fmt.Sprintf("f%04d", i)
		start := time.Now()
		if err := os.WriteFile(filepath.Join(dir, f), []byte("x"), 0o644); err != nil {
			return err
		}
		if err := wait(f, 10*time.Second); err != nil {
			return err
		}
		took = append(took, time.Since(start))
	}
	slices.Sort(took)
	ms := func(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
	fmt.Printf("%-20s %10.1f %10.1f %10.1f\n", label, ms(took[len(took)/2]), ms(took[len(took)*9/10]), ms(took[len(took)-1]))
	return nil
}
