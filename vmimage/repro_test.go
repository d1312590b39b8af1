package main

import "testing"

func TestCompareBuilds(t *testing.T) {
	k := func(image, config, release string) *builtKernel {
		return &builtKernel{image: []byte(image), config: []byte(config), release: release}
	}
	if err := compareBuilds("amd64", k("img", "cfg", "6.1"), k("img", "cfg", "6.1")); err != nil {
		t.Errorf("identical builds: %v", err)
	}
	for name, b := range map[string]*builtKernel{
		"image":   k("img2", "cfg", "6.1"),
		"config":  k("img", "cfg2", "6.1"),
		"release": k("img", "cfg", "6.1-2"),
	} {
		if err := compareBuilds("amd64", k("img", "cfg", "6.1"), b); err == nil {
			t.Errorf("builds differing in %s compared equal", name)
		}
	}
}
