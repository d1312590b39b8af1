package dockerapi

import (
	"fmt"
	"net"

	"github.com/Microsoft/go-winio"
	"golang.org/x/sys/windows"
)

func listen(_, machine string) (net.Listener, error) {
	u, err := windows.GetCurrentProcessToken().GetTokenUser()
	if err != nil {
		return nil, fmt.Errorf("who runs skiff: %w", err)
	}
	// Only the user who runs skiff (and SYSTEM) may open the pipe.
	sddl := "D:P(A;;GA;;;" + u.User.Sid.String() + ")(A;;GA;;;SY)"
	return winio.ListenPipe(pipeName(machine), &winio.PipeConfig{SecurityDescriptor: sddl})
}

func pipeName(machine string) string { return `\\.\pipe\skiff-` + machine }

// Address is the DOCKER_HOST value of the machine's named pipe.
func Address(_, machine string) string { return "npipe:////./pipe/skiff-" + machine }
