package atomicfile

import (
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"
)

func readString(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestDeferredStoreThenFlush(t *testing.T) {
	path := filepath.Join(t.TempDir(), "rec.json")
	d := NewDeferred(path, func(err error) { t.Error(err) })
	for i := range 50 {
		d.Store(fmt.Appendf(nil, "v%d", i))
	}
	d.Flush()
	if got := readString(t, path); got != "v49" {
		t.Fatalf("after flush the file holds %q, want the last data stored", got)
	}
	leftovers, _ := filepath.Glob(filepath.Join(filepath.Dir(path), TempPrefix+"*"))
	if len(leftovers) != 0 {
		t.Fatalf("temp files left: %v", leftovers)
	}
}

func TestDeferredWriteWinsOverEarlierStores(t *testing.T) {
	path := filepath.Join(t.TempDir(), "rec.json")
	d := NewDeferred(path, nil)
	d.Store([]byte("old"))
	if err := d.Write([]byte("now")); err != nil {
		t.Fatal(err)
	}
	d.Flush()
	if got := readString(t, path); got != "now" {
		t.Fatalf("file holds %q, want what Write wrote", got)
	}
	d.Store([]byte("later"))
	d.Flush()
	if got := readString(t, path); got != "later" {
		t.Fatalf("file holds %q, want the Store after Write", got)
	}
}

func TestDeferredWriteReportsErrors(t *testing.T) {
	d := NewDeferred(filepath.Join(t.TempDir(), "missing", "rec.json"), nil)
	if err := d.Write([]byte("x")); err == nil {
		t.Fatal("Write into a missing directory succeeded")
	}
}

func TestDeferredReportsBackgroundErrors(t *testing.T) {
	var mu sync.Mutex
	var errs []error
	d := NewDeferred(filepath.Join(t.TempDir(), "missing", "rec.json"), func(err error) {
		mu.Lock()
		errs = append(errs, err)
		mu.Unlock()
	})
	d.Store([]byte("x"))
	d.Flush()
	mu.Lock()
	defer mu.Unlock()
	if len(errs) == 0 {
		t.Fatal("a failed background write was not reported")
	}
}

func TestDeferredCloseThenRemove(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "rec.json")
	d := NewDeferred(path, nil)
	for i := range 20 {
		d.Store(fmt.Appendf(nil, "v%d", i))
	}
	d.Close()
	if err := os.RemoveAll(dir); err != nil {
		t.Fatal(err)
	}
	d.Store([]byte("after close"))
	d.Flush()
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Fatalf("a Store after Close wrote again: %v", err)
	}
}

func TestDeferredConcurrentStores(t *testing.T) {
	path := filepath.Join(t.TempDir(), "rec.json")
	d := NewDeferred(path, func(err error) { t.Error(err) })
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 25 {
				d.Store(fmt.Appendf(nil, "g%d-%d", g, i))
			}
		}()
	}
	wg.Wait()
	d.Store([]byte("final"))
	d.Flush()
	if got := readString(t, path); got != "final" {
		t.Fatalf("file holds %q, want the last data stored", got)
	}
}
