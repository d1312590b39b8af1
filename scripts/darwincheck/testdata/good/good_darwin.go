// Package good is a fixture: a darwin-only file with cgo that type-checks.
package good

/*
int answer(void) { return 42; }
*/
import "C"

// Answer calls into C; the C side is faked and not checked.
func Answer() int { return int(C.answer()) }
