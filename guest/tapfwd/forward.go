package tapfwd

import (
	"bufio"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"sync"
	"time"
)

// MaxFrame is the longest frame the link carries either way: more than
// any MTU the stack or a TAP device uses. A longer length from the host
// means the stream is out of step, and ends the link.
const MaxFrame = 65535

// minFrame is the shortest frame: an Ethernet header.
const minFrame = 14

// ErrBadFrame is a frame length from the host that no Ethernet frame has.
var ErrBadFrame = errors.New("bad frame length")

// Device is a network device seen as a file of frames: each Read returns
// one frame and each Write sends one (a TAP device opened with
// IFF_NO_PI). A deadline stops a pending Read or Write, so that Forward
// can end without closing the device.
type Device interface {
	io.ReadWriter
	SetDeadline(t time.Time) error
}

// Forward copies frames between dev and conn until either fails or ctx
// ends, then closes conn and returns the first error: io.EOF when the
// host closed the link, ErrBadFrame when it sent a length no frame has,
// ctx's error when it ended. Both copying goroutines have ended when it
// returns; dev stays open, its deadline cleared, for the next conn.
func Forward(ctx context.Context, dev Device, conn net.Conn) error {
	var (
		once  sync.Once
		first error
		wg    sync.WaitGroup
	)
	stop := func(err error) {
		once.Do(func() {
			first = err
			_ = conn.Close()
			_ = dev.SetDeadline(time.Unix(1, 0))
		})
	}
	defer context.AfterFunc(ctx, func() { stop(ctx.Err()) })()
	wg.Go(func() { stop(toDevice(dev, conn)) })
	wg.Go(func() { stop(toHost(conn, dev)) })
	wg.Wait()
	_ = dev.SetDeadline(time.Time{})
	return first
}

// toDevice writes each frame the host sends to dev.
func toDevice(dev io.Writer, conn io.Reader) error {
	r := bufio.NewReaderSize(conn, 64<<10)
	buf := make([]byte, MaxFrame)
	for {
		n, err := ReadFrame(r, buf)
		if err != nil {
			return err
		}
		// A frame the device refuses (the interface is down, say) is
		// dropped, as a wire drops it. A closed device fails toHost's
		// read, which ends the link.
		_, _ = dev.Write(buf[:n])
	}
}

// toHost sends each frame dev reads to the host, with its length, in one
// write.
func toHost(conn io.Writer, dev io.Reader) error {
	buf := make([]byte, 4+MaxFrame)
	for {
		n, err := dev.Read(buf[4:])
		if err != nil {
			return fmt.Errorf("read a frame from the device: %w", err)
		}
		binary.BigEndian.PutUint32(buf, uint32(n))
		if _, err := conn.Write(buf[:4+n]); err != nil {
			return fmt.Errorf("send a frame to the host: %w", err)
		}
	}
}

// ReadFrame reads one frame into buf, which must hold MaxFrame bytes. A
// length outside an Ethernet header to MaxFrame is ErrBadFrame; a stream
// that ends within a frame is io.ErrUnexpectedEOF.
func ReadFrame(r io.Reader, buf []byte) (int, error) {
	var hdr [4]byte
	if _, err := io.ReadFull(r, hdr[:]); err != nil {
		return 0, err
	}
	n := binary.BigEndian.Uint32(hdr[:])
	if n < minFrame || n > MaxFrame || int(n) > len(buf) {
		return 0, fmt.Errorf("%w %d: want %d to %d bytes", ErrBadFrame, n, minFrame, MaxFrame)
	}
	if _, err := io.ReadFull(r, buf[:n]); err != nil {
		if errors.Is(err, io.EOF) {
			err = io.ErrUnexpectedEOF
		}
		return 0, err
	}
	return int(n), nil
}

// WriteFrame writes frame after its length, in one write.
func WriteFrame(w io.Writer, frame []byte) error {
	if len(frame) < minFrame || len(frame) > MaxFrame {
		return fmt.Errorf("%w %d: want %d to %d bytes", ErrBadFrame, len(frame), minFrame, MaxFrame)
	}
	b := binary.BigEndian.AppendUint32(make([]byte, 0, 4+len(frame)), uint32(len(frame)))
	_, err := w.Write(append(b, frame...))
	return err
}

// Run forwards dev's frames over the connections dial makes, dialling
// again whenever one ends, until ctx ends: the host's stack may restart,
// and the machine's network comes back with it. Dialling retries with a
// delay that grows to a second, and starts short again after a link that
// lasted a while.
func Run(ctx context.Context, dev Device, dial func(context.Context) (net.Conn, error), log *slog.Logger) {
	const minDelay, maxDelay = 20 * time.Millisecond, time.Second
	delay := minDelay
	for ctx.Err() == nil {
		conn, err := dial(ctx)
		if err == nil {
			began := time.Now()
			err = Forward(ctx, dev, conn)
			if ctx.Err() != nil {
				return
			}
			log.Warn("network link to the host ended", "err", err)
			if time.Since(began) > 10*maxDelay {
				delay = minDelay
			}
		} else {
			log.Debug("dial the host's network", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(delay):
		}
		delay = min(2*delay, maxDelay)
	}
}
