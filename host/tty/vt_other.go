//go:build !windows

package tty

// vtOutput has nothing to do where terminals always interpret escape
// sequences.
func vtOutput() (undo func()) { return func() {} }
