package wire

import (
	"net/netip"
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestParseCmdline(t *testing.T) {
	tests := []struct {
		name    string
		cmdline string
		want    BootConfig
		wantErr bool
	}{{
		name: "everything",
		cmdline: "console=hvc0 panic=-1 quiet skiff.agent=serial:skiff.agent skiff.disk=vda " +
			"skiff.share=home,virtiofs,rw,/Users/me skiff.share=t9,9p,ro,/mnt/c/My%20Files%2C%20old " +
			"skiff.net=static,10.0.2.15/24,10.0.2.2,10.0.2.3 skiff.hostloop=10.0.2.2 skiff.time=1700000000123456789 skiff.hostname=skiff skiff.debug=1",
		want: BootConfig{
			Agent: Transport{Kind: TransportSerial, Name: "skiff.agent"},
			Disk:  "vda",
			Shares: []Share{
				{Tag: "home", FSType: FSVirtiofs, Path: "/Users/me"},
				{Tag: "t9", FSType: FS9P, ReadOnly: true, Path: "/mnt/c/My Files, old"},
			},
			Net:          &StaticNet{Addr: netip.MustParsePrefix("10.0.2.15/24"), Gateway: netip.MustParseAddr("10.0.2.2"), DNS: netip.MustParseAddr("10.0.2.3")},
			HostLoopback: netip.MustParseAddr("10.0.2.2"),
			Time:         time.Unix(0, 1700000000123456789),
			Hostname:     "skiff",
			Debug:        true,
		},
	}, {
		name:    "vsock, Hyper-V share, no network",
		cmdline: "skiff.agent=vsock:1024 skiff.disk=sda skiff.share=c,9p-vsock,rw,/mnt/c skiff.net=none skiff.bus=vmbus",
		want: BootConfig{Agent: Transport{Kind: TransportVsock, Port: 1024}, Disk: "sda",
			Shares: []Share{{Tag: "c", FSType: FS9PVsock, Path: "/mnt/c"}}, Buses: []string{BusVMBus}},
	}, {
		name:    "unknown bus",
		cmdline: "skiff.agent=vsock:1024 skiff.bus=mmio,isa",
		want:    BootConfig{Agent: Transport{Kind: TransportVsock, Port: 1024}},
		wantErr: true,
	}, {
		name:    "no transport",
		cmdline: "console=ttyS0 skiff.disk=vda",
		want:    BootConfig{Disk: "vda"},
		wantErr: true,
	}, {
		name:    "bad keys are reported, good ones kept",
		cmdline: "skiff.agent=serial:a skiff.share=x,nfs,rw,/x skiff.share=y,9p,rw,relative skiff.share=z,9p,rx,/z skiff.disk=../sda skiff.time=soon skiff.bogus=1",
		want:    BootConfig{Agent: Transport{Kind: TransportSerial, Name: "a"}},
		wantErr: true,
	}, {
		name:    "bad transport",
		cmdline: "skiff.agent=tcp:1234",
		wantErr: true,
	}, {
		name:    "static net without gateway or dns",
		cmdline: "skiff.agent=vsock:5 skiff.net=static,192.168.1.2/16,,",
		want:    BootConfig{Agent: Transport{Kind: TransportVsock, Port: 5}, Net: &StaticNet{Addr: netip.MustParsePrefix("192.168.1.2/16")}},
	}, {
		name:    "an IPv6 host loopback address is refused",
		cmdline: "skiff.agent=vsock:5 skiff.hostloop=::1",
		want:    BootConfig{Agent: Transport{Kind: TransportVsock, Port: 5}},
		wantErr: true,
	}, {
		name:    "user-mode network over vsock",
		cmdline: "skiff.bus=vmbus skiff.agent=vsock:10000 skiff.net=static,192.168.127.2/24,192.168.127.1,192.168.127.1 skiff.hostloop=192.168.127.254 skiff.netvsock=1025",
		want: BootConfig{Buses: []string{BusVMBus}, Agent: Transport{Kind: TransportVsock, Port: 10000},
			Net:          &StaticNet{Addr: netip.MustParsePrefix("192.168.127.2/24"), Gateway: netip.MustParseAddr("192.168.127.1"), DNS: netip.MustParseAddr("192.168.127.1")},
			HostLoopback: netip.MustParseAddr("192.168.127.254"), NetVsockPort: 1025},
	}, {
		name:    "frame link ports that are none are refused",
		cmdline: "skiff.agent=vsock:5 skiff.netvsock=0 skiff.netvsock=4294967295 skiff.netvsock=-1 skiff.netvsock=vsock:1025",
		want:    BootConfig{Agent: Transport{Kind: TransportVsock, Port: 5}},
		wantErr: true,
	}, {
		name:    "dhcp",
		cmdline: "skiff.agent=vsock:5 skiff.net=dhcp",
		want:    BootConfig{Agent: Transport{Kind: TransportVsock, Port: 5}, DHCP: true},
	}}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParseCmdline(tc.cmdline)
			if (err != nil) != tc.wantErr {
				t.Fatalf("error %v, want error %v", err, tc.wantErr)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("got  %+v\nwant %+v", got, tc.want)
			}
		})
	}
}

func TestArgs(t *testing.T) {
	c := BootConfig{
		Buses:        []string{BusMMIO, BusPCI},
		Agent:        Transport{Kind: TransportSerial, Name: "skiff.agent"},
		Disk:         "vda",
		Shares:       []Share{{Tag: "share0", FSType: FSVirtiofs, Path: "/home/u"}, {Tag: "c", FSType: FS9PVsock, ReadOnly: true, Path: "/mnt/c/My Files,x"}},
		Net:          &StaticNet{Addr: netip.MustParsePrefix("10.0.2.15/24"), Gateway: netip.MustParseAddr("10.0.2.2")},
		HostLoopback: netip.MustParseAddr("192.168.127.254"),
		NetVsockPort: 1025,
		Time:         time.Unix(1700000000, 123),
		Hostname:     "default",
		Debug:        true,
	}
	args, err := c.Args()
	if err != nil {
		t.Fatal(err)
	}
	want := "skiff.bus=mmio,pci skiff.agent=serial:skiff.agent skiff.disk=vda skiff.share=share0,virtiofs,rw,%2Fhome%2Fu " +
		"skiff.share=c,9p-vsock,ro,%2Fmnt%2Fc%2FMy%20Files%2Cx skiff.net=static,10.0.2.15/24,10.0.2.2, " +
		"skiff.hostloop=192.168.127.254 skiff.netvsock=1025 skiff.time=1700000000000000123 skiff.hostname=default skiff.debug=1"
	if got := strings.Join(args, " "); got != want {
		t.Errorf("Args =\n%s\nwant\n%s", got, want)
	}
	if args, err := (BootConfig{Agent: Transport{Kind: TransportVsock, Port: 1024}, DHCP: true}).Args(); err != nil ||
		strings.Join(args, " ") != "skiff.agent=vsock:1024 skiff.net=dhcp" {
		t.Errorf("Args of a bare vsock, DHCP config = %q, %v", args, err)
	}
}

func TestArgsRefuses(t *testing.T) {
	vsock := Transport{Kind: TransportVsock, Port: 1}
	tests := []struct {
		name string
		c    BootConfig
		want string
	}{
		{"no transport", BootConfig{}, "skiff.agent"},
		{"serial port with a slash", BootConfig{Agent: Transport{Kind: TransportSerial, Name: "a/b"}}, "skiff.agent"},
		{"disk path", BootConfig{Agent: vsock, Disk: "/dev/vda"}, "skiff.disk"},
		{"share tag with a comma", BootConfig{Agent: vsock, Shares: []Share{{Tag: "a,b", FSType: FS9P, Path: "/a"}}}, "skiff.share"},
		{"share of /", BootConfig{Agent: vsock, Shares: []Share{{Tag: "a", FSType: FS9P, Path: "/"}}}, "skiff.share"},
		{"unknown file system", BootConfig{Agent: vsock, Shares: []Share{{Tag: "a", FSType: "nfs", Path: "/a"}}}, "skiff.share"},
		{"static and DHCP", BootConfig{Agent: vsock, DHCP: true, Net: &StaticNet{Addr: netip.MustParsePrefix("10.0.0.2/8")}}, "skiff.net"},
		{"host name with a space", BootConfig{Agent: vsock, Hostname: "my box"}, "skiff.hostname"},
		{"unknown bus", BootConfig{Agent: vsock, Buses: []string{"isa"}}, "skiff.bus"},
		{"frame link on VMADDR_PORT_ANY", BootConfig{Agent: vsock, NetVsockPort: 0xFFFFFFFF}, "skiff.netvsock"},
		{"time past 2262", BootConfig{Agent: vsock, Time: time.Date(2300, 1, 1, 0, 0, 0, 0, time.UTC)}, "skiff.time"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if args, err := tc.c.Args(); err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Args = %q, %v; want an error naming %s", args, err, tc.want)
			}
		})
	}
}

// sameConfig compares configs, times by instant.
func sameConfig(a, b BootConfig) bool {
	if !a.Time.Equal(b.Time) {
		return false
	}
	a.Time, b.Time = time.Time{}, time.Time{}
	return reflect.DeepEqual(a, b)
}

// FuzzParseCmdline checks the agent's reading of the command line the
// host wrote: whatever it accepts is a config the host's encoder writes
// back to the same config.
func FuzzParseCmdline(f *testing.F) {
	f.Add("skiff.agent=serial:x skiff.share=a,9p,ro,/a%20b skiff.net=static,10.0.0.2/8,10.0.0.1,1.1.1.1")
	f.Add("skiff.time=-1 skiff.hostname= skiff.agent=vsock:99999999999")
	f.Add("skiff.bus=pci skiff.agent=vsock:7 skiff.net=dhcp skiff.debug=true skiff.disk=vda skiff.net=none")
	f.Add("skiff.agent=vsock:10000 skiff.net=static,192.168.127.2/24,192.168.127.1,192.168.127.1 skiff.netvsock=1025 skiff.netvsock=4294967295")
	f.Fuzz(func(t *testing.T, s string) {
		c, err := ParseCmdline(s)
		for _, sh := range c.Shares {
			if sh.Path == "" || sh.Path[0] != '/' {
				t.Errorf("share path %q is not absolute", sh.Path)
			}
		}
		if err != nil {
			return
		}
		args, err := c.Args()
		if err != nil {
			t.Fatalf("ParseCmdline(%q) = %+v, which Args refuses: %v", s, c, err)
		}
		again, err := ParseCmdline(strings.Join(args, " "))
		if err != nil || !sameConfig(again, c) {
			t.Fatalf("%+v written as %q reads back as %+v, %v", c, args, again, err)
		}
	})
}

// FuzzBootConfigRoundTrip checks the host's encoder against the agent's
// parser: a config Args writes reads back the same.
func FuzzBootConfigRoundTrip(f *testing.F) {
	f.Add(uint8(1), "skiff.agent", uint32(0), "vda", "home", uint8(0), "/Users/me", []byte{10, 0, 2, 15}, uint8(24), int64(1700000000123456789), "skiff", uint8(3))
	f.Add(uint8(0), "", uint32(1024), "", "c", uint8(2), "/mnt/c/My Files, old", []byte{}, uint8(0), int64(0), "", uint8(4))
	f.Add(uint8(0), "", uint32(1025), "sda", "c", uint8(2), "/mnt/c", []byte{192, 168, 127, 2}, uint8(24), int64(1), "box", uint8(12))
	f.Fuzz(func(t *testing.T, kind uint8, name string, port uint32, disk, tag string, fs uint8, guest string, ip []byte, bits uint8, ns int64, host string, flags uint8) {
		c := BootConfig{Disk: disk, Hostname: host, Debug: flags&1 != 0, DHCP: flags&2 != 0}
		if kind%2 == 0 {
			c.Agent = Transport{Kind: TransportVsock, Port: port}
		} else {
			c.Agent = Transport{Kind: TransportSerial, Name: name}
		}
		if tag != "" {
			c.Shares = []Share{{Tag: tag, FSType: []string{FSVirtiofs, FS9P, FS9PVsock}[int(fs)%3], ReadOnly: fs >= 128, Path: guest}}
		}
		if a, ok := netip.AddrFromSlice(ip); ok {
			if p, err := a.Prefix(int(bits)); err == nil {
				c.Net = &StaticNet{Addr: netip.PrefixFrom(a, p.Bits()), Gateway: a}
			}
		}
		if ns != 0 {
			c.Time = time.Unix(0, ns)
		}
		if flags&4 != 0 {
			c.Buses = []string{BusPCI, BusVMBus}
		}
		if flags&8 != 0 {
			c.NetVsockPort = port
		}
		args, err := c.Args()
		if err != nil {
			return
		}
		got, err := ParseCmdline("console=hvc0 " + strings.Join(args, " ") + " quiet")
		if err != nil || !sameConfig(got, c) {
			t.Fatalf("%+v written as %q reads back as %+v, %v", c, args, got, err)
		}
	})
}

func TestCmdlineRosetta(t *testing.T) {
	base := BootConfig{Agent: Transport{Kind: TransportVsock, Port: 1024}}
	for _, tc := range []struct {
		name string
		tag  string
		miss bool
		want string
	}{
		{"share", "rosetta", false, "skiff.rosetta=rosetta"},
		{"not installed", "", true, "skiff.rosetta=not-installed"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := base
			c.RosettaTag, c.RosettaMissing = tc.tag, tc.miss
			args, err := c.Args()
			if err != nil {
				t.Fatal(err)
			}
			if got := args[len(args)-1]; got != tc.want {
				t.Errorf("last argument %q, want %q", got, tc.want)
			}
			back, err := ParseCmdline(strings.Join(args, " "))
			if err != nil {
				t.Fatal(err)
			}
			if back.RosettaTag != tc.tag || back.RosettaMissing != tc.miss {
				t.Errorf("read back %q %v", back.RosettaTag, back.RosettaMissing)
			}
		})
	}
	c := base
	c.RosettaTag, c.RosettaMissing = "rosetta", true
	if _, err := c.Args(); err == nil {
		t.Error("a share and Rosetta missing both made a command line")
	}
}
