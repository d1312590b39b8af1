package fswatch

// limitName is the host setting a user raises for more watches.
const limitName = "fs.inotify.max_user_watches (sysctl)"
