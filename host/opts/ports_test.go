package opts

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/containerd/errdefs"

	apiv1 "github.com/skiffrun/skiff/guest/api/v1"
)

func bindingsString(bs []*apiv1.PortBinding) string {
	var parts []string
	for _, b := range bs {
		parts = append(parts, fmt.Sprintf("%s|%d|%d/%s", b.HostIp, b.HostPort, b.ContainerPort, b.Protocol))
	}
	return strings.Join(parts, " ")
}

func TestPublish(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"80", "127.0.0.1|0|80/tcp"},
		{"8080:80", "127.0.0.1|8080|80/tcp"},
		{"0.0.0.0:8080:80", "0.0.0.0|8080|80/tcp"},
		{"127.0.0.1::80", "127.0.0.1|0|80/tcp"},
		{"5353:53/udp", "127.0.0.1|5353|53/udp"},
		{"53/UDP", "127.0.0.1|0|53/udp"},
		{"[::1]:8080:80", "::1|8080|80/tcp"},
		{"[::]::80/tcp", "::|0|80/tcp"},
		{"8000-8002:80-82", "127.0.0.1|8000|80/tcp 127.0.0.1|8001|81/tcp 127.0.0.1|8002|82/tcp"},
		{"80-81", "127.0.0.1|0|80/tcp 127.0.0.1|0|81/tcp"},
		{"65535:65535", "127.0.0.1|65535|65535/tcp"},
	} {
		t.Run(tc.in, func(t *testing.T) {
			got, err := Publish("publish", []string{tc.in})
			if err != nil {
				t.Fatal(err)
			}
			if s := bindingsString(got); s != tc.want {
				t.Fatalf("Publish(%q) = %s, want %s", tc.in, s, tc.want)
			}
		})
	}
}

func TestPublishRejects(t *testing.T) {
	for _, in := range []string{
		"", ":", "80:", "0", "65536", "-1", "abc", "80/sctp", "80/http", "1.2.3.4:1:2:3",
		"300.0.0.1:80:80", "[::1]80:80", "[::1:80:80", "8000-8002:80", "80-79", "1-2000",
		"+80", "8080:80/", "host:8080:80", "::1:8080:80",
	} {
		t.Run(in, func(t *testing.T) {
			_, err := Publish("publish", []string{in})
			if err == nil {
				t.Fatalf("Publish(%q) succeeded", in)
			}
			if !errors.Is(err, errdefs.ErrInvalidArgument) || !strings.Contains(err.Error(), "--publish") {
				t.Fatalf("Publish(%q) error %q is not a usage error naming the flag", in, err)
			}
		})
	}
}

func TestExpose(t *testing.T) {
	got, err := Expose("expose", []string{"80", "5353/udp", "8000-8001"})
	if err != nil {
		t.Fatal(err)
	}
	if s := strings.Join(got, " "); s != "80/tcp 5353/udp 8000/tcp 8001/tcp" {
		t.Fatalf("Expose = %s", s)
	}
	if _, err := Expose("expose", []string{"0"}); err == nil {
		t.Fatal("Expose(0) succeeded")
	}
}

// FuzzPublish checks that any -p value either fails as a usage error or
// gives bindings within bounds.
func FuzzPublish(f *testing.F) {
	for _, s := range []string{"80", "8080:80", "0.0.0.0:8080:80/udp", "[::1]:1-3:4-6", "127.0.0.1::80", "1-1024:1-1024", "a:b:c:d", "[", "::"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		bs, err := Publish("publish", []string{in})
		if err != nil {
			if !errors.Is(err, errdefs.ErrInvalidArgument) {
				t.Fatalf("Publish(%q) error is not a usage error: %v", in, err)
			}
			return
		}
		if len(bs) == 0 || len(bs) > maxPortRange {
			t.Fatalf("Publish(%q) gave %d bindings", in, len(bs))
		}
		for _, b := range bs {
			if b.ContainerPort < 1 || b.ContainerPort > 65535 || b.HostPort > 65535 || (b.Protocol != "tcp" && b.Protocol != "udp") || b.HostIp == "" {
				t.Fatalf("Publish(%q) gave a bad binding %v", in, b)
			}
		}
	})
}
