// Package opts parses the values of docker's command-line options (sizes
// like 512m, --cpus 1.5, --ulimit nofile=1024:2048, --restart
// on-failure:3, env files, key=value lists) into the agent's API types,
// and reports a bad value as a UsageError that says which flag, what was
// wrong and what to write instead. Which flags a command has is left to
// cmd/skiff.
package opts

import (
	"fmt"
	"math/big"
	"net"
	"path"
	"regexp"
	"strconv"
	"strings"

	"github.com/containerd/errdefs"
	units "github.com/docker/go-units"

	"github.com/skiffrun/skiff/guest/api/ociplatform"
	apiv1 "github.com/skiffrun/skiff/guest/api/v1"
)

// UsageError is a mistake in how a command was called: a bad flag value,
// conflicting flags, a missing argument. The CLI follows its message with
// a pointer to the command's --help.
type UsageError struct{ msg string }

func (e *UsageError) Error() string { return e.msg }

// Unwrap makes a usage error an errdefs invalid argument.
func (e *UsageError) Unwrap() error { return errdefs.ErrInvalidArgument }

// Usagef returns a UsageError with a formatted message.
func Usagef(format string, args ...any) error {
	return &UsageError{msg: fmt.Sprintf(format, args...)}
}

// Invalid returns the UsageError for a bad value of --flag.
func Invalid(flag, value, format string, args ...any) error {
	return &UsageError{msg: fmt.Sprintf("invalid argument %q for \"--%s\": ", value, flag) + fmt.Sprintf(format, args...)}
}

// Bytes parses a size such as 512m or 1g (binary units, as docker's
// --memory); "" is 0.
func Bytes(flag, v string) (int64, error) {
	if v == "" {
		return 0, nil
	}
	n, err := units.RAMInBytes(v)
	if err != nil || n < 0 {
		return 0, Invalid(flag, v, "not a size; use a number with an optional unit b, k, m or g, like 512m or 1g")
	}
	return n, nil
}

// Swap parses --memory-swap: a size, or -1 for unlimited swap.
func Swap(flag, v string) (int64, error) {
	if v == "-1" {
		return -1, nil
	}
	n, err := Bytes(flag, v)
	if err != nil {
		return 0, Invalid(flag, v, "not a size; use a size like 1g, or -1 for unlimited swap")
	}
	return n, nil
}

// NanoCPUs parses --cpus (1.5) into billionths of a CPU.
func NanoCPUs(flag, v string) (int64, error) {
	if v == "" {
		return 0, nil
	}
	r, ok := new(big.Rat).SetString(v)
	if !ok || r.Sign() < 0 {
		return 0, Invalid(flag, v, "not a number of CPUs; use a number like 1.5")
	}
	nano := r.Mul(r, big.NewRat(1e9, 1))
	if !nano.IsInt() {
		return 0, Invalid(flag, v, "too precise; use at most 9 decimal places")
	}
	if !nano.Num().IsInt64() {
		return 0, Invalid(flag, v, "too large")
	}
	return nano.Num().Int64(), nil
}

// Ulimit parses name=soft[:hard]; without hard, hard is soft.
func Ulimit(flag, v string) (*apiv1.Ulimit, error) {
	u, err := units.ParseUlimit(v)
	if err != nil {
		return nil, Invalid(flag, v, "%s; use name=soft[:hard], like nofile=1024:2048", strings.TrimPrefix(err.Error(), "ulimit: "))
	}
	return &apiv1.Ulimit{Name: u.Name, Soft: u.Soft, Hard: u.Hard}, nil
}

// Restart parses --restart: no, always, unless-stopped, on-failure[:N].
func Restart(flag, v string) (*apiv1.RestartPolicy, error) {
	name, count, hasCount := strings.Cut(v, ":")
	p := &apiv1.RestartPolicy{Name: name}
	switch name {
	case "", "no":
		p.Name = "no"
	case "always", "unless-stopped":
	case "on-failure":
		if !hasCount {
			return p, nil
		}
		n, err := strconv.ParseInt(count, 10, 32)
		if err != nil || n < 0 {
			return nil, Invalid(flag, v, "the retry count must be a whole number, like on-failure:3")
		}
		p.MaximumRetryCount = int32(n)
		return p, nil
	default:
		return nil, Invalid(flag, v, "unknown policy; use no, always, unless-stopped or on-failure[:max-retries]")
	}
	if hasCount {
		return nil, Invalid(flag, v, "a retry count goes only with on-failure, as in on-failure:3")
	}
	return p, nil
}

// KeyValues parses key=value items into a map. With valueOptional, a bare
// key maps to "" (docker's --label); otherwise it is an error.
func KeyValues(flag string, items []string, valueOptional bool) (map[string]string, error) {
	if len(items) == 0 {
		return nil, nil
	}
	m := make(map[string]string, len(items))
	for _, it := range items {
		k, v, ok := strings.Cut(it, "=")
		if k == "" || !ok && !valueOptional {
			return nil, Invalid(flag, it, "use key=value")
		}
		m[k] = v
	}
	return m, nil
}

// Pull checks --pull.
func Pull(flag, v string) (string, error) {
	switch v {
	case "", "missing", "always", "never":
		return v, nil
	}
	return "", Invalid(flag, v, "use missing, always or never")
}

var namePattern = regexp.MustCompile(`^/?[a-zA-Z0-9][a-zA-Z0-9_.-]+$`)

// Name checks a container name as docker does.
func Name(flag, v string) (string, error) {
	if v == "" {
		return "", nil
	}
	if !namePattern.MatchString(v) {
		return "", Invalid(flag, v, "use at least two letters, digits, '_', '.' or '-', starting with a letter or digit")
	}
	return strings.TrimPrefix(v, "/"), nil
}

// AbsPath checks a path inside a container (--workdir, --tmpfs).
func AbsPath(flag, v string) (string, error) {
	if v == "" || path.IsAbs(v) {
		return v, nil
	}
	return "", Invalid(flag, v, "use an absolute path inside the container, like /%s", strings.TrimLeft(v, "./"))
}

// Tmpfs checks --tmpfs path[:options] items.
func Tmpfs(flag string, items []string) ([]string, error) {
	for _, it := range items {
		p, _, _ := strings.Cut(it, ":")
		if _, err := AbsPath(flag, p); err != nil || p == "" {
			return nil, Invalid(flag, it, "use an absolute path with optional mount options, like /run:rw,size=64m")
		}
	}
	return items, nil
}

// Hosts checks --add-host name:ip items (name=ip too, and host-gateway as
// the ip, as docker allows).
func Hosts(flag string, items []string) ([]string, error) {
	out := make([]string, 0, len(items))
	for _, it := range items {
		sep := strings.IndexAny(it, "=:")
		if sep <= 0 {
			return nil, Invalid(flag, it, "use name:ip, like db:10.0.0.2")
		}
		name, ip := it[:sep], strings.Trim(it[sep+1:], "[]")
		if ip != "host-gateway" && net.ParseIP(ip) == nil {
			return nil, Invalid(flag, it, "%q is not an IP address; use name:ip, like db:10.0.0.2", ip)
		}
		out = append(out, name+":"+ip)
	}
	return out, nil
}

// IPs checks a list of IP addresses (--dns).
func IPs(flag string, items []string) ([]string, error) {
	for _, it := range items {
		if net.ParseIP(it) == nil {
			return nil, Invalid(flag, it, "not an IP address; use one like 1.1.1.1")
		}
	}
	return items, nil
}

var cpusetPattern = regexp.MustCompile(`^[0-9]+(-[0-9]+)?(,[0-9]+(-[0-9]+)?)*$`)

// CPUSet checks --cpuset-cpus (0-3,5).
func CPUSet(flag, v string) (string, error) {
	if v == "" || cpusetPattern.MatchString(v) {
		return v, nil
	}
	return "", Invalid(flag, v, "use CPU numbers and ranges, like 0-3 or 0,2")
}

var signalPattern = regexp.MustCompile(`^([A-Za-z][A-Za-z0-9+-]*|[0-9]+)$`)

// Signal checks a signal given by name (SIGTERM, TERM) or number.
func Signal(flag, v string) (string, error) {
	if v == "" || signalPattern.MatchString(v) {
		return v, nil
	}
	return "", Invalid(flag, v, "use a signal name or number, like SIGTERM or 15")
}

// Platform checks --platform (os/arch[/variant], or an architecture)
// and returns it in canonical form ("aarch64" is "linux/arm64"); ""
// stays "", the machine's own.
func Platform(flag, v string) (string, error) {
	if v == "" {
		return "", nil
	}
	p, err := ociplatform.Parse(v)
	if err != nil {
		return "", Invalid(flag, v, "use os/arch[/variant]: %s", ociplatform.Accepted)
	}
	return ociplatform.Format(p), nil
}

// Filters parses --filter key=value items; a key may repeat.
func Filters(flag string, items []string) (map[string]*apiv1.FilterValues, error) {
	if len(items) == 0 {
		return nil, nil
	}
	m := map[string]*apiv1.FilterValues{}
	for _, it := range items {
		k, v, ok := strings.Cut(it, "=")
		k = strings.ToLower(strings.TrimSpace(k))
		if !ok || k == "" {
			return nil, Invalid(flag, it, "use key=value, like status=exited")
		}
		if m[k] == nil {
			m[k] = &apiv1.FilterValues{}
		}
		m[k].Values = append(m[k].Values, v)
	}
	return m, nil
}
