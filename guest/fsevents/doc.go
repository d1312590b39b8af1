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
// Through 9p the guest kernel cuts the time it sets to the second (its
// 9p sets no time granularity): the host takes the cut time for the
// replay coming back, and sets the time back (host/fswatch).
// Read-only shares are not watched: the guest may not set anything there.
//
// No loops: the agent replays only what the host sends; the host leaves
// out a change whose path looks as it did when last sent (size, mtime,
// mode, inode), or so but for the mtime's fraction of a second (9p's
// cut), which is what the agent's replays, and the folder signals for
// removals, come back as.
//
// No echoes of a container's writes: a change made in the guest lands
// on the host and is sent back like any other, and its watchers heard
// of it already from the guest's kernel. The agent holds a fanotify
// group with a file system mark on each writable share (OwnWrites;
// containers write through bind mounts of their own, which a mount mark
// would miss) for FAN_MODIFY and FAN_CLOSE_WRITE, and remembers each
// file a process other than itself (its replays open files for writing
// too) is writing, or wrote and closed, with what it then was: device,
// inode, size, mtime; the newest 8,192, for 10 seconds. A write or
// create from the host whose path, read fresh, is being written in the
// guest or is as the guest left it is that write coming back, and is
// not replayed; the host may report one write twice (as it began, then
// the rest), and both are left out. The guest says nothing of a create
// until the first write is done, and the host reports a create 5 ms
// after it, so the files a batch reports written or made wait 20 ms
// more, once per batch, for the guest's word. So a container's
// create-and-write, or rewrite, of a file (a rename of it into place
// too: the inode is the same) is heard once; a host write after it
// (another size or mtime) is replayed as ever, 20 ms later than without
// fanotify. A host write to a file a container holds open and writes
// is taken for the container's, and not replayed.
//
// What still echoes: a guest's remove, rename away, mkdir or chmod
// comes back as the folder signal or IN_ATTRIB above. fanotify reports
// those events only to a group that reports file handles (FID), which
// needs a file system with both a non-zero fsid and decodable file
// handles; the guest kernel's 9p has no export operations and its
// virtiofs reports a zero fsid. Without fanotify (fanotify_init or the
// marks fail) the agent says so once and replays everything, as before.
package fsevents
