# skiff's build. `make` builds the CLI, the agent and the bundled image for
# this machine; `make test` runs every test (unit, generated-code drift,
# cross-OS builds, end-to-end as root).

GO        ?= go
ARCH      := $(shell $(GO) env GOARCH)
VERSION   ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
COMMIT    ?= $(shell git rev-parse --short HEAD 2>/dev/null)
# VMIMAGE_REF pins the guest image a VM machine pulls when none is beside
# skiff: REGISTRY/REPO@sha256:HEX, as make vmimage-push prints it.
VMIMAGE_REF ?=
CLI_LDFLAGS   := -s -w -X main.version=$(VERSION) -X main.gitCommit=$(COMMIT) \
                 $(if $(VMIMAGE_REF),-X github.com/skiffrun/skiff/host/vmimage.DefaultRef=$(VMIMAGE_REF))
AGENT_LDFLAGS := -s -w -X github.com/skiffrun/skiff/guest/agent.Version=$(VERSION) \
                 -X github.com/skiffrun/skiff/guest/agent.GitCommit=$(COMMIT)
# The agent is static (runc's recipe) with libseccomp, so it runs as the
# machine's PID 1 with no libraries beside it. grpcnotrace leaves out
# gRPC's request tracing (x/net/trace, html/template): 4 MB less to unpack
# into the machine's memory, and less to start each time the binary runs
# as a container's init.
AGENT_TAGS := seccomp netgo osusergo grpcnotrace
CC_amd64  := gcc
CC_arm64  := aarch64-linux-gnu-gcc
PKGCONFIG_amd64 := /usr/lib/x86_64-linux-gnu/pkgconfig
PKGCONFIG_arm64 := /usr/lib/aarch64-linux-gnu/pkgconfig

.PHONY: all build agent images clients go-clients debian-clients test unit e2e e2e-machine crosscheck lint generate check-generated bench clean

# On Linux with KVM the default driver is qemu, which boots the guest
# image: there make also builds it, for this machine's architecture only,
# and puts it beside skiff (make build alone never does).
QEMU_ARCH := $(if $(filter arm64,$(ARCH)),aarch64,x86_64)
KVM := $(shell [ "$$(uname -s)" = Linux ] && [ -e /dev/kvm ] && command -v qemu-system-$(QEMU_ARCH) >/dev/null && echo yes)

all: $(if $(KVM),vmimage-host)
	@$(MAKE) --no-print-directory build

build: bin/skiff bin/skiff-agent bin/images/busybox-$(ARCH).tar bin/docker-compose
	@# The guest image, when make vmimage has built it, goes beside skiff.
	@if [ -f build/vmimage/$(ARCH)/manifest.json ]; then \
		rm -rf bin/vmimage/$(ARCH).tmp && mkdir -p bin/vmimage && \
		cp -r build/vmimage/$(ARCH) bin/vmimage/$(ARCH).tmp && \
		rm -rf bin/vmimage/$(ARCH) && mv bin/vmimage/$(ARCH).tmp bin/vmimage/$(ARCH); fi

# The CLI is pure Go, except when built on and for macOS: the vz driver
# calls Virtualization.framework through cgo (a cross-built one has no vz).
CLI_CGO := $(if $(and $(filter Darwin,$(shell uname -s)),$(filter darwin,$(shell $(GO) env GOOS))),1,0)

bin/skiff: FORCE
	CGO_ENABLED=$(CLI_CGO) $(GO) build -trimpath -ldflags '$(CLI_LDFLAGS)' -o $@ ./cmd/skiff

# Virtualization.framework runs VMs only for a binary signed with the
# com.apple.security.virtualization entitlement; an ad-hoc signature will do.
.PHONY: sign-darwin
sign-darwin:
	@if [ "$$(uname -s)" != Darwin ]; then \
		echo "make sign-darwin: codesign exists only on macOS; build and sign skiff on a Mac" >&2; exit 1; fi
	$(MAKE) bin/skiff
	codesign --entitlements platform/vz/skiff.entitlements --force -s - bin/skiff

bin/skiff-agent: bin/skiff-agent-linux-$(ARCH)
	cp $< $@.tmp && mv $@.tmp $@

bin/skiff-agent-linux-%: FORCE
	CGO_ENABLED=1 GOOS=linux GOARCH=$* CC=$(CC_$*) PKG_CONFIG_PATH=$(PKGCONFIG_$*) \
		$(GO) build -trimpath -tags '$(AGENT_TAGS)' \
		-ldflags '$(AGENT_LDFLAGS) -extldflags -static' -o $@ ./cmd/skiff-agent

agent: bin/skiff-agent-linux-amd64 bin/skiff-agent-linux-arm64

build/busybox/busybox-amd64 build/busybox/busybox-arm64 build/busybox/busybox-arm:
	scripts/fetch-busybox

build/images/busybox-%.tar: build/busybox/busybox-%
	@mkdir -p build/images
	$(GO) run ./scripts/mkbusybox -busybox $< -arch $* -o $@

bin/images/busybox-%.tar: build/images/busybox-%.tar
	@mkdir -p bin/images
	cp $< $@.tmp && mv $@.tmp $@

images: build/images/busybox-amd64.tar build/images/busybox-arm64.tar build/images/busybox-arm.tar

# The Docker API's clients, in build/clients/: the current docker CLI and
# docker compose v5, built from their own module (scripts/clients), and
# Debian's docker 20.10 client and dockerd, unpacked from the .debs. Each
# step is cached: a second make does nothing.
clients: go-clients debian-clients

go-clients:
	scripts/build-clients

debian-clients:
	scripts/fetch-docker-client

# skiff compose runs the compose binary that ships beside skiff.
bin/docker-compose: go-clients
	@mkdir -p bin
	@cmp -s build/clients/docker-compose $@ || { cp build/clients/docker-compose $@.tmp && mv $@.tmp $@ && echo "$@"; }

# The machine's kernel + initramfs per architecture, in build/vmimage/<arch>/
# (needs apt and dpkg-deb; .debs are kept in build/vmimage/debs). The kernel
# is built from Debian's linux-source-6.1 with vmimage/kernel/*.config (bc,
# bison, flex, libelf-dev, gcc-aarch64-linux-gnu) and kept in build/kernel by
# the hash of its inputs: only the first make vmimage on a machine builds it.
.PHONY: vmimage kernel
vmimage: agent images
	$(GO) run ./vmimage -agent-dir bin -image-dir build/images -out build/vmimage -cache build/vmimage/debs -kernel-dir build/kernel

# Builds the kernel (ARCH, default this machine's) once more from the same
# inputs in a fresh directory and checks that its image and .config are
# byte-identical to the cached build's (KBUILD_BUILD_TIMESTAMP/USER/HOST
# fixed). A cold build takes ~10 minutes, so make test does not run it.
.PHONY: kernel-repro
kernel-repro:
	$(GO) run ./vmimage -kernel-repro -arch $(ARCH) -cache build/vmimage/debs -kernel-dir build/kernel

# Pushes the guest image of every architecture to REF as one OCI index
# (host/vmimage describes the artifact) and prints its digest, which
# VMIMAGE_REF=REGISTRY/REPO@DIGEST pins in skiff.
.PHONY: vmimage-push
vmimage-push: vmimage
	@if [ -z "$(REF)" ]; then echo "make vmimage-push: give REF=REGISTRY/REPO:TAG" >&2; exit 2; fi
	$(GO) run ./scripts/vmimagepush -ref '$(REF)' build/vmimage/amd64 build/vmimage/arm64

# The guest image of this machine's architecture alone.
.PHONY: vmimage-host
vmimage-host: bin/skiff-agent-linux-$(ARCH) build/images/busybox-$(ARCH).tar
	$(GO) run ./vmimage -arch $(ARCH) -agent-dir bin -image-dir build/images -out build/vmimage -cache build/vmimage/debs -kernel-dir build/kernel

# Only the kernels (what make vmimage would build or find in build/kernel).
kernel:
	$(GO) run ./vmimage -kernel-only -cache build/vmimage/debs -kernel-dir build/kernel

test: unit check-generated lint crosscheck vmimage e2e e2e-machine

unit:
	$(GO) test ./...

# The end-to-end tests run real containers with the built binaries; they
# need root. They also boot the QEMU machine (TestMachineQEMU), and boot it
# run by an ordinary user they make with useradd and remove after
# (TestMachineUnprivileged).
e2e: build clients images
	SKIFF_BIN=$(CURDIR)/bin $(GO) test -tags e2e -count=1 -timeout 40m ./cmd/skiff/... ./guest/machine/... ./internal/roundtrip/... ./vmimage/...
	cd scripts/clients && SKIFF_BIN=$(CURDIR)/bin $(GO) test -tags e2e -count=1 -timeout 15m ./...

# The container tests again, unchanged, through the QEMU machine (cgroup v2,
# the agent as PID 1). The image tests stay native: their registry listens
# on the host's loopback.
MACHINE_E2E := TestHostLoopback|TestMachineUserNetwork|TestCompose|TestRun|TestDetach|TestStop|TestKill|TestCreate|TestRestart|TestDefaults|TestMemory|TestPids|TestCPU|TestBadInput|TestNameInUse|TestFailedStart|TestVolume|TestBuild|TestNetwork|TestEvents|TestPause|TestHealth|TestDockerAPI|TestCp|TestStats|TestDockerSocket|TestHistory|TestCommit|TestDiff|TestExport|TestUpdate|TestSystemDf|TestPlatform|TestFileEvents
e2e-machine: build clients images
	SKIFF_E2E_DRIVER=qemu SKIFF_BIN=$(CURDIR)/bin $(GO) test -tags e2e -count=1 -timeout 30m -run '$(MACHINE_E2E)' ./cmd/skiff/
	cd scripts/clients && SKIFF_E2E_DRIVER=qemu SKIFF_BIN=$(CURDIR)/bin $(GO) test -tags e2e -count=1 -timeout 20m ./...

# Every package must build for every OS skiff's CLI runs on.
crosscheck:
	GOOS=windows GOARCH=amd64 $(GO) build ./... && GOOS=windows GOARCH=amd64 $(GO) vet ./...
	GOOS=windows GOARCH=arm64 $(GO) build ./...
	GOOS=darwin GOARCH=arm64 CGO_ENABLED=0 $(GO) build ./cmd/skiff ./host/... ./platform
	$(GO) run ./scripts/darwincheck -arch arm64 ./...
	$(GO) run ./scripts/darwincheck -arch amd64 -test ./...
	GOOS=linux GOARCH=arm64 CGO_ENABLED=0 $(GO) build -o /dev/null ./cmd/skiff

lint:
	$(GO) run github.com/golangci/golangci-lint/v2/cmd/golangci-lint@v2.15.0 run ./...

generate:
	scripts/generate

check-generated:
	scripts/generate --check

bench: build clients images
	scripts/bench
	@# Bind mounts over virtiofs (skiff run by root) and 9p (by a user).
	if [ "$${BENCH_VM:-1}" != 0 ]; then scripts/sharebench; fi

clean:
	rm -rf bin build

FORCE:

# Release archives, in $(DIST)/ with SHA256SUMS, a Homebrew formula
# (skiff.rb) and a Scoop manifest (skiff.json), by scripts/release:
# skiff-VERSION-linux-ARCH.tar.gz (skiff, skiff-agent for the native
# driver, docker-compose, the bundled image and the guest image for that
# architecture), skiff-VERSION-windows-ARCH.zip (skiff.exe,
# docker-compose.exe) and, on a Mac only (the vz driver is cgo against the
# macOS SDK), skiff-VERSION-darwin-ARCH.tar.gz (skiff, signed, and
# docker-compose). Each is staged in build/dist/OS-ARCH/ first. Builds are
# trimmed, archive entries sorted and dated at the last commit. skiff is
# built with CLI_LDFLAGS, so VMIMAGE_REF=REGISTRY/REPO@sha256:HEX pins the
# guest image a machine pulls (a release sets it; make dist says when not).
# On a Mac, make dist builds the darwin archives only (the linux ones hold
# a guest image, which needs Debian's apt to build).
DIST        ?= dist
DIST_URL    ?= https://github.com/skiffrun/skiff/releases/download/$(VERSION)
DIST_EPOCH  := $(shell git log -1 --format=%ct 2>/dev/null || echo 0)
DIST_DARWIN := $(if $(filter Darwin,$(shell uname -s)),darwin-amd64 darwin-arm64)
DIST_PLATFORMS ?= $(if $(DIST_DARWIN),$(DIST_DARWIN),linux-amd64 linux-arm64 windows-amd64 windows-arm64)
DIST_LDFLAGS := $(CLI_LDFLAGS)
CLANG_ARCH_amd64 := x86_64
CLANG_ARCH_arm64 := arm64

.PHONY: dist e2e-release
dist: $(DIST_PLATFORMS:%=dist-stage-%)
	@$(if $(DIST_DARWIN),,echo "make dist: no darwin archives here: skiff for macOS is built with cgo against the macOS SDK (the vz driver); run make dist on a Mac for them")
	@$(if $(VMIMAGE_REF),,echo "make dist: VMIMAGE_REF is not set: these skiff binaries pin no guest image, so a VM machine with none beside skiff cannot start; set VMIMAGE_REF=REGISTRY/REPO@sha256:HEX (make vmimage-push prints it)")
	@mkdir -p $(DIST) && rm -f $(DIST)/skiff-* $(DIST)/SHA256SUMS $(DIST)/skiff.rb $(DIST)/skiff.json
	$(GO) run ./scripts/release archive -version $(VERSION) -epoch $(DIST_EPOCH) -o $(DIST) $(DIST_PLATFORMS:%=build/dist/%)
	$(GO) run ./scripts/release manifests -version $(VERSION) -url $(DIST_URL) -o $(DIST)

dist-stage-linux-%: bin/skiff-agent-linux-% build/images/busybox-%.tar vmimage FORCE
	scripts/build-compose linux $*
	@rm -rf build/dist/linux-$* && mkdir -p build/dist/linux-$*/images build/dist/linux-$*/vmimage
	CGO_ENABLED=0 GOOS=linux GOARCH=$* $(GO) build -trimpath -ldflags '$(DIST_LDFLAGS)' -o build/dist/linux-$*/skiff ./cmd/skiff
	cp bin/skiff-agent-linux-$* build/dist/linux-$*/skiff-agent
	cp build/images/busybox-$*.tar build/dist/linux-$*/images/
	cp -r build/vmimage/$* build/dist/linux-$*/vmimage/
	cp build/clients/linux-$*/docker-compose build/dist/linux-$*/

dist-stage-windows-%: FORCE
	scripts/build-compose windows $*
	@rm -rf build/dist/windows-$* && mkdir -p build/dist/windows-$*
	CGO_ENABLED=0 GOOS=windows GOARCH=$* $(GO) build -trimpath -ldflags '$(DIST_LDFLAGS)' -o build/dist/windows-$*/skiff.exe ./cmd/skiff
	cp build/clients/windows-$*/docker-compose.exe build/dist/windows-$*/

dist-stage-darwin-%: FORCE
	scripts/build-compose darwin $*
	@rm -rf build/dist/darwin-$* && mkdir -p build/dist/darwin-$*
	CGO_ENABLED=1 GOOS=darwin GOARCH=$* CC="clang -arch $(CLANG_ARCH_$*)" $(GO) build -trimpath -ldflags '$(DIST_LDFLAGS)' -o build/dist/darwin-$*/skiff ./cmd/skiff
	codesign --entitlements platform/vz/skiff.entitlements --force -s - build/dist/darwin-$*/skiff
	cp build/clients/darwin-$*/docker-compose build/dist/darwin-$*/

# The tests of what goes into a release: the bundled image's applets
# against its binaries, and make dist's archives, checksums and manifests
# (the test runs make dist itself, for linux and windows).
test: e2e-release
e2e-release: images
	$(GO) test -tags e2e -count=1 -timeout 30m ./scripts/mkbusybox/ ./scripts/release/
