package machine

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"strings"

	"github.com/containerd/errdefs"

	"github.com/skiffrun/skiff/guest/api/atomicfile"
	"github.com/skiffrun/skiff/guest/api/errclass"
	"github.com/skiffrun/skiff/host/registry"
	"github.com/skiffrun/skiff/host/vmimage"
	"github.com/skiffrun/skiff/platform"
)

// vmImage is the guest image a VM boots: its kernel and initramfs.
type vmImage struct{ kernel, initrd string }

// BootImage is the guest image a VM machine boots (or last booted), as
// image.json in its directory records it.
type BootImage struct {
	// Ref is where it was pulled from, REPO@DIGEST; empty for a local
	// folder (SKIFF_VMIMAGE, or beside skiff).
	Ref    string `json:",omitempty"`
	Digest string `json:",omitempty"`
	// Dir is the folder of its kernel, initramfs and manifest.json.
	Dir string `json:",omitempty"`
	// KernelVersion is its manifest's.
	KernelVersion string `json:",omitempty"`
}

// String is the reference, or the folder of a local image.
func (b BootImage) String() string {
	if b.Ref != "" {
		return b.Ref
	}
	return b.Dir
}

// files are the kernel and initramfs in b.Dir.
func (b BootImage) files(arch string) vmImage {
	return vmImage{kernel: filepath.Join(b.Dir, vmimage.KernelFile(arch)), initrd: filepath.Join(b.Dir, initramfsName(b.Dir))}
}

// initramfsName is the initramfs file the image's manifest names.
func initramfsName(dir string) string {
	var m struct {
		Initramfs struct {
			File string `json:"file"`
		} `json:"initramfs"`
	}
	if b, err := os.ReadFile(filepath.Join(dir, vmimage.ManifestFile)); err == nil && json.Unmarshal(b, &m) == nil && m.Initramfs.File != "" && filepath.Base(m.Initramfs.File) == m.Initramfs.File {
		return m.Initramfs.File
	}
	return "initramfs.cpio"
}

// ImageRef is the guest image reference a VM machine boots when no local
// image wins and none is given: $SKIFF_VMIMAGE_REF, else the one this
// skiff pins (vmimage.DefaultRef); "" when neither.
func ImageRef() string {
	if r := os.Getenv("SKIFF_VMIMAGE_REF"); r != "" {
		return r
	}
	return vmimage.DefaultRef
}

// localVMImage is a guest image folder on this host: $SKIFF_VMIMAGE (the
// folder itself, or its ARCH subfolder), else vmimage/ARCH beside the
// skiff binary. searched lists where it looked.
func localVMImage(arch string) (img BootImage, searched []string, ok bool) {
	var dirs []string
	if d := os.Getenv("SKIFF_VMIMAGE"); d != "" {
		dirs = append(dirs, filepath.Join(d, arch), d)
	} else if exe, err := os.Executable(); err == nil {
		if resolved, err := filepath.EvalSymlinks(exe); err == nil {
			exe = resolved
		}
		dirs = append(dirs, filepath.Join(filepath.Dir(exe), "vmimage", arch))
	}
	for _, d := range dirs {
		if _, err := os.Stat(filepath.Join(d, vmimage.KernelFile(arch))); err == nil {
			if abs, err := filepath.Abs(d); err == nil {
				d = abs
			}
			b := BootImage{Dir: d}
			if data, err := os.ReadFile(filepath.Join(d, vmimage.ManifestFile)); err == nil {
				if m, err := vmimage.ParseManifest(data); err == nil {
					b.KernelVersion = m.KernelVersion
				}
			}
			return b, dirs, true
		}
	}
	return BootImage{}, dirs, false
}

// findVMImage locates a local guest image (localVMImage).
func findVMImage(arch string) (vmImage, error) {
	b, dirs, ok := localVMImage(arch)
	if !ok {
		return vmImage{}, errNoImage(arch, dirs)
	}
	return b.files(arch), nil
}

func errNoImage(arch string, searched []string) error {
	return errclass.Errorf(errdefs.ErrNotFound, "no guest image for %s at %s, and this skiff pins none to pull; build one with make vmimage (and make build), set SKIFF_VMIMAGE to its folder, or name a published one with SKIFF_VMIMAGE_REF=REF (or skiff machine start --image REF)", arch, strings.Join(searched, " or "))
}

// ImageOptions say which guest image a machine's next start boots and
// where pulling it shows its progress.
type ImageOptions struct {
	// Ref, when set, is pulled and booted in place of what the machine
	// would boot otherwise (skiff machine start --image).
	Ref string
	// Out shows a pull's progress, docker pull's way (on a terminal
	// when Terminal is set); nil is standard error, plain.
	Out      io.Writer
	Terminal bool
}

// imageCache is the guest images pulled under the skiff home.
func imageCache(home string) vmimage.Cache {
	return vmimage.Cache{Dir: filepath.Join(home, "vmimage")}
}

func (m *Machine) pullOptions(o ImageOptions) (vmimage.Options, error) {
	po := vmimage.Options{Arch: runtime.GOARCH, Out: o.Out, Terminal: o.Terminal}
	if po.Out == nil {
		po.Out, po.Terminal = os.Stderr, false
	}
	s, err := registry.LoadSettings(m.home)
	if err != nil {
		return po, err
	}
	po.Insecure = s.InsecureRegistries
	return po, nil
}

// PrepareImage finds the guest image the machine's next start boots, in
// this order: o.Ref; $SKIFF_VMIMAGE; vmimage/ARCH beside skiff; the image
// of ImageRef, from $SKIFF_HOME/vmimage, pulled (and verified) when it
// is not there. Start boots what it found. A machine that runs no VM
// needs none: the zero BootImage.
func (m *Machine) PrepareImage(ctx context.Context, o ImageOptions) (BootImage, error) {
	if !m.IsVM() {
		return BootImage{}, nil
	}
	arch := runtime.GOARCH
	ref := o.Ref
	if ref == "" {
		local, searched, ok := localVMImage(arch)
		if ok {
			m.image = &local
			return local, nil
		}
		if ref = ImageRef(); ref == "" {
			return BootImage{}, errNoImage(arch, searched)
		}
	}
	po, err := m.pullOptions(o)
	if err != nil {
		return BootImage{}, err
	}
	img, _, err := imageCache(m.home).Get(ctx, ref, po)
	if err != nil {
		return BootImage{}, err
	}
	b := BootImage{Ref: img.Ref, Digest: img.Digest, Dir: img.Dir, KernelVersion: img.Manifest.KernelVersion}
	m.image = &b
	return b, nil
}

// IsVM reports whether the machine's driver boots a VM, which boots a
// guest image.
func (m *Machine) IsVM() bool {
	d, err := platform.Lookup(m.spec.Driver)
	if err != nil {
		return false
	}
	_, detached := d.(platform.Detached)
	return !detached
}

func (m *Machine) imageRecord() string { return filepath.Join(m.spec.Dir, "image.json") }

// BootImage is the guest image the machine booted at its last start
// (it boots it now, when it runs); ok is false before its first.
func (m *Machine) BootImage() (b BootImage, ok bool) {
	data, err := os.ReadFile(m.imageRecord())
	if err != nil || json.Unmarshal(data, &b) != nil || b.Dir == "" {
		return BootImage{}, false
	}
	return b, true
}

// RecordImage records b as the image the machine boots (the command
// that starts it does, for its host daemon; an upgrade of a stopped
// machine does, for inspect).
func (m *Machine) RecordImage(b BootImage) error {
	data, err := json.MarshalIndent(b, "", "  ")
	if err != nil {
		return err
	}
	if err := os.MkdirAll(m.spec.Dir, 0o700); err != nil {
		return fmt.Errorf("create machine directory: %w", err)
	}
	if err := atomicfile.WriteFile(m.imageRecord(), append(data, '\n')); err != nil {
		return fmt.Errorf("record the machine's guest image: %w", err)
	}
	return nil
}

// bootFiles are the kernel and initramfs the VM boots: what PrepareImage
// found, in the command that starts the machine; what that command
// recorded, in the host daemon it starts.
func (m *Machine) bootFiles(arch string) (vmImage, error) {
	if m.image != nil {
		return m.image.files(arch), nil
	}
	if b, ok := m.BootImage(); ok {
		if _, err := os.Stat(b.Dir); err == nil {
			return b.files(arch), nil
		} else if !errors.Is(err, fs.ErrNotExist) {
			return vmImage{}, err
		}
	}
	return findVMImage(arch)
}

// nextImage is what the machine's next start boots as far as is known
// without a registry: a local image, a cached pull of ImageRef, else
// ImageRef itself (with no folder); ok is false when there is none.
func (m *Machine) nextImage() (BootImage, bool) {
	arch := runtime.GOARCH
	if local, _, ok := localVMImage(arch); ok {
		return local, true
	}
	ref := ImageRef()
	if ref == "" {
		return BootImage{}, false
	}
	if img, ok := imageCache(m.home).Lookup(ref, vmimage.Options{Arch: arch}); ok {
		return BootImage{Ref: img.Ref, Digest: img.Digest, Dir: img.Dir, KernelVersion: img.Manifest.KernelVersion}, true
	}
	return BootImage{Ref: ref}, true
}

// imageInfo is what Info shows of the machine's guest image.
func (m *Machine) imageInfo() (*BootImage, string) {
	next, known := m.nextImage()
	cur, ok := m.BootImage()
	if !ok {
		if !known {
			return nil, ""
		}
		return &next, ""
	}
	if known && !cur.Same(next) {
		return &cur, next.String()
	}
	return &cur, ""
}

// Same reports whether b and o are the same image: the same digest, or
// the same local folder.
func (b BootImage) Same(o BootImage) bool {
	if b.Digest != "" || o.Digest != "" {
		return b.Digest == o.Digest
	}
	return b.Dir == o.Dir
}
