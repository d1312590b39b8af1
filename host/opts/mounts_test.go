package opts

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"google.golang.org/protobuf/proto"

	apiv1 "github.com/skiffrun/skiff/guest/api/v1"
)

func TestVolume(t *testing.T) {
	cwd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		in   string
		want *apiv1.Mount
		err  string
	}{
		{in: "/data", want: &apiv1.Mount{Type: "volume", Target: "/data"}},
		{in: "/data/", want: &apiv1.Mount{Type: "volume", Target: "/data"}},
		{in: "cache:/var/cache", want: &apiv1.Mount{Type: "volume", Source: "cache", Target: "/var/cache"}},
		{in: "cache:/c:ro,nocopy", want: &apiv1.Mount{Type: "volume", Source: "cache", Target: "/c", ReadOnly: true, NoCopy: true, Mode: "ro,nocopy"}},
		{in: "/src:/app", want: &apiv1.Mount{Type: "bind", HostSource: "/src", Target: "/app"}},
		{in: "/src/../etc/:/app:ro", want: &apiv1.Mount{Type: "bind", HostSource: "/etc", Target: "/app", ReadOnly: true, Mode: "ro"}},
		{in: "/src:/app:rw,rshared,z", want: &apiv1.Mount{Type: "bind", HostSource: "/src", Target: "/app", Propagation: "rshared", Mode: "rw,rshared,z"}},
		{in: "/src:/app:cached", want: &apiv1.Mount{Type: "bind", HostSource: "/src", Target: "/app", Mode: "cached"}},
		{in: "./x:/app", want: &apiv1.Mount{Type: "bind", HostSource: filepath.Join(cwd, "x"), Target: "/app"}},
		{in: ".:/app", want: &apiv1.Mount{Type: "bind", HostSource: cwd, Target: "/app"}},
		{in: "../up:/app", want: &apiv1.Mount{Type: "bind", HostSource: filepath.Join(filepath.Dir(cwd), "up"), Target: "/app"}},

		{in: "", err: "give /container/path"},
		{in: "data", err: "must be absolute"},
		{in: "/", err: "can't be '/'"},
		{in: "/data:ro", err: "an anonymous volume takes no options"},
		{in: "/a:/b:/c:/d", err: "too many ':'"},
		{in: ":/data", err: "the source before ':' is empty"},
		{in: "/src:", err: "no path inside the container"},
		{in: "/src:rel", err: "must be absolute"},
		{in: "x:/data", err: "invalid characters for a local volume name"},
		{in: "a/b:/data", err: "invalid characters for a local volume name"},
		{in: "~/x:/data", err: "invalid characters for a local volume name"},
		{in: "/src:/app:rx", err: `invalid mode "rx"`},
		{in: "/src:/app:ro,rw", err: "more than one ro/rw"},
		{in: "/src:/app:nocopy", err: "nocopy applies only to volumes"},
		{in: "vol:/app:rshared", err: "applies only to bind mounts"},
		{in: "/src:/app:", want: &apiv1.Mount{Type: "bind", HostSource: "/src", Target: "/app"}},
	} {
		t.Run(tc.in, func(t *testing.T) {
			got, err := Volume("volume", tc.in)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("Volume(%q) = %v, %v; want an error with %q", tc.in, got, err, tc.err)
				}
				if !strings.HasPrefix(err.Error(), "invalid argument ") {
					t.Errorf("the error does not name the flag: %v", err)
				}
				return
			}
			if err != nil {
				t.Fatalf("Volume(%q): %v", tc.in, err)
			}
			if !proto.Equal(got, tc.want) {
				t.Errorf("Volume(%q) = %v, want %v", tc.in, got, tc.want)
			}
		})
	}
}

func TestMountSpec(t *testing.T) {
	cwd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		in    string
		want  *apiv1.Mount
		tmpfs string
		err   string
	}{
		{in: "type=bind,source=/src,target=/app", want: &apiv1.Mount{Type: "bind", HostSource: "/src", Target: "/app"}},
		{in: "type=bind,src=/src,dst=/app,readonly", want: &apiv1.Mount{Type: "bind", HostSource: "/src", Target: "/app", ReadOnly: true}},
		{in: "type=bind,src=/src,destination=/app,ro=true,bind-propagation=rslave,bind-nonrecursive", want: &apiv1.Mount{Type: "bind", HostSource: "/src", Target: "/app", ReadOnly: true, Propagation: "rslave", NonRecursive: true}},
		{in: "type=bind,src=.,dst=/app", want: &apiv1.Mount{Type: "bind", HostSource: cwd, Target: "/app"}},
		{in: "type=bind,src=./sub,dst=/app", want: &apiv1.Mount{Type: "bind", HostSource: filepath.Join(cwd, "sub"), Target: "/app"}},
		{in: "src=vol,dst=/data", want: &apiv1.Mount{Type: "volume", Source: "vol", Target: "/data"}},
		{in: "type=volume,dst=/data,volume-nocopy,volume-label=a=b,volume-driver=local", want: &apiv1.Mount{Type: "volume", Target: "/data", NoCopy: true, VolumeLabels: map[string]string{"a": "b"}}},
		{in: `"type=volume","src=vol","dst=/da,ta"`, want: &apiv1.Mount{Type: "volume", Source: "vol", Target: "/da,ta"}},
		{in: "type=tmpfs,dst=/t", tmpfs: "/t"},
		{in: "type=tmpfs,dst=/t,tmpfs-size=64m,tmpfs-mode=1770,ro", tmpfs: "/t:size=67108864,mode=1770,ro"},

		{in: "type=bind,src=rel,dst=/app", err: "must be an absolute path"},
		{in: "type=bind,src=../up,dst=/app", err: "must be an absolute path"},
		{in: "type=bind,dst=/app", err: "needs source=/host/path"},
		{in: "type=bind,src=/src", err: "target is required"},
		{in: "type=bind,src=/src,dst=app", err: "must be absolute"},
		{in: "type=npipe,src=x,dst=/x", err: `mount type "npipe" is not supported`},
		{in: "type=,src=x,dst=/x", err: "type is required"},
		{in: "type=bind,src=/s,dst=/x,color=red", err: `unexpected key "color"`},
		{in: "type=bind,src=/s,dst=/x,bogus", err: `"bogus" must be a key=value pair`},
		{in: "type=bind,src=/s,dst=/x,ro=maybe", err: "use true or false"},
		{in: "type=bind,src=/s,dst=/x,volume-nocopy", err: "cannot mix 'volume-*' options with mount type 'bind'"},
		{in: "type=volume,dst=/x,bind-propagation=shared", err: "cannot mix 'bind-*' options"},
		{in: "type=volume,dst=/x,tmpfs-size=1m", err: "cannot mix 'tmpfs-*' options"},
		{in: "type=bind,src=/s,dst=/x,bind-propagation=sideways", err: "bind-propagation \"sideways\""},
		{in: "type=volume,src=a/b,dst=/x", err: "invalid characters"},
		{in: "type=volume,dst=/x,volume-driver=nfs", err: "only the local driver"},
		{in: "type=tmpfs,src=x,dst=/t", err: "takes no source"},
		{in: "type=tmpfs,dst=/t,tmpfs-size=lots", err: "tmpfs-size"},
		{in: "type=tmpfs,dst=/t,tmpfs-mode=9", err: "tmpfs-mode"},
		{in: `"type=bind`, err: "not a comma-separated list"},
	} {
		t.Run(tc.in, func(t *testing.T) {
			got, tmpfs, err := MountSpec("mount", tc.in)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("MountSpec(%q) = %v, %q, %v; want an error with %q", tc.in, got, tmpfs, err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatalf("MountSpec(%q): %v", tc.in, err)
			}
			if tmpfs != tc.tmpfs || !proto.Equal(got, tc.want) {
				t.Errorf("MountSpec(%q) = %v, %q; want %v, %q", tc.in, got, tmpfs, tc.want, tc.tmpfs)
			}
		})
	}
}

// FuzzMountOptions checks that no -v or --mount value crashes the parsers
// and that what they accept is a mount the agent can take: an absolute,
// clean target other than /, a bind with an absolute host path, a volume
// with a valid name or none.
func FuzzMountOptions(f *testing.F) {
	for _, s := range []string{
		"/data", "vol:/data:ro", "/src:/app:rw,rshared,z", "./x:/y", `C:\src:/src`, "/a:/b:/c:/d", ":", "::", "a:/b:nocopy,ro",
		"type=bind,src=/s,dst=/x", "type=volume,dst=/x,volume-label=a=b", "type=tmpfs,dst=/t,tmpfs-size=1m,tmpfs-mode=700",
		`"type=volume","dst=/a,b"`, "type=bind,src=.,dst=/..", "dst=/x/../..", "type=bind,src=/s,dst=/x,ro=1,bind-nonrecursive=false",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		check := func(m *apiv1.Mount) {
			if m == nil {
				t.Fatalf("%q: no mount and no error", s)
			}
			if !strings.HasPrefix(m.Target, "/") || m.Target == "/" || filepath.Clean(m.Target) != m.Target {
				t.Fatalf("%q: bad target %q", s, m.Target)
			}
			switch m.Type {
			case MountBind:
				if !filepath.IsAbs(m.HostSource) {
					t.Fatalf("%q: bind of a relative host path %q", s, m.HostSource)
				}
			case MountVolume:
				if m.Source != "" && VolumeName("x", m.Source) != nil {
					t.Fatalf("%q: bad volume name %q", s, m.Source)
				}
			default:
				t.Fatalf("%q: type %q", s, m.Type)
			}
		}
		if m, err := Volume("volume", s); err == nil {
			check(m)
		}
		m, tmpfs, err := MountSpec("mount", s)
		switch {
		case err != nil:
		case tmpfs != "":
			if m != nil || !strings.HasPrefix(tmpfs, "/") {
				t.Fatalf("%q: tmpfs %q with mount %v", s, tmpfs, m)
			}
		default:
			check(m)
		}
	})
}
