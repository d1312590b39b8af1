package main

// Linux hosts run the agent directly, with no VM, or in a QEMU machine.
import (
	_ "github.com/skiffrun/skiff/platform/native"
	_ "github.com/skiffrun/skiff/platform/qemu"
)
