// Package vmimage publishes and fetches the guest image a VM machine
// boots (skiff's kernel, the initramfs whose /init is skiff-agent, and
// the manifest.json that pins them, as make vmimage builds them in
// build/vmimage/<arch>/) as an OCI artifact, and keeps the images it
// fetched in $SKIFF_HOME/vmimage.
//
// # The artifact
//
// One OCI image index (application/vnd.oci.image.index.v1+json) with one
// manifest per architecture, each with platform linux/<arch>. Each is an
// OCI image manifest (application/vnd.oci.image.manifest.v1+json) with
// artifactType application/vnd.skiff.vmimage.v1 whose config blob is the
// architecture's manifest.json (application/vnd.skiff.vmimage.manifest.v1+json)
// and whose layers are the files it names, uncompressed, each annotated
// with org.opencontainers.image.title = its file name:
//
//	application/vnd.skiff.vmimage.kernel.v1     vmlinux (amd64, PVH) or Image (arm64)
//	application/vnd.skiff.vmimage.bzimage.v1    vmlinuz (amd64 only: Intel Macs' vz boots it)
//	application/vnd.skiff.vmimage.initramfs.v1  initramfs.cpio
//
// A layer's digest is the sha256 its manifest.json gives the file, so a
// fetched file is checked twice over: against the registry's digest and
// against the manifest that the index's digest pins.
//
// # The pinned reference
//
// DefaultRef is the reference a release of skiff boots, pinned by the
// index's digest and set at build time:
//
//	go build -ldflags "-X github.com/skiffrun/skiff/host/vmimage.DefaultRef=REGISTRY/REPO@sha256:HEX" ./cmd/skiff
//
// make vmimage-push REF=REGISTRY/REPO:TAG prints the digest to pin.
// SKIFF_VMIMAGE_REF (or skiff machine start --image REF) overrides it,
// for mirrors and tests; a tag there is resolved at each start, falling
// back to the digest it last resolved to when the registry is not
// reachable.
//
// # The cache
//
// $SKIFF_HOME/vmimage/sha256-<hex>/<arch>/ holds the files of the index
// sha256:<hex>. A pull verifies every digest and every file's sha256
// before anything is used, writes into a .tmp-* folder beside it and
// renames it into place, so an interrupted pull leaves nothing a machine
// boots; the next pull removes what it left and starts again.
//
// Which guest image a machine boots (a local folder wins over a pulled
// one) and when it pulls are host/machine's; building the image is the
// vmimage command's.
package vmimage
