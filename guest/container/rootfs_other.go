//go:build !linux

package container

import (
	"errors"

	apiv1 "github.com/skiffrun/skiff/guest/api/v1"
)

// errLinuxOnly is returned where containers would need Linux: they only
// ever run in the agent, on Linux.
var errLinuxOnly = errors.New("containers run on Linux only")

func mountRootfs(layers []string, upper, work, target string, volatile bool) error {
	return errLinuxOnly
}
func unmountRootfs(target string) error                   { return errLinuxOnly }
func ensureDir(rootfs, dir string, uid, gid uint32) error { return errLinuxOnly }
func checkCommand(rootfs string, mounts []*apiv1.MountPoint, name, pathEnv string) error {
	return errLinuxOnly
}
