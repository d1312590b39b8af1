package atomicfile

import "sync"

// Deferred keeps one file up to date without making its callers wait for
// the disk: Store returns at once, and a goroutine replaces the file with
// the latest data stored, by WriteFile. A file written this way is still
// either its old content or a complete new one; it only reaches the disk
// a little later. Changes stored while a write is under way are merged
// into the next one, so a burst of them costs two writes, not one each.
// On a machine's disk every write's two flushes take milliseconds, which
// the agent's records would otherwise add to each container's start and
// exit.
type Deferred struct {
	path  string
	onErr func(error)

	// wmu is held across each write, so that writes end in the order
	// their data was stored.
	wmu     sync.Mutex
	mu      sync.Mutex
	pending []byte
	writing bool
	closed  bool
	// idle is closed when the writer goroutine ends; nil while none runs.
	idle chan struct{}
}

// NewDeferred returns a Deferred for path. onErr, which may be nil, is
// told of each write that failed, from the writer goroutine.
func NewDeferred(path string, onErr func(error)) *Deferred {
	return &Deferred{path: path, onErr: onErr}
}

// Store schedules data to replace the file. After Close it does nothing.
func (d *Deferred) Store(data []byte) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.closed {
		return
	}
	d.pending = data
	if !d.writing {
		d.writing = true
		d.idle = make(chan struct{})
		go d.run(d.idle)
	}
}

func (d *Deferred) run(idle chan struct{}) {
	defer close(idle)
	for {
		d.wmu.Lock()
		d.mu.Lock()
		data := d.pending
		d.pending = nil
		if data == nil {
			d.writing = false
			d.mu.Unlock()
			d.wmu.Unlock()
			return
		}
		d.mu.Unlock()
		err := WriteFile(d.path, data)
		d.wmu.Unlock()
		if err != nil && d.onErr != nil {
			d.onErr(err)
		}
	}
}

// Write replaces the file with data now, after any write under way, and
// returns its error; data stored before and not yet written is dropped,
// as data replaces it.
func (d *Deferred) Write(data []byte) error {
	d.wmu.Lock()
	defer d.wmu.Unlock()
	d.mu.Lock()
	d.pending = nil
	d.mu.Unlock()
	return WriteFile(d.path, data)
}

// Flush returns once everything stored before it is on disk.
func (d *Deferred) Flush() {
	d.mu.Lock()
	idle := d.idle
	d.mu.Unlock()
	if idle != nil {
		<-idle
	}
}

// Close drops what is stored and not yet written, waits for a write under
// way, and makes later Stores do nothing: the file can then be removed
// without a write bringing it back.
func (d *Deferred) Close() {
	d.mu.Lock()
	d.closed = true
	d.pending = nil
	idle := d.idle
	d.mu.Unlock()
	if idle != nil {
		<-idle
	}
}
