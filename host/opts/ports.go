package opts

import (
	"net/netip"
	"strconv"
	"strings"

	"github.com/skiffrun/skiff/guest/api/portfwd"
	apiv1 "github.com/skiffrun/skiff/guest/api/v1"
)

// maxPortRange bounds how many ports one -p or --expose item may name.
const maxPortRange = 1024

// Publish parses -p items, [ip:][hostPort:]containerPort[/tcp|/udp], where
// either port may be a range (8000-8002:80-82) and an IPv6 address is
// written in brackets ([::1]:8080:80). An empty or missing host port means
// any free port.
func Publish(flag string, items []string) ([]*apiv1.PortBinding, error) {
	var out []*apiv1.PortBinding
	for _, it := range items {
		bs, err := publishOne(flag, it)
		if err != nil {
			return nil, err
		}
		out = append(out, bs...)
	}
	return out, nil
}

func publishOne(flag, item string) ([]*apiv1.PortBinding, error) {
	const how = "use [ip:][hostPort:]containerPort[/tcp|/udp], like 8080:80 or 127.0.0.1:5353:53/udp"
	rest, proto, err := splitProto(item)
	if err != nil {
		return nil, Invalid(flag, item, "%v; %s", err, how)
	}
	ip := portfwd.DefaultHostIP
	var hostPart, ctrPart string
	if strings.HasPrefix(rest, "[") {
		end := strings.Index(rest, "]")
		if end < 0 || len(rest) < end+2 || rest[end+1] != ':' {
			return nil, Invalid(flag, item, "an IPv6 address in brackets must be followed by :hostPort:containerPort; %s", how)
		}
		ip, rest = rest[1:end], rest[end+2:]
		h, c, ok := strings.Cut(rest, ":")
		if !ok {
			return nil, Invalid(flag, item, "%s", how)
		}
		hostPart, ctrPart = h, c
	} else {
		parts := strings.Split(rest, ":")
		switch len(parts) {
		case 1:
			ctrPart = parts[0]
		case 2:
			hostPart, ctrPart = parts[0], parts[1]
		case 3:
			ip, hostPart, ctrPart = parts[0], parts[1], parts[2]
		default:
			return nil, Invalid(flag, item, "too many colons; %s (write an IPv6 address in brackets)", how)
		}
	}
	addr, err := netip.ParseAddr(ip)
	if err != nil || addr.Zone() != "" {
		return nil, Invalid(flag, item, "%q is not an IP address; %s", ip, how)
	}
	ctrLo, ctrHi, err := portRange(ctrPart, false)
	if err != nil {
		return nil, Invalid(flag, item, "container port: %v; %s", err, how)
	}
	hostLo, hostHi, err := portRange(hostPart, true)
	if err != nil {
		return nil, Invalid(flag, item, "host port: %v; %s", err, how)
	}
	n := ctrHi - ctrLo + 1
	if hostLo != 0 && hostHi-hostLo+1 != n {
		return nil, Invalid(flag, item, "the host range has %d ports and the container range %d; give ranges of the same length", hostHi-hostLo+1, n)
	}
	out := make([]*apiv1.PortBinding, 0, n)
	for i := 0; i < n; i++ {
		b := &apiv1.PortBinding{HostIp: addr.String(), ContainerPort: uint32(ctrLo + i), Protocol: proto}
		if hostLo != 0 {
			b.HostPort = uint32(hostLo + i)
		}
		out = append(out, b)
	}
	return out, nil
}

// splitProto cuts "/tcp" or "/udp" off item; tcp is the default.
func splitProto(item string) (string, string, error) {
	rest, proto, ok := strings.Cut(item, "/")
	if !ok {
		return item, "tcp", nil
	}
	switch strings.ToLower(proto) {
	case "tcp", "udp":
		return rest, strings.ToLower(proto), nil
	case "sctp":
		return "", "", errorString("sctp is not supported")
	}
	return "", "", errorString("unknown protocol " + strconv.Quote(proto))
}

type errorString string

func (e errorString) Error() string { return string(e) }

// portRange parses "80" or "8000-8002"; with optional, "" is (0, 0).
func portRange(s string, optional bool) (int, int, error) {
	if s == "" {
		if optional {
			return 0, 0, nil
		}
		return 0, 0, errorString("missing")
	}
	loS, hiS, isRange := strings.Cut(s, "-")
	lo, err := port(loS)
	if err != nil {
		return 0, 0, err
	}
	hi := lo
	if isRange {
		if hi, err = port(hiS); err != nil {
			return 0, 0, err
		}
		if hi < lo {
			return 0, 0, errorString("range " + s + " ends before it starts")
		}
		if hi-lo+1 > maxPortRange {
			return 0, 0, errorString("range " + s + " is longer than " + strconv.Itoa(maxPortRange) + " ports")
		}
	}
	return lo, hi, nil
}

func port(s string) (int, error) {
	n, err := strconv.Atoi(s)
	if err != nil || n < 1 || n > 65535 || strings.TrimLeft(s, "0123456789") != "" {
		return 0, errorString(strconv.Quote(s) + " is not a port number from 1 to 65535")
	}
	return n, nil
}

// Expose parses --expose items, port[-port][/proto], into "port/proto"
// entries.
func Expose(flag string, items []string) ([]string, error) {
	var out []string
	for _, it := range items {
		rest, proto, err := splitProto(it)
		if err != nil {
			return nil, Invalid(flag, it, "%v; use port[-port][/tcp|/udp], like 80 or 5353/udp", err)
		}
		lo, hi, err := portRange(rest, false)
		if err != nil {
			return nil, Invalid(flag, it, "%v; use port[-port][/tcp|/udp], like 80 or 5353/udp", err)
		}
		for p := lo; p <= hi; p++ {
			out = append(out, strconv.Itoa(p)+"/"+proto)
		}
	}
	return out, nil
}
