package machine

import (
	"bytes"
	"context"
	"io"
	"strings"
	"testing"

	"github.com/skiffrun/skiff/guest/api/wire"
)

func TestHandshake(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		wantErr bool
	}{
		{name: "hello after stale bytes", in: "\x00\x02garbage" + wire.Hello},
		{name: "closed before a hello", in: "SKIF", wantErr: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var w bytes.Buffer
			err := handshake(context.Background(), strings.NewReader(tc.in), &w, func(context.Context) error { return io.EOF })
			if (err != nil) != tc.wantErr {
				t.Fatalf("handshake: %v, want error %v", err, tc.wantErr)
			}
			want := wire.OK
			if tc.wantErr {
				want = ""
			}
			if w.String() != want {
				t.Errorf("answered %q, want %q", w.String(), want)
			}
		})
	}
}
