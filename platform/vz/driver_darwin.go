package vz

import "github.com/skiffrun/skiff/platform"

func init() { platform.Register(Name, Driver{}) }

// Driver boots machines with Virtualization.framework, in the process
// that calls Start (host/machine's daemon), which must outlive them.
type Driver struct{}

var _ platform.Checker = Driver{}
