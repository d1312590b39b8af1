package wire

import (
	"bufio"
	"bytes"
	"net"
	"strings"
	"testing"
)

func TestForwardRoundTrip(t *testing.T) {
	for _, f := range []Forward{
		{"tcp", "10.1.0.2:80"},
		{"udp", "[fd00::2]:53"},
		{"tcp", strings.Repeat("a", MaxForwardTarget-3) + ":65"},
	} {
		var b bytes.Buffer
		if err := WriteForward(&b, f); err != nil {
			t.Fatalf("WriteForward(%+v): %v", f, err)
		}
		b.WriteString("payload")
		br := bufio.NewReader(&b)
		if ok, err := PeekForward(br); !ok || err != nil {
			t.Fatalf("PeekForward of %+v = %v, %v", f, ok, err)
		}
		got, err := ReadForward(br)
		if err != nil || got != f {
			t.Fatalf("ReadForward = %+v, %v; want %+v", got, err, f)
		}
		if rest, _ := br.ReadString(0); rest != "payload" {
			t.Fatalf("after the header %q, want the payload", rest)
		}
	}
}

func TestWriteForwardRefuses(t *testing.T) {
	for _, f := range []Forward{
		{"sctp", "10.1.0.2:80"},
		{"tcp", ""},
		{"tcp", "10.1.0.2"},
		{"tcp", "10.1.0.2:0"},
		{"udp", ":53"},
		{"tcp", strings.Repeat("a", MaxForwardTarget) + ":1"},
	} {
		var b bytes.Buffer
		if err := WriteForward(&b, f); err == nil || b.Len() != 0 {
			t.Errorf("WriteForward(%+v) = %v, wrote %d bytes; want an error and nothing written", f, err, b.Len())
		}
	}
}

func TestPeekForwardLeavesGRPCAlone(t *testing.T) {
	preface := "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"
	br := bufio.NewReader(strings.NewReader(preface))
	if ok, err := PeekForward(br); ok || err != nil {
		t.Fatalf("PeekForward of an HTTP/2 preface = %v, %v; want a plain stream", ok, err)
	}
	if got, _ := br.ReadString(0); got != preface {
		t.Fatalf("read on %q; want the preface intact", got)
	}
}

// FuzzReadForward checks that any bytes from the host's end either fail
// or give a protocol the agent knows and a host:port target, and that
// such a header is written back the same.
func FuzzReadForward(f *testing.F) {
	for _, h := range []Forward{{"tcp", "10.1.0.2:80"}, {"udp", "[fd00::2]:53"}} {
		b, _ := AppendForward(nil, h)
		f.Add(b)
	}
	f.Add([]byte(ForwardMagic + "t\x00\x00"))
	f.Add([]byte(ForwardMagic + "x\x00\x031:2"))
	f.Add([]byte(ForwardMagic + "t\xff\xff"))
	f.Add([]byte("PRI * HTTP/2.0"))
	f.Fuzz(func(t *testing.T, b []byte) {
		h, err := ReadForward(bytes.NewReader(b))
		if err != nil {
			return
		}
		if h.Proto != "tcp" && h.Proto != "udp" {
			t.Fatalf("protocol %q accepted", h.Proto)
		}
		if _, _, err := net.SplitHostPort(h.Target); err != nil || len(h.Target) > MaxForwardTarget {
			t.Fatalf("target %q accepted", h.Target)
		}
		again, err := AppendForward(nil, h)
		if err != nil || !bytes.HasPrefix(b, again) {
			t.Fatalf("header %+v read from %q writes back as %q, %v", h, b, again, err)
		}
	})
}
