package compose

import (
	"os"
	"os/exec"
)

// forwarded are the signals skiff passes on to compose: on Windows the
// console delivers Ctrl-C to compose itself, and a process cannot be sent
// one, so skiff only keeps it from ending skiff first.
var forwarded = []os.Signal{os.Interrupt}

// exitCodeOf is the status of a process Windows ended without a code.
func exitCodeOf(*exec.ExitError) int { return 1 }
