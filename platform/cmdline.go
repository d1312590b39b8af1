package platform

import (
	"net/url"
	"strconv"
	"time"
)

// GuestArgs are the skiff.* kernel command line arguments that tell the
// agent how the host built its machine: where its channel to the host is,
// which disk holds its data, what to mount, how its network looks, the
// time and its name. Drivers put their own arguments (console, panic,
// clock) first and spec.KernelArgs last. now is the host's time at boot.
//
// The keys are the contract with the guest:
//
//	skiff.agent=serial:<port name> | vsock:<port>
//	skiff.disk=<device>
//	skiff.share=<tag>,<virtiofs|9p|9p-vsock>,<ro|rw>,<url.PathEscape'd guest path>  (repeated)
//	skiff.net=static,<ip/prefix>,<gateway>,<dns> | none
//	skiff.time=<unix ns>
//	skiff.hostname=<name>
//	skiff.debug=1
func GuestArgs(s MachineSpec, now time.Time) []string {
	var args []string
	switch {
	case s.Agent.VsockPort != 0:
		args = append(args, "skiff.agent=vsock:"+strconv.FormatUint(uint64(s.Agent.VsockPort), 10))
	case s.Agent.SerialPort != "":
		args = append(args, "skiff.agent=serial:"+s.Agent.SerialPort)
	}
	if s.Disk.Path != "" && s.Disk.Device != "" {
		args = append(args, "skiff.disk="+s.Disk.Device)
	}
	for _, sh := range s.Shares {
		mode := "rw"
		if sh.ReadOnly {
			mode = "ro"
		}
		args = append(args, "skiff.share="+sh.Tag+","+string(sh.Type)+","+mode+","+url.PathEscape(sh.GuestPath))
	}
	switch s.Network.Mode {
	case NetworkNAT:
		args = append(args, "skiff.net=static,"+s.Network.Address+","+s.Network.Gateway+","+s.Network.DNS)
	case NetworkDHCP:
		args = append(args, "skiff.net=dhcp")
	default:
		args = append(args, "skiff.net=none")
	}
	args = append(args, "skiff.time="+strconv.FormatInt(now.UnixNano(), 10))
	host := s.Hostname
	if host == "" {
		host = s.Name
	}
	args = append(args, "skiff.hostname="+host)
	if s.Debug {
		args = append(args, "skiff.debug=1")
	}
	return args
}
