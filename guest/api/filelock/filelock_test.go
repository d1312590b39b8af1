package filelock

import (
	"context"
	"errors"
	"path/filepath"
	"testing"
	"time"
)

func TestLockHasOneHolder(t *testing.T) {
	path := filepath.Join(t.TempDir(), "daemon.lock")
	release, err := Lock(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	if _, err := Lock(ctx, path); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("second holder while the first holds it: %v", err)
	}
	if _, ok, err := TryLock(path); ok || err != nil {
		t.Fatalf("TryLock while held = %v, %v; want false, nil", ok, err)
	}
	// The second acquirer waiting gets it once the first lets go.
	got := make(chan error, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		r, err := Lock(ctx, path)
		if err == nil {
			r()
		}
		got <- err
	}()
	time.Sleep(50 * time.Millisecond)
	release()
	if err := <-got; err != nil {
		t.Fatalf("after the first let go: %v", err)
	}
	r, ok, err := TryLock(path)
	if !ok || err != nil {
		t.Fatalf("TryLock when free = %v, %v", ok, err)
	}
	r()
}

func TestLockMissingDir(t *testing.T) {
	if _, err := Lock(context.Background(), filepath.Join(t.TempDir(), "no", "such.lock")); err == nil {
		t.Fatal("want an error for a missing directory")
	}
}
