package fswatch

// limitName is what runs out when Windows can watch no more folders.
const limitName = "the system's non-paged pool for change notifications"
