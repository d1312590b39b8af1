package container

import (
	"fmt"
	"time"

	"github.com/containerd/errdefs"
	apiv1 "github.com/skiffrun/skiff/guest/api/v1"
)

// Docker's restart back-off: 100 ms, doubled at each restart, at most a
// minute, and back to 100 ms once a run has lasted 10 s.
const (
	backoffStart = 100 * time.Millisecond
	backoffMax   = time.Minute
	backoffReset = 10 * time.Second
)

// checkRestartPolicy validates a policy sent by a client.
func checkRestartPolicy(p *apiv1.RestartPolicy, autoRemove bool) error {
	if p == nil {
		return nil
	}
	switch p.Name {
	case "", "no":
		return nil
	case "always", "unless-stopped":
		if p.MaximumRetryCount != 0 {
			return fmt.Errorf("invalid restart policy: maximum retry count can only be used with on-failure: %w", errdefs.ErrInvalidArgument)
		}
	case "on-failure":
		if p.MaximumRetryCount < 0 {
			return fmt.Errorf("invalid restart policy: maximum retry count cannot be negative: %w", errdefs.ErrInvalidArgument)
		}
	default:
		return fmt.Errorf("invalid restart policy %q: use no, always, unless-stopped or on-failure[:max-retries]: %w", p.Name, errdefs.ErrInvalidArgument)
	}
	if autoRemove {
		return fmt.Errorf("conflicting options: cannot combine --restart %s with --rm: %w", p.Name, errdefs.ErrInvalidArgument)
	}
	return nil
}

// shouldRestart reports whether a container that just exited with code
// is to be started again. restarts counts the restarts since the policy
// last started counting; stopped reports a stop or kill by the user.
func shouldRestart(p *apiv1.RestartPolicy, code int, restarts int32, stopped bool) bool {
	if p == nil || stopped {
		return false
	}
	switch p.Name {
	case "always", "unless-stopped":
		return true
	case "on-failure":
		return code != 0 && (p.MaximumRetryCount == 0 || restarts < p.MaximumRetryCount)
	}
	return false
}

// nextBackoff returns the delay before the next restart, given the last
// delay and how long the last run lasted.
func nextBackoff(last, ran time.Duration) time.Duration {
	if last == 0 || ran >= backoffReset {
		return backoffStart
	}
	return min(last*2, backoffMax)
}

// restartsOnBoot reports whether a container comes back when the agent
// starts: always, unless-stopped that the user did not stop, and
// on-failure after a failure (an agent that died is one).
func restartsOnBoot(rec *apiv1.Container) bool {
	p := rec.GetHostConfig().GetRestartPolicy()
	switch p.GetName() {
	case "always":
		return true
	case "unless-stopped":
		return !rec.ManuallyStopped
	}
	return false
}
