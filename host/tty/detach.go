package tty

import (
	"bytes"
	"fmt"
	"strings"
)

// DefaultDetachKeys is docker's detach sequence.
const DefaultDetachKeys = "ctrl-p,ctrl-q"

// ctrlKeys are the names of the control codes 0 to 31, in order, as
// docker's --detach-keys spells them.
var ctrlKeys = func() []string {
	names := []string{"ctrl-@"}
	for c := 'a'; c <= 'z'; c++ {
		names = append(names, "ctrl-"+string(c))
	}
	return append(names, "ctrl-[", `ctrl-\`, "ctrl-]", "ctrl-^", "ctrl-_")
}()

// ParseDetachKeys parses docker's --detach-keys format: a comma-separated
// list of single characters and ctrl-<key> names ("ctrl-p,ctrl-q"). An
// empty string means the default.
func ParseDetachKeys(s string) ([]byte, error) {
	if s == "" {
		s = DefaultDetachKeys
	}
	var out []byte
next:
	for _, key := range strings.Split(s, ",") {
		if len(key) == 1 {
			out = append(out, key[0])
			continue
		}
		for code, name := range ctrlKeys {
			if strings.EqualFold(key, name) {
				out = append(out, byte(code))
				continue next
			}
		}
		return nil, fmt.Errorf("unknown key %q in %q; use a comma-separated list of single characters and ctrl-<key>, like %q", key, s, DefaultDetachKeys)
	}
	return out, nil
}

// Detector finds the detach sequence in a stream of keystrokes. Bytes that
// could begin the sequence are held back until the next ones tell; bytes
// that turn out not to be it are passed on in order. The zero value never
// detaches.
type Detector struct {
	keys []byte
	held []byte
}

// NewDetector returns a detector of keys.
func NewDetector(keys []byte) *Detector {
	return &Detector{keys: keys}
}

// Feed consumes p and returns the bytes to pass on, and whether the
// sequence is now complete. Once it is, whatever followed it in p is
// dropped: the user asked to leave.
func (d *Detector) Feed(p []byte) (out []byte, detached bool) {
	if len(d.keys) == 0 {
		return p, false
	}
	for _, b := range p {
		d.held = append(d.held, b)
		// Slide past every byte that cannot start the sequence, so a
		// repeated key ("ctrl-p ctrl-p ctrl-q") still matches.
		for len(d.held) > 0 && !bytes.HasPrefix(d.keys, d.held) {
			out = append(out, d.held[0])
			d.held = d.held[1:]
		}
		if len(d.held) == len(d.keys) {
			d.held = d.held[:0]
			return out, true
		}
	}
	return out, false
}

// Flush returns the bytes held back, for when input ends mid-sequence.
func (d *Detector) Flush() []byte {
	out := d.held
	d.held = nil
	return out
}
