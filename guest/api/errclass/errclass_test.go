package errclass

import (
	"errors"
	"testing"

	"github.com/containerd/errdefs"
)

func TestErrorf(t *testing.T) {
	err := Errorf(errdefs.ErrNotFound, "machine %q does not exist", "dev")
	if got, want := err.Error(), `machine "dev" does not exist`; got != want {
		t.Errorf("message = %q, want %q", got, want)
	}
	if !errdefs.IsNotFound(err) || !errors.Is(err, errdefs.ErrNotFound) {
		t.Errorf("%v lost its category", err)
	}

	plain := errors.New("plain class")
	err = Errorf(plain, "step %d", 2)
	if got, want := err.Error(), "step 2: plain class"; got != want || !errors.Is(err, plain) {
		t.Errorf("with a plain class: %q (is %v), want %q", got, errors.Is(err, plain), want)
	}
}
