package containers

import (
	"fmt"
	"time"

	apiv1 "github.com/skiffrun/skiff/guest/api/v1"
	"github.com/skiffrun/skiff/host/format"
	"github.com/skiffrun/skiff/host/opts"
)

// InspectHealth is docker's State.Health.
type InspectHealth struct {
	Status        string
	FailingStreak int
	Log           []InspectHealthResult
}

// InspectHealthResult is one entry of State.Health.Log.
type InspectHealthResult struct {
	Start    string
	End      string
	ExitCode int
	Output   string
}

// InspectHealthcheck is docker's Config.Healthcheck; durations in
// nanoseconds, as docker's JSON has them.
type InspectHealthcheck struct {
	Test          []string      `json:",omitempty"`
	Interval      time.Duration `json:",omitempty"`
	Timeout       time.Duration `json:",omitempty"`
	StartPeriod   time.Duration `json:",omitempty"`
	StartInterval time.Duration `json:",omitempty"`
	Retries       int           `json:",omitempty"`
}

func inspectHealth(h *apiv1.Health) *InspectHealth {
	if h == nil {
		return nil
	}
	out := &InspectHealth{Status: h.GetStatus(), FailingStreak: int(h.GetFailingStreak()), Log: []InspectHealthResult{}}
	for _, r := range h.GetLog() {
		out.Log = append(out.Log, InspectHealthResult{
			Start:    format.RFC3339Nano(format.Time(r.GetStart())),
			End:      format.RFC3339Nano(format.Time(r.GetEnd())),
			ExitCode: int(r.GetExitCode()),
			Output:   r.GetOutput(),
		})
	}
	return out
}

func inspectHealthcheck(hc *apiv1.HealthConfig) *InspectHealthcheck {
	if hc == nil {
		return nil
	}
	return &InspectHealthcheck{
		Test:          hc.GetTest(),
		Interval:      time.Duration(hc.GetInterval()),
		Timeout:       time.Duration(hc.GetTimeout()),
		StartPeriod:   time.Duration(hc.GetStartPeriod()),
		StartInterval: time.Duration(hc.GetStartInterval()),
		Retries:       int(hc.GetRetries()),
	}
}

// healthSuffix is what ps adds to a running container's status: docker's
// " (healthy)", " (unhealthy)" or " (health: starting)".
func healthSuffix(h *apiv1.Health) string {
	switch s := h.GetStatus(); s {
	case "":
		return ""
	case "starting":
		return " (health: starting)"
	default:
		return " (" + s + ")"
	}
}

// HealthOptions are run's and create's --health-* flags.
type HealthOptions struct {
	HealthCmd           string
	HealthInterval      time.Duration
	HealthTimeout       time.Duration
	HealthStartPeriod   time.Duration
	HealthStartInterval time.Duration
	HealthRetries       int
	NoHealthcheck       bool
}

// healthConfig is the check the flags ask for; nil keeps the image's.
func (o HealthOptions) healthConfig() (*apiv1.HealthConfig, error) {
	given := o.HealthCmd != "" || o.HealthInterval != 0 || o.HealthTimeout != 0 || o.HealthStartPeriod != 0 || o.HealthStartInterval != 0 || o.HealthRetries != 0
	if o.NoHealthcheck {
		if given {
			return nil, opts.Usagef("--no-healthcheck conflicts with --health-* options; give one or the other")
		}
		return &apiv1.HealthConfig{Test: []string{"NONE"}}, nil
	}
	if !given {
		return nil, nil
	}
	for _, d := range []struct {
		flag string
		v    time.Duration
	}{{"health-interval", o.HealthInterval}, {"health-timeout", o.HealthTimeout}, {"health-start-period", o.HealthStartPeriod}, {"health-start-interval", o.HealthStartInterval}} {
		if d.v < 0 {
			return nil, opts.Invalid(d.flag, d.v.String(), "it cannot be negative")
		}
	}
	if o.HealthRetries < 0 {
		return nil, opts.Invalid("health-retries", fmt.Sprint(o.HealthRetries), "it cannot be negative")
	}
	hc := &apiv1.HealthConfig{
		Interval:      int64(o.HealthInterval),
		Timeout:       int64(o.HealthTimeout),
		StartPeriod:   int64(o.HealthStartPeriod),
		StartInterval: int64(o.HealthStartInterval),
		Retries:       int32(o.HealthRetries),
	}
	if o.HealthCmd != "" {
		hc.Test = []string{"CMD-SHELL", o.HealthCmd}
	}
	return hc, nil
}
