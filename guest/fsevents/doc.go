// Package fsevents is the agent's side of file events in shared folders.
// Neither virtiofs nor 9p tells the guest's kernel of changes made on the
// host, so an inotify watcher in a container (a dev server, a test
// runner) would never hear of the file the editor just saved. The host
// daemon watches the shared folders running containers bind-mount
// (host/fswatch, the FileEvents service); this package tells it which
// (Client.SetBinds, from the containers' bind sources, mapped to share
// and relative path through the machine's share table), takes the
// changes it streams, maps each back to its path in the guest, and
// replays it there with an operation that leaves content alone, so that
// the guest's kernel raises the inotify event itself, for every
// container whose bind mount shows that path.
//
// What a watcher in a container sees, for each change on the host (the
// host gathers a path's changes over 5 ms and sends the result):
//
//   - a file created or written: IN_OPEN, IN_MODIFY, IN_CLOSE_WRITE on
//     the file. The agent opens it for writing without truncating, sets
//     its mtime to the value it has (a utimensat of the mtime alone, which
//     the kernel reports as IN_MODIFY) and closes it. A file it may not
//     open (no write permission, being executed) gets IN_MODIFY alone.
//   - a folder, link or other non-file created: IN_MODIFY on it (IN_ISDIR
//     for a folder), from the same mtime-only utimensat.
//   - metadata changed (chmod, chown, touch): IN_ATTRIB on the path, from
//     a utimensat of both times to the values they have.
//   - a file or folder removed, or renamed away: IN_MODIFY|IN_ISDIR on the
//     folder that held it (its watchers read it again to find what left).
//     A rename is that on the old name's folder and the created-file
//     events on the new name.
//   - more changes at once than the host keeps one by one (over 4,096
//     waiting, or the host's own queue overflowing): IN_MODIFY|IN_ISDIR
//     on the watched folder, once.
//
// IN_CREATE, IN_DELETE and IN_MOVED_FROM/TO cannot be had honestly: the
// guest kernel raises them only for a create, unlink or rename it does
// itself, and doing one would change the share. Values are read fresh
// from the host (statx with AT_STATX_FORCE_SYNC) just before they are
// set back, so a time is never moved; a host write landing between the
// two calls (microseconds) is the one race, and its own event follows.
// Read-only shares are not watched: the guest may not set anything there.
//
// No loops: the agent replays only what the host sends, and never
// watches the guest itself; the host leaves out a change whose path
// looks as it did when last sent (size, mtime, mode, inode), which is
// what the agent's replays, and the folder signals for removals, come
// back as. A change made by a container lands on the host and is sent
// back like any other, so its writer's watchers hear of it twice.
package fsevents
