package images

import (
	"strings"
	"testing"
	"time"

	apiv1 "github.com/skiffrun/skiff/guest/api/v1"
)

func TestHistoryRows(t *testing.T) {
	now := time.Unix(1700003600, 0)
	entries := []*apiv1.ImageHistoryEntry{
		{Id: "sha256:0123456789abcdef0123", Created: 1700000000 * 1e9, CreatedBy: "/bin/sh -c\techo " + strings.Repeat("x", 60), Size: 1234567, Comment: "c"},
		{Id: "<missing>", CreatedBy: "ADD file", Size: 0},
	}
	rows := HistoryRows(entries, now, HistoryOptions{Human: true})
	if r := rows[0]; r.ID != "0123456789ab" || r.CreatedSince != "About an hour ago" || r.Size != "1.23MB" || len([]rune(r.CreatedBy)) != createdByWidth || strings.Contains(r.CreatedBy, "\t") {
		t.Errorf("human row = %+v", r)
	}
	if r := rows[1]; r.ID != "<missing>" || r.CreatedSince != "N/A" || r.Size != "0B" {
		t.Errorf("missing row = %+v", r)
	}
	raw := HistoryRows(entries, now, HistoryOptions{NoTrunc: true})
	if r := raw[0]; r.ID != entries[0].Id || r.Size != "1234567" || strings.HasSuffix(r.CreatedBy, "…") || !strings.Contains(r.CreatedSince, "2023-11-1") {
		t.Errorf("raw row = %+v", r)
	}
}
