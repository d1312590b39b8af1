// Command vmimagepush pushes the guest images make vmimage built as one
// multi-architecture OCI artifact (host/vmimage describes it) and prints
// the index's digest, the value a release pins in skiff:
//
//	go run ./scripts/vmimagepush -ref REGISTRY/REPO:TAG build/vmimage/amd64 build/vmimage/arm64
//
// Credentials come from docker's config.json (skiff login writes it);
// loopback registries are reached over plain HTTP, others listed with
// -insecure too.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"strings"

	"github.com/skiffrun/skiff/host/vmimage"
)

func main() {
	ref := flag.String("ref", "", "where to push: REGISTRY/REPO:TAG")
	insecure := flag.String("insecure", "", "comma-separated registries (host:port) reached over plain HTTP")
	quiet := flag.Bool("q", false, "print only the digest")
	flag.Usage = func() {
		fmt.Fprintln(os.Stderr, "usage: vmimagepush -ref REGISTRY/REPO:TAG DIR...  (each DIR a build/vmimage/<arch> folder)")
		flag.PrintDefaults()
	}
	flag.Parse()
	if *ref == "" || flag.NArg() == 0 {
		flag.Usage()
		os.Exit(2)
	}
	ctx, cancel := signal.NotifyContext(context.Background(), os.Interrupt)
	o := vmimage.Options{}
	if *insecure != "" {
		o.Insecure = strings.Split(*insecure, ",")
	}
	if !*quiet {
		o.Out = os.Stderr
	}
	digest, err := vmimage.Push(ctx, *ref, flag.Args(), o)
	cancel()
	if err != nil {
		fmt.Fprintln(os.Stderr, "vmimagepush:", err)
		os.Exit(1)
	}
	if !*quiet {
		repo := *ref
		if i := strings.LastIndex(repo, ":"); i > strings.LastIndex(repo, "/") {
			repo = repo[:i]
		}
		fmt.Fprintf(os.Stderr, "%s: digest: %s\npin it: -ldflags \"-X github.com/skiffrun/skiff/host/vmimage.DefaultRef=%s@%s\"\n", *ref, digest, repo, digest)
	}
	fmt.Println(digest)
}
