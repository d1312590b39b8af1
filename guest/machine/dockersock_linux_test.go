package machine

import (
	"context"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/skiffrun/skiff/guest/api/wire"
	"github.com/skiffrun/skiff/guest/hostlink"
)

// unixOpener opens streams to the host as unix connections to l, so
// that half-closes pass as they do on the session.
type unixOpener struct{ path string }

func (u unixOpener) Open() (net.Conn, error) { return net.Dial("unix", u.path) }

// The docker socket carries a client's bytes to the host's Docker API
// service and back, the client's half-close included: the host answers
// only after reading to the end, as an attach does when stdin ends.
func TestDockerSocketCarriesHalfClose(t *testing.T) {
	dir := t.TempDir()
	hostPath := filepath.Join(dir, "host.sock")
	hl, err := net.Listen("unix", hostPath)
	if err != nil {
		t.Fatal(err)
	}
	defer hl.Close()
	services := make(chan string, 1)
	go func() {
		c, err := hl.Accept()
		if err != nil {
			return
		}
		defer c.Close()
		name, err := wire.ReadService(c)
		if err != nil {
			name = "error: " + err.Error()
		}
		services <- name
		got, _ := io.ReadAll(c)
		_, _ = c.Write(append([]byte("got "), got...))
	}()
	link := hostlink.New()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	link.Up(ctx, unixOpener{hostPath})

	sockPath := filepath.Join(dir, "run", "docker.sock")
	d, err := listenDockerSocket(sockPath, link, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	go d.serve()
	if st, err := os.Stat(sockPath); err != nil || st.Mode().Perm() != 0o660 {
		t.Errorf("docker socket: %v, %v; want mode 0660", st, err)
	}
	c, err := net.Dial("unix", sockPath)
	if err != nil {
		t.Fatal(err)
	}
	_ = c.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := c.Write([]byte("ping")); err != nil {
		t.Fatal(err)
	}
	_ = c.(*net.UnixConn).CloseWrite()
	reply, err := io.ReadAll(c)
	if err != nil || string(reply) != "got ping" {
		t.Errorf("reply %q, %v; want %q", reply, err, "got ping")
	}
	if got := <-services; got != wire.ServiceDocker {
		t.Errorf("the host read service %q, want %q", got, wire.ServiceDocker)
	}
	c.Close()

	// Close ends a connection still open and removes the socket.
	open, err := net.Dial("unix", sockPath)
	if err != nil {
		t.Fatal(err)
	}
	defer open.Close()
	done := make(chan struct{})
	go func() { d.Close(); close(done) }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("Close did not return with a connection open")
	}
	if _, err := os.Stat(sockPath); !os.IsNotExist(err) {
		t.Errorf("the socket outlived Close: %v", err)
	}
}
