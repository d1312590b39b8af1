// Package emulation lets the machine run images of other architectures:
// it registers user-mode emulators (Debian's qemu-user-static
// interpreters, or Rosetta for Linux on Apple silicon) with the kernel's
// binfmt_misc, with the F flag, so the kernel opens each interpreter
// once, at registration, and a container needs nothing of it inside its
// root file system. It reports which architectures run and how, and says
// which package a missing one needs. What an image's architecture is,
// and choosing one, are left to guest/image and guest/container.
package emulation
