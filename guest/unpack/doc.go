// Package unpack applies one image layer, a tar stream, to a directory so
// that the directory can serve as an overlayfs lower layer.
//
// Layers come from archives and registries nobody vouches for, so Apply
// writes nothing outside the target directory: names are cleaned (a
// leading "/" is dropped, a name that climbs out with ".." is rejected),
// every path is walked one component at a time with openat and
// O_NOFOLLOW, so a symlink the layer itself created is never followed, and
// hard links may only point at entries already inside the target.
//
// Whiteouts are converted to overlayfs's own form: ".wh.NAME" becomes a
// 0:0 character device NAME and ".wh..wh..opq" sets the xattr
// trusted.overlay.opaque=y on its directory. Digest checks, layer
// bookkeeping and mounting are left to the callers (guest/image and the
// container runtime).
//
// Apply works on Linux only; elsewhere it returns an error wrapping
// errors.ErrUnsupported. Decompress works everywhere.
package unpack
