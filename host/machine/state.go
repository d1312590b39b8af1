package machine

import (
	"encoding/json"
	"os"
	"path/filepath"
	"time"

	"github.com/skiffrun/skiff/guest/api/atomicfile"
	"github.com/skiffrun/skiff/guest/api/filelock"
	"github.com/skiffrun/skiff/guest/api/wire"
)

// Statuses of a machine.
const (
	Running  Status = "running"
	Stopped  Status = "stopped"
	Starting Status = "starting"
	Error    Status = "error"
)

// state is what the host daemon records in state.json for status to read.
type state struct {
	Status Status `json:"status"`
	PID    int    `json:"pid"`
	Error  string `json:"error,omitempty"`
	// What the driver made of the spec, once the VM runs.
	VMPID     int       `json:"vm_pid,omitempty"`
	Accel     string    `json:"accel,omitempty"`
	Arch      string    `json:"arch,omitempty"`
	CPUs      int       `json:"cpus,omitempty"`
	MemoryMiB int       `json:"memory_mib,omitempty"`
	Started   time.Time `json:"started,omitempty"`
	// Shares are the host folders the running VM shares, which bind
	// mounts must lie in until its next start.
	Shares  []string  `json:"shares,omitempty"`
	Updated time.Time `json:"updated"`
}

func (m *Machine) statePath() string     { return filepath.Join(m.spec.Dir, "state.json") }
func (m *Machine) daemonPIDFile() string { return filepath.Join(m.spec.Dir, wire.DaemonPIDFile) }
func (m *Machine) consoleLog() string    { return filepath.Join(m.spec.Dir, wire.ConsoleLogFile) }
func (m *Machine) daemonLog() string     { return filepath.Join(m.spec.Dir, "daemon.log") }
func (m *Machine) daemonLock() string    { return filepath.Join(m.spec.Dir, wire.DaemonLockFile) }
func (m *Machine) startLock() string     { return filepath.Join(m.spec.Dir, wire.StartLockFile) }

// lockFile takes one of the machine's locks (daemon.lock, start.lock),
// waiting until ctx ends.
var lockFile = filelock.Lock

func (m *Machine) writeState(s state) {
	s.Updated = time.Now().UTC()
	if b, err := json.Marshal(s); err == nil {
		_ = atomicfile.WriteFile(m.statePath(), b)
	}
}

func (m *Machine) readState() state {
	var s state
	if b, err := os.ReadFile(m.statePath()); err == nil {
		_ = json.Unmarshal(b, &s)
	}
	return s
}

// vmStatus derives a VM machine's status from what can be observed: the
// socket answering, the daemon alive, and the daemon's last record.
func vmStatus(answers, daemonAlive bool, last state) Status {
	switch {
	case answers && daemonAlive:
		return Running
	case daemonAlive:
		return Starting
	case last.Status == Error:
		return Error
	case last.Status == Running || last.Status == Starting:
		// The daemon died without saying why.
		return Error
	}
	return Stopped
}
