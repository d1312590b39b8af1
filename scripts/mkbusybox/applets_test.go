package main

import (
	"slices"
	"strings"
	"testing"
)

func TestLongestTable(t *testing.T) {
	for _, tc := range []struct {
		name, data string
		want       []string
	}{
		{"after a NUL", "\x00junk\x00[\x00[[\x00ash\x00sh\x00\x00rest", []string{"[", "[[", "ash", "sh"}},
		{"after other bytes", "\x82\xa0[\x00[[\x00ash\x00sh\x00\x00", []string{"[", "[[", "ash", "sh"}},
		{"the longest run wins", "a\x00b\x00\x00[\x00ash\x00cat\x00ls\x00\x00", []string{"[", "ash", "cat", "ls"}},
		{"unsorted breaks a run", "ls\x00cat\x00sh\x00vi\x00\x00", []string{"cat", "sh", "vi"}},
		{"no end, no table", "ash\x00cat\x00ls", nil},
		{"paths are not names", "/bin/sh\x00ash\x00\x00", []string{"ash"}},
		{"dotted and dashed names", "mkfs.ext2\x00run-parts\x00ssl_client\x00\x00", []string{"mkfs.ext2", "run-parts", "ssl_client"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := longestTable([]byte(tc.data)); !slices.Equal(got, tc.want) {
				t.Errorf("longestTable = %q, want %q", got, tc.want)
			}
		})
	}
}

// FuzzLongestTable checks, for any bytes, that what is taken for an
// applet table could be linked into /bin: sorted, unique names with no
// path in them.
func FuzzLongestTable(f *testing.F) {
	f.Add([]byte("\x00[\x00[[\x00ash\x00sh\x00\x00"))
	f.Add([]byte("\x82[\x00../x\x00a/b\x00\x00"))
	f.Fuzz(func(t *testing.T, data []byte) {
		names := longestTable(data)
		for i, n := range names {
			if !isName([]byte(n)) || strings.Contains(n, "/") || n == "." || n == ".." {
				t.Fatalf("name %q", n)
			}
			if i > 0 && names[i-1] >= n {
				t.Fatalf("names out of order: %q", names)
			}
		}
	})
}
