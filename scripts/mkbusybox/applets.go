package main

import (
	"bytes"
	"debug/elf"
	"errors"
	"fmt"
)

// minApplets is the fewest names a run of strings must have to be taken
// for busybox's applet table: far fewer than any useful busybox has
// (Debian's has about 270), far more than a chance run of sorted words
// elsewhere in the binary.
const minApplets = 32

// appletNames reads the names of the applets a busybox binary has from
// the binary itself, so the image links exactly what it can run, for any
// architecture, without running it. Busybox keeps them in one constant,
// applet_names: every name NUL-terminated, sorted (its lookup relies on
// that), the whole ending in an empty string. That is the longest run of
// sorted applet-like names ending in "\x00\x00" in .rodata (or in the
// whole file when it has no sections); the caller checks the result
// against the binary's own --list where the binary can run.
func appletNames(f *elf.File, data []byte) ([]string, error) {
	area := data
	if s := f.Section(".rodata"); s != nil && s.Type != elf.SHT_NOBITS {
		b, err := s.Data()
		if err != nil {
			return nil, fmt.Errorf("read .rodata: %w", err)
		}
		area = b
	}
	names := longestTable(area)
	if len(names) < minApplets {
		return nil, errors.New("no applet table found (is it busybox?)")
	}
	return names, nil
}

// longestTable returns the longest run of strictly ascending applet
// names in b, each ending in NUL, the run ending in one more NUL.
func longestTable(b []byte) []string {
	var best, run []string
	// start is where the current token begins; a token that is not a
	// name may still end in one (the table can follow other data with
	// no NUL between), so its longest name-like tail starts a new run.
	start := 0
	for start < len(b) {
		end := bytes.IndexByte(b[start:], 0)
		if end < 0 {
			break
		}
		tok := b[start : start+end]
		start += end + 1
		switch {
		case len(tok) == 0:
			// The table's end: a run counts only when it ends so.
			if len(run) > len(best) {
				best = run
			}
			run = nil
		case isName(tok) && (len(run) == 0 || string(tok) > run[len(run)-1]):
			run = append(run, string(tok))
		default:
			run = nil
			if tail := nameTail(tok); len(tail) > 0 {
				run = append(run, string(tail))
			}
		}
	}
	return best
}

// isName reports whether tok can be an applet's name: what busybox's
// applets are called ("[", "[[", "run-parts", "ssl_client", "sha256sum",
// "mkfs.ext2"), never a path or anything with spaces.
func isName(tok []byte) bool {
	if len(tok) == 0 || len(tok) > 32 {
		return false
	}
	for _, c := range tok {
		if !isNameByte(c) {
			return false
		}
	}
	return tok[0] != '-' && tok[0] != '.'
}

func isNameByte(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '[' || c == '-' || c == '_' || c == '.'
}

// nameTail is the longest suffix of tok that is a name.
func nameTail(tok []byte) []byte {
	i := len(tok)
	for i > 0 && isNameByte(tok[i-1]) {
		i--
	}
	for i < len(tok) && !isName(tok[i:]) {
		i++
	}
	return tok[i:]
}
