//go:build !linux

package tapfwd

import (
	"errors"
	"fmt"
	"os"
)

func openTAP(name string) (*os.File, error) {
	return nil, fmt.Errorf("make TAP device %s: TAP devices are Linux's: %w", name, errors.ErrUnsupported)
}
