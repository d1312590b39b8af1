package ocispec

import (
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/containerd/errdefs"
)

// DefaultCapabilities is Docker's default capability set.
var DefaultCapabilities = []string{
	"CAP_CHOWN",
	"CAP_DAC_OVERRIDE",
	"CAP_FSETID",
	"CAP_FOWNER",
	"CAP_MKNOD",
	"CAP_NET_RAW",
	"CAP_SETGID",
	"CAP_SETUID",
	"CAP_SETFCAP",
	"CAP_SETPCAP",
	"CAP_NET_BIND_SERVICE",
	"CAP_SYS_CHROOT",
	"CAP_KILL",
	"CAP_AUDIT_WRITE",
}

// allCapabilities lists the capabilities a container may be given, in
// kernel order, up to CAP_CHECKPOINT_RESTORE (Linux 5.9).
var allCapabilities = []string{
	"CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_DAC_READ_SEARCH", "CAP_FOWNER",
	"CAP_FSETID", "CAP_KILL", "CAP_SETGID", "CAP_SETUID", "CAP_SETPCAP",
	"CAP_LINUX_IMMUTABLE", "CAP_NET_BIND_SERVICE", "CAP_NET_BROADCAST",
	"CAP_NET_ADMIN", "CAP_NET_RAW", "CAP_IPC_LOCK", "CAP_IPC_OWNER",
	"CAP_SYS_MODULE", "CAP_SYS_RAWIO", "CAP_SYS_CHROOT", "CAP_SYS_PTRACE",
	"CAP_SYS_PACCT", "CAP_SYS_ADMIN", "CAP_SYS_BOOT", "CAP_SYS_NICE",
	"CAP_SYS_RESOURCE", "CAP_SYS_TIME", "CAP_SYS_TTY_CONFIG", "CAP_MKNOD",
	"CAP_LEASE", "CAP_AUDIT_WRITE", "CAP_AUDIT_CONTROL", "CAP_SETFCAP",
	"CAP_MAC_OVERRIDE", "CAP_MAC_ADMIN", "CAP_SYSLOG", "CAP_WAKE_ALARM",
	"CAP_BLOCK_SUSPEND", "CAP_AUDIT_READ", "CAP_PERFMON", "CAP_BPF",
	"CAP_CHECKPOINT_RESTORE",
}

// normalizeCap turns "net_admin", "NET_ADMIN" or "CAP_NET_ADMIN" into
// "CAP_NET_ADMIN"; "ALL" stays "ALL".
func normalizeCap(c string) (string, error) {
	c = strings.ToUpper(strings.TrimSpace(c))
	if c == "ALL" {
		return c, nil
	}
	if !strings.HasPrefix(c, "CAP_") {
		c = "CAP_" + c
	}
	if !slices.Contains(allCapabilities, c) {
		return "", fmt.Errorf("unknown capability %q: use a name from capabilities(7) such as NET_ADMIN, or ALL: %w", c, errdefs.ErrInvalidArgument)
	}
	return c, nil
}

// Capabilities applies --cap-add and --cap-drop to a base set the way
// Docker does: drops win over the base, adds win over drops, and ALL in
// either list means every capability.
func Capabilities(base, add, drop []string) ([]string, error) {
	set := map[string]bool{}
	for _, c := range base {
		set[c] = true
	}
	var adds, drops []string
	for _, c := range add {
		n, err := normalizeCap(c)
		if err != nil {
			return nil, err
		}
		adds = append(adds, n)
	}
	for _, c := range drop {
		n, err := normalizeCap(c)
		if err != nil {
			return nil, err
		}
		drops = append(drops, n)
	}
	if slices.Contains(drops, "ALL") {
		set = map[string]bool{}
	} else {
		for _, c := range drops {
			delete(set, c)
		}
	}
	if slices.Contains(adds, "ALL") {
		for _, c := range boundingSet() {
			set[c] = true
		}
	} else {
		for _, c := range adds {
			set[c] = true
		}
	}
	out := make([]string, 0, len(set))
	for c := range set {
		out = append(out, c)
	}
	sort.Strings(out)
	return out, nil
}

// AllCapabilities returns every capability a privileged process gets:
// all that the agent itself may grant.
func AllCapabilities() []string { return boundingSet() }
