package dockerapi

import (
	"encoding/json"
	"net/http"
	"os"
	"runtime"
	"time"

	"github.com/moby/moby/api/types/registry"
	"github.com/moby/moby/api/types/system"

	apiv1 "github.com/skiffrun/skiff/guest/api/v1"
	hostregistry "github.com/skiffrun/skiff/host/registry"
)

// ping answers OK with the headers a client negotiates from; it needs no
// agent, so a client learns the API version even while the machine
// starts.
func (s *Server) ping(w http.ResponseWriter, r *http.Request) error {
	h := w.Header()
	h.Set("Builder-Version", "1")
	h.Set("Cache-Control", "no-cache, no-store, must-revalidate")
	h.Set("Pragma", "no-cache")
	h.Set("Content-Type", "text/plain; charset=utf-8")
	w.WriteHeader(http.StatusOK)
	if r.Method != http.MethodHead {
		_, _ = w.Write([]byte("OK"))
	}
	return nil
}

func (s *Server) version(w http.ResponseWriter, r *http.Request) error {
	v, err := s.b.Client.System.Version(r.Context(), &apiv1.Empty{})
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, system.VersionResponse{
		Platform:      system.PlatformInfo{Name: "skiff"},
		Version:       s.b.Version,
		APIVersion:    MaxAPIVersion,
		MinAPIVersion: MinAPIVersion,
		Os:            orDefault(v.GetOs(), "linux"),
		Arch:          orDefault(v.GetArch(), runtime.GOARCH),
		GitCommit:     v.GetGitCommit(),
		GoVersion:     v.GetGoVersion(),
		KernelVersion: v.GetKernelVersion(),
		Components: []system.ComponentVersion{
			{Name: "Engine", Version: s.b.Version, Details: map[string]string{
				"ApiVersion": MaxAPIVersion, "MinAPIVersion": MinAPIVersion, "Os": orDefault(v.GetOs(), "linux"),
				"Arch": orDefault(v.GetArch(), runtime.GOARCH), "KernelVersion": v.GetKernelVersion(),
			}},
			{Name: "skiff-agent", Version: v.GetVersion(), Details: map[string]string{"GitCommit": v.GetGitCommit()}},
		},
	})
	return nil
}

func (s *Server) info(w http.ResponseWriter, r *http.Request) error {
	in, err := s.b.Client.System.Info(r.Context(), &apiv1.Empty{})
	if err != nil {
		return err
	}
	name := in.GetName()
	if name == "" {
		name, _ = os.Hostname()
	}
	writeJSON(w, http.StatusOK, system.Info{
		ID:                 "skiff-" + s.b.Machine,
		Containers:         int(in.GetContainers()),
		ContainersRunning:  int(in.GetContainersRunning()),
		ContainersPaused:   int(in.GetContainersPaused()),
		ContainersStopped:  int(in.GetContainersStopped()),
		Images:             int(in.GetImages()),
		Driver:             in.GetStorageDriver(),
		DriverStatus:       [][2]string{},
		MemoryLimit:        true,
		SwapLimit:          true,
		CPUCfsPeriod:       true,
		CPUCfsQuota:        true,
		CPUShares:          true,
		CPUSet:             true,
		PidsLimit:          true,
		IPv4Forwarding:     true,
		SystemTime:         time.Now().Format(time.RFC3339Nano),
		LoggingDriver:      "json-file",
		CgroupDriver:       in.GetCgroupDriver(),
		CgroupVersion:      in.GetCgroupVersion(),
		KernelVersion:      in.GetKernelVersion(),
		OperatingSystem:    in.GetOperatingSystem(),
		OSVersion:          "",
		OSType:             orDefault(in.GetOsType(), "linux"),
		Architecture:       in.GetArchitecture(),
		IndexServerAddress: "https://index.docker.io/v1/",
		NCPU:               int(in.GetNcpu()),
		MemTotal:           in.GetMemTotal(),
		DockerRootDir:      in.GetRootDir(),
		Name:               name,
		Labels:             []string{"skiff.machine=" + s.b.Machine, "skiff.driver=" + s.b.Driver},
		ServerVersion:      s.b.Version,
		Runtimes:           map[string]system.RuntimeWithStatus{"runc": {Runtime: system.Runtime{Path: "runc"}}},
		DefaultRuntime:     "runc",
		SecurityOptions:    in.GetSecurityOptions(),
		Warnings:           []string{},
	})
	return nil
}

// auth checks credentials against the registry, as docker login asks the
// daemon to; saving them is the docker CLI's business.
func (s *Server) auth(w http.ResponseWriter, r *http.Request) error {
	var ac registry.AuthConfig
	if err := decodeBody(r, &ac); err != nil {
		return err
	}
	host := ac.ServerAddress
	if host == "" {
		host = "docker.io"
	}
	var settings *hostregistry.Settings
	if s.b.Settings != nil {
		var err error
		if settings, err = s.b.Settings(); err != nil {
			return err
		}
	}
	if err := hostregistry.Verify(r.Context(), host, ac.Username, ac.Password, settings); err != nil {
		return &statusError{code: http.StatusUnauthorized, msg: err.Error()}
	}
	writeJSON(w, http.StatusOK, registry.AuthResponse{Status: "Login Succeeded"})
	return nil
}

func orDefault(v, def string) string {
	if v == "" {
		return def
	}
	return v
}

// jsonLine writes v as one line of a JSON stream and flushes it.
func jsonLine(w http.ResponseWriter, v any) error {
	if err := json.NewEncoder(w).Encode(v); err != nil {
		return err
	}
	if f, ok := w.(http.Flusher); ok {
		f.Flush()
	}
	return nil
}
