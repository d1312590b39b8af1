package machine

import (
	"context"
	"log"
	"net"

	"github.com/hashicorp/yamux"

	"github.com/skiffrun/skiff/host/agentclient"
	"github.com/skiffrun/skiff/host/publish"
)

// publishPorts listens on the host ports the agent publishes for its
// containers, for as long as the session lives; the agent sends every
// publication in force when the stream opens, so a new session after a
// reconnection gets them all again.
func (m *Machine) publishPorts(sess *yamux.Session) {
	open := func() (net.Conn, error) { return sess.OpenStream() }
	c, err := agentclient.New(m.spec.AgentSocket, func(context.Context) (net.Conn, error) { return open() })
	if err != nil {
		return
	}
	defer c.Close()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		<-sess.CloseChan()
		cancel()
	}()
	stream, err := c.HostPorts.Serve(ctx)
	if err != nil {
		if ctx.Err() == nil {
			log.Printf("skiff: machine %q: published ports: %v", m.spec.Name, err)
		}
		return
	}
	if err := publish.New(open).Serve(ctx, stream); err != nil && ctx.Err() == nil {
		log.Printf("skiff: machine %q: published ports: %v", m.spec.Name, err)
	}
}
