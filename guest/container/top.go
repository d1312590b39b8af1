package container

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/containerd/errdefs"

	apiv1 "github.com/skiffrun/skiff/guest/api/v1"
)

// Top lists container ref's processes with the columns of ps -ef, read
// from /proc: the machine has no ps of its own.
func (m *Manager) Top(ref string) (*apiv1.TopResponse, error) {
	c, err := m.get(ref)
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	running := c.run != nil
	id, name := c.rec.Id, c.rec.Name
	c.mu.Unlock()
	if !running {
		return nil, fmt.Errorf("container %s is not running: %w", name, errdefs.ErrConflict)
	}
	pids, err := m.rt.Pids(id)
	if err != nil {
		return nil, fmt.Errorf("list processes of %s: %w", name, err)
	}
	resp := &apiv1.TopResponse{Titles: []string{"UID", "PID", "PPID", "C", "STIME", "TTY", "TIME", "CMD"}}
	boot := bootTime()
	for _, pid := range pids {
		row, ok := procRow(pid, boot)
		if ok {
			resp.Processes = append(resp.Processes, &apiv1.ProcessRow{Fields: row})
		}
	}
	return resp, nil
}

const clockTicks = 100 // USER_HZ on every Linux architecture skiff runs on

func procRow(pid int, boot time.Time) ([]string, bool) {
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return nil, false
	}
	// The command name may hold spaces and parentheses: split after the
	// last ')'.
	s := string(stat)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return nil, false
	}
	f := strings.Fields(s[i+1:])
	if len(f) < 20 {
		return nil, false
	}
	ppid := f[1]
	utime, _ := strconv.ParseInt(f[11], 10, 64)
	stime, _ := strconv.ParseInt(f[12], 10, 64)
	start, _ := strconv.ParseInt(f[19], 10, 64)
	cpu := time.Duration(utime+stime) * time.Second / clockTicks
	started := boot.Add(time.Duration(start) * time.Second / clockTicks)

	uid := "?"
	if status, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid)); err == nil {
		for _, line := range strings.Split(string(status), "\n") {
			if v, ok := strings.CutPrefix(line, "Uid:"); ok {
				if fs := strings.Fields(v); len(fs) > 0 {
					uid = fs[0]
				}
			}
		}
	}
	cmd := s[strings.IndexByte(s, '(')+1 : i]
	if cl, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid)); err == nil && len(cl) > 0 {
		cmd = strings.TrimSpace(strings.ReplaceAll(string(cl), "\x00", " "))
	}
	stimeCol := started.Format("15:04")
	if time.Since(started) > 24*time.Hour {
		stimeCol = started.Format("Jan02")
	}
	h := int(cpu.Hours())
	cpuCol := fmt.Sprintf("%02d:%02d:%02d", h, int(cpu.Minutes())%60, int(cpu.Seconds())%60)
	return []string{uid, strconv.Itoa(pid), ppid, "0", stimeCol, "?", cpuCol, cmd}, true
}

func bootTime() time.Time {
	data, err := os.ReadFile("/proc/stat")
	if err != nil {
		return time.Now()
	}
	for _, line := range strings.Split(string(data), "\n") {
		if v, ok := strings.CutPrefix(line, "btime "); ok {
			if n, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64); err == nil {
				return time.Unix(n, 0)
			}
		}
	}
	return time.Now()
}
