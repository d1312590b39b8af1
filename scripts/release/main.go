// Command release packs skiff's release archives and writes the
// package-manager manifests that point at them (make dist runs it):
//
//	go run ./scripts/release archive -version V -epoch SECONDS -o dist build/dist/linux-amd64 ...
//	go run ./scripts/release manifests -version V -url BASE -o dist
//	go run ./scripts/release sums -o dist
//
// archive packs each staged folder, named OS-ARCH, as
// skiff-V-OS-ARCH.tar.gz (a .zip for windows) holding one folder of that
// name, and writes SHA256SUMS for every archive in the output folder.
// The archives depend only on the files' contents and executable bits:
// entries are sorted, every time is the epoch given (the last commit's,
// from make), owners are root, and gzip carries no name or time.
//
// manifests reads SHA256SUMS and writes a Homebrew formula (skiff.rb,
// for the darwin and linux archives it lists) and a Scoop manifest
// (skiff.json, for the windows ones), each archive's URL being BASE/NAME.
// It reads only SHA256SUMS, so archives made on several machines (the
// darwin ones are built on a Mac) can be joined: copy them into one
// folder, run sums (which lists every archive there again), then
// manifests.
package main

import (
	"flag"
	"fmt"
	"os"
	"time"
)

func main() {
	if len(os.Args) < 2 {
		usage()
	}
	var err error
	switch os.Args[1] {
	case "archive":
		err = archiveCmd(os.Args[2:])
	case "manifests":
		err = manifestsCmd(os.Args[2:])
	case "sums":
		err = sumsCmd(os.Args[2:])
	default:
		usage()
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "release:", err)
		os.Exit(1)
	}
}

func usage() {
	fmt.Fprintln(os.Stderr, "usage: release archive -version V -epoch SECONDS -o DIR STAGED...\n       release manifests -version V -url BASE -o DIR\n       release sums -o DIR")
	os.Exit(2)
}

func archiveCmd(args []string) error {
	fs := flag.NewFlagSet("archive", flag.ExitOnError)
	version := fs.String("version", "", "release version (git describe)")
	epoch := fs.Int64("epoch", 0, "time of every archive entry, in seconds since 1970 (the last commit's)")
	out := fs.String("o", "dist", "output folder")
	_ = fs.Parse(args)
	if *version == "" || fs.NArg() == 0 {
		usage()
	}
	if err := checkVersion(*version); err != nil {
		return err
	}
	if err := os.MkdirAll(*out, 0o755); err != nil {
		return err
	}
	mtime := time.Unix(*epoch, 0).UTC()
	for _, dir := range fs.Args() {
		name, err := writeArchive(*out, dir, *version, mtime)
		if err != nil {
			return err
		}
		fmt.Println(name)
	}
	return writeSums(*out)
}

func manifestsCmd(args []string) error {
	fs := flag.NewFlagSet("manifests", flag.ExitOnError)
	version := fs.String("version", "", "release version (git describe)")
	base := fs.String("url", "", "URL of the folder the archives are published in")
	out := fs.String("o", "dist", "folder holding SHA256SUMS; the manifests are written there")
	_ = fs.Parse(args)
	if *version == "" || *base == "" || fs.NArg() > 0 {
		usage()
	}
	return writeManifests(*out, *version, *base)
}

func sumsCmd(args []string) error {
	fs := flag.NewFlagSet("sums", flag.ExitOnError)
	out := fs.String("o", "dist", "folder holding the archives")
	_ = fs.Parse(args)
	if fs.NArg() > 0 {
		usage()
	}
	return writeSums(*out)
}
