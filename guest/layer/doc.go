// Package layer turns a container's or a build step's overlayfs upper
// directory into what the image side needs: an OCI layer tar (whiteouts
// and opaque directories spelled as ".wh." entries) for commit and
// build, and the list of paths added, changed and deleted for diff.
package layer
