//go:build !linux

package network

import (
	"errors"
	"net/netip"
)

// errNoNetworking is what networking does where there is no Linux kernel.
var errNoNetworking = errors.New("container networking needs Linux")

func newNetns(string) error                               { return errNoNetworking }
func removeNetns(string) error                            { return nil }
func ensureBridge(string, netip.Addr, netip.Prefix) error { return errNoNetworking }
func deleteLink(string) error                             { return nil }
func addVeth(string, vethSpec) error                      { return errNoNetworking }
func applyNAT(string, []natNet) error                     { return errNoNetworking }
func enableForwarding() error                             { return errNoNetworking }
