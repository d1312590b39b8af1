package wire

import (
	"errors"
	"fmt"
	"io"
)

// ServiceMagic starts every session stream the agent opens towards the
// host daemon, to reach one of the host services the daemon serves
// (host/hostsvc). After the magic come a 1-byte length and the service's
// name (ServiceGRPC, ServiceDocker, ...); then the service's own bytes.
// The daemon reads the header and hands the stream, from the byte after
// it, to the service of that name, or closes it.
const ServiceMagic = "SKIFFSVC"

// MaxServiceName bounds a service name.
const MaxServiceName = 64

// The host services the agent knows by name.
const (
	// ServiceGRPC is the daemon's gRPC server: HostPorts, and the typed
	// host services that come after it. Its streams carry HTTP/2.
	ServiceGRPC = "grpc"
	// ServiceDocker is the Docker Engine API the daemon serves, for the
	// machine's /var/run/docker.sock: its streams carry a client's HTTP
	// bytes as they come.
	ServiceDocker = "docker"
)

// DockerSocket is where a container finds the Docker Engine API inside a
// VM machine: the agent listens there and carries each connection to
// ServiceDocker. A bind of it, or of the host's socket of the machine,
// binds this one (host/pathmap).
const DockerSocket = "/var/run/docker.sock"

// AppendService appends the header of a stream to service name to b. It
// fails for a name that ReadService would refuse.
func AppendService(b []byte, name string) ([]byte, error) {
	if err := checkServiceName(name); err != nil {
		return b, err
	}
	b = append(b, ServiceMagic...)
	b = append(b, byte(len(name)))
	return append(b, name...), nil
}

// WriteService writes the header of a stream to service name to w in one
// write.
func WriteService(w io.Writer, name string) error {
	hdr, err := AppendService(make([]byte, 0, len(ServiceMagic)+1+len(name)), name)
	if err != nil {
		return err
	}
	_, err = w.Write(hdr)
	return err
}

// ReadService reads a service header and returns the service's name.
// Nothing after the header is consumed. The header comes from the
// machine, which the host does not trust: a name is 1 to MaxServiceName
// bytes of lower-case letters, digits, '.', '-' and '_'.
func ReadService(r io.Reader) (string, error) {
	var hdr [len(ServiceMagic) + 1]byte
	if _, err := io.ReadFull(r, hdr[:]); err != nil {
		return "", fmt.Errorf("read service header: %w", err)
	}
	if string(hdr[:len(ServiceMagic)]) != ServiceMagic {
		return "", errors.New("service header: no magic")
	}
	n := int(hdr[len(ServiceMagic)])
	if n == 0 || n > MaxServiceName {
		return "", fmt.Errorf("service header: bad name length %d", n)
	}
	name := make([]byte, n)
	if _, err := io.ReadFull(r, name); err != nil {
		return "", fmt.Errorf("read service name: %w", err)
	}
	if err := checkServiceName(string(name)); err != nil {
		return "", err
	}
	return string(name), nil
}

// checkServiceName reports a name that is not 1 to MaxServiceName bytes
// of [a-z0-9._-].
func checkServiceName(name string) error {
	if len(name) == 0 || len(name) > MaxServiceName {
		return fmt.Errorf("service name %q: %d bytes, want 1 to %d", name, len(name), MaxServiceName)
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		if (c < 'a' || c > 'z') && (c < '0' || c > '9') && c != '.' && c != '-' && c != '_' {
			return fmt.Errorf("service name %q: byte %q is not a lower-case letter, digit, '.', '-' or '_'", name, c)
		}
	}
	return nil
}
