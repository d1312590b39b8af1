package build

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"maps"
	"path"
	"slices"
	"strconv"
	"strings"

	"github.com/containerd/errdefs"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/moby/buildkit/frontend/dockerfile/instructions"
	"github.com/moby/buildkit/frontend/dockerfile/shell"
)

// defaultPath is the PATH a scratch image gets, and a RUN whose image
// sets none.
const defaultPath = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

// proxyArgs may be given with --build-arg without an ARG: RUN sees them,
// and they stay out of the image's history and the cache key, as docker
// keeps them.
var proxyArgs = map[string]bool{
	"HTTP_PROXY": true, "http_proxy": true, "HTTPS_PROXY": true, "https_proxy": true,
	"FTP_PROXY": true, "ftp_proxy": true, "NO_PROXY": true, "no_proxy": true,
	"ALL_PROXY": true, "all_proxy": true,
}

// layerFile is one layer a state adds above its base image.
type layerFile struct {
	path   string
	diffID string
}

// state is a stage's image so far.
type state struct {
	// key is the cache key of the last step.
	key string
	// base is the ID of the image whose layers come first, or "" for
	// scratch; layers are the ones added above it.
	base   string
	layers []layerFile
	cfg    v1.ConfigFile
	// args are the ARGs in scope, in the order declared.
	args []arg
	// cmdSet reports whether this stage set CMD, which ENTRYPOINT then
	// keeps.
	cmdSet bool
}

type arg struct{ key, value string }

func (s *state) clone() *state {
	c := *s
	c.layers = slices.Clone(s.layers)
	c.args = slices.Clone(s.args)
	c.cmdSet = false
	// A deep copy through JSON: the config is plain data.
	data, _ := json.Marshal(s.cfg)
	c.cfg = v1.ConfigFile{}
	_ = json.Unmarshal(data, &c.cfg)
	return &c
}

// expandEnv is what instructions expand words with: the ARGs in scope,
// overridden by the image's ENV, as docker does.
func (s *state) expandEnv() []string {
	env := make([]string, 0, len(s.args)+len(s.cfg.Config.Env))
	for _, a := range s.args {
		env = append(env, a.key+"="+a.value)
	}
	return append(env, s.cfg.Config.Env...)
}

// runEnv is the environment of a RUN: the image's ENV, then the ARGs and
// proxy build arguments ENV does not set.
func (s *state) runEnv(proxies map[string]string) []string {
	env := slices.Clone(s.cfg.Config.Env)
	if !hasEnv(env, "PATH") {
		env = append(env, defaultPath)
	}
	for _, a := range s.args {
		if !hasEnv(env, a.key) {
			env = append(env, a.key+"="+a.value)
		}
	}
	for _, k := range slices.Sorted(maps.Keys(proxies)) {
		if !hasEnv(env, k) {
			env = append(env, k+"="+proxies[k])
		}
	}
	return env
}

// argPrefix is docker's "|N K=V ..." that a RUN's history shows of the
// build arguments in scope.
func (s *state) argPrefix() string {
	var kv []string
	for _, a := range s.args {
		if !proxyArgs[a.key] {
			kv = append(kv, a.key+"="+a.value)
		}
	}
	if len(kv) == 0 {
		return ""
	}
	return "|" + strconv.Itoa(len(kv)) + " " + strings.Join(kv, " ") + " "
}

func hasEnv(env []string, k string) bool {
	for _, e := range env {
		if name, _, _ := strings.Cut(e, "="); name == k {
			return true
		}
	}
	return false
}

func setEnv(env []string, k, v string) []string {
	for i, e := range env {
		if name, _, _ := strings.Cut(e, "="); name == k {
			env[i] = k + "=" + v
			return env
		}
	}
	return append(env, k+"="+v)
}

func setArg(args []arg, k, v string) []arg {
	for i := range args {
		if args[i].key == k {
			args[i].value = v
			return args
		}
	}
	return append(args, arg{k, v})
}

// stepKey chains a step's cache key to its parent's.
func stepKey(parent string, parts ...string) string {
	h := sha256.New()
	h.Write([]byte(parent))
	for _, p := range parts {
		h.Write([]byte{0})
		h.Write([]byte(p))
	}
	return hex.EncodeToString(h.Sum(nil))
}

// shellOf is the shell that shell-form commands run with.
func (s *state) shellOf() []string {
	if len(s.cfg.Config.Shell) > 0 {
		return s.cfg.Config.Shell
	}
	return []string{"/bin/sh", "-c"}
}

// commandLine turns a shell-form or exec-form command into argv.
func (s *state) commandLine(c instructions.ShellDependantCmdLine) []string {
	if c.PrependShell {
		return append(slices.Clone(s.shellOf()), strings.Join(c.CmdLine, " "))
	}
	return slices.Clone(c.CmdLine)
}

// applyMeta applies an instruction that only changes the image config
// and returns its history text; ok is false for instructions that make
// a layer. Words are already expanded.
func (s *state) applyMeta(cmd instructions.Command, lex *shell.Lex) (createdBy string, ok bool, err error) {
	c := &s.cfg.Config
	switch cmd := cmd.(type) {
	case *instructions.EnvCommand:
		var kv []string
		for _, p := range cmd.Env {
			c.Env = setEnv(c.Env, p.Key, p.Value)
			kv = append(kv, p.Key+"="+p.Value)
		}
		return "ENV " + strings.Join(kv, " "), true, nil
	case *instructions.LabelCommand:
		if c.Labels == nil {
			c.Labels = map[string]string{}
		}
		var kv []string
		for _, p := range cmd.Labels {
			c.Labels[p.Key] = p.Value
			kv = append(kv, p.Key+"="+p.Value)
		}
		return "LABEL " + strings.Join(kv, " "), true, nil
	case *instructions.MaintainerCommand:
		s.cfg.Author = cmd.Maintainer
		return "MAINTAINER " + cmd.Maintainer, true, nil
	case *instructions.WorkdirCommand:
		wd := cmd.Path
		if !path.IsAbs(wd) {
			wd = path.Join("/", c.WorkingDir, wd)
		}
		c.WorkingDir = path.Clean(wd)
		return "WORKDIR " + c.WorkingDir, true, nil
	case *instructions.UserCommand:
		c.User = cmd.User
		return "USER " + cmd.User, true, nil
	case *instructions.CmdCommand:
		c.Cmd = s.commandLine(cmd.ShellDependantCmdLine)
		s.cmdSet = true
		return "CMD " + jsonList(c.Cmd), true, nil
	case *instructions.EntrypointCommand:
		c.Entrypoint = s.commandLine(cmd.ShellDependantCmdLine)
		if !s.cmdSet {
			c.Cmd = nil
		}
		return "ENTRYPOINT " + jsonList(c.Entrypoint), true, nil
	case *instructions.ShellCommand:
		c.Shell = slices.Clone(cmd.Shell)
		return "SHELL " + jsonList(c.Shell), true, nil
	case *instructions.ExposeCommand:
		var ports []string
		for _, p := range cmd.Ports {
			words, err := lex.ProcessWords(p, shell.EnvsFromSlice(s.expandEnv()))
			if err != nil {
				return "", true, err
			}
			for _, w := range words {
				exp, err := exposedPorts(w)
				if err != nil {
					return "", true, err
				}
				ports = append(ports, exp...)
			}
		}
		if c.ExposedPorts == nil {
			c.ExposedPorts = map[string]struct{}{}
		}
		for _, p := range ports {
			c.ExposedPorts[p] = struct{}{}
		}
		return "EXPOSE map[" + strings.Join(ports, ":{} ") + ":{}]", true, nil
	case *instructions.VolumeCommand:
		if c.Volumes == nil {
			c.Volumes = map[string]struct{}{}
		}
		for _, v := range cmd.Volumes {
			if v == "" {
				return "", true, errdefs.ErrInvalidArgument.WithMessage("VOLUME specified can not be an empty string")
			}
			c.Volumes[v] = struct{}{}
		}
		return "VOLUME " + jsonList(cmd.Volumes), true, nil
	case *instructions.StopSignalCommand:
		c.StopSignal = cmd.Signal
		return "STOPSIGNAL " + cmd.Signal, true, nil
	case *instructions.HealthCheckCommand:
		h := cmd.Health
		c.Healthcheck = &v1.HealthConfig{Test: h.Test, Interval: h.Interval, Timeout: h.Timeout, StartPeriod: h.StartPeriod, Retries: h.Retries}
		return "HEALTHCHECK " + jsonList(h.Test), true, nil
	case *instructions.OnbuildCommand:
		c.OnBuild = append(c.OnBuild, cmd.Expression)
		return "ONBUILD " + cmd.Expression, true, nil
	}
	return "", false, nil
}

// exposedPorts parses one EXPOSE word: a port or range, optionally with
// a protocol.
func exposedPorts(w string) ([]string, error) {
	bad := errdefs.ErrInvalidArgument.WithMessage(fmt.Sprintf("invalid port %q: use PORT[/PROTOCOL] or START-END[/PROTOCOL]", w))
	ports, proto, hasProto := strings.Cut(w, "/")
	proto = strings.ToLower(proto)
	if !hasProto {
		proto = "tcp"
	}
	if proto != "tcp" && proto != "udp" && proto != "sctp" {
		return nil, bad
	}
	lo, hi, isRange := strings.Cut(ports, "-")
	start, err := strconv.ParseUint(lo, 10, 16)
	if err != nil || start == 0 {
		return nil, bad
	}
	end := start
	if isRange {
		if end, err = strconv.ParseUint(hi, 10, 16); err != nil || end < start {
			return nil, bad
		}
	}
	var out []string
	for p := start; p <= end; p++ {
		out = append(out, strconv.FormatUint(p, 10)+"/"+proto)
	}
	return out, nil
}

func jsonList(l []string) string {
	data, _ := json.Marshal(l)
	return string(data)
}

func digestOf(data []byte) string {
	sum := sha256.Sum256(data)
	return "sha256:" + hex.EncodeToString(sum[:])
}

// instructionText is an instruction as written, on one line.
func instructionText(cmd instructions.Command) string {
	if s, ok := cmd.(fmt.Stringer); ok {
		return strings.Join(strings.Fields(s.String()), " ")
	}
	return strings.ToUpper(cmd.Name())
}
