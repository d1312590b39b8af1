package hcs

import (
	"errors"
	"fmt"
	"io/fs"
	"log"
	"os"
	"syscall"

	"github.com/Microsoft/go-winio/vhd"

	"github.com/skiffrun/skiff/platform"
)

// vhdxBlockSize is the VHDX's allocation unit: small, so the sparse disk
// grows by little as the guest writes.
const vhdxBlockSize = 1 << 20

// ensureDisk creates the data disk as a dynamic VHDX of its size on first
// start. It is created under a temporary name and renamed, so that a
// failed start never leaves a half-made disk that the agent would take as
// blank.
func ensureDisk(d platform.Disk) error {
	st, err := os.Stat(d.Path)
	if err == nil {
		if st.Size() < d.SizeBytes/2 { // a dynamic VHDX's file is far smaller than its size
			log.Printf("skiff: data disk %s stays at the size it was created with: growing a VHDX is not done yet", d.Path)
		}
		return nil
	}
	if !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("hcs: data disk: %w", err)
	}
	tmp := d.Path[:len(d.Path)-len(".vhdx")] + ".new.vhdx"
	_ = os.Remove(tmp)
	params := vhd.CreateVirtualDiskParameters{
		Version:  2,
		Version2: vhd.CreateVersion2{MaximumSize: uint64(d.SizeBytes), BlockSizeInBytes: vhdxBlockSize},
	}
	h, err := vhd.CreateVirtualDisk(tmp, vhd.VirtualDiskAccessNone, vhd.CreateVirtualDiskFlagNone, &params)
	if err != nil {
		return fmt.Errorf("hcs: create data disk %s: %w", d.Path, err)
	}
	if err := syscall.CloseHandle(h); err != nil {
		return fmt.Errorf("hcs: create data disk %s: %w", d.Path, err)
	}
	if err := os.Rename(tmp, d.Path); err != nil {
		_ = os.Remove(tmp)
		return fmt.Errorf("hcs: create data disk %s: %w", d.Path, err)
	}
	return nil
}
