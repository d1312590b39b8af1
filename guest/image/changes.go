package image

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/containerd/errdefs"
	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// applyChange applies one Dockerfile-like instruction of import's
// --change to c: CMD, ENTRYPOINT, ENV, WORKDIR, USER, EXPOSE, LABEL,
// VOLUME or STOPSIGNAL, as docker import does.
func applyChange(c *v1.Config, change string) error {
	change = strings.TrimSpace(change)
	inst, arg, _ := strings.Cut(change, " ")
	arg = strings.TrimSpace(arg)
	bad := func(why string) error {
		return errdefs.ErrInvalidArgument.WithMessage(fmt.Sprintf("invalid --change %q: %s", change, why))
	}
	switch strings.ToUpper(inst) {
	case "CMD", "ENTRYPOINT":
		if arg == "" {
			return bad("give a command, as in CMD [\"sh\"]")
		}
		args := []string{"/bin/sh", "-c", arg}
		if strings.HasPrefix(arg, "[") {
			var list []string
			if err := json.Unmarshal([]byte(arg), &list); err != nil {
				return bad("the exec form is a JSON array of strings")
			}
			args = list
		}
		if strings.EqualFold(inst, "CMD") {
			c.Cmd = args
		} else {
			c.Entrypoint = args
		}
	case "ENV":
		kvs, err := keyValues(arg)
		if err != nil {
			return bad(err.Error())
		}
		for _, kv := range kvs {
			c.Env = setEnv(c.Env, kv[0], kv[1])
		}
	case "LABEL":
		kvs, err := keyValues(arg)
		if err != nil {
			return bad(err.Error())
		}
		if c.Labels == nil {
			c.Labels = map[string]string{}
		}
		for _, kv := range kvs {
			c.Labels[kv[0]] = kv[1]
		}
	case "WORKDIR":
		if !strings.HasPrefix(arg, "/") {
			return bad("WORKDIR must be an absolute path")
		}
		c.WorkingDir = arg
	case "USER":
		if arg == "" || strings.ContainsAny(arg, " \t") {
			return bad("USER takes one user[:group]")
		}
		c.User = arg
	case "STOPSIGNAL":
		if arg == "" || strings.ContainsAny(arg, " \t") {
			return bad("STOPSIGNAL takes one signal")
		}
		c.StopSignal = arg
	case "EXPOSE":
		for _, p := range strings.Fields(arg) {
			port, proto, hasProto := strings.Cut(p, "/")
			if !hasProto {
				proto = "tcp"
			}
			if !isPort(port) || (proto != "tcp" && proto != "udp" && proto != "sctp") {
				return bad(fmt.Sprintf("%q is not a port (1-65535, optionally /tcp, /udp or /sctp)", p))
			}
			if c.ExposedPorts == nil {
				c.ExposedPorts = map[string]struct{}{}
			}
			c.ExposedPorts[port+"/"+proto] = struct{}{}
		}
	case "VOLUME":
		vols := strings.Fields(arg)
		if strings.HasPrefix(arg, "[") {
			if err := json.Unmarshal([]byte(arg), &vols); err != nil {
				return bad("the JSON form is an array of strings")
			}
		}
		for _, v := range vols {
			if !strings.HasPrefix(v, "/") {
				return bad("a volume is an absolute path")
			}
			if c.Volumes == nil {
				c.Volumes = map[string]struct{}{}
			}
			c.Volumes[v] = struct{}{}
		}
	default:
		return bad("use CMD, ENTRYPOINT, ENV, EXPOSE, LABEL, STOPSIGNAL, USER, VOLUME or WORKDIR")
	}
	return nil
}

func isPort(s string) bool {
	if s == "" || len(s) > 5 {
		return false
	}
	n := 0
	for _, r := range s {
		if r < '0' || r > '9' {
			return false
		}
		n = n*10 + int(r-'0')
	}
	return n >= 1 && n <= 65535
}

// keyValues parses "k=v k2=v2" or the old "k v" form of ENV and LABEL.
// Values may be double-quoted.
func keyValues(arg string) ([][2]string, error) {
	if arg == "" {
		return nil, fmt.Errorf("give key=value")
	}
	first, rest, _ := strings.Cut(arg, " ")
	if !strings.Contains(first, "=") {
		return [][2]string{{first, strings.TrimSpace(rest)}}, nil
	}
	var out [][2]string
	for _, f := range splitQuoted(arg) {
		k, v, ok := strings.Cut(f, "=")
		if !ok || k == "" {
			return nil, fmt.Errorf("%q is not key=value", f)
		}
		out = append(out, [2]string{k, strings.Trim(v, `"`)})
	}
	return out, nil
}

// splitQuoted splits s at spaces outside double quotes.
func splitQuoted(s string) []string {
	var out []string
	var cur strings.Builder
	quoted := false
	for _, r := range s {
		switch {
		case r == '"':
			quoted = !quoted
			cur.WriteRune(r)
		case r == ' ' && !quoted:
			if cur.Len() > 0 {
				out = append(out, cur.String())
				cur.Reset()
			}
		default:
			cur.WriteRune(r)
		}
	}
	if cur.Len() > 0 {
		out = append(out, cur.String())
	}
	return out
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

// applyChanges applies changes in order. As in a Dockerfile, an
// ENTRYPOINT drops the command it inherited unless a CMD came before it
// among the changes.
func applyChanges(c *v1.Config, changes []string) error {
	cmdSet := false
	for _, ch := range changes {
		inst, _, _ := strings.Cut(strings.TrimSpace(ch), " ")
		if err := applyChange(c, ch); err != nil {
			return err
		}
		switch strings.ToUpper(inst) {
		case "CMD":
			cmdSet = true
		case "ENTRYPOINT":
			if !cmdSet {
				c.Cmd = nil
			}
		}
	}
	return nil
}
