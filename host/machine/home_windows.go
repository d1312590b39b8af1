package machine

import (
	"os"
	"path/filepath"
)

// defaultHome is %LOCALAPPDATA%\skiff: machine state (data disks of many
// GiB) is per machine and must not roam with the user's profile.
func defaultHome() (string, error) {
	d, err := os.UserCacheDir() // %LOCALAPPDATA%
	if err != nil {
		return "", err
	}
	return filepath.Join(d, "skiff"), nil
}
