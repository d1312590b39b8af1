package compose

import (
	"context"
	"strings"

	"github.com/Microsoft/go-winio"
)

// DockerHost is the DOCKER_HOST of the machine named name: a named pipe
// of its own.
func DockerHost(_, name string) string {
	return "npipe:////./pipe/skiff-" + name
}

func probe(ctx context.Context, dockerHost string) error {
	pipe := strings.ReplaceAll(strings.TrimPrefix(dockerHost, "npipe://"), "/", `\`)
	c, err := winio.DialPipeContext(ctx, pipe)
	if err != nil {
		return err
	}
	return c.Close()
}
