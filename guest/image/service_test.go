package image

import (
	"context"
	"errors"
	"io"
	"net"
	"slices"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"
	"google.golang.org/grpc/test/bufconn"

	"github.com/skiffrun/skiff/guest/api/errstatus"
	apiv1 "github.com/skiffrun/skiff/guest/api/v1"
)

// serve runs the Images service over an in-memory connection, its
// errors converted as the agent's are.
func serve(t *testing.T, s *Store, inUse func(string) bool) apiv1.ImagesClient {
	t.Helper()
	lis := bufconn.Listen(1 << 20)
	srv := grpc.NewServer(errstatus.ServerOptions()...)
	apiv1.RegisterImagesServer(srv, NewService(s, inUse, nil))
	go srv.Serve(lis)
	t.Cleanup(srv.Stop)
	conn, err := grpc.NewClient("passthrough:///bufnet",
		grpc.WithContextDialer(func(ctx context.Context, _ string) (net.Conn, error) { return lis.DialContext(ctx) }),
		grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return apiv1.NewImagesClient(conn)
}

// loadOverAPI sends archive in small chunks and collects the replies.
func loadOverAPI(t *testing.T, c apiv1.ImagesClient, archive []byte) (lines, loaded []string, err error) {
	t.Helper()
	stream, err := c.Load(context.Background())
	if err != nil {
		return nil, nil, err
	}
	for len(archive) > 0 {
		n := min(len(archive), 1000)
		if err := stream.Send(&apiv1.LoadChunk{Data: archive[:n]}); err != nil {
			break // the server ended the call; Recv says why
		}
		archive = archive[n:]
	}
	if err := stream.CloseSend(); err != nil {
		return nil, nil, err
	}
	for {
		msg, err := stream.Recv()
		if errors.Is(err, io.EOF) {
			return lines, loaded, nil
		}
		if err != nil {
			return lines, loaded, err
		}
		if msg.GetMessage() != "" {
			lines = append(lines, msg.GetMessage())
		}
		loaded = append(loaded, msg.GetLoaded()...)
	}
}

func TestService(t *testing.T) {
	s, _ := openStore(t)
	a := imageOf(t, "a", layerOf(t, tarEntry{"a", "a"}))
	b := imageOf(t, "b", layerOf(t, tarEntry{"b", "b"}))
	idA := imageID(t, a)
	c := serve(t, s, func(id string) bool { return id == idA })
	ctx := context.Background()

	lines, loaded, err := loadOverAPI(t, c, dockerSave(t, map[string]v1.Image{"busybox": a, "localhost/other:1": b}))
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	slices.Sort(lines)
	slices.Sort(loaded)
	if !slices.Equal(lines, []string{"Loaded image: busybox:latest", "Loaded image: localhost/other:1"}) ||
		!slices.Equal(loaded, []string{"busybox:latest", "localhost/other:1"}) {
		t.Errorf("Load said %q, loaded %q", lines, loaded)
	}
	if _, _, err := loadOverAPI(t, c, []byte("not an archive at all")); status.Code(err) != codes.InvalidArgument {
		t.Errorf("Load of garbage: %v, want InvalidArgument", err)
	}

	img, err := c.Inspect(ctx, &apiv1.ImageRef{Ref: "busybox"})
	if err != nil {
		t.Fatal(err)
	}
	if img.GetId() != idA || img.GetCreated() == 0 || len(img.GetLayers()) != 1 || img.GetLayers()[0][:7] != "sha256:" ||
		!slices.Equal(img.GetConfig().GetCmd(), []string{"a"}) {
		t.Errorf("Inspect: %v", img)
	}
	_, err = c.Inspect(ctx, &apiv1.ImageRef{Ref: "nope"})
	if st, _ := status.FromError(err); st.Code() != codes.NotFound || st.Message() != "No such image: nope" {
		t.Errorf("Inspect of nothing: %v", err)
	}

	if _, err := c.Tag(ctx, &apiv1.TagRequest{Source: "busybox", Target: "busybox:2"}); err != nil {
		t.Fatal(err)
	}

	list := func(filters map[string][]string) []string {
		t.Helper()
		req := &apiv1.ListImagesRequest{Filters: map[string]*apiv1.FilterValues{}}
		for k, v := range filters {
			req.Filters[k] = &apiv1.FilterValues{Values: v}
		}
		resp, err := c.List(ctx, req)
		if err != nil {
			t.Fatalf("List %v: %v", filters, err)
		}
		var tags []string
		for _, img := range resp.GetImages() {
			tags = append(tags, img.GetRepoTags()...)
		}
		slices.Sort(tags)
		return tags
	}
	filters := []struct {
		name    string
		filters map[string][]string
		want    []string
	}{
		{"all", nil, []string{"busybox:2", "busybox:latest", "localhost/other:1"}},
		{"reference by name", map[string][]string{"reference": {"busybox"}}, []string{"busybox:2", "busybox:latest"}},
		{"reference by name and tag", map[string][]string{"reference": {"busybox:2"}}, []string{"busybox:2"}},
		{"reference pattern", map[string][]string{"reference": {"localhost/*"}}, []string{"localhost/other:1"}},
		{"label", map[string][]string{"label": {"team=skiff"}}, []string{"busybox:2", "busybox:latest", "localhost/other:1"}},
		{"label mismatch", map[string][]string{"label": {"team=other"}}, nil},
		{"dangling", map[string][]string{"dangling": {"true"}}, nil},
	}
	for _, tc := range filters {
		if got := list(tc.filters); !slices.Equal(got, tc.want) {
			t.Errorf("%s: List = %v, want %v", tc.name, got, tc.want)
		}
	}
	_, err = c.List(ctx, &apiv1.ListImagesRequest{Filters: map[string]*apiv1.FilterValues{"colour": {Values: []string{"red"}}}})
	if status.Code(err) != codes.InvalidArgument {
		t.Errorf("List with an unknown filter: %v", err)
	}

	// busybox is in use: its names can go one by one, not the last.
	if _, err := c.Remove(ctx, &apiv1.RemoveImageRequest{Ref: "busybox:2"}); err != nil {
		t.Fatal(err)
	}
	_, err = c.Remove(ctx, &apiv1.RemoveImageRequest{Ref: "busybox"})
	if status.Code(err) != codes.FailedPrecondition {
		t.Errorf("Remove of an image in use: %v, want FailedPrecondition", err)
	}
	resp, err := c.Remove(ctx, &apiv1.RemoveImageRequest{Ref: "localhost/other:1"})
	if err != nil || !slices.Equal(resp.GetUntagged(), []string{"localhost/other:1"}) || len(resp.GetDeleted()) != 2 {
		t.Errorf("Remove: %v, %v", resp, err)
	}
}
