//go:build !linux && !darwin && !windows

package machine

const defaultDriver = "qemu"
