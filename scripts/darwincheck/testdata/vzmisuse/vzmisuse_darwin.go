// Package vzmisuse is a fixture: a darwin-only file that calls
// Code-Hex/vz (cgo and Objective-C underneath) the wrong way.
package vzmisuse

import "github.com/Code-Hex/vz/v3"

// Halt gets the framework's forced stop wrong: it takes no arguments and
// returns only an error.
func Halt(vm *vz.VirtualMachine) (bool, error) { return vm.Stop(true) }
