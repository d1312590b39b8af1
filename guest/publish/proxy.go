package publish

import (
	"errors"
	"io"
	"net"
	"sync"
	"syscall"
	"time"

	"github.com/skiffrun/skiff/guest/api/wire"
)

// udpIdle is how long a UDP flow lives without a datagram either way.
const udpIdle = 60 * time.Second

// closeWriter is a connection that can end one direction (TCP, and
// yamux streams through their CloseWrite).
type closeWriter interface{ CloseWrite() error }

// ProxyTCP copies between client and a new connection to target until
// both sides are done, passing each half-close on. Between two
// *net.TCPConn io.Copy splices in the kernel.
func ProxyTCP(client net.Conn, target string) error {
	defer client.Close()
	backend, err := net.DialTimeout("tcp", target, 10*time.Second)
	if err != nil {
		return err
	}
	defer backend.Close()
	pipe(client, backend)
	return nil
}

func pipe(a, b net.Conn) {
	var wg sync.WaitGroup
	wg.Add(2)
	half := func(dst, src net.Conn) {
		defer wg.Done()
		_, _ = io.Copy(dst, src)
		if cw, ok := dst.(closeWriter); ok {
			_ = cw.CloseWrite()
		} else {
			_ = dst.Close()
		}
	}
	go half(a, b)
	go half(b, a)
	wg.Wait()
}

// ProxyUDP carries one UDP flow framed on a stream (wire.WriteDatagram),
// both ways. It ends when the stream ends or the flow is idle for a
// minute.
func ProxyUDP(stream net.Conn, target string) error {
	defer stream.Close()
	conn, err := net.Dial("udp", target)
	if err != nil {
		return err
	}
	defer conn.Close()
	done := make(chan struct{})
	go func() {
		defer close(done)
		buf := make([]byte, wire.MaxDatagram)
		for {
			_ = conn.SetReadDeadline(time.Now().Add(udpIdle))
			n, err := conn.Read(buf)
			if refused(err) {
				continue
			}
			if err != nil {
				// Idle, or the socket failed: end the flow, so that the
				// host's side lets go of it too.
				_ = stream.Close()
				return
			}
			if wire.WriteDatagram(stream, buf[:n]) != nil {
				return
			}
		}
	}()
	buf := make([]byte, wire.MaxDatagram)
	for {
		n, err := wire.ReadDatagram(stream, buf)
		if err != nil {
			break
		}
		if _, err := conn.Write(buf[:n]); err != nil && !refused(err) {
			break
		}
	}
	conn.Close()
	<-done
	return nil
}

// refused reports an ICMP port unreachable for an earlier datagram
// (nothing listened yet): the flow goes on, as it would without a proxy.
func refused(err error) bool { return errors.Is(err, syscall.ECONNREFUSED) }
