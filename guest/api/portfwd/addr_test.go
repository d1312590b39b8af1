package portfwd

import (
	"errors"
	"net"
	"os"
	"strings"
	"syscall"
	"testing"

	"github.com/containerd/errdefs"

	apiv1 "github.com/skiffrun/skiff/guest/api/v1"
)

func TestInUseWords(t *testing.T) {
	denied := &net.OpError{Op: "listen", Net: "tcp", Err: os.NewSyscallError("bind", syscall.EACCES)}
	taken := &net.OpError{Op: "listen", Net: "tcp", Err: os.NewSyscallError("bind", syscall.EADDRINUSE)}
	tests := []struct {
		name string
		b    *apiv1.PortBinding
		err  error
		want string
	}{
		{"privileged port as a user", &apiv1.PortBinding{HostPort: 80, ContainerPort: 80, Protocol: "tcp"}, denied,
			"ports below 1024 need root here; publish on 1024 or above (-p 8080:80)"},
		{"taken", &apiv1.PortBinding{HostPort: 8080, ContainerPort: 80, Protocol: "tcp"}, taken,
			"free the port, or publish on another (-p OTHER:80)"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := inUse(tc.b, tc.err)
			if !strings.Contains(err.Error(), tc.want) || !errdefs.IsConflict(err) || !errors.Is(err, tc.err) {
				t.Errorf("inUse: %v", err)
			}
		})
	}
}
