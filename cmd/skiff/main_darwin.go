package main

// macOS runs machines with Virtualization.framework (vz, the default), or
// under QEMU when asked (--driver qemu).
import (
	_ "github.com/skiffrun/skiff/platform/qemu"
	_ "github.com/skiffrun/skiff/platform/vz"
)
