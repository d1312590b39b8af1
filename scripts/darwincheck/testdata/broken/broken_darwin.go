// Package broken is a fixture: its darwin-only file has a type error that
// only a check for darwin can see.
package broken

// Size is meant to be a number.
var Size int = "not a number"
