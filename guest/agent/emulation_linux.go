package agent

import (
	"context"

	apiv1 "github.com/skiffrun/skiff/guest/api/v1"
	"github.com/skiffrun/skiff/guest/emulation"
)

// setupEmulation registers the emulators cfg names; without any the
// machine runs its own architecture only.
func setupEmulation(cfg Config) *emulation.Set {
	if cfg.Emulation == nil {
		return emulation.Native()
	}
	o := *cfg.Emulation
	o.Log = cfg.Log
	set, err := emulation.Setup(o)
	if err != nil {
		cfg.Log.Warn("emulation of other architectures is off", "err", err)
	}
	for _, e := range set.Emulators() {
		if e.Kind != emulation.KindNative {
			cfg.Log.Debug("emulator", "arch", e.Arch, "kind", e.Kind, "interpreter", e.Interpreter, "entry", e.Entry)
		}
	}
	for _, n := range set.Notes() {
		cfg.Log.Warn(n)
	}
	return set
}

type emulationService struct {
	apiv1.UnimplementedEmulationServer
	set *emulation.Set
}

func (s *emulationService) Emulators(context.Context, *apiv1.Empty) (*apiv1.EmulatorsResponse, error) {
	resp := &apiv1.EmulatorsResponse{Notes: s.set.Notes()}
	for _, e := range s.set.Emulators() {
		resp.Emulators = append(resp.Emulators, &apiv1.Emulator{Arch: e.Arch, Kind: e.Kind, Interpreter: e.Interpreter, Entry: e.Entry})
	}
	return resp, nil
}
