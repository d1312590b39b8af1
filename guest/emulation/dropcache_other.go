//go:build !linux

package emulation

import "os"

func dropCache(*os.File) {}
