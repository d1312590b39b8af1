package tty

import (
	"bytes"
	"testing"
)

func TestParseDetachKeys(t *testing.T) {
	tests := []struct {
		in      string
		want    []byte
		wantErr bool
	}{
		{"", []byte{0x10, 0x11}, false},
		{"ctrl-p,ctrl-q", []byte{0x10, 0x11}, false},
		{"ctrl-a,x", []byte{0x01, 'x'}, false},
		{"CTRL-P,CTRL-Q", []byte{0x10, 0x11}, false},
		{"ctrl-@,ctrl-[,ctrl-\\,ctrl-],ctrl-^,ctrl-_", []byte{0, 27, 28, 29, 30, 31}, false},
		{"ctrl-shift-p", nil, true},
		{"ctrl-1", nil, true},
		{"ab", nil, true},
		{"ctrl-p,", nil, true},
	}
	for _, tc := range tests {
		t.Run(tc.in, func(t *testing.T) {
			got, err := ParseDetachKeys(tc.in)
			if (err != nil) != tc.wantErr || !bytes.Equal(got, tc.want) {
				t.Errorf("ParseDetachKeys(%q) = %v, %v; want %v", tc.in, got, err, tc.want)
			}
		})
	}
}

func TestDetector(t *testing.T) {
	keys := []byte{0x10, 0x11} // ctrl-p ctrl-q
	tests := []struct {
		name     string
		feeds    []string
		want     string // passed on, in order, including the final Flush
		detached bool
	}{
		{"plain text", []string{"hello"}, "hello", false},
		{"sequence alone", []string{"\x10\x11"}, "", true},
		{"sequence after text", []string{"ls\x10\x11"}, "ls", true},
		{"text after sequence dropped", []string{"a\x10\x11b"}, "a", true},
		{"split across reads", []string{"a\x10", "\x11"}, "a", true},
		{"prefix then other key", []string{"\x10x"}, "\x10x", false},
		{"prefix held across reads then released", []string{"\x10", "x"}, "\x10x", false},
		{"repeated first key", []string{"\x10\x10\x11"}, "\x10", true},
		{"prefix at end of input flushed", []string{"abc\x10"}, "abc\x10", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			d := NewDetector(keys)
			var out []byte
			detached := false
			for _, f := range tc.feeds {
				o, det := d.Feed([]byte(f))
				out = append(out, o...)
				if det {
					detached = true
					break
				}
			}
			if !detached {
				out = append(out, d.Flush()...)
			}
			if string(out) != tc.want || detached != tc.detached {
				t.Errorf("passed %q detached %v; want %q %v", out, detached, tc.want, tc.detached)
			}
		})
	}
}

func TestDetectorWithoutKeysPassesEverything(t *testing.T) {
	var d Detector
	out, det := d.Feed([]byte("\x10\x11"))
	if det || string(out) != "\x10\x11" {
		t.Errorf("zero detector: %q %v", out, det)
	}
}

// FuzzDetector checks that a detector never loses, reorders or invents
// input: what it passes on plus what it holds is what it was fed, up to
// the end of the sequence if it detached.
func FuzzDetector(f *testing.F) {
	f.Add([]byte("hello"), []byte{0x10, 0x11}, 2)
	f.Add([]byte("a\x10\x10\x11b"), []byte{0x10, 0x11}, 1)
	f.Add([]byte("aab"), []byte("aab"), 3)
	f.Fuzz(func(t *testing.T, in, keys []byte, split int) {
		if len(keys) == 0 || len(keys) > 8 {
			return
		}
		d := NewDetector(keys)
		var out []byte
		consumed := len(in)
		detached := false
		for i := 0; i < len(in); {
			n := 1 + abs(split)%4
			if i+n > len(in) {
				n = len(in) - i
			}
			o, det := d.Feed(in[i : i+n])
			out = append(out, o...)
			if det {
				detached = true
				idx := bytes.Index(in, keys)
				if idx < 0 {
					t.Fatalf("detached on %q without the sequence %q", in, keys)
				}
				consumed = idx + len(keys)
				break
			}
			i += n
		}
		if !detached {
			out = append(out, d.Flush()...)
			if !bytes.Equal(out, in) {
				t.Fatalf("fed %q, passed %q", in, out)
			}
			return
		}
		if want := in[:consumed-len(keys)]; !bytes.Equal(out, want) {
			t.Fatalf("fed %q, passed %q before detaching, want %q", in, out, want)
		}
	})
}

func abs(n int) int {
	if n < 0 {
		return -n
	}
	return n
}
