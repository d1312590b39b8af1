package image

import (
	"testing"
)

func TestHistoryEntries(t *testing.T) {
	raw := []byte(`{"architecture":"amd64","os":"linux","rootfs":{"type":"layers"},
"history":[
 {"created":"2024-01-01T00:00:00Z","created_by":"ADD file:x in /"},
 {"created":"2024-01-02T00:00:00Z","created_by":"CMD [\"sh\"]","empty_layer":true},
 {"created_by":"RUN touch /a","comment":"buildkit"}]}`)
	img := &Image{ID: "sha256:top", RepoTags: []string{"x:latest"}}
	got, err := historyEntries(raw, img, []int64{100, 7})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 3 {
		t.Fatalf("got %d entries, want 3", len(got))
	}
	if got[0].GetId() != "sha256:top" || got[0].GetSize() != 7 || got[0].GetComment() != "buildkit" || got[0].GetCreated() != 0 || len(got[0].GetTags()) != 1 {
		t.Errorf("newest entry = %v", got[0])
	}
	if got[1].GetId() != missing || got[1].GetSize() != 0 || !got[1].GetEmptyLayer() || got[1].GetCreatedBy() != `CMD ["sh"]` {
		t.Errorf("middle entry = %v", got[1])
	}
	if got[2].GetSize() != 100 || got[2].GetCreated() == 0 || got[2].GetTags() != nil {
		t.Errorf("oldest entry = %v", got[2])
	}
	if _, err := historyEntries([]byte("{"), img, nil); err == nil {
		t.Error("a broken config parsed")
	}
}
