//go:build !windows

package machine

import (
	"os"
	"path/filepath"
)

func defaultHome() (string, error) {
	h, err := os.UserHomeDir()
	if err != nil {
		return "", err
	}
	return filepath.Join(h, ".skiff"), nil
}
