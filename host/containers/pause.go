package containers

import (
	"context"

	apiv1 "github.com/skiffrun/skiff/guest/api/v1"
	"github.com/skiffrun/skiff/host/agentclient"
)

// Pause freezes containers, printing each one paused.
func Pause(ctx context.Context, c *agentclient.Client, s Streams, ids []string) error {
	return eachContainer(ids, s, func(id string) error {
		_, err := c.Freezer.Pause(ctx, &apiv1.ContainerRef{Id: id})
		return err
	})
}

// Unpause thaws containers, printing each one unpaused.
func Unpause(ctx context.Context, c *agentclient.Client, s Streams, ids []string) error {
	return eachContainer(ids, s, func(id string) error {
		_, err := c.Freezer.Unpause(ctx, &apiv1.ContainerRef{Id: id})
		return err
	})
}
