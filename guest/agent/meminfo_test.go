package agent

import "testing"

func TestMeminfoField(t *testing.T) {
	text := "MemTotal:        2013364 kB\nMemFree:         1650000 kB\nMemAvailable:    1800000 kB\nHugePages_Total:       0\n"
	for _, tc := range []struct {
		field string
		want  int64
	}{
		{"MemAvailable", 1800000 * 1024},
		{"HugePages_Total", 0},
		{"MemAvail", 0},
		{"Missing", 0},
	} {
		if got := meminfoField(text, tc.field); got != tc.want {
			t.Errorf("%s = %d, want %d", tc.field, got, tc.want)
		}
	}
	if got := meminfoField("MemAvailable: lots kB\n", "MemAvailable"); got != 0 {
		t.Errorf("a bad number read as %d", got)
	}
}
