package machine

import (
	"testing"

	"github.com/skiffrun/skiff/guest/api/wire"
)

func TestMountFor(t *testing.T) {
	tests := []struct {
		name    string
		share   wire.Share
		fd      int
		want    shareMount
		wantErr bool
	}{{
		name:  "virtiofs",
		share: wire.Share{Tag: "home", FSType: wire.FSVirtiofs, Path: "/Users/me"},
		fd:    -1,
		want:  shareMount{source: "home", fstype: "virtiofs"},
	}, {
		name:  "9p over virtio, read-only",
		share: wire.Share{Tag: "src", FSType: wire.FS9P, ReadOnly: true, Path: "/src"},
		fd:    -1,
		want:  shareMount{source: "src", fstype: "9p", readOnly: true, data: "trans=virtio,version=9p2000.L,msize=512000,cache=mmap"},
	}, {
		name:  "9p over vsock",
		share: wire.Share{Tag: "c", FSType: wire.FS9PVsock, Path: "/mnt/c"},
		fd:    7,
		want:  shareMount{source: "c", fstype: "9p", data: "trans=fd,rfdno=7,wfdno=7,aname=c,version=9p2000.L,msize=65536,cache=mmap"},
	}, {
		name:    "9p over vsock without a connection",
		share:   wire.Share{Tag: "c", FSType: wire.FS9PVsock, Path: "/mnt/c"},
		fd:      -1,
		wantErr: true,
	}, {
		name:    "unknown",
		share:   wire.Share{Tag: "x", FSType: "nfs", Path: "/x"},
		wantErr: true,
	}}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := mountFor(tc.share, tc.fd)
			if (err != nil) != tc.wantErr {
				t.Fatalf("error %v, want error %v", err, tc.wantErr)
			}
			if got != tc.want {
				t.Errorf("got %+v, want %+v", got, tc.want)
			}
		})
	}
}
