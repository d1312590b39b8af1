package dockerapi

import "testing"

func TestIsKill(t *testing.T) {
	for sig, want := range map[string]bool{
		"": true, "KILL": true, "SIGKILL": true, "sigkill": true, "9": true,
		"TERM": false, "SIGTERM": false, "15": false, "SIGKILLX": false,
	} {
		if got := isKill(sig); got != want {
			t.Errorf("isKill(%q) = %v, want %v", sig, got, want)
		}
	}
}
