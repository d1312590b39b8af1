package machine

import (
	"os"
	"testing"
)

func TestVMRSS(t *testing.T) {
	n, err := vmRSS("Name:\tqemu\nVmHWM:\t  500000 kB\nVmRSS:\t  412340 kB\nThreads:\t5\n")
	if err != nil || n != 412340*1024 {
		t.Errorf("vmRSS = %d, %v", n, err)
	}
	if _, err := vmRSS("Name:\tkthreadd\n"); err == nil {
		t.Error("a status without VmRSS read")
	}
	if n, err := processRSS(os.Getpid()); err != nil || n <= 0 {
		t.Errorf("own RSS = %d, %v", n, err)
	}
}
