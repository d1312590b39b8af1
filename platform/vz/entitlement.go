package vz

import (
	"fmt"
	"strings"
)

// Entitlement is the code-signing entitlement without which
// Virtualization.framework refuses every VM.
const Entitlement = "com.apple.security.virtualization"

// vzErrorDomain and vzInvalidConfiguration are the NSError domain and
// code (VZErrorInvalidVirtualMachineConfiguration) of a configuration the
// framework rejects.
const (
	vzErrorDomain          = "VZErrorDomain"
	vzInvalidConfiguration = 2
)

// isEntitlementError reports whether an NSError from validating a
// configuration means the process lacks Entitlement. The framework has
// no code of its own for that: it says so in the error's description
// under the generic invalid-configuration code, so the text is the only
// way to tell.
func isEntitlementError(domain string, code int, text string) bool {
	return domain == vzErrorDomain && code == vzInvalidConfiguration && strings.Contains(text, Entitlement)
}

// entitlementError is what a user sees when the skiff binary at exe is
// not signed for virtualization: the two ways to sign it.
func entitlementError(exe string) error {
	return fmt.Errorf("%s is not signed with the %s entitlement, which Virtualization.framework requires: "+
		"in skiff's source tree run make sign-darwin, or run codesign --entitlements platform/vz/skiff.entitlements --force -s - %s", exe, Entitlement, exe)
}
