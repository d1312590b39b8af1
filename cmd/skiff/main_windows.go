package main

// Windows runs machines as Hyper-V utility VMs through the Host Compute
// Service.
import _ "github.com/skiffrun/skiff/platform/hcs"
