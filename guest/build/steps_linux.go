package build

import (
	"archive/tar"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/containerd/errdefs"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/moby/buildkit/frontend/dockerfile/instructions"
	"github.com/moby/buildkit/frontend/dockerfile/parser"
	"github.com/moby/buildkit/frontend/dockerfile/shell"

	"github.com/skiffrun/skiff/guest/layer"
	"github.com/skiffrun/skiff/guest/passwd"
	"github.com/skiffrun/skiff/guest/unpack"
)

// dispatch runs one instruction of a stage on st.
func (bd *build) dispatch(ctx context.Context, st *state, cmd instructions.Command, title string) error {
	step := bd.out.step(title)
	start := time.Now()
	if ex, ok := cmd.(instructions.SupportsSingleWordExpansion); ok {
		env := shell.EnvsFromSlice(st.expandEnv())
		err := ex.Expand(func(w string) (string, error) {
			res, err := bd.lex.ProcessWordWithMatches(w, env)
			return res.Result, err
		})
		if err != nil {
			return err
		}
	}
	var err error
	switch c := cmd.(type) {
	case *instructions.ArgCommand:
		bd.arg(st, c)
	case *instructions.RunCommand:
		err = bd.runStep(ctx, st, c, step)
	case *instructions.CopyCommand:
		err = bd.copyStep(ctx, st, copyCmd{SourcesAndDest: c.SourcesAndDest, from: c.From, chown: c.Chown, chmod: c.Chmod, name: "COPY"}, step)
	case *instructions.AddCommand:
		err = bd.copyStep(ctx, st, copyCmd{SourcesAndDest: c.SourcesAndDest, chown: c.Chown, chmod: c.Chmod, name: "ADD", add: true}, step)
	default:
		var createdBy string
		var ok bool
		createdBy, ok, err = st.applyMeta(cmd, bd.lex)
		if err == nil && !ok {
			err = errdefs.ErrNotImplemented.WithMessage(fmt.Sprintf("%s is not supported", strings.ToUpper(cmd.Name())))
		}
		if err == nil {
			st.key = stepKey(st.key, createdBy)
			st.cfg.History = append(st.cfg.History, v1.History{Created: lastCreated(st), CreatedBy: createdBy, EmptyLayer: true})
		}
	}
	if err != nil {
		return err
	}
	if !step.isCached() {
		step.done(time.Since(start))
	}
	return nil
}

// lastCreated is when st's last step happened: a metadata step takes
// that time, so an unchanged Dockerfile makes the same image ID.
func lastCreated(st *state) v1.Time {
	if n := len(st.cfg.History); n > 0 {
		return st.cfg.History[n-1].Created
	}
	return st.cfg.Created
}

// arg declares build arguments in st.
func (bd *build) arg(st *state, c *instructions.ArgCommand) {
	for _, kv := range c.Args {
		if v, ok := bd.o.BuildArgs[kv.Key]; ok {
			bd.used[kv.Key] = true
			st.args = setArg(st.args, kv.Key, v)
			continue
		}
		if kv.Value != nil {
			st.args = setArg(st.args, kv.Key, *kv.Value)
			continue
		}
		if v, ok := bd.globalValue(kv.Key); ok {
			st.args = setArg(st.args, kv.Key, v)
		}
	}
	st.key = stepKey(st.key, "ARG", fmt.Sprint(st.args))
}

// proxies are the proxy build arguments given, which every RUN sees.
func (bd *build) proxies() map[string]string {
	out := map[string]string{}
	for k, v := range bd.o.BuildArgs {
		if proxyArgs[k] {
			out[k] = v
		}
	}
	return out
}

// layerStep runs a step that makes a layer, unless the cache has it:
// key identifies the step; make writes into a snapshot of st.
func (bd *build) layerStep(ctx context.Context, st *state, key, createdBy string, step *stepOut, make func(s *snapshot) error) error {
	if !bd.o.NoCache {
		if rec, ok := bd.b.cache.get(key); ok {
			bd.b.cache.touch(key)
			step.cached()
			bd.addLayer(st, key, bd.b.cache.layerPath(rec.DiffID), rec.DiffID, rec.History)
			return nil
		}
	}
	s, err := bd.snapshot(ctx, st)
	if err != nil {
		return err
	}
	err = make(s)
	if uerr := s.unmount(); err == nil {
		err = uerr
	}
	if err != nil {
		return err
	}
	tmp, diffID, err := layer.Tar(s.upper, bd.b.cache.layersDir())
	if err != nil {
		return err
	}
	p, err := bd.b.cache.adopt(tmp, diffID)
	if err != nil {
		return err
	}
	// The snapshot's files are in the tar now; free the space at once.
	_ = os.RemoveAll(s.dir)
	h := v1.History{Created: v1.Time{Time: time.Now().UTC()}, CreatedBy: createdBy}
	if err := bd.b.cache.put(key, &record{DiffID: diffID, History: h}); err != nil {
		return err
	}
	bd.addLayer(st, key, p, diffID, h)
	return nil
}

func (bd *build) addLayer(st *state, key, p, diffID string, h v1.History) {
	st.key = key
	st.layers = append(st.layers, layerFile{path: p, diffID: diffID})
	d, _ := v1.NewHash(diffID)
	st.cfg.RootFS.DiffIDs = append(st.cfg.RootFS.DiffIDs, d)
	st.cfg.History = append(st.cfg.History, h)
}

// runStep runs a RUN instruction in a container.
func (bd *build) runStep(ctx context.Context, st *state, c *instructions.RunCommand, step *stepOut) error {
	if len(c.FlagsUsed) > 0 {
		return errdefs.ErrNotImplemented.WithMessage(fmt.Sprintf("RUN --%s is not supported", c.FlagsUsed[0]))
	}
	line, err := heredocCommand(c.ShellDependantCmdLine)
	if err != nil {
		return err
	}
	args := st.commandLine(line)
	createdBy := "RUN " + st.argPrefix() + strings.Join(args, " ")
	if !c.PrependShell {
		createdBy = "RUN " + st.argPrefix() + jsonList(args)
	}
	env := st.runEnv(bd.proxies())
	cwd := st.cfg.Config.WorkingDir
	if cwd == "" {
		cwd = "/"
	}
	key := stepKey(st.key, "RUN", jsonList(args), jsonList(st.runEnv(nil)), st.cfg.Config.User, cwd)
	return bd.layerStep(ctx, st, key, createdBy, step, func(s *snapshot) error {
		r := runSpec{id: "build-" + randomID(), args: args, env: env, user: st.cfg.Config.User, cwd: cwd, arch: st.cfg.Architecture}
		return bd.b.run(ctx, s, bd.etc, r, step)
	})
}

// copyCmd is COPY or ADD, after expansion.
type copyCmd struct {
	instructions.SourcesAndDest
	from, chown, chmod, name string
	add                      bool
}

// copyStep runs COPY or ADD.
func (bd *build) copyStep(ctx context.Context, st *state, c copyCmd, step *stepOut) error {
	inline, inlineDigest, err := bd.inlineFiles(c.SourceContents, st)
	if err != nil {
		return err
	}
	var mode *fs.FileMode
	if c.chmod != "" {
		m, err := strconv.ParseUint(c.chmod, 8, 32)
		if err != nil || m > 0o7777 {
			return errdefs.ErrInvalidArgument.WithMessage(fmt.Sprintf("invalid --chmod=%s: give octal permissions, as in --chmod=755", c.chmod))
		}
		fm := fs.FileMode(m) & fs.ModePerm
		mode = &fm
	}
	dest := c.DestPath
	if !path.IsAbs(dest) {
		wd := st.cfg.Config.WorkingDir
		if wd == "" {
			wd = "/"
		}
		trailing := strings.HasSuffix(dest, "/") || dest == "." || strings.HasSuffix(dest, "/.")
		dest = path.Join(wd, dest)
		if trailing {
			dest += "/"
		}
	}

	// What is copied, from where, and the digest the cache key takes.
	srcRoot := bd.ctxDir
	keep := false
	var inputs string
	var mountFrom func() (*snapshot, error)
	var urls []string
	var local []string
	for _, s := range c.SourcePaths {
		if c.add && isURL(s) {
			urls = append(urls, s)
		} else {
			local = append(local, s)
		}
	}
	if c.from != "" {
		keep = true
		var src *state
		if j, ok := bd.plans[bd.current].from[c.from]; ok {
			src = bd.states[j]
			inputs = "stage:" + src.key
		} else {
			img, err := bd.image(ctx, c.from, "", step)
			if err != nil {
				return err
			}
			src = &state{base: img.ID}
			inputs = "image:" + img.ID
		}
		mountFrom = func() (*snapshot, error) { return bd.snapshot(ctx, src) }
		inputs += "\x00" + strings.Join(local, "\x00")
	} else {
		var matched []string
		for _, s := range local {
			m, err := matchSources(srcRoot, s)
			if err != nil {
				return err
			}
			matched = append(matched, m...)
		}
		h, err := hashSources(matched)
		if err != nil {
			return err
		}
		inputs = h
	}
	inputs += "\x00" + inlineDigest
	var downloads []download
	for _, u := range urls {
		d, err := bd.download(ctx, u, step)
		if err != nil {
			return err
		}
		downloads = append(downloads, d)
		inputs += "\x00" + u + "\x00" + d.digest
	}

	createdBy := c.name + " " + strings.Join(c.SourcePaths, " ") + " " + c.DestPath
	key := stepKey(st.key, c.name, inputs, dest, c.chown, c.chmod)
	return bd.layerStep(ctx, st, key, createdBy, step, func(s *snapshot) error {
		o := copyOptions{mode: mode, keepOwner: keep}
		if c.chown != "" {
			owner, err := parseChown(s.rootfs, c.chown)
			if err != nil {
				return err
			}
			o.owner = &owner
		}
		root := srcRoot
		if mountFrom != nil {
			from, err := mountFrom()
			if err != nil {
				return err
			}
			// The snapshot's directory goes with the build's.
			defer func() { _ = from.unmount() }()
			root = from.rootfs
		}
		var srcs []string
		for _, l := range local {
			m, err := matchSources(root, l)
			if err != nil {
				return err
			}
			srcs = append(srcs, m...)
		}
		srcs = append(srcs, inline...)
		nsrc := len(srcs) + len(downloads)
		for _, src := range srcs {
			if c.add {
				if ok, err := extractArchive(ctx, s.rootfs, src, dest); ok || err != nil {
					if err != nil {
						return err
					}
					continue
				}
			}
			if err := copyInto(s.rootfs, []string{src}, destFor(dest, nsrc), o); err != nil {
				return err
			}
		}
		for _, d := range downloads {
			target := dest
			if destIsDir(s.rootfs, dest, nsrc) {
				target = path.Join(dest, d.name)
			}
			if o.mode == nil {
				m := fs.FileMode(0o600)
				o.mode = &m
			}
			if err := os.Chtimes(d.path, time.Time{}, d.modTime); err != nil {
				return err
			}
			if err := copyInto(s.rootfs, []string{d.path}, target, o); err != nil {
				return err
			}
		}
		return nil
	})
}

// destFor keeps COPY's directory meaning of dest when one of several
// sources is copied at a time.
func destFor(dest string, nsrc int) string {
	if nsrc > 1 && !strings.HasSuffix(dest, "/") {
		return dest + "/"
	}
	return dest
}

// parseChown resolves --chown's user[:group] against the rootfs being
// written; without a group, the group ID is the user ID, as docker has
// it.
func parseChown(rootfs, spec string) ([2]int, error) {
	u, g, hasGroup := strings.Cut(spec, ":")
	uid, err := passwd.Lookup(rootfs, u)
	if err != nil {
		return [2]int{}, err
	}
	gid := int(uid.UID)
	if hasGroup {
		gu, err := passwd.Lookup(rootfs, "0:"+g)
		if err != nil {
			return [2]int{}, errdefs.ErrInvalidArgument.WithMessage(fmt.Sprintf("unable to find group %s in the image's /etc/group; add it first, or give a numeric gid", g))
		}
		gid = int(gu.GID)
	}
	return [2]int{int(uid.UID), gid}, nil
}

func isURL(s string) bool {
	return strings.HasPrefix(s, "http://") || strings.HasPrefix(s, "https://")
}

// extractArchive extracts src into dest when it is a tar archive (plain
// or compressed), as ADD does with a local archive, and reports whether
// it was one.
func extractArchive(ctx context.Context, rootfs, src, dest string) (bool, error) {
	fi, err := os.Stat(src)
	if err != nil || !fi.Mode().IsRegular() {
		return false, nil
	}
	f, err := os.Open(src)
	if err != nil {
		return false, err
	}
	defer f.Close()
	dr, _, err := unpack.Decompress(f)
	if err != nil {
		return false, nil
	}
	_, terr := tar.NewReader(dr).Next()
	dr.Close()
	if terr != nil {
		return false, nil
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return false, err
	}
	dr, _, err = unpack.Decompress(f)
	if err != nil {
		return false, err
	}
	defer dr.Close()
	dir, err := mkdirAllOwned(rootfs, dest, 0, 0)
	if err != nil {
		return true, err
	}
	if _, err := unpack.Apply(ctx, dir, dr); err != nil {
		return true, fmt.Errorf("extract %s: %w", filepath.Base(src), err)
	}
	return true, nil
}

// download is a file ADD fetched.
type download struct {
	path, name, digest string
	modTime            time.Time
}

// download fetches an ADD URL into the build's directory.
func (bd *build) download(ctx context.Context, u string, step *stepOut) (download, error) {
	pu, err := url.Parse(u)
	if err != nil {
		return download{}, errdefs.ErrInvalidArgument.WithMessage(fmt.Sprintf("invalid URL %q: %v", u, err))
	}
	name := path.Base(pu.Path)
	if name == "/" || name == "." || name == "" {
		name = "index.html"
	}
	step.printf("downloading %s\n", u)
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return download{}, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return download{}, fmt.Errorf("download %s: %w", u, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return download{}, fmt.Errorf("download %s: %s", u, resp.Status)
	}
	dir, err := os.MkdirTemp(bd.dir, "download-")
	if err != nil {
		return download{}, err
	}
	p := filepath.Join(dir, name)
	f, err := os.Create(p)
	if err != nil {
		return download{}, err
	}
	h := sha256.New()
	_, err = io.Copy(io.MultiWriter(f, h), resp.Body)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return download{}, fmt.Errorf("download %s: %w", u, err)
	}
	mt := time.Unix(0, 0)
	if lm, err := http.ParseTime(resp.Header.Get("Last-Modified")); err == nil {
		mt = lm
	}
	return download{path: p, name: name, digest: "sha256:" + hex.EncodeToString(h.Sum(nil)), modTime: mt}, nil
}

// randomID names a RUN container.
func randomID() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// heredocCommand turns a RUN whose command is a here-document into the
// script its shell runs, as BuildKit does (a "#!" line is a comment to
// the shell here, not an interpreter).
func heredocCommand(c instructions.ShellDependantCmdLine) (instructions.ShellDependantCmdLine, error) {
	if len(c.Files) == 0 {
		return c, nil
	}
	if len(c.CmdLine) != 1 || !c.PrependShell {
		return c, errdefs.ErrInvalidArgument.WithMessage("a here-document needs the shell form of RUN")
	}
	if h := parser.MustParseHeredoc(c.CmdLine[0]); h != nil {
		data := c.Files[0].Data
		if c.Files[0].Chomp {
			data = parser.ChompHeredocContent(data)
		}
		c.CmdLine = []string{data}
	} else {
		// The here-documents follow a command line: the shell reads them.
		var b strings.Builder
		b.WriteString(c.CmdLine[0])
		for _, f := range c.Files {
			b.WriteString("\n" + f.Data + f.Name)
		}
		c.CmdLine = []string{b.String()}
	}
	c.Files = nil
	return c, nil
}

// inlineFiles writes COPY's here-documents into files to copy, and
// returns them and the digest of their names and content.
func (bd *build) inlineFiles(contents []instructions.SourceContent, st *state) ([]string, string, error) {
	if len(contents) == 0 {
		return nil, "", nil
	}
	dir, err := os.MkdirTemp(bd.dir, "inline-")
	if err != nil {
		return nil, "", err
	}
	lex := shell.NewLex(bd.df.Escape)
	lex.SkipProcessQuotes = true
	h := sha256.New()
	var out []string
	for _, c := range contents {
		name, err := cleanSource(c.Path)
		if err != nil || name == "" || strings.Contains(name, "/") {
			return nil, "", errdefs.ErrInvalidArgument.WithMessage(fmt.Sprintf("invalid here-document name %q", c.Path))
		}
		data := c.Data
		if c.Expand {
			res, err := lex.ProcessWordWithMatches(data, shell.EnvsFromSlice(st.expandEnv()))
			if err != nil {
				return nil, "", err
			}
			data = res.Result
		}
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(data), 0o644); err != nil {
			return nil, "", err
		}
		h.Write([]byte(name + "\x00" + data + "\x00"))
		out = append(out, p)
	}
	return out, hex.EncodeToString(h.Sum(nil)), nil
}
