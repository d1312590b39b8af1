//go:build !linux

package main

import (
	"fmt"
	"os"
)

func main() {
	fmt.Fprintln(os.Stderr, "tinyinit: runs only as a Linux machine's init")
	os.Exit(1)
}
