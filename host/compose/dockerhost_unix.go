//go:build !windows

package compose

import (
	"context"
	"net"
	"path/filepath"
	"strings"
)

// DockerHost is the DOCKER_HOST of the machine whose directory is dir.
func DockerHost(dir, _ string) string {
	return "unix://" + filepath.Join(dir, SocketFile)
}

func probe(ctx context.Context, dockerHost string) error {
	var d net.Dialer
	c, err := d.DialContext(ctx, "unix", strings.TrimPrefix(dockerHost, "unix://"))
	if err != nil {
		return err
	}
	return c.Close()
}
