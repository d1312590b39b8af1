//go:build !linux

package container

func copyUp(rootfs, dst, dir string) error { return errLinuxOnly }
