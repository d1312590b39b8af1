package container

import (
	"context"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/containerd/errdefs"
	"google.golang.org/protobuf/proto"

	apiv1 "github.com/skiffrun/skiff/guest/api/v1"
	"github.com/skiffrun/skiff/guest/network"
)

// Create makes a container from req without starting it.
func (m *Manager) Create(ctx context.Context, req *apiv1.CreateContainerRequest) (_ *apiv1.CreateContainerResponse, retErr error) {
	cfg := proto.Clone(req.GetConfig()).(*apiv1.ContainerConfig)
	if cfg == nil || cfg.Image == "" {
		return nil, fmt.Errorf("no image given: name the image to create the container from: %w", errdefs.ErrInvalidArgument)
	}
	hc := proto.Clone(req.GetHostConfig()).(*apiv1.HostConfig)
	if hc == nil {
		hc = &apiv1.HostConfig{}
	}
	if hc.RestartPolicy == nil {
		hc.RestartPolicy = &apiv1.RestartPolicy{Name: "no"}
	}
	if err := checkHostConfig(hc); err != nil {
		return nil, err
	}
	img, err := m.images.Image(ctx, cfg.Image)
	if err != nil {
		if errdefs.IsNotFound(err) {
			return nil, fmt.Errorf("Unable to find image '%s' locally: add it with skiff load -i FILE: %w", cfg.Image, errdefs.ErrNotFound)
		}
		return nil, fmt.Errorf("resolve image %s: %w", cfg.Image, err)
	}
	warnings, err := m.checkPlatform(req.GetPlatform(), cfg.Image, img)
	if err != nil {
		return nil, err
	}
	if cfg.StopSignal == "" {
		cfg.StopSignal = img.Config.GetStopSignal()
	}
	if cfg.StopSignal != "" {
		if _, err := ParseSignal(cfg.StopSignal); err != nil {
			return nil, err
		}
	}
	if cfg.Healthcheck, err = mergeHealthcheck(cfg.Healthcheck, img.Config.GetHealthcheck()); err != nil {
		return nil, err
	}
	path, args, err := command(cfg, img.Config)
	if err != nil {
		return nil, err
	}

	id := newID()
	name := strings.TrimPrefix(req.Name, "/")
	m.mu.Lock()
	if name == "" {
		name = randomName(func(n string) bool { _, ok := m.names[n]; return ok })
	} else if err := checkName(name); err != nil {
		m.mu.Unlock()
		return nil, err
	} else if other, ok := m.names[name]; ok {
		m.mu.Unlock()
		return nil, fmt.Errorf("Conflict. The container name %q is already in use by container %q: remove (skiff rm) or rename that container, or choose another name: %w", "/"+name, other, errdefs.ErrConflict)
	}
	// Hold the name while the container's files are made.
	m.names[name] = id
	m.mu.Unlock()
	defer func() {
		if retErr != nil {
			m.mu.Lock()
			delete(m.names, name)
			m.mu.Unlock()
		}
	}()

	if cfg.Hostname == "" {
		cfg.Hostname = id[:12]
	}
	mergeExposed(cfg, img.Config)
	mounts, undoMounts, err := m.resolveMounts(cfg, hc, img.Config)
	if err != nil {
		return nil, err
	}
	defer func() {
		if retErr != nil {
			undoMounts()
		}
	}()
	dir := m.dir(id)
	rec := &apiv1.Container{
		Id:             id,
		Name:           name,
		Image:          cfg.Image,
		ImageId:        img.ID,
		Created:        time.Now().UnixNano(),
		Config:         cfg,
		HostConfig:     hc,
		State:          &apiv1.ContainerState{Status: "created"},
		Path:           path,
		Args:           args,
		LogPath:        filepath.Join(dir, id+"-json.log"),
		Rootfs:         filepath.Join(dir, "rootfs"),
		HostnamePath:   filepath.Join(dir, "hostname"),
		HostsPath:      filepath.Join(dir, "hosts"),
		ResolvConfPath: filepath.Join(dir, "resolv.conf"),
		Driver:         "overlay",
		Mounts:         mounts,
	}
	if err := m.checkNetwork(rec); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("create container dir: %w", err)
	}
	defer func() {
		if retErr != nil {
			_ = os.RemoveAll(dir)
		}
	}()
	// The root of the merged filesystem takes its mode from the upper
	// directory: it must be 0755 like any root, or users other than root
	// cannot even look up /bin in the container.
	for d, mode := range map[string]os.FileMode{"rootfs": 0o755, "upper": 0o755, "work": 0o700} {
		if err := os.Mkdir(filepath.Join(dir, d), mode); err != nil {
			return nil, fmt.Errorf("create container dir: %w", err)
		}
		if err := os.Chmod(filepath.Join(dir, d), mode); err != nil {
			return nil, fmt.Errorf("create container dir: %w", err)
		}
	}
	if err := writeEtcFiles(rec, m.hostAddress(rec)); err != nil {
		return nil, err
	}
	lf, err := openLog(rec.LogPath)
	if err != nil {
		return nil, err
	}
	c := newCtr(dir, lf, rec, m.log)
	// The record is written last: it is what makes the container exist.
	// A container removed when it exits need not wait for the disk: a
	// crash before its record is there leaves a directory without one,
	// which the next start sweeps, as it would remove the container.
	if hc.AutoRemove {
		c.saveState()
	} else if err := c.save(); err != nil {
		_ = lf.Close()
		return nil, err
	}
	m.mu.Lock()
	m.byID[id] = c
	m.mu.Unlock()
	m.emit(rec, "create", nil)
	return &apiv1.CreateContainerResponse{Id: id, Warnings: warnings}, nil
}

// command is what runs as the container's first process: the entrypoint
// and the command, each from the user when given, else from the image.
// Docker drops the image's Cmd when the entrypoint is overridden.
func command(cfg *apiv1.ContainerConfig, img *apiv1.ImageConfig) (string, []string, error) {
	entrypoint := img.GetEntrypoint()
	cmd := img.GetCmd()
	if cfg.EntrypointSet {
		entrypoint = cfg.Entrypoint
		cmd = nil
	}
	if len(cfg.Cmd) > 0 {
		cmd = cfg.Cmd
	}
	argv := append(append([]string{}, entrypoint...), cmd...)
	if len(argv) == 0 || argv[0] == "" {
		return "", nil, fmt.Errorf("no command specified: the image has no entrypoint or command; give one after the image name: %w", errdefs.ErrInvalidArgument)
	}
	return argv[0], argv[1:], nil
}

// checkHostConfig checks what the agent alone can judge; --memory-swap
// against --memory is host/containers' check, which every front door (the
// CLI, the Docker API) passes.
func checkHostConfig(hc *apiv1.HostConfig) error {
	if err := checkRestartPolicy(hc.RestartPolicy, hc.AutoRemove); err != nil {
		return err
	}
	switch {
	case hc.Memory < 0 || hc.MemoryReservation < 0 || hc.NanoCpus < 0 || hc.CpuShares < 0 || hc.ShmSize < 0:
		return fmt.Errorf("invalid resource limit: memory, cpus, cpu-shares and shm-size cannot be negative: %w", errdefs.ErrInvalidArgument)
	case hc.Memory > 0 && hc.Memory < 6<<20:
		return fmt.Errorf("minimum memory limit allowed is 6MB: %w", errdefs.ErrInvalidArgument)
	case hc.Init:
		return fmt.Errorf("--init: this agent has no init binary to inject; run an image whose entrypoint reaps processes (tini, dumb-init): %w", errdefs.ErrNotImplemented)
	}
	for _, o := range hc.SecurityOpt {
		switch o {
		case "seccomp=unconfined", "seccomp:unconfined", "no-new-privileges", "no-new-privileges=true", "no-new-privileges:true", "no-new-privileges=false", "apparmor=unconfined", "label=disable":
		default:
			return fmt.Errorf("invalid --security-opt %q: supported are seccomp=unconfined, no-new-privileges, apparmor=unconfined and label=disable: %w", o, errdefs.ErrInvalidArgument)
		}
	}
	for _, h := range hc.ExtraHosts {
		if name, ip, ok := strings.Cut(h, ":"); !ok || name == "" || ip == "" {
			return fmt.Errorf("invalid --add-host %q: use host:ip: %w", h, errdefs.ErrInvalidArgument)
		}
	}
	return nil
}

// writeEtcFiles writes the hostname, hosts and resolv.conf files that are
// bind-mounted into the container; host is where it reaches the host
// (host.docker.internal, host-gateway), invalid for none. A container
// on a network has its hosts file rewritten when it joins it.
func writeEtcFiles(rec *apiv1.Container, host netip.Addr) error {
	var extra []string
	for _, h := range rec.HostConfig.ExtraHosts {
		name, ip, _ := strings.Cut(h, ":")
		if name2, ip2, ok := strings.Cut(h, "="); ok {
			name, ip = name2, ip2
		}
		extra = append(extra, name+":"+ip)
	}
	files := map[string]string{
		rec.HostnamePath:   rec.Config.Hostname + "\n",
		rec.HostsPath:      string(network.HostsFile(extra, host)),
		rec.ResolvConfPath: resolvConf(rec.HostConfig.Dns, rec.HostConfig.NetworkMode == "host"),
	}
	for p, content := range files {
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			return fmt.Errorf("write %s: %w", filepath.Base(p), err)
		}
	}
	return nil
}

// resolvConf is the machine's resolv.conf with the nameservers replaced by
// --dns when given. Loopback nameservers only make sense with the host's
// network, as Docker decides.
func resolvConf(dns []string, hostNet bool) string {
	data, _ := os.ReadFile("/etc/resolv.conf")
	var out []string
	for _, line := range strings.Split(string(data), "\n") {
		f := strings.Fields(line)
		if len(f) >= 2 && f[0] == "nameserver" {
			if len(dns) > 0 || (!hostNet && (strings.HasPrefix(f[1], "127.") || f[1] == "::1")) {
				continue
			}
		}
		if strings.TrimSpace(line) != "" {
			out = append(out, line)
		}
	}
	for _, d := range dns {
		out = append(out, "nameserver "+d)
	}
	// With only a loopback resolver on the machine (systemd-resolved's
	// 127.0.0.53) a container would have none: use public ones, as
	// docker does.
	if !hostNet && !slices.ContainsFunc(out, func(l string) bool { return strings.HasPrefix(l, "nameserver") }) {
		out = append(out, "nameserver 8.8.8.8", "nameserver 8.8.4.4")
	}
	return strings.Join(out, "\n") + "\n"
}

// imageOf resolves the image of a container at start.
func (m *Manager) imageOf(ctx context.Context, rec *apiv1.Container) (*Image, error) {
	img, err := m.images.Image(ctx, rec.ImageId)
	if err != nil {
		return nil, fmt.Errorf("image %s of container %s: %w", rec.Image, rec.Name, err)
	}
	return img, nil
}
