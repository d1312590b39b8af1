package machine

import (
	"context"
	"encoding/binary"
	"io"
	"log/slog"
	"os"
	"path/filepath"
)

// Linux input events: struct input_event on 64-bit systems is a 16-byte
// timeval, then type (u16), code (u16) and value (s32).
const (
	inputEventSize = 24
	evKey          = 1
	keyPower       = 116
)

// watchPowerButton calls stop when an input device (the ACPI power
// button, which QEMU's system_powerdown and Hyper-V's shutdown press)
// reports the power key. It gives up quietly where there is none.
func watchPowerButton(ctx context.Context, log *slog.Logger, stop func()) {
	devs, _ := filepath.Glob("/dev/input/event*")
	for _, d := range devs {
		f, err := os.Open(d)
		if err != nil {
			continue
		}
		context.AfterFunc(ctx, func() { f.Close() })
		go func() {
			defer f.Close()
			ev := make([]byte, inputEventSize)
			for {
				if _, err := io.ReadFull(f, ev); err != nil {
					return
				}
				typ, code := binary.NativeEndian.Uint16(ev[16:]), binary.NativeEndian.Uint16(ev[18:])
				value := int32(binary.NativeEndian.Uint32(ev[20:]))
				if typ == evKey && code == keyPower && value == 1 {
					log.Info("stopping: power button pressed")
					stop()
					return
				}
			}
		}()
	}
}
