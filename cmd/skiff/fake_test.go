package main

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	apiv1 "github.com/skiffrun/skiff/guest/api/v1"
)

// fakeAgent is a hand-written apiv1 server that records every request it
// gets. What it answers is set per test; tests assert on what the CLI sent
// and what the CLI made of the answers.
type fakeAgent struct {
	mu    sync.Mutex
	calls []call

	// Answers.
	err        error // returned by every unary call when set
	containers []*apiv1.Container
	images     []*apiv1.Image
	attachOut  []*apiv1.StreamOutput // sent after the first input
	waitStdin  bool                  // wait for close_stdin before answering attach
	logs       []*apiv1.LogEntry
	load       []*apiv1.LoadProgress
	waitCode   int32
	version    *apiv1.VersionResponse
}

// call is one recorded request: the method and its message(s).
type call struct {
	method string
	msgs   []proto.Message
}

func (f *fakeAgent) record(method string, msgs ...proto.Message) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, call{method: method, msgs: msgs})
}

// Calls returns the recorded methods, in order.
func (f *fakeAgent) methods() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []string
	for _, c := range f.calls {
		out = append(out, c.method)
	}
	return out
}

// last returns the messages of the last call of method.
func (f *fakeAgent) last(t *testing.T, method string) []proto.Message {
	t.Helper()
	f.mu.Lock()
	defer f.mu.Unlock()
	for i := len(f.calls) - 1; i >= 0; i-- {
		if f.calls[i].method == method {
			return f.calls[i].msgs
		}
	}
	t.Fatalf("no %s call; calls: %v", method, f.calls)
	return nil
}

func (f fakeContainers) Create(_ context.Context, r *apiv1.CreateContainerRequest) (*apiv1.CreateContainerResponse, error) {
	f.record("Create", r)
	if f.err != nil {
		return nil, f.err
	}
	return &apiv1.CreateContainerResponse{Id: "c0ffee00112233445566778899aabbccddeeff00112233445566778899aabbcc"}, nil
}

func (f fakeContainers) Start(_ context.Context, r *apiv1.ContainerRef) (*apiv1.Empty, error) {
	f.record("Start", r)
	return &apiv1.Empty{}, f.err
}

func (f fakeContainers) Attach(s apiv1.Containers_AttachServer) error {
	return f.stream("Attach", s)
}

func (f fakeContainers) Exec(s apiv1.Containers_ExecServer) error {
	return f.stream("Exec", s)
}

// stream serves Attach and Exec alike: it records the inputs, then sends
// the scripted output.
func (f fakeContainers) stream(method string, s grpc.BidiStreamingServer[apiv1.StreamInput, apiv1.StreamOutput]) error {
	first, err := s.Recv()
	if err != nil {
		return err
	}
	msgs := []proto.Message{first}
	if f.err != nil {
		f.record(method, msgs...)
		return f.err
	}
	if f.waitStdin {
		for {
			in, err := s.Recv()
			if err != nil {
				break
			}
			msgs = append(msgs, in)
			if in.GetCloseStdin() || in.GetDetach() {
				break
			}
		}
	}
	f.record(method, msgs...)
	for _, out := range f.attachOut {
		if err := s.Send(out); err != nil {
			return err
		}
	}
	return nil
}

func (f fakeContainers) Wait(_ context.Context, r *apiv1.WaitRequest) (*apiv1.WaitResponse, error) {
	f.record("Wait", r)
	if f.err != nil {
		return nil, f.err
	}
	return &apiv1.WaitResponse{ExitCode: f.waitCode}, nil
}

func (f fakeContainers) Stop(_ context.Context, r *apiv1.StopRequest) (*apiv1.Empty, error) {
	f.record("Stop", r)
	return &apiv1.Empty{}, f.err
}

func (f fakeContainers) Kill(_ context.Context, r *apiv1.KillRequest) (*apiv1.Empty, error) {
	f.record("Kill", r)
	return &apiv1.Empty{}, f.err
}

func (f fakeContainers) Remove(_ context.Context, r *apiv1.RemoveRequest) (*apiv1.Empty, error) {
	f.record("Remove", r)
	if f.err != nil {
		return nil, f.err
	}
	return &apiv1.Empty{}, nil
}

func (f fakeContainers) List(_ context.Context, r *apiv1.ListContainersRequest) (*apiv1.ListContainersResponse, error) {
	f.record("List", r)
	return &apiv1.ListContainersResponse{Containers: f.containers}, f.err
}

func (f fakeContainers) Inspect(_ context.Context, r *apiv1.ContainerRef) (*apiv1.Container, error) {
	f.record("Inspect", r)
	for _, c := range f.containers {
		if c.GetId() == r.GetId() || c.GetName() == r.GetId() {
			return c, nil
		}
	}
	return nil, status.Errorf(codes.NotFound, "no such container: %s", r.GetId())
}

func (f fakeContainers) Logs(r *apiv1.LogsRequest, s apiv1.Containers_LogsServer) error {
	f.record("Logs", r)
	for _, e := range f.logs {
		if err := s.Send(e); err != nil {
			return err
		}
	}
	return nil
}

func (f fakeContainers) Prune(_ context.Context, r *apiv1.PruneRequest) (*apiv1.PruneResponse, error) {
	f.record("Prune", r)
	return &apiv1.PruneResponse{}, f.err
}

// fakeContainers, fakeImages and fakeSystem are the services of one
// fakeAgent.
type (
	fakeContainers struct {
		apiv1.UnimplementedContainersServer
		*fakeAgent
	}
	fakeImages struct {
		apiv1.UnimplementedImagesServer
		*fakeAgent
	}
	fakeSystem struct {
		apiv1.UnimplementedSystemServer
		*fakeAgent
	}
)

func (f fakeImages) List(_ context.Context, r *apiv1.ListImagesRequest) (*apiv1.ListImagesResponse, error) {
	f.record("Images.List", r)
	return &apiv1.ListImagesResponse{Images: f.images}, f.err
}

func (f fakeImages) Inspect(_ context.Context, r *apiv1.ImageRef) (*apiv1.Image, error) {
	f.record("Images.Inspect", r)
	for _, img := range f.images {
		if img.GetId() == r.GetRef() {
			return img, nil
		}
		for _, t := range img.GetRepoTags() {
			if t == r.GetRef() {
				return img, nil
			}
		}
	}
	return nil, status.Errorf(codes.NotFound, "no such image: %s", r.GetRef())
}

func (f fakeImages) Load(s apiv1.Images_LoadServer) error {
	var msgs []proto.Message
	for {
		c, err := s.Recv()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return err
		}
		msgs = append(msgs, c)
	}
	f.record("Images.Load", msgs...)
	for _, p := range f.load {
		if err := s.Send(p); err != nil {
			return err
		}
	}
	return nil
}

func (f fakeSystem) Version(context.Context, *apiv1.Empty) (*apiv1.VersionResponse, error) {
	f.record("System.Version")
	return f.version, f.err
}

// startFake serves f on the default machine's socket under a fresh
// SKIFF_HOME, as the agent would.
func startFake(t *testing.T, f *fakeAgent) {
	t.Helper()
	home, err := os.MkdirTemp("", "skh")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(home) })
	t.Setenv("SKIFF_HOME", home)
	t.Setenv("SKIFF_MACHINE", "")
	t.Setenv("SKIFF_DRIVER", "")
	dir := filepath.Join(home, "machines", "default")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	l, err := net.Listen("unix", filepath.Join(dir, "skiff.sock"))
	if err != nil {
		t.Fatal(err)
	}
	srv := grpc.NewServer()
	apiv1.RegisterContainersServer(srv, fakeContainers{fakeAgent: f})
	apiv1.RegisterImagesServer(srv, fakeImages{fakeAgent: f})
	apiv1.RegisterSystemServer(srv, fakeSystem{fakeAgent: f})
	go srv.Serve(l)
	t.Cleanup(srv.Stop)
}

// noAgent points SKIFF_HOME at an empty directory and SKIFF_AGENT at
// nothing, so any attempt to reach or start a machine fails loudly.
func noAgent(t *testing.T) {
	t.Helper()
	t.Setenv("SKIFF_HOME", t.TempDir())
	t.Setenv("SKIFF_AGENT", filepath.Join(t.TempDir(), "missing-agent"))
}

// result is one CLI run.
type result struct {
	code           int
	stdout, stderr string
}

func runCLI(t *testing.T, stdin string, args ...string) result {
	t.Helper()
	var out, errb bytes.Buffer
	code := run(args, strings.NewReader(stdin), &out, &errb)
	return result{code: code, stdout: out.String(), stderr: errb.String()}
}
