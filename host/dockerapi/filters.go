package dockerapi

import (
	"encoding/json"
	"sort"

	apiv1 "github.com/skiffrun/skiff/guest/api/v1"
)

// parseFilters reads docker's filters parameter: a JSON object mapping
// each key to its accepted values, either {"key": {"value": true}} or, from
// clients older than API 1.22, {"key": ["value"]}.
func parseFilters(raw string) (map[string][]string, error) {
	if raw == "" {
		return nil, nil
	}
	var byKey map[string]json.RawMessage
	if err := json.Unmarshal([]byte(raw), &byKey); err != nil {
		return nil, badRequest("invalid filters %q: %s", raw, err.Error())
	}
	out := map[string][]string{}
	for k, v := range byKey {
		var set map[string]bool
		if err := json.Unmarshal(v, &set); err == nil {
			for val, on := range set {
				if on {
					out[k] = append(out[k], val)
				}
			}
			sort.Strings(out[k])
			continue
		}
		var list []string
		if err := json.Unmarshal(v, &list); err != nil {
			return nil, badRequest("invalid filter %q: give its values as {\"value\": true}", k)
		}
		out[k] = append(out[k], list...)
	}
	return out, nil
}

// agentFilters is filters as the agent's requests carry them.
func agentFilters(f map[string][]string) map[string]*apiv1.FilterValues {
	if len(f) == 0 {
		return nil
	}
	out := make(map[string]*apiv1.FilterValues, len(f))
	for k, v := range f {
		out[k] = &apiv1.FilterValues{Values: v}
	}
	return out
}

// filterStrings is filters as the CLI's --filter key=value items.
func filterStrings(f map[string][]string) []string {
	var out []string
	for _, k := range sortedKeys(f) {
		for _, v := range f[k] {
			out = append(out, k+"="+v)
		}
	}
	return out
}
