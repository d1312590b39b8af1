package build

import (
	"sync"

	"github.com/containerd/errdefs"
	"google.golang.org/grpc"

	"github.com/skiffrun/skiff/guest/api/chunk"
	apiv1 "github.com/skiffrun/skiff/guest/api/v1"
	"github.com/skiffrun/skiff/guest/image"
)

// NewService returns the agent's Builder gRPC service over b.
func NewService(b *Builder) apiv1.BuilderServer {
	return &service{b: b}
}

type service struct {
	apiv1.UnimplementedBuilderServer
	b *Builder
}

var _ apiv1.BuilderServer = (*service)(nil)

// Build reads the options, then the context from the client's chunks,
// and streams the build's progress back.
func (svc *service) Build(stream grpc.BidiStreamingServer[apiv1.BuildInput, apiv1.BuildOutput]) error {
	first, err := stream.Recv()
	if err != nil {
		return err
	}
	po := first.GetOptions()
	if po == nil {
		return errdefs.ErrInvalidArgument.WithMessage("the first message of a build must carry its options")
	}
	o := Options{
		Dockerfile:     po.GetDockerfile(),
		DockerfileName: po.GetDockerfileName(),
		Tags:           po.GetTags(),
		Target:         po.GetTarget(),
		NoCache:        po.GetNoCache(),
		BuildArgs:      po.GetBuildArgs(),
		Labels:         po.GetLabels(),
		Pull:           po.GetPull(),
		Platform:       po.GetPlatform(),
	}
	o.Registry.Insecure = po.GetRegistry().GetInsecureRegistries()
	o.Auths = map[string]image.RegistryOptions{}
	for domain, a := range po.GetAuths() {
		o.Auths[domain] = image.RegistryOptions{Username: a.GetUsername(), Password: a.GetPassword(), IdentityToken: a.GetIdentityToken(), RegistryToken: a.GetRegistryToken()}
	}
	out := &streamWriter{send: stream.Send}
	ctxTar := chunk.NewReader(func() ([]byte, error) {
		in, err := stream.Recv()
		return in.GetContext(), err
	})
	id, err := svc.b.Build(stream.Context(), o, ctxTar, out)
	if err != nil {
		return err
	}
	return stream.Send(&apiv1.BuildOutput{Msg: &apiv1.BuildOutput_ImageId{ImageId: id}})
}

// streamWriter sends what is written as progress messages.
type streamWriter struct {
	mu   sync.Mutex
	send func(*apiv1.BuildOutput) error
}

func (w *streamWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	// A client that went away also cancels the build; the error is
	// not the build's to report.
	_ = w.send(&apiv1.BuildOutput{Msg: &apiv1.BuildOutput_Progress{Progress: append([]byte(nil), p...)}})
	return len(p), nil
}
