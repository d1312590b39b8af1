// Package build is the agent's image builder: docker build from a
// Dockerfile and a context tar the client streams in.
//
// The Dockerfile is parsed with BuildKit's parser and instructions
// packages; everything after that is this package's own: stages are
// built in dependency order, metadata instructions change the image
// config, and each RUN, COPY and ADD step makes one layer. A RUN step
// runs as a container (guest/ocispec, guest/runner) on an overlayfs
// snapshot of its parent's layers; COPY and ADD write into such a
// snapshot directly. The snapshot's upper directory, with overlayfs's
// whiteouts turned back into OCI ".wh." entries, becomes the layer tar,
// which guest/image commits like any loaded layer, so a built image is
// an ordinary image of the store.
//
// Each step has a cache key: its parent's key, the instruction after
// ARG and ENV expansion, the build arguments a RUN sees, and for COPY
// and ADD the digest of what they copy. A step whose key has a record,
// and whose layer tar is still there, is not run again. Records and
// layer tars live under the builder's state directory; records are
// replaced atomically.
//
// Pulling base images, storing images and unpacking layers are left to
// guest/image and guest/unpack; reading the context from the client's
// disk (and .dockerignore) to host/build.
package build
