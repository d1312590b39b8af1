package main

// macOS runs machines under QEMU until the vz driver lands.
import _ "github.com/skiffrun/skiff/platform/qemu"
