//go:build e2e

package main_test

import (
	"context"
	"errors"
	"fmt"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestMachineFileEvents9p runs TestFileEvents' check of the host's
// changes through a QEMU machine an ordinary user started, whose shares
// are QEMU's own 9p: the user's edits in a bind-mounted folder of theirs
// are each heard of in the container, once.
func TestMachineFileEvents9p(t *testing.T) {
	m := startUnprivileged(t)
	u, run := m.user, m.run(t)
	mkdir := func(name string) string { return u.dir(t, filepath.Join(m.home, name), 0o755) }
	dir := mkdir("proj")
	n := 0
	w := hostChangesHeardOnce(t, fileEventsRig{
		skiff: func(args ...string) *exec.Cmd {
			return u.command(context.Background(), m.bin, nil, args...)
		},
		must: func(args ...string) string {
			t.Helper()
			r := run(2*time.Minute, nil, args...)
			if r.code != 0 {
				t.Fatalf("skiff %s as %s: %s", strings.Join(args, " "), u.name, r)
			}
			return strings.TrimSpace(r.stdout)
		},
		asOwner: u.as,
		dir: func() string {
			n++
			return mkdir(fmt.Sprintf("tools%d", n))
		},
	}, dir, "fsevents9p")
	quiet := time.Now()
	time.Sleep(2 * time.Second)
	if late := w.since(quiet); len(late) > 0 {
		t.Errorf("the container heard more after the changes were done (an echo?): %q", late)
	}
}

// as makes change with the user's file system ids, as an editor of the
// user's would: files it makes are the user's, and QEMU, which runs as
// the user, may open them for writing. The ids are the thread's own, so
// it is locked to change; a thread whose ids cannot be set back is left
// locked, and so ends with the goroutine.
func (u *testUser) as(change func() error) error {
	runtime.LockOSThread()
	if err := setfsids(u.uid, u.gid); err != nil {
		return err
	}
	err := change()
	if e := setfsids(0, 0); e != nil {
		return errors.Join(err, e)
	}
	runtime.UnlockOSThread()
	return err
}

// setfsids sets the thread's file system uid and gid, and checks they
// took: setfsuid(2) reports no error, only the ids it had.
func setfsids(uid, gid int) error {
	if uid != 0 {
		_ = syscall.Setfsgid(gid)
		_ = syscall.Setfsuid(uid)
	} else {
		_ = syscall.Setfsuid(uid)
		_ = syscall.Setfsgid(gid)
	}
	// setfsuid(-1) changes nothing and returns the id in force.
	got, _, _ := syscall.RawSyscall(syscall.SYS_SETFSUID, ^uintptr(0), 0, 0)
	if int(got) != uid {
		return fmt.Errorf("file system uid is %d, want %d", got, uid)
	}
	return nil
}
