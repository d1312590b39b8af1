// Command darwincheck type-checks Go packages as they build for macOS
// (GOOS=darwin, cgo on) on a machine that has neither a macOS SDK nor a C
// compiler for it. It asks `go list` for the packages and their
// dependencies, which needs no compiler, then checks every one with
// go/types, faking `import "C"` (FakeImportC) the way Go's own API checker
// does. Calls into cgo-backed Go APIs such as Code-Hex/vz are checked
// exactly; the C side itself is not.
//
// Usage: darwincheck [-arch arm64|amd64] [-tags t1,t2] [-test] [packages]
package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"go/types"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
)

// pkg is what go list says of one package.
type pkg struct {
	ImportPath string
	Name       string
	Dir        string
	GoFiles    []string
	CgoFiles   []string
	Imports    []string
	ImportMap  map[string]string
	Standard   bool
	DepOnly    bool
	ForTest    string
	Module     *struct{ GoVersion string }
	Error      *struct{ Err string }
}

func main() {
	arch := flag.String("arch", "arm64", "GOARCH to check for")
	tags := flag.String("tags", "", "comma-separated build tags")
	test := flag.Bool("test", false, "check test files too")
	verbose := flag.Bool("v", false, "print each package checked")
	flag.Parse()
	patterns := flag.Args()
	if len(patterns) == 0 {
		patterns = []string{"./..."}
	}
	n, err := check(os.Stdout, *arch, *tags, *test, *verbose, patterns)
	if err != nil {
		fmt.Fprintln(os.Stderr, "darwincheck:", err)
		os.Exit(1)
	}
	fmt.Printf("darwincheck: %d packages type-check for darwin/%s\n", n, *arch)
}

// errTypes is returned when a checked package has type errors.
var errTypes = errors.New("type errors")

// check type-checks patterns for darwin/arch and reports the errors of
// the named (not dependency-only) packages to w. It returns how many
// named packages it checked.
func check(w io.Writer, arch, tags string, test, verbose bool, patterns []string) (int, error) {
	pkgs, err := list(arch, tags, test, patterns)
	if err != nil {
		return 0, err
	}
	fset := token.NewFileSet()
	done := map[string]*types.Package{"unsafe": types.Unsafe}
	sizes := types.SizesFor("gc", arch)
	checked, failed := 0, 0
	for _, p := range pkgs {
		if p.ImportPath == "unsafe" {
			continue
		}
		if p.Error != nil && !p.DepOnly {
			fmt.Fprintf(w, "%s: %s\n", p.ImportPath, p.Error.Err)
			failed++
			continue
		}
		var files []*ast.File
		for _, name := range append(append([]string{}, p.GoFiles...), p.CgoFiles...) {
			if !filepath.IsAbs(name) {
				name = filepath.Join(p.Dir, name)
			}
			f, err := parser.ParseFile(fset, name, nil, parser.SkipObjectResolution)
			if err != nil {
				return checked, fmt.Errorf("parse %s: %w", name, err)
			}
			files = append(files, f)
		}
		var errs []error
		conf := types.Config{
			Importer:         importer{done: done, importMap: p.ImportMap},
			FakeImportC:      len(p.CgoFiles) > 0,
			IgnoreFuncBodies: p.DepOnly,
			Sizes:            sizes,
			GoVersion:        goVersion(p),
			Error:            func(err error) { errs = append(errs, err) },
		}
		tp, _ := conf.Check(p.ImportPath, fset, files, nil)
		done[p.ImportPath] = tp
		if p.DepOnly {
			continue
		}
		checked++
		if verbose {
			fmt.Fprintf(w, "checked %s\n", p.ImportPath)
		}
		for _, e := range errs {
			fmt.Fprintln(w, e)
		}
		if len(errs) > 0 {
			failed++
		}
	}
	if failed > 0 {
		return checked, fmt.Errorf("%d of %d packages: %w", failed, checked, errTypes)
	}
	return checked, nil
}

// list runs go list for darwin/arch with cgo on; without -compiled or
// -export it runs neither cgo nor a C compiler.
func list(arch, tags string, test bool, patterns []string) ([]pkg, error) {
	args := []string{"list", "-e", "-deps", "-json=ImportPath,Name,Dir,GoFiles,CgoFiles,Imports,ImportMap,Standard,DepOnly,ForTest,Module,Error"}
	if test {
		args = append(args, "-test")
	}
	if tags != "" {
		args = append(args, "-tags", tags)
	}
	args = append(args, patterns...)
	cmd := exec.Command("go", args...)
	cmd.Env = append(os.Environ(), "GOOS=darwin", "GOARCH="+arch, "CGO_ENABLED=1")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("go list: %w: %s", err, strings.TrimSpace(stderr.String()))
	}
	var pkgs []pkg
	dec := json.NewDecoder(bytes.NewReader(out))
	for dec.More() {
		var p pkg
		if err := dec.Decode(&p); err != nil {
			return nil, fmt.Errorf("decode go list output: %w", err)
		}
		// The generated main packages of test binaries are not sources.
		if strings.HasSuffix(p.ImportPath, ".test") && p.Name == "main" {
			continue
		}
		pkgs = append(pkgs, p)
	}
	return pkgs, nil
}

func goVersion(p pkg) string {
	if p.Module != nil && p.Module.GoVersion != "" {
		return "go" + p.Module.GoVersion
	}
	v := runtime.Version()
	if i := strings.IndexAny(v, " -"); i > 0 {
		v = v[:i]
	}
	return v
}

// importer resolves imports to packages already checked, through the
// importing package's ImportMap (vendoring and test variants).
type importer struct {
	done      map[string]*types.Package
	importMap map[string]string
}

func (im importer) Import(path string) (*types.Package, error) {
	if mapped, ok := im.importMap[path]; ok {
		path = mapped
	}
	if p, ok := im.done[path]; ok && p != nil {
		return p, nil
	}
	return nil, fmt.Errorf("package %s was not checked before its importer", path)
}
