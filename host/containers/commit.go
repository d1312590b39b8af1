package containers

import (
	"context"

	apiv1 "github.com/skiffrun/skiff/guest/api/v1"
	"github.com/skiffrun/skiff/host/agentclient"
)

// CommitOptions are commit's arguments and flags.
type CommitOptions struct {
	Container string
	// Reference is REPOSITORY[:TAG]; empty leaves the image untagged.
	Reference string
	Message   string
	Author    string
	Changes   []string
	Pause     bool
	// Config, when set, is merged over the container's config before the
	// changes, as the Docker API's commit body is.
	Config *apiv1.ImageConfig
}

// Commit makes an image of a container's changes and returns its ID.
func Commit(ctx context.Context, c *agentclient.Client, o CommitOptions) (string, error) {
	resp, err := c.Committer.Commit(ctx, &apiv1.CommitRequest{
		Container: o.Container,
		Reference: o.Reference,
		Comment:   o.Message,
		Author:    o.Author,
		Changes:   o.Changes,
		Pause:     o.Pause,
		Config:    o.Config,
	})
	if err != nil {
		return "", err
	}
	return resp.GetId(), nil
}
