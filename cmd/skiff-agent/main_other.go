//go:build !linux

package main

import (
	"fmt"
	"os"
)

func main() {
	fmt.Fprintln(os.Stderr, "skiff-agent: runs on Linux only; on this system skiff starts it inside its machine")
	os.Exit(1)
}
