// Package filelock takes exclusive advisory locks on files (flock on
// Unix, LockFileEx on Windows), held until released or until the process
// exits: two commands finding a machine stopped start one daemon, and
// agents sharing a kernel take different network slots. The agent,
// host/ and the drivers share it; what a lock guards is each caller's.
package filelock

import (
	"context"
	"fmt"
	"os"
	"time"
)

// pollInterval paces the tries of a lock another process holds.
const pollInterval = 10 * time.Millisecond

// Lock takes the lock on path (creating the file, owner-only), trying
// again until ctx ends, and returns the function that releases it.
func Lock(ctx context.Context, path string) (release func(), err error) {
	f, err := open(path)
	if err != nil {
		return nil, err
	}
	tick := time.NewTicker(pollInterval)
	defer tick.Stop()
	for {
		ok, err := try(f)
		if err != nil {
			f.Close()
			return nil, fmt.Errorf("lock %s: %w", path, err)
		}
		if ok {
			return func() { unlock(f); f.Close() }, nil
		}
		select {
		case <-ctx.Done():
			f.Close()
			return nil, fmt.Errorf("lock %s: wait for its holder: %w", path, ctx.Err())
		case <-tick.C:
		}
	}
}

// TryLock takes the lock on path when no one holds it; ok is false when
// another does.
func TryLock(path string) (release func(), ok bool, err error) {
	f, err := open(path)
	if err != nil {
		return nil, false, err
	}
	ok, err = try(f)
	if err != nil || !ok {
		f.Close()
		if err != nil {
			return nil, false, fmt.Errorf("lock %s: %w", path, err)
		}
		return nil, false, nil
	}
	return func() { unlock(f); f.Close() }, true, nil
}

func open(path string) (*os.File, error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("open lock %s: %w", path, err)
	}
	return f, nil
}
