package build

import (
	"bytes"
	"strconv"
	"strings"

	"github.com/distribution/reference"
	"github.com/moby/buildkit/frontend/dockerfile/instructions"
	"github.com/moby/buildkit/frontend/dockerfile/parser"
	"github.com/moby/buildkit/frontend/dockerfile/shell"

	apiv1 "github.com/skiffrun/skiff/guest/api/v1"
)

// baseImages lists the images a Dockerfile names in FROM and COPY
// --from that are not its own stages: what the agent may pull, whose
// registries' credentials the host resolves. Names that use build
// arguments are expanded with buildArgs and the ARG defaults before the
// first FROM. A Dockerfile that does not parse names none; the agent
// reports why, with the line.
func baseImages(dockerfile []byte, buildArgs map[string]string) []string {
	res, err := parser.Parse(bytes.NewReader(dockerfile))
	if err != nil {
		return nil
	}
	stages, meta, err := instructions.Parse(res.AST, nil)
	if err != nil {
		return nil
	}
	lex := shell.NewLex(res.EscapeToken)
	var env []string
	expand := func(w string) string {
		r, err := lex.ProcessWordWithMatches(w, shell.EnvsFromSlice(env))
		if err != nil {
			return ""
		}
		return r.Result
	}
	for _, a := range meta {
		for _, kv := range a.Args {
			if v, ok := buildArgs[kv.Key]; ok {
				env = append(env, kv.Key+"="+v)
			} else if kv.Value != nil {
				env = append(env, kv.Key+"="+expand(*kv.Value))
			}
		}
	}
	isStage := func(name string, limit int) bool {
		if _, err := strconv.Atoi(name); err == nil {
			return true
		}
		for i := range limit {
			if stages[i].Name != "" && stages[i].Name == strings.ToLower(name) {
				return true
			}
		}
		return false
	}
	seen := map[string]bool{}
	var out []string
	add := func(name string) {
		if name == "" || name == "scratch" || seen[name] {
			return
		}
		if _, err := reference.ParseNormalizedNamed(name); err != nil {
			return
		}
		seen[name] = true
		out = append(out, name)
	}
	for i, st := range stages {
		if name := expand(st.BaseName); !isStage(name, i) {
			add(name)
		}
		for _, c := range st.Commands {
			if cp, ok := c.(*instructions.CopyCommand); ok && cp.From != "" {
				if name := expand(cp.From); !isStage(name, len(stages)) {
					add(name)
				}
			}
		}
	}
	return out
}

// registryFor resolves, for every base image, what the agent needs to
// pull it: the insecure registries, and credentials by registry domain.
func registryFor(req *apiv1.BuildOptions, resolve func(ref string) (*apiv1.RegistryOptions, error)) error {
	req.Auths = map[string]*apiv1.RegistryAuth{}
	for _, ref := range baseImages(req.GetDockerfile(), req.GetBuildArgs()) {
		o, err := resolve(ref)
		if err != nil {
			return err
		}
		if req.Registry == nil {
			req.Registry = &apiv1.RegistryOptions{InsecureRegistries: o.GetInsecureRegistries()}
		}
		if a := o.GetAuth(); a != nil {
			named, _ := reference.ParseNormalizedNamed(ref)
			req.Auths[reference.Domain(named)] = a
		}
	}
	return nil
}

// ResolveRegistries fills req's insecure registries and the credentials
// of its base images' registries from resolve, as skiff build does; the
// Docker API's build uses it too.
func ResolveRegistries(req *apiv1.BuildOptions, resolve func(ref string) (*apiv1.RegistryOptions, error)) error {
	return registryFor(req, resolve)
}
