//go:build !linux && !darwin && !windows

package machine

func defaultDriver(string) string { return "qemu" }
