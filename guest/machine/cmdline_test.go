package machine

import (
	"net/netip"
	"reflect"
	"testing"
	"time"
)

func TestParseCmdline(t *testing.T) {
	tests := []struct {
		name    string
		cmdline string
		want    Config
		wantErr bool
	}{{
		name: "everything",
		cmdline: "console=hvc0 panic=-1 quiet skiff.agent=serial:skiff.agent skiff.disk=vda " +
			"skiff.share=home,virtiofs,rw,/Users/me skiff.share=t9,9p,ro,/mnt/c/My%20Files%2C%20old " +
			"skiff.net=static,10.0.2.15/24,10.0.2.2,10.0.2.3 skiff.time=1700000000123456789 skiff.hostname=skiff skiff.debug=1",
		want: Config{
			Agent: Transport{Kind: TransportSerial, Name: "skiff.agent"},
			Disk:  "vda",
			Shares: []Share{
				{Tag: "home", FSType: FSVirtiofs, Path: "/Users/me"},
				{Tag: "t9", FSType: FS9P, ReadOnly: true, Path: "/mnt/c/My Files, old"},
			},
			Net:      &StaticNet{Addr: netip.MustParsePrefix("10.0.2.15/24"), Gateway: netip.MustParseAddr("10.0.2.2"), DNS: netip.MustParseAddr("10.0.2.3")},
			Time:     time.Unix(0, 1700000000123456789),
			Hostname: "skiff",
			Debug:    true,
		},
	}, {
		name:    "vsock, Hyper-V share, no network",
		cmdline: "skiff.agent=vsock:1024 skiff.disk=sda skiff.share=c,9p-vsock,rw,/mnt/c skiff.net=none skiff.bus=vmbus",
		want: Config{Agent: Transport{Kind: TransportVsock, Port: 1024}, Disk: "sda",
			Shares: []Share{{Tag: "c", FSType: FS9PVsock, Path: "/mnt/c"}}, Buses: []string{BusVMBus}},
	}, {
		name:    "unknown bus",
		cmdline: "skiff.agent=vsock:1024 skiff.bus=mmio,isa",
		want:    Config{Agent: Transport{Kind: TransportVsock, Port: 1024}},
		wantErr: true,
	}, {
		name:    "no transport",
		cmdline: "console=ttyS0 skiff.disk=vda",
		want:    Config{Disk: "vda"},
		wantErr: true,
	}, {
		name:    "bad keys are reported, good ones kept",
		cmdline: "skiff.agent=serial:a skiff.share=x,nfs,rw,/x skiff.share=y,9p,rw,relative skiff.share=z,9p,rx,/z skiff.disk=../sda skiff.time=soon skiff.bogus=1",
		want:    Config{Agent: Transport{Kind: TransportSerial, Name: "a"}, Disk: "../sda"},
		wantErr: true,
	}, {
		name:    "bad transport",
		cmdline: "skiff.agent=tcp:1234",
		wantErr: true,
	}, {
		name:    "static net without gateway or dns",
		cmdline: "skiff.agent=vsock:5 skiff.net=static,192.168.1.2/16,,",
		want:    Config{Agent: Transport{Kind: TransportVsock, Port: 5}, Net: &StaticNet{Addr: netip.MustParsePrefix("192.168.1.2/16")}},
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

func FuzzParseCmdline(f *testing.F) {
	f.Add("skiff.agent=serial:x skiff.share=a,9p,ro,/a%20b skiff.net=static,10.0.0.2/8,10.0.0.1,1.1.1.1")
	f.Add("skiff.time=-1 skiff.hostname= skiff.agent=vsock:99999999999")
	f.Fuzz(func(t *testing.T, s string) {
		c, _ := ParseCmdline(s)
		for _, sh := range c.Shares {
			if sh.Path == "" || sh.Path[0] != '/' {
				t.Errorf("share path %q is not absolute", sh.Path)
			}
		}
	})
}
