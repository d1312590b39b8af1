// Package passwd resolves a container user ("user[:group]", names or
// numbers) against an image root's /etc/passwd and /etc/group, as docker
// does, for the containers the agent runs and the RUN steps of a build.
// Reading the files never leaves the root (securejoin).
package passwd

import (
	"fmt"

	"github.com/containerd/errdefs"
	securejoin "github.com/cyphar/filepath-securejoin"
	"github.com/moby/sys/user"
)

// User is a resolved identity.
type User struct {
	UID, GID uint32
	Groups   []uint32
	Home     string
}

// Lookup resolves spec inside the root file system at root. A user the
// image does not know is an invalid-argument error that says what to do.
func Lookup(root, spec string) (User, error) {
	passwd, err := securejoin.SecureJoin(root, "/etc/passwd")
	if err != nil {
		return User{}, fmt.Errorf("find /etc/passwd: %w", err)
	}
	group, err := securejoin.SecureJoin(root, "/etc/group")
	if err != nil {
		return User{}, fmt.Errorf("find /etc/group: %w", err)
	}
	u, err := user.GetExecUserPath(spec, &user.ExecUser{Home: "/"}, passwd, group)
	if err != nil {
		return User{}, fmt.Errorf("unable to find user %s: %w: give a user that exists in the image's /etc/passwd, or a numeric uid[:gid]: %w", spec, err, errdefs.ErrInvalidArgument)
	}
	out := User{UID: uint32(u.Uid), GID: uint32(u.Gid), Home: u.Home}
	for _, g := range u.Sgids {
		out.Groups = append(out.Groups, uint32(g))
	}
	return out, nil
}
