//go:build !linux && !windows

package fswatch

// limitName is the host setting a user raises for more watches: kqueue
// (macOS) takes a descriptor per watched file and folder.
const limitName = "the open files limit (ulimit -n)"
