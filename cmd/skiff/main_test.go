package main

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	apiv1 "github.com/skiffrun/skiff/guest/api/v1"
)

func TestRunFlagsBecomeTheCreateRequest(t *testing.T) {
	tests := []struct {
		name  string
		args  []string
		check func(t *testing.T, r *apiv1.CreateContainerRequest)
	}{
		{"memory", []string{"-m", "512m"}, func(t *testing.T, r *apiv1.CreateContainerRequest) {
			if got := r.GetHostConfig().GetMemory(); got != 512<<20 {
				t.Errorf("memory = %d, want %d", got, 512<<20)
			}
		}},
		{"memory and swap", []string{"--memory", "1g", "--memory-swap", "-1", "--memory-reservation", "256m"}, func(t *testing.T, r *apiv1.CreateContainerRequest) {
			h := r.GetHostConfig()
			if h.GetMemory() != 1<<30 || h.GetMemorySwap() != -1 || h.GetMemoryReservation() != 256<<20 {
				t.Errorf("memory %d swap %d reservation %d", h.GetMemory(), h.GetMemorySwap(), h.GetMemoryReservation())
			}
		}},
		{"cpus", []string{"--cpus", "1.5", "-c", "512", "--cpuset-cpus", "0-1"}, func(t *testing.T, r *apiv1.CreateContainerRequest) {
			h := r.GetHostConfig()
			if h.GetNanoCpus() != 1_500_000_000 || h.GetCpuShares() != 512 || h.GetCpusetCpus() != "0-1" {
				t.Errorf("nano_cpus %d shares %d cpuset %q", h.GetNanoCpus(), h.GetCpuShares(), h.GetCpusetCpus())
			}
		}},
		{"ulimit", []string{"--ulimit", "nofile=1024:2048", "--ulimit", "nproc=64"}, func(t *testing.T, r *apiv1.CreateContainerRequest) {
			want := []*apiv1.Ulimit{{Name: "nofile", Soft: 1024, Hard: 2048}, {Name: "nproc", Soft: 64, Hard: 64}}
			if got := r.GetHostConfig().GetUlimits(); !equalMsgs(got, want) {
				t.Errorf("ulimits = %v, want %v", got, want)
			}
		}},
		{"restart on-failure", []string{"--restart", "on-failure:3"}, func(t *testing.T, r *apiv1.CreateContainerRequest) {
			p := r.GetHostConfig().GetRestartPolicy()
			if p.GetName() != "on-failure" || p.GetMaximumRetryCount() != 3 {
				t.Errorf("restart policy = %v", p)
			}
		}},
		{"restart default", nil, func(t *testing.T, r *apiv1.CreateContainerRequest) {
			if n := r.GetHostConfig().GetRestartPolicy().GetName(); n != "no" {
				t.Errorf("restart policy = %q, want no", n)
			}
			if r.GetPull() != "missing" {
				t.Errorf("pull = %q, want missing", r.GetPull())
			}
		}},
		{"config", []string{"--name", "web", "-e", "A=1", "-w", "/srv", "-u", "1000:1000", "-h", "box", "-l", "tier=web", "--stop-signal", "SIGINT", "--stop-timeout", "0", "--rm"}, func(t *testing.T, r *apiv1.CreateContainerRequest) {
			c := r.GetConfig()
			if r.GetName() != "web" || c.GetWorkingDir() != "/srv" || c.GetUser() != "1000:1000" || c.GetHostname() != "box" {
				t.Errorf("name %q workdir %q user %q hostname %q", r.GetName(), c.GetWorkingDir(), c.GetUser(), c.GetHostname())
			}
			if len(c.GetEnv()) != 1 || c.GetEnv()[0] != "A=1" || c.GetLabels()["tier"] != "web" {
				t.Errorf("env %v labels %v", c.GetEnv(), c.GetLabels())
			}
			if c.GetStopSignal() != "SIGINT" || !c.GetStopTimeoutSet() || c.GetStopTimeout() != 0 {
				t.Errorf("stop signal %q timeout %d set %v", c.GetStopSignal(), c.GetStopTimeout(), c.GetStopTimeoutSet())
			}
			if !r.GetHostConfig().GetAutoRemove() {
				t.Error("--rm did not set auto_remove")
			}
		}},
		{"empty entrypoint still overrides", []string{"--entrypoint", ""}, func(t *testing.T, r *apiv1.CreateContainerRequest) {
			if c := r.GetConfig(); !c.GetEntrypointSet() || len(c.GetEntrypoint()) != 0 {
				t.Errorf("entrypoint %v set %v", c.GetEntrypoint(), c.GetEntrypointSet())
			}
		}},
		{"host", []string{"--read-only", "--privileged", "--init", "--cap-add", "NET_ADMIN", "--cap-drop", "ALL", "--pids-limit", "100", "--shm-size", "64m", "--network", "none", "--add-host", "db:10.0.0.2", "--dns", "1.1.1.1", "--sysctl", "net.ipv4.ip_forward=1", "--tmpfs", "/run:size=1m", "--security-opt", "no-new-privileges"}, func(t *testing.T, r *apiv1.CreateContainerRequest) {
			h := r.GetHostConfig()
			if !h.GetReadOnly() || !h.GetPrivileged() || !h.GetInit() || h.GetPidsLimit() != 100 || h.GetShmSize() != 64<<20 || h.GetNetworkMode() != "none" {
				t.Errorf("host config %v", h)
			}
			if h.GetCapAdd()[0] != "NET_ADMIN" || h.GetCapDrop()[0] != "ALL" || h.GetExtraHosts()[0] != "db:10.0.0.2" || h.GetDns()[0] != "1.1.1.1" {
				t.Errorf("host config %v", h)
			}
			if h.GetSysctls()["net.ipv4.ip_forward"] != "1" || h.GetTmpfs()[0] != "/run:size=1m" || h.GetSecurityOpt()[0] != "no-new-privileges" {
				t.Errorf("host config %v", h)
			}
		}},
		{"command after image", []string{"--", "busybox"}, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := &fakeAgent{}
			startFake(t, f)
			args := append([]string{"run", "-d"}, tc.args...)
			if tc.check != nil {
				args = append(args, "busybox", "echo", "-n", "hi")
			}
			res := runCLI(t, "", args...)
			if res.code != 0 {
				t.Fatalf("exit %d, stderr %q", res.code, res.stderr)
			}
			req := f.last(t, "Create")[0].(*apiv1.CreateContainerRequest)
			if req.GetConfig().GetImage() != "busybox" {
				t.Errorf("image = %q", req.GetConfig().GetImage())
			}
			if tc.check != nil {
				if got := req.GetConfig().GetCmd(); strings.Join(got, " ") != "echo -n hi" {
					t.Errorf("cmd = %q; flags after the image must belong to the command", got)
				}
				tc.check(t, req)
			}
			if got := f.methods(); strings.Join(got, ",") != "Create,Start" {
				t.Errorf("calls = %v, want Create,Start", got)
			}
			if !strings.HasPrefix(res.stdout, "c0ffee") {
				t.Errorf("run -d printed %q, want the id", res.stdout)
			}
		})
	}
}

func equalMsgs[M proto.Message](a, b []M) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if !proto.Equal(a[i], b[i]) {
			return false
		}
	}
	return true
}

func TestInvalidFlagsFailBeforeAnyCall(t *testing.T) {
	tests := []struct {
		args []string
		want string // first stderr line
		see  string
	}{
		{[]string{"run", "-m", "lots", "busybox"}, `skiff: invalid argument "lots" for "--memory": `, "skiff run"},
		{[]string{"run", "--cpus", "one", "busybox"}, `skiff: invalid argument "one" for "--cpus": `, "skiff run"},
		{[]string{"run", "--cpus", "0.0000000001", "busybox"}, `skiff: invalid argument "0.0000000001" for "--cpus": too precise`, "skiff run"},
		{[]string{"create", "--ulimit", "nofile=2048:1024", "busybox"}, `skiff: invalid argument "nofile=2048:1024" for "--ulimit": `, "skiff create"},
		{[]string{"run", "--ulimit", "bogus=1", "busybox"}, `skiff: invalid argument "bogus=1" for "--ulimit": `, "skiff run"},
		{[]string{"run", "--restart", "sometimes", "busybox"}, `skiff: invalid argument "sometimes" for "--restart": unknown policy`, "skiff run"},
		{[]string{"run", "--restart", "always:3", "busybox"}, `skiff: invalid argument "always:3" for "--restart": `, "skiff run"},
		{[]string{"run", "--restart", "on-failure:x", "busybox"}, `skiff: invalid argument "on-failure:x" for "--restart": `, "skiff run"},
		{[]string{"run", "--rm", "--restart", "always", "busybox"}, `skiff: conflicting options: --restart always and --rm`, "skiff run"},
		{[]string{"run", "--pull", "sometimes", "busybox"}, `skiff: invalid argument "sometimes" for "--pull": `, "skiff run"},
		{[]string{"run", "--name", "-x", "busybox"}, `skiff: invalid argument "-x" for "--name": `, "skiff run"},
		{[]string{"run", "-w", "srv", "busybox"}, `skiff: invalid argument "srv" for "--workdir": `, "skiff run"},
		{[]string{"run", "--detach-keys", "ctrl-shift-p", "busybox"}, `skiff: invalid argument "ctrl-shift-p" for "--detach-keys": `, "skiff run"},
		{[]string{"run", "--pids-limit", "many", "busybox"}, `skiff: invalid argument "many" for "--pids-limit": use a whole number`, "skiff run"},
		{[]string{"run", "--bogus", "busybox"}, `skiff: unknown flag: --bogus`, "skiff run"},
		{[]string{"run"}, `skiff: "skiff run" requires at least 1 argument`, "skiff run"},
		{[]string{"container", "run", "--memory-swap", "1g", "busybox"}, `skiff: invalid argument "1g" for "--memory-swap": set --memory too`, "skiff container run"},
		{[]string{"logs", "--tail", "some", "web"}, `skiff: invalid argument "some" for "--tail": `, "skiff logs"},
		{[]string{"logs", "--since", "yesterday", "web"}, `skiff: invalid argument "yesterday" for "--since": `, "skiff logs"},
		{[]string{"ps", "--format", "{{.ID"}, `skiff: invalid argument "{{.ID" for "--format": `, "skiff ps"},
		{[]string{"ps", "--filter", "status"}, `skiff: invalid argument "status" for "--filter": `, "skiff ps"},
		{[]string{"stop", "-s", "SIG TERM", "web"}, `skiff: invalid argument "SIG TERM" for "--signal": `, "skiff stop"},
		{[]string{"exec", "-w", "tmp", "web", "ls"}, `skiff: invalid argument "tmp" for "--workdir": `, "skiff exec"},
		{[]string{"inspect", "--type", "volume", "web"}, `skiff: invalid argument "volume" for "--type": `, "skiff inspect"},
		{[]string{"frobnicate"}, `skiff: 'frobnicate' is not a skiff command`, "skiff"},
	}
	for _, tc := range tests {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			f := &fakeAgent{}
			startFake(t, f)
			res := runCLI(t, "", tc.args...)
			if res.code != 125 {
				t.Errorf("exit %d, want 125", res.code)
			}
			lines := strings.Split(strings.TrimRight(res.stderr, "\n"), "\n")
			if len(lines) != 2 || !strings.HasPrefix(lines[0], tc.want) {
				t.Fatalf("stderr = %q, want a line starting %q and a pointer to help", res.stderr, tc.want)
			}
			if want := "See '" + tc.see + " --help'."; lines[1] != want {
				t.Errorf("second line = %q, want %q", lines[1], want)
			}
			if calls := f.methods(); len(calls) != 0 {
				t.Errorf("the agent was called (%v) for an invalid command line", calls)
			}
			if res.stdout != "" {
				t.Errorf("stdout = %q, want nothing", res.stdout)
			}
		})
	}
}

func exitMsg(code int32, errText string) *apiv1.StreamOutput {
	return &apiv1.StreamOutput{Msg: &apiv1.StreamOutput_Exit{Exit: &apiv1.Exit{Code: code, Error: errText}}}
}

func outMsg(kind apiv1.StreamKind, data string) *apiv1.StreamOutput {
	return &apiv1.StreamOutput{Msg: &apiv1.StreamOutput_Output{Output: &apiv1.Output{Stream: kind, Data: []byte(data)}}}
}

func TestRunAttachedExitsWithTheContainersCode(t *testing.T) {
	f := &fakeAgent{attachOut: []*apiv1.StreamOutput{
		outMsg(apiv1.StreamKind_STREAM_STDOUT, "out\n"),
		outMsg(apiv1.StreamKind_STREAM_STDERR, "err\n"),
		exitMsg(3, ""),
	}}
	startFake(t, f)
	res := runCLI(t, "", "run", "--rm", "busybox", "sh", "-c", "exit 3")
	if res.code != 3 {
		t.Errorf("exit %d, want the container's 3; stderr %q", res.code, res.stderr)
	}
	if res.stdout != "out\n" || res.stderr != "err\n" {
		t.Errorf("stdout %q stderr %q, want each stream on its own", res.stdout, res.stderr)
	}
	first := f.last(t, "Attach")[0].(*apiv1.StreamInput).GetAttach()
	if first == nil || !first.GetStart() || first.GetStdin() || !first.GetStdout() || !first.GetStderr() {
		t.Errorf("attach = %v, want start with stdout and stderr only", first)
	}
	const createdID = "c0ffee00112233445566778899aabbccddeeff00112233445566778899aabbcc"
	if first.GetId() == "" || !strings.HasPrefix(createdID, first.GetId()) {
		t.Errorf("attached to %q, not the created container", first.GetId())
	}
	if got := strings.Join(f.methods(), ","); got != "Create,Attach" {
		t.Errorf("calls = %s; run attaches with start instead of calling Start", got)
	}
}

func TestRunInteractiveSendsStdinThenCloses(t *testing.T) {
	f := &fakeAgent{waitStdin: true, attachOut: []*apiv1.StreamOutput{exitMsg(0, "")}}
	startFake(t, f)
	res := runCLI(t, "hello\n", "run", "-i", "busybox", "cat")
	if res.code != 0 {
		t.Fatalf("exit %d: %s", res.code, res.stderr)
	}
	msgs := f.last(t, "Attach")
	if !msgs[0].(*apiv1.StreamInput).GetAttach().GetStdin() {
		t.Error("run -i did not ask for stdin")
	}
	var stdin bytes.Buffer
	closed := false
	for _, m := range msgs[1:] {
		in := m.(*apiv1.StreamInput)
		stdin.Write(in.GetStdin())
		closed = closed || in.GetCloseStdin()
	}
	if stdin.String() != "hello\n" || !closed {
		t.Errorf("sent stdin %q closed %v, want the input then close_stdin", stdin.String(), closed)
	}
	if !f.last(t, "Create")[0].(*apiv1.CreateContainerRequest).GetConfig().GetStdinOnce() {
		t.Error("run -i did not set stdin_once")
	}
}

func TestRunFailureToStartUsesTheExitStatus(t *testing.T) {
	tests := []struct {
		name string
		out  []*apiv1.StreamOutput
		err  error
		code int
		msg  string
	}{
		{"exit message with error", []*apiv1.StreamOutput{exitMsg(127, `exec: "nope": executable file not found in $PATH`)}, nil, 127,
			"skiff: exec: \"nope\": executable file not found in $PATH\n"},
		{"status with exit detail", nil, withExit(codes.FailedPrecondition, "permission denied: /bin/x", 126), 126,
			"skiff: permission denied: /bin/x\n"},
		{"plain status", nil, status.Error(codes.NotFound, "no such image: nope"), 125, "skiff: no such image: nope\n"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := &fakeAgent{attachOut: tc.out}
			startFake(t, f)
			f.err = nil
			if tc.err != nil {
				f.err = tc.err
			}
			// --pull never: a not-found image would otherwise be pulled.
			res := runCLI(t, "", "run", "--pull", "never", "busybox", "nope")
			if res.code != tc.code || res.stderr != tc.msg {
				t.Errorf("exit %d stderr %q, want %d %q", res.code, res.stderr, tc.code, tc.msg)
			}
		})
	}
}

func withExit(code codes.Code, msg string, exit int32) error {
	st, err := status.New(code, msg).WithDetails(&apiv1.ExitStatus{Code: exit})
	if err != nil {
		panic(err)
	}
	return st.Err()
}

func TestExecExitCodes(t *testing.T) {
	tests := []struct {
		name string
		out  []*apiv1.StreamOutput
		err  error
		code int
		msg  string
	}{
		{"process code", []*apiv1.StreamOutput{exitMsg(5, "")}, nil, 5, ""},
		{"command not found", nil, withExit(codes.NotFound, `exec: "nope": executable file not found in $PATH`, 127), 127,
			"skiff: exec: \"nope\": executable file not found in $PATH\n"},
		{"cannot execute", nil, withExit(codes.PermissionDenied, "exec: /etc: permission denied", 126), 126,
			"skiff: exec: /etc: permission denied\n"},
		// docker exec exits 1, not 125, when there is nothing to run in.
		{"no such container", nil, status.Error(codes.NotFound, "no such container: web"), 1, "skiff: no such container: web\n"},
		{"not running", nil, status.Error(codes.FailedPrecondition, "container web is not running"), 1, "skiff: container web is not running\n"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := &fakeAgent{attachOut: tc.out, err: tc.err}
			startFake(t, f)
			res := runCLI(t, "", "exec", "-e", "A=1", "-u", "nobody", "web", "nope", "-x")
			if res.code != tc.code || res.stderr != tc.msg {
				t.Errorf("exit %d stderr %q, want %d %q", res.code, res.stderr, tc.code, tc.msg)
			}
			ex := f.last(t, "Exec")[0].(*apiv1.StreamInput).GetExec()
			if ex.GetContainerId() != "web" || strings.Join(ex.GetArgs(), " ") != "nope -x" || ex.GetUser() != "nobody" || ex.GetEnv()[0] != "A=1" || ex.GetStdin() {
				t.Errorf("exec = %v", ex)
			}
		})
	}
}

func TestErrorsAreOneLine(t *testing.T) {
	f := &fakeAgent{err: status.Error(codes.NotFound, "no such container: foo: not found")}
	startFake(t, f)
	res := runCLI(t, "", "rm", "foo")
	if res.code != 125 || res.stderr != "skiff: no such container: foo\n" || res.stdout != "" {
		t.Errorf("exit %d stdout %q stderr %q", res.code, res.stdout, res.stderr)
	}
}

func TestMachineNotStartedForVersion(t *testing.T) {
	noAgent(t)
	res := runCLI(t, "", "version")
	if res.code != 125 {
		t.Errorf("exit %d, want 125", res.code)
	}
	if !strings.HasPrefix(res.stdout, "Client:\n Version:") {
		t.Errorf("stdout %q, want the client section first", res.stdout)
	}
	if res.stderr != "skiff: machine \"default\" is not running; start it with: skiff machine start\n" {
		t.Errorf("stderr %q", res.stderr)
	}
}

func TestMissingAgentIsAClearError(t *testing.T) {
	noAgent(t)
	res := runCLI(t, "", "ps")
	if res.code != 125 || !strings.Contains(res.stderr, "point SKIFF_AGENT at a skiff-agent binary") || strings.Count(res.stderr, "\n") != 1 {
		t.Errorf("exit %d stderr %q", res.code, res.stderr)
	}
}

func TestVersionShowsBothSides(t *testing.T) {
	f := &fakeAgent{version: &apiv1.VersionResponse{Version: "1.2.3", ApiVersion: "v1", Os: "linux", Arch: "arm64"}}
	startFake(t, f)
	res := runCLI(t, "", "version")
	if res.code != 0 || !strings.Contains(res.stdout, "Server: skiff-agent\n Version:           1.2.3\n") || !strings.Contains(res.stdout, "linux/arm64") {
		t.Errorf("exit %d stdout:\n%s", res.code, res.stdout)
	}
}

func TestPsListsLikeDocker(t *testing.T) {
	now := time.Now()
	f := &fakeAgent{containers: []*apiv1.Container{{
		Id: "0123456789abcdef0123", Name: "/web", Image: "nginx:latest", Created: now.Add(-10 * time.Minute).UnixNano(),
		Path: "nginx", Args: []string{"-g", "daemon off;"},
		State: &apiv1.ContainerState{Status: "running", Running: true, StartedAt: now.Add(-3 * time.Second).UnixNano()},
	}}}
	startFake(t, f)
	res := runCLI(t, "", "ps")
	want := "CONTAINER ID   IMAGE          COMMAND                  CREATED          STATUS         PORTS     NAMES\n" +
		"0123456789ab   nginx:latest   \"nginx -g 'daemon of…\"   10 minutes ago   Up 3 seconds             web\n"
	if res.code != 0 || res.stdout != want {
		t.Errorf("exit %d stdout:\n%s\nwant:\n%s", res.code, res.stdout, want)
	}
	if req := f.last(t, "List")[0].(*apiv1.ListContainersRequest); req.GetAll() {
		t.Error("ps without -a asked for all containers")
	}

	res = runCLI(t, "", "ps", "-a", "-q", "--no-trunc", "--filter", "status=running", "--filter", "label=a=b")
	if res.stdout != "0123456789abcdef0123\n" {
		t.Errorf("ps -q --no-trunc = %q", res.stdout)
	}
	req := f.last(t, "List")[0].(*apiv1.ListContainersRequest)
	if !req.GetAll() || req.GetFilters()["status"].GetValues()[0] != "running" || req.GetFilters()["label"].GetValues()[0] != "a=b" {
		t.Errorf("list request = %v", req)
	}

	res = runCLI(t, "", "ps", "--format", "json")
	var row map[string]string
	if err := json.Unmarshal([]byte(res.stdout), &row); err != nil || row["Names"] != "web" || row["Status"] != "Up 3 seconds" {
		t.Errorf("ps --format json = %q (%v)", res.stdout, err)
	}

	res = runCLI(t, "", "ps", "-n", "2", "--format", "{{.Names}} {{.State}}")
	if res.stdout != "web running\n" || f.last(t, "List")[0].(*apiv1.ListContainersRequest).GetLimit() != 2 {
		t.Errorf("ps -n 2 --format = %q", res.stdout)
	}
}

func TestInspectFormatReadsDockersShape(t *testing.T) {
	f := &fakeAgent{containers: []*apiv1.Container{{
		Id: "abc", Name: "web", Image: "busybox", ImageId: "sha256:feed",
		State: &apiv1.ContainerState{Status: "exited", ExitCode: 3},
	}}}
	startFake(t, f)
	res := runCLI(t, "", "inspect", "--format", "{{.State.ExitCode}} {{.Name}} {{.Config.Image}} {{.HostConfig.RestartPolicy.Name}}", "web")
	if res.code != 0 || res.stdout != "3 /web busybox no\n" {
		t.Errorf("exit %d stdout %q stderr %q", res.code, res.stdout, res.stderr)
	}
	res = runCLI(t, "", "container", "inspect", "nope")
	if res.code != 125 || res.stdout != "[]\n" || res.stderr != "skiff: no such container: nope\n" {
		t.Errorf("exit %d stdout %q stderr %q", res.code, res.stdout, res.stderr)
	}
}

func TestLogsRequest(t *testing.T) {
	f := &fakeAgent{logs: []*apiv1.LogEntry{
		{Stream: apiv1.StreamKind_STREAM_STDOUT, Time: time.Date(2024, 5, 1, 12, 0, 0, 5, time.UTC).UnixNano(), Data: []byte("a\n")},
		{Stream: apiv1.StreamKind_STREAM_STDERR, Data: []byte("b\n")},
	}}
	startFake(t, f)
	before := time.Now()
	res := runCLI(t, "", "logs", "-f", "-t", "--tail", "5", "--since", "10m", "--until", "2024-05-01T12:00:00Z", "web")
	if res.code != 0 || !strings.HasPrefix(res.stdout, "2024-05-01T12:00:00.000000005Z a\n") || !strings.HasSuffix(res.stderr, " b\n") {
		t.Errorf("exit %d stdout %q stderr %q", res.code, res.stdout, res.stderr)
	}
	req := f.last(t, "Logs")[0].(*apiv1.LogsRequest)
	since := time.Unix(0, req.GetSince())
	if !req.GetFollow() || req.GetTail() != 5 || since.Before(before.Add(-10*time.Minute)) || since.After(time.Now().Add(-10*time.Minute)) {
		t.Errorf("logs request = %v (since %v)", req, since)
	}
	if req.GetUntil() != time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC).UnixNano() {
		t.Errorf("until = %d", req.GetUntil())
	}
	runCLI(t, "", "logs", "web")
	if req := f.last(t, "Logs")[0].(*apiv1.LogsRequest); req.GetTail() != -1 || req.GetSince() != 0 {
		t.Errorf("default logs request = %v, want all lines", req)
	}
}

func TestLoadStreamsChunks(t *testing.T) {
	f := &fakeAgent{load: []*apiv1.LoadProgress{{Message: "Loading layer"}, {Message: "Loaded image: busybox:latest", Loaded: []string{"busybox:latest"}}}}
	startFake(t, f)
	archive := strings.Repeat("x", 64<<10+10)
	res := runCLI(t, archive, "load", "-q")
	if res.code != 0 || res.stdout != "Loaded image: busybox:latest\n" {
		t.Errorf("exit %d stdout %q stderr %q", res.code, res.stdout, res.stderr)
	}
	chunks := f.last(t, "Images.Load")
	if len(chunks) != 2 || len(chunks[0].(*apiv1.LoadChunk).GetData()) != 64<<10 || len(chunks[1].(*apiv1.LoadChunk).GetData()) != 10 {
		t.Errorf("sent %d chunks", len(chunks))
	}
}

func TestWaitPrintsCodes(t *testing.T) {
	f := &fakeAgent{waitCode: 7}
	startFake(t, f)
	res := runCLI(t, "", "wait", "a", "b")
	if res.code != 0 || res.stdout != "7\n7\n" {
		t.Errorf("exit %d stdout %q", res.code, res.stdout)
	}
}

func TestStopAndKillRequests(t *testing.T) {
	f := &fakeAgent{}
	startFake(t, f)
	if res := runCLI(t, "", "stop", "-t", "0", "web"); res.code != 0 || res.stdout != "web\n" {
		t.Errorf("stop: %+v", res)
	}
	if r := f.last(t, "Stop")[0].(*apiv1.StopRequest); !r.GetTimeoutSet() || r.GetTimeout() != 0 {
		t.Errorf("stop -t 0 = %v; an explicit 0 must be sent as set", r)
	}
	runCLI(t, "", "stop", "web")
	if r := f.last(t, "Stop")[0].(*apiv1.StopRequest); r.GetTimeoutSet() {
		t.Errorf("stop without -t = %v", r)
	}
	runCLI(t, "", "kill", "web")
	if r := f.last(t, "Kill")[0].(*apiv1.KillRequest); r.GetSignal() != "SIGKILL" {
		t.Errorf("kill = %v", r)
	}
	runCLI(t, "", "container", "kill", "-s", "HUP", "web")
	if r := f.last(t, "Kill")[0].(*apiv1.KillRequest); r.GetSignal() != "HUP" {
		t.Errorf("kill -s HUP = %v", r)
	}
}

func TestPruneAsksFirst(t *testing.T) {
	f := &fakeAgent{}
	startFake(t, f)
	res := runCLI(t, "n\n", "container", "prune")
	if res.code != 0 || len(f.methods()) != 0 {
		t.Errorf("prune answered no: exit %d, calls %v", res.code, f.methods())
	}
	res = runCLI(t, "", "container", "prune", "-f", "--filter", "until=1h")
	if res.code != 0 || f.last(t, "Prune")[0].(*apiv1.PruneRequest).GetFilters()["until"].GetValues()[0] != "1h" {
		t.Errorf("prune -f: exit %d stderr %q", res.code, res.stderr)
	}
}

func TestCompletionOffersContainerNames(t *testing.T) {
	f := &fakeAgent{containers: []*apiv1.Container{{Id: "1", Name: "/web"}, {Id: "2", Name: "db"}}}
	startFake(t, f)
	res := runCLI(t, "", "__complete", "rm", "w")
	if !strings.HasPrefix(res.stdout, "web\n:4\n") {
		t.Errorf("completion = %q", res.stdout)
	}
	if !f.last(t, "List")[0].(*apiv1.ListContainersRequest).GetAll() {
		t.Error("rm completion should offer stopped containers too")
	}
}

func TestImagesListsEachTag(t *testing.T) {
	now := time.Now()
	f := &fakeAgent{images: []*apiv1.Image{
		{Id: "sha256:77dd6c861b08aabbccdd", RepoTags: []string{"busybox:latest", "localhost:5000/bb:1"}, RepoDigests: []string{"busybox@sha256:abc"}, Created: now.Add(-14 * 24 * time.Hour).UnixNano(), Size: 1_980_000},
		{Id: "sha256:0000000000001111", Created: now.Add(-3 * time.Hour).UnixNano(), Size: 10},
	}}
	startFake(t, f)
	res := runCLI(t, "", "images")
	want := "REPOSITORY          TAG       IMAGE ID       CREATED       SIZE\n" +
		"<none>              <none>    000000000000   3 hours ago   10B\n" +
		"busybox             latest    77dd6c861b08   2 weeks ago   1.98MB\n" +
		"localhost:5000/bb   1         77dd6c861b08   2 weeks ago   1.98MB\n"
	if res.code != 0 || res.stdout != want {
		t.Errorf("exit %d stdout:\n%s\nwant:\n%s", res.code, res.stdout, want)
	}
	res = runCLI(t, "", "image", "ls", "-q", "busybox")
	if res.stdout != "000000000000\n77dd6c861b08\n" {
		t.Errorf("images -q = %q; each image once", res.stdout)
	}
	if v := f.last(t, "Images.List")[0].(*apiv1.ListImagesRequest).GetFilters()["reference"].GetValues(); len(v) != 1 || v[0] != "busybox" {
		t.Errorf("reference filter = %v", v)
	}
	res = runCLI(t, "", "image", "inspect", "--format", "{{.Id}} {{index .RepoTags 0}} {{.RootFS.Type}}", "busybox:latest")
	if res.stdout != "sha256:77dd6c861b08aabbccdd busybox:latest layers\n" {
		t.Errorf("image inspect = %q %q", res.stdout, res.stderr)
	}
	res = runCLI(t, "", "inspect", "--format", "{{.Id}}", "busybox:latest")
	if res.stdout != "sha256:77dd6c861b08aabbccdd\n" || strings.Join(f.methods()[len(f.methods())-2:], ",") != "Inspect,Images.Inspect" {
		t.Errorf("inspect falls back to images: %q, calls %v", res.stdout, f.methods())
	}
	res = runCLI(t, "", "inspect", "nothing")
	if res.code != 125 || res.stderr != "skiff: no such object: nothing\n" {
		t.Errorf("inspect nothing: %d %q", res.code, res.stderr)
	}
}
