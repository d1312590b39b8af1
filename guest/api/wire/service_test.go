package wire

import (
	"bytes"
	"io"
	"testing"
)

func TestServiceHeaderRoundTrip(t *testing.T) {
	for _, name := range []string{ServiceGRPC, ServiceDocker, "file-events.v1"} {
		var b bytes.Buffer
		if err := WriteService(&b, name); err != nil {
			t.Fatal(err)
		}
		b.WriteString("payload")
		got, err := ReadService(&b)
		if err != nil || got != name {
			t.Fatalf("ReadService = %q, %v; want %q", got, err, name)
		}
		if rest, _ := io.ReadAll(&b); string(rest) != "payload" {
			t.Fatalf("the bytes after the header are %q, want them untouched", rest)
		}
	}
}

func TestServiceHeaderRefusesBadNames(t *testing.T) {
	for _, name := range []string{"", "Docker", "a/b", string(bytes.Repeat([]byte("a"), MaxServiceName+1))} {
		if err := WriteService(io.Discard, name); err == nil {
			t.Errorf("WriteService(%q) succeeded", name)
		}
	}
	for _, in := range []string{"", "SKIFFSVC", "SKIFFSVC\x00", "SKIFFSVC\x03a/b", "SKIFFFWDt\x00\x0210", "SKIFFSVC\x05dock"} {
		if name, err := ReadService(bytes.NewReader([]byte(in))); err == nil {
			t.Errorf("ReadService(%q) = %q, want an error", in, name)
		}
	}
}

// FuzzReadService checks that any bytes from the machine either fail or
// give a well-formed name, written back as they were read.
func FuzzReadService(f *testing.F) {
	for _, name := range []string{ServiceGRPC, ServiceDocker} {
		b, _ := AppendService(nil, name)
		f.Add(b)
	}
	f.Add([]byte(ServiceMagic + "\x00"))
	f.Add([]byte(ServiceMagic + "\xffabc"))
	f.Add([]byte(ForwardMagic + "t\x00\x031:2"))
	f.Add([]byte("PRI * HTTP/2.0"))
	f.Fuzz(func(t *testing.T, b []byte) {
		name, err := ReadService(bytes.NewReader(b))
		if err != nil {
			return
		}
		if checkServiceName(name) != nil {
			t.Fatalf("name %q accepted", name)
		}
		again, err := AppendService(nil, name)
		if err != nil || !bytes.HasPrefix(b, again) {
			t.Fatalf("name %q read from %q writes back as %q, %v", name, b, again, err)
		}
	})
}
