// Package publish is the host side of published ports for a machine in a
// VM: it listens on the host ports the agent asks for (over the agent's
// HostPorts stream) and carries each accepted TCP connection, or each UDP
// client's flow, into the machine on a stream of its own that starts
// with a forward header; the agent connects it to the container. Owning
// the session is host/machine's.
package publish

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"sync"
	"time"

	apiv1 "github.com/skiffrun/skiff/guest/api/v1"
	"github.com/skiffrun/skiff/guest/api/wire"
)

// udpIdle is how long a UDP flow lives without a datagram either way.
const udpIdle = 60 * time.Second

// Open opens a new stream into the machine.
type Open func() (net.Conn, error)

// Forwarder listens on published ports for one agent session. Its
// methods are safe for concurrent use.
type Forwarder struct {
	open Open

	mu   sync.Mutex
	byID map[string][]func()
}

// New returns a Forwarder that opens streams with open.
func New(open Open) *Forwarder {
	return &Forwarder{open: open, byID: map[string][]func(){}}
}

func hostAddr(b *apiv1.PortBinding) string {
	ip := b.HostIp
	if ip == "" {
		ip = "127.0.0.1"
	}
	return net.JoinHostPort(ip, strconv.Itoa(int(b.HostPort)))
}

func inUse(b *apiv1.PortBinding, err error) error {
	return fmt.Errorf("publish %s/%s: %w: free the port, or publish on another (-p OTHER:%d)", hostAddr(b), b.Protocol, err, b.ContainerPort)
}

// Check reports whether the fixed host ports of ports are free.
func (f *Forwarder) Check(ports []*apiv1.PortBinding) error {
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

// Publish listens on ports for container id, forwarding to target (the
// container's address in the machine). On error nothing stays bound.
func (f *Forwarder) Publish(id, target string, ports []*apiv1.PortBinding) (_ []*apiv1.PortBinding, retErr error) {
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
		to := net.JoinHostPort(target, strconv.Itoa(int(b.ContainerPort)))
		var port int
		var stop func()
		var err error
		if b.Protocol == "udp" {
			port, stop, err = f.listenUDP(hostAddr(b), to)
		} else {
			port, stop, err = f.listenTCP(hostAddr(b), to)
		}
		if err != nil {
			return nil, inUse(b, err)
		}
		closers = append(closers, stop)
		bound = append(bound, &apiv1.PortBinding{HostIp: b.HostIp, HostPort: uint32(port), ContainerPort: b.ContainerPort, Protocol: b.Protocol})
	}
	f.mu.Lock()
	old := f.byID[id]
	f.byID[id] = closers
	f.mu.Unlock()
	for _, c := range old {
		c()
	}
	return bound, nil
}

// Unpublish closes id's ports.
func (f *Forwarder) Unpublish(id string) {
	f.mu.Lock()
	closers := f.byID[id]
	delete(f.byID, id)
	f.mu.Unlock()
	for _, c := range closers {
		c()
	}
}

// Close closes every port.
func (f *Forwarder) Close() {
	f.mu.Lock()
	all := f.byID
	f.byID = map[string][]func(){}
	f.mu.Unlock()
	for _, cs := range all {
		for _, c := range cs {
			c()
		}
	}
}

// dial opens a stream to target in the machine, proto "tcp" or "udp".
func (f *Forwarder) dial(proto, target string) (net.Conn, error) {
	s, err := f.open()
	if err != nil {
		return nil, err
	}
	if err := wire.WriteForward(s, wire.Forward{Proto: proto, Target: target}); err != nil {
		s.Close()
		return nil, err
	}
	return s, nil
}

type tracked struct {
	mu     sync.Mutex
	set    map[io.Closer]struct{}
	closed bool
}

func (t *tracked) add(c io.Closer) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.closed {
		return false
	}
	t.set[c] = struct{}{}
	return true
}

func (t *tracked) remove(c io.Closer) {
	t.mu.Lock()
	delete(t.set, c)
	t.mu.Unlock()
}

func (t *tracked) closeAll() {
	t.mu.Lock()
	t.closed = true
	for c := range t.set {
		_ = c.Close()
	}
	t.mu.Unlock()
}

func (f *Forwarder) listenTCP(addr, to string) (int, func(), error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return 0, nil, err
	}
	conns := &tracked{set: map[io.Closer]struct{}{}}
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			if !conns.add(c) {
				c.Close()
				return
			}
			go func() {
				defer conns.remove(c)
				defer c.Close()
				s, err := f.dial("tcp", to)
				if err != nil {
					return
				}
				defer s.Close()
				pipe(c, s)
			}()
		}
	}()
	return ln.Addr().(*net.TCPAddr).Port, func() { _ = ln.Close(); <-done; conns.closeAll() }, nil
}

// pipe copies both ways until both are done, passing half-closes on: a
// TCP connection's CloseWrite, and a stream's Close (which a yamux
// stream treats as the end of its writes).
func pipe(c net.Conn, s net.Conn) {
	var wg sync.WaitGroup
	wg.Add(2)
	go func() {
		defer wg.Done()
		_, _ = io.Copy(s, c)
		_ = s.Close()
	}()
	go func() {
		defer wg.Done()
		_, _ = io.Copy(c, s)
		if tc, ok := c.(*net.TCPConn); ok {
			_ = tc.CloseWrite()
		}
	}()
	wg.Wait()
}

// listenUDP gives each client address a stream of framed datagrams into
// the machine, until it has been idle for udpIdle.
func (f *Forwarder) listenUDP(addr, to string) (int, func(), error) {
	pc, err := net.ListenPacket("udp", addr)
	if err != nil {
		return 0, nil, err
	}
	u := pc.(*net.UDPConn)
	var mu sync.Mutex
	flows := map[string]*udpFlow{}
	done := make(chan struct{})
	go func() {
		defer close(done)
		buf := make([]byte, wire.MaxDatagram)
		for {
			n, from, err := u.ReadFromUDP(buf)
			if err != nil {
				if errors.Is(err, net.ErrClosed) {
					return
				}
				continue
			}
			key := from.String()
			mu.Lock()
			fl := flows[key]
			if fl == nil {
				s, err := f.dial("udp", to)
				if err != nil {
					mu.Unlock()
					continue
				}
				fl = &udpFlow{s: s, last: time.Now()}
				flows[key] = fl
				go func() {
					defer func() {
						mu.Lock()
						delete(flows, key)
						mu.Unlock()
						s.Close()
					}()
					rb := make([]byte, wire.MaxDatagram)
					for {
						n, err := wire.ReadDatagram(s, rb)
						if err != nil {
							return
						}
						_, _ = u.WriteToUDP(rb[:n], from)
					}
				}()
				go fl.expire()
			}
			fl.touch()
			mu.Unlock()
			_ = wire.WriteDatagram(fl.s, buf[:n])
		}
	}()
	stop := func() {
		_ = u.Close()
		<-done
		mu.Lock()
		for _, fl := range flows {
			fl.s.Close()
		}
		mu.Unlock()
	}
	return u.LocalAddr().(*net.UDPAddr).Port, stop, nil
}

type udpFlow struct {
	s    net.Conn
	mu   sync.Mutex
	last time.Time
}

func (fl *udpFlow) touch() {
	fl.mu.Lock()
	fl.last = time.Now()
	fl.mu.Unlock()
}

// expire closes the flow's stream once the client has been quiet for
// udpIdle; the agent's side times out on the container's silence.
func (fl *udpFlow) expire() {
	for {
		fl.mu.Lock()
		wait := udpIdle - time.Since(fl.last)
		fl.mu.Unlock()
		if wait <= 0 {
			fl.s.Close()
			return
		}
		time.Sleep(wait)
	}
}

// Serve answers the agent's port requests on stream until it ends, then
// closes every port.
func (f *Forwarder) Serve(ctx context.Context, stream apiv1.HostPorts_ServeClient) error {
	defer f.Close()
	for {
		req, err := stream.Recv()
		if err != nil {
			if errors.Is(err, io.EOF) || ctx.Err() != nil {
				return nil
			}
			return err
		}
		reply := &apiv1.HostPortReply{Seq: req.Seq}
		switch req.Op {
		case "publish":
			bound, err := f.Publish(req.ContainerId, req.Target, req.Ports)
			if err != nil {
				reply.Error = err.Error()
			}
			reply.Ports = bound
		case "check":
			if err := f.Check(req.Ports); err != nil {
				reply.Error = err.Error()
			}
		case "unpublish":
			f.Unpublish(req.ContainerId)
			continue
		default:
			reply.Error = fmt.Sprintf("unknown port request %q", req.Op)
		}
		if err := stream.Send(reply); err != nil {
			return err
		}
	}
}
