package container

import (
	"slices"
	"testing"

	apiv1 "github.com/skiffrun/skiff/guest/api/v1"
)

func TestLabelFiltersMustAllMatch(t *testing.T) {
	web := &apiv1.Container{Id: "a1", Config: &apiv1.ContainerConfig{Labels: map[string]string{"project": "shop", "service": "web"}}}
	db := &apiv1.Container{Id: "b2", Config: &apiv1.ContainerConfig{Labels: map[string]string{"project": "shop", "service": "db"}}}
	tests := []struct {
		name    string
		filters map[string][]string
		want    []string
	}{
		{"one label", map[string][]string{"label": {"project=shop"}}, []string{"a1", "b2"}},
		{"two labels", map[string][]string{"label": {"project=shop", "service=web"}}, []string{"a1"}},
		{"a key alone", map[string][]string{"label": {"service", "project=shop"}}, []string{"a1", "b2"}},
		{"no match", map[string][]string{"label": {"project=shop", "service=cache"}}, nil},
		{"ids are alternatives", map[string][]string{"id": {"a", "b"}, "label": {"project"}}, []string{"a1", "b2"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := map[string]*apiv1.FilterValues{}
			for k, v := range tc.filters {
				f[k] = &apiv1.FilterValues{Values: v}
			}
			match, err := (&Manager{}).filter(f)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, c := range []*apiv1.Container{web, db} {
				if match(c) {
					got = append(got, c.Id)
				}
			}
			if !slices.Equal(got, tc.want) {
				t.Errorf("matched %v, want %v", got, tc.want)
			}
		})
	}
}
