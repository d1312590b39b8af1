// Command vmimage builds the machine's boot files for each architecture
// into build/vmimage/<arch>/: skiff's own kernel, built from Debian's
// kernel source package with the configuration in vmimage/kernel (every
// driver the machine and its containers use built in, no modules), in the
// form the VM boots without decompressing it; an initramfs whose /init is
// skiff-agent (wire.AgentPath); and manifest.json, which the host checks before booting.
// Debian packages come from apt-get download; nothing is installed on the
// build machine. Built kernels are kept by the hash of their inputs. The
// same inputs give the same bytes.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
)

func main() {
	var o options
	flag.StringVar(&o.arches, "arch", "amd64,arm64", "comma-separated architectures to build")
	flag.StringVar(&o.agentDir, "agent-dir", "bin", "directory holding skiff-agent-linux-<arch> (make agent)")
	flag.StringVar(&o.imageDir, "image-dir", "build/images", "directory holding busybox-<arch>.tar (make images)")
	flag.StringVar(&o.out, "out", "build/vmimage", "output directory; <arch>/ is created in it")
	flag.StringVar(&o.cache, "cache", "build/vmimage/debs", "where downloaded .deb files are kept")
	flag.StringVar(&o.kernel, "kernel-dir", "build/kernel", "where kernels are built and kept")
	flag.BoolVar(&o.kernelOnly, "kernel-only", false, "only build (or find) the kernels")
	flag.BoolVar(&o.kernelRepro, "kernel-repro", false, "build each kernel once more in a fresh directory and check the two are byte-identical")
	flag.Parse()
	ctx, cancel := signal.NotifyContext(context.Background(), os.Interrupt)
	err := run(ctx, o)
	cancel()
	if err != nil {
		fmt.Fprintln(os.Stderr, "vmimage:", err)
		os.Exit(1)
	}
}

type options struct {
	arches, agentDir, imageDir, out, cache, kernel string
	kernelOnly, kernelRepro                        bool
}

func run(ctx context.Context, o options) error {
	for _, arch := range strings.Split(o.arches, ",") {
		if _, ok := arches[arch]; !ok {
			return fmt.Errorf("unknown architecture %q (have amd64, arm64)", arch)
		}
		if o.kernelRepro {
			if err := checkReproducible(ctx, arch, kernelPaths{debs: o.cache, dir: o.kernel}); err != nil {
				return fmt.Errorf("%s: %w", arch, err)
			}
			continue
		}
		if o.kernelOnly {
			k, err := buildKernel(ctx, arch, kernelPaths{debs: o.cache, dir: o.kernel})
			if err != nil {
				return fmt.Errorf("%s: %w", arch, err)
			}
			fmt.Printf("%s: kernel %s from %s, %d bytes\n", arch, k.release, k.source, len(k.image))
			continue
		}
		m, err := build(ctx, arch, buildPaths{
			agent:  filepath.Join(o.agentDir, "skiff-agent-linux-"+arch),
			image:  filepath.Join(o.imageDir, "busybox-"+arch+".tar"),
			out:    filepath.Join(o.out, arch),
			cache:  o.cache,
			kernel: o.kernel,
		})
		if err != nil {
			return fmt.Errorf("%s: %w", arch, err)
		}
		fmt.Printf("%s: kernel %s (%s, %d bytes), initramfs %d bytes\n",
			filepath.Join(o.out, arch), m.KernelVersion, m.Kernel.File, m.Kernel.Size, m.Initramfs.Size)
	}
	return nil
}
