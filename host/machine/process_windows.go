package machine

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"golang.org/x/sys/windows"
)

// restrictToOwner gives dir (and what it holds, by inheritance) a
// protected ACL that lets in only the current user and SYSTEM, under
// which the Host Compute Service opens the machine's files.
func restrictToOwner(dir string) error {
	u, err := windows.GetCurrentProcessToken().GetTokenUser()
	if err != nil {
		return fmt.Errorf("restrict %s: who runs skiff: %w", dir, err)
	}
	sd, err := windows.SecurityDescriptorFromString("D:P(A;OICI;FA;;;" + u.User.Sid.String() + ")(A;OICI;FA;;;SY)")
	if err != nil {
		return fmt.Errorf("restrict %s: %w", dir, err)
	}
	dacl, _, err := sd.DACL()
	if err != nil {
		return fmt.Errorf("restrict %s: %w", dir, err)
	}
	err = windows.SetNamedSecurityInfo(dir, windows.SE_FILE_OBJECT,
		windows.DACL_SECURITY_INFORMATION|windows.PROTECTED_DACL_SECURITY_INFORMATION, nil, nil, dacl, nil)
	if err != nil {
		return fmt.Errorf("restrict %s to its owner: %w", dir, err)
	}
	return nil
}

// stillActive is the exit code GetExitCodeProcess gives a running process.
const stillActive = 259

// daemonPID returns the pid in daemon.pid when that process runs this
// program, never a stranger that reused the pid.
func (m *Machine) daemonPID() (int, bool) {
	b, err := os.ReadFile(m.daemonPIDFile())
	if err != nil {
		return 0, false
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil || pid <= 0 {
		return 0, false
	}
	h, err := windows.OpenProcess(windows.PROCESS_QUERY_LIMITED_INFORMATION, false, uint32(pid))
	if err != nil {
		// Access denied means it runs, as another user: not ours to judge.
		return pid, errors.Is(err, windows.ERROR_ACCESS_DENIED)
	}
	defer func() { _ = windows.CloseHandle(h) }()
	var code uint32
	if err := windows.GetExitCodeProcess(h, &code); err != nil || code != stillActive {
		return 0, false
	}
	buf := make([]uint16, windows.MAX_LONG_PATH)
	n := uint32(len(buf))
	if err := windows.QueryFullProcessImageName(h, 0, &buf[0], &n); err != nil {
		return pid, true
	}
	exe, err := os.Executable()
	if err != nil {
		return pid, true
	}
	return pid, sameFile(windows.UTF16ToString(buf[:n]), exe)
}

func sameFile(a, b string) bool {
	if strings.EqualFold(filepath.Clean(a), filepath.Clean(b)) {
		return true
	}
	sa, err1 := os.Stat(a)
	sb, err2 := os.Stat(b)
	return err1 == nil && err2 == nil && os.SameFile(sa, sb)
}

// signalDaemon ends the daemon. Windows has no SIGTERM for a process
// without a console, so both ways are TerminateProcess; the VM dies with
// the daemon's handle to it (ShouldTerminateOnLastHandleClosed), and the
// next start removes the network endpoint it leaves. Machine.Stop gets
// here only after asking the agent to shut down cleanly.
func signalDaemon(pid int, _ bool) error {
	h, err := windows.OpenProcess(windows.PROCESS_TERMINATE|windows.SYNCHRONIZE, false, uint32(pid))
	if err != nil {
		if errors.Is(err, windows.ERROR_INVALID_PARAMETER) { // no such process
			return nil
		}
		return fmt.Errorf("open the machine's host daemon (pid %d): %w", pid, err)
	}
	defer func() { _ = windows.CloseHandle(h) }()
	if err := windows.TerminateProcess(h, 1); err != nil {
		return fmt.Errorf("stop the machine's host daemon (pid %d): %w", pid, err)
	}
	return nil
}
