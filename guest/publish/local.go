package publish

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"strconv"
	"sync"
	"time"

	"github.com/containerd/errdefs"

	apiv1 "github.com/skiffrun/skiff/guest/api/v1"
)

// Local publishes ports by listening on them in the agent's own network
// namespace: the host's, with the native driver.
type Local struct {
	Log *slog.Logger

	mu   sync.Mutex
	byID map[string][]func()
}

// NewLocal returns a Local publisher.
func NewLocal(log *slog.Logger) *Local {
	return &Local{Log: log, byID: map[string][]func(){}}
}

// hostAddr is the address a binding listens on.
func hostAddr(b *apiv1.PortBinding) string {
	ip := b.HostIp
	if ip == "" {
		ip = "127.0.0.1"
	}
	return net.JoinHostPort(ip, strconv.Itoa(int(b.HostPort)))
}

// inUse explains a port that cannot be bound.
func inUse(b *apiv1.PortBinding, err error) error {
	return fmt.Errorf("publish %s/%s: %w: free the port, or publish on another (-p OTHER:%d): %w",
		hostAddr(b), b.Protocol, err, b.ContainerPort, errdefs.ErrConflict)
}

// CheckPorts reports whether the fixed host ports of ports can be bound
// now, so that create can refuse a port another program holds.
func (l *Local) CheckPorts(ports []*apiv1.PortBinding) error {
	for _, b := range ports {
		if b.HostPort == 0 {
			continue
		}
		var err error
		if b.Protocol == "udp" {
			var c net.PacketConn
			if c, err = net.ListenPacket("udp", hostAddr(b)); err == nil {
				_ = c.Close()
			}
		} else {
			var ln net.Listener
			if ln, err = net.Listen("tcp", hostAddr(b)); err == nil {
				ln.Close()
			}
		}
		if err != nil {
			return inUse(b, err)
		}
	}
	return nil
}

// Publish listens on each port and proxies to target. TCP connections to
// it are made from inside the container's network namespace (netns),
// where the container's own address is local: the bytes then cross that
// namespace's loopback, not the veth, the bridge and their netfilter
// hooks. The container still sees a connection to its address.
func (l *Local) Publish(_ context.Context, id string, target netip.Addr, netns string, ports []*apiv1.PortBinding) (_ []*apiv1.PortBinding, retErr error) {
	var closers []func()
	defer func() {
		if retErr != nil {
			for _, c := range closers {
				c()
			}
		}
	}()
	var bound []*apiv1.PortBinding
	for _, b := range ports {
		to := net.JoinHostPort(target.String(), strconv.Itoa(int(b.ContainerPort)))
		var port int
		var stop func()
		var err error
		if b.Protocol == "udp" {
			port, stop, err = l.listenUDP(hostAddr(b), to)
		} else {
			port, stop, err = l.listenTCP(hostAddr(b), to, netns)
		}
		if err != nil {
			return nil, inUse(b, err)
		}
		closers = append(closers, stop)
		bound = append(bound, &apiv1.PortBinding{HostIp: b.HostIp, HostPort: uint32(port), ContainerPort: b.ContainerPort, Protocol: b.Protocol})
	}
	l.mu.Lock()
	l.byID[id] = append(l.byID[id], closers...)
	l.mu.Unlock()
	return bound, nil
}

// Unpublish closes id's listeners and their connections.
func (l *Local) Unpublish(id string) {
	l.mu.Lock()
	closers := l.byID[id]
	delete(l.byID, id)
	l.mu.Unlock()
	for _, c := range closers {
		c()
	}
}

// conns tracks a listener's live connections, to close them with it.
type conns struct {
	mu     sync.Mutex
	set    map[net.Conn]struct{}
	closed bool
}

func (cs *conns) add(c net.Conn) bool {
	cs.mu.Lock()
	defer cs.mu.Unlock()
	if cs.closed {
		return false
	}
	cs.set[c] = struct{}{}
	return true
}

func (cs *conns) remove(c net.Conn) {
	cs.mu.Lock()
	delete(cs.set, c)
	cs.mu.Unlock()
}

func (cs *conns) closeAll() {
	cs.mu.Lock()
	cs.closed = true
	for c := range cs.set {
		_ = c.Close()
	}
	cs.mu.Unlock()
}

func (l *Local) listenTCP(addr, to, netns string) (int, func(), error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return 0, nil, err
	}
	cs := &conns{set: map[net.Conn]struct{}{}}
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			if !cs.add(c) {
				c.Close()
				return
			}
			go func() {
				defer cs.remove(c)
				if err := proxyTCPIn(c, to, netns); err != nil && l.Log != nil {
					l.Log.Debug("published port", "to", to, "err", err)
				}
			}()
		}
	}()
	stop := func() {
		_ = ln.Close()
		<-done
		cs.closeAll()
	}
	return ln.Addr().(*net.TCPAddr).Port, stop, nil
}

// listenUDP relays datagrams between clients and to: each client address
// gets its own socket towards the container, so replies find their way
// back, until it has been idle for udpIdle.
func (l *Local) listenUDP(addr, to string) (int, func(), error) {
	pc, err := net.ListenPacket("udp", addr)
	if err != nil {
		return 0, nil, err
	}
	u := pc.(*net.UDPConn)
	var mu sync.Mutex
	flows := map[netip.AddrPort]*net.UDPConn{}
	done := make(chan struct{})
	go func() {
		defer close(done)
		buf := make([]byte, 65535)
		for {
			n, from, err := u.ReadFromUDPAddrPort(buf)
			if err != nil {
				if errors.Is(err, net.ErrClosed) {
					return
				}
				continue
			}
			mu.Lock()
			f, ok := flows[from]
			if !ok {
				c, err := net.Dial("udp", to)
				if err != nil {
					mu.Unlock()
					continue
				}
				f = c.(*net.UDPConn)
				flows[from] = f
				go func() {
					defer func() {
						mu.Lock()
						delete(flows, from)
						mu.Unlock()
						_ = f.Close()
					}()
					rb := make([]byte, 65535)
					for {
						_ = f.SetReadDeadline(time.Now().Add(udpIdle))
						n, err := f.Read(rb)
						if refused(err) {
							continue
						}
						if err != nil {
							return
						}
						_, _ = u.WriteToUDPAddrPort(rb[:n], from)
					}
				}()
			}
			mu.Unlock()
			_ = f.SetReadDeadline(time.Now().Add(udpIdle))
			_, _ = f.Write(buf[:n])
		}
	}()
	stop := func() {
		_ = u.Close()
		<-done
		mu.Lock()
		for _, f := range flows {
			_ = f.Close()
		}
		mu.Unlock()
	}
	return u.LocalAddr().(*net.UDPAddr).Port, stop, nil
}
