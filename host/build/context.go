// Package build carries out skiff build on the CLI's side: it reads the
// Dockerfile and the context directory, leaves out what .dockerignore
// names, streams the context to the agent's Builder service as a tar, and
// prints the build's progress and the image ID. Parsing the Dockerfile
// and building are the agent's (guest/build).
package build

import (
	"archive/tar"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	"github.com/moby/patternmatcher"
	"github.com/moby/patternmatcher/ignorefile"
)

// ReadIgnore reads the .dockerignore patterns for a build: the file next
// to the Dockerfile named after it ("app.Dockerfile.dockerignore"), as
// BuildKit looks for it, else the context's .dockerignore. No file
// means no patterns.
func ReadIgnore(contextDir, dockerfile string) ([]string, error) {
	var candidates []string
	if dockerfile != "" && dockerfile != "-" {
		candidates = append(candidates, dockerfile+".dockerignore")
	}
	candidates = append(candidates, filepath.Join(contextDir, ".dockerignore"))
	for _, p := range candidates {
		f, err := os.Open(p)
		if errors.Is(err, os.ErrNotExist) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("read %s: %w", p, err)
		}
		defer f.Close()
		patterns, err := ignorefile.ReadAll(f)
		if err != nil {
			return nil, fmt.Errorf("read %s: %w", p, err)
		}
		return patterns, nil
	}
	return nil, nil
}

// Matcher decides which context paths .dockerignore leaves out.
type Matcher struct {
	pm *patternmatcher.PatternMatcher
}

// NewMatcher compiles .dockerignore patterns.
func NewMatcher(patterns []string) (*Matcher, error) {
	pm, err := patternmatcher.New(patterns)
	if err != nil {
		return nil, fmt.Errorf("invalid .dockerignore pattern: %w", err)
	}
	return &Matcher{pm: pm}, nil
}

// Excluded reports whether the slash-separated context path rel is left
// out: a pattern matches it or one of its parent directories.
func (m *Matcher) Excluded(rel string) (bool, error) {
	if m == nil || m.pm == nil {
		return false, nil
	}
	return m.pm.MatchesOrParentMatches(rel)
}

// mayInclude reports whether an excluded directory can still hold an
// included path, because some pattern is an exception ("!dir/keep").
func (m *Matcher) mayInclude() bool { return m != nil && m.pm != nil && m.pm.Exclusions() }

// WriteContext writes the context directory dir as a tar to w, leaving
// out what m excludes. Owners are root, as docker sends them; on
// Windows, which has no modes, files and directories get 0755.
// Symlinks are sent as links, never followed; sockets and devices are
// left out.
func WriteContext(w io.Writer, dir string, m *Matcher) error {
	tw := tar.NewWriter(w)
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(dir, p)
		if err != nil || rel == "." {
			return err
		}
		rel = filepath.ToSlash(rel)
		excluded, err := m.Excluded(rel)
		if err != nil {
			return err
		}
		if excluded {
			if d.IsDir() && !m.mayInclude() {
				return filepath.SkipDir
			}
			return nil
		}
		fi, err := d.Info()
		if err != nil {
			return err
		}
		return writeEntry(tw, p, rel, fi)
	})
	if err != nil {
		return fmt.Errorf("send build context %s: %w", dir, err)
	}
	return tw.Close()
}

func writeEntry(tw *tar.Writer, p, rel string, fi fs.FileInfo) error {
	link := ""
	switch {
	case fi.Mode()&fs.ModeSymlink != 0:
		var err error
		if link, err = os.Readlink(p); err != nil {
			return err
		}
	case fi.IsDir(), fi.Mode().IsRegular():
	default:
		return nil
	}
	hdr, err := tar.FileInfoHeader(fi, link)
	if err != nil {
		return err
	}
	hdr.Name = rel
	if fi.IsDir() {
		hdr.Name += "/"
	}
	hdr.Uid, hdr.Gid, hdr.Uname, hdr.Gname = 0, 0, "", ""
	hdr.AccessTime, hdr.ChangeTime = time.Time{}, time.Time{}
	hdr.Format = tar.FormatPAX
	if runtime.GOOS == "windows" && link == "" {
		hdr.Mode = hdr.Mode&^0o777 | 0o755
		hdr.Linkname = strings.ReplaceAll(hdr.Linkname, `\`, "/")
	}
	if err := tw.WriteHeader(hdr); err != nil {
		return err
	}
	if !fi.Mode().IsRegular() {
		return nil
	}
	f, err := os.Open(p)
	if err != nil {
		return err
	}
	defer f.Close()
	if _, err := io.CopyN(tw, f, hdr.Size); err != nil {
		return fmt.Errorf("%s: %w", rel, err)
	}
	return nil
}
