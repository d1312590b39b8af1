package dockerapi

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"
)

func TestVersionMiddleware(t *testing.T) {
	s := New(Backend{Version: "test"})
	for _, tc := range []struct {
		name, path string
		code       int
		message    string
	}{
		{name: "no prefix", path: "/_ping", code: http.StatusOK},
		{name: "served version", path: "/v1.44/_ping", code: http.StatusOK},
		{name: "old client", path: "/v1.41/_ping", code: http.StatusOK},
		{name: "too new", path: "/v1.50/_ping", code: http.StatusBadRequest, message: "client version 1.50 is too new. Maximum supported API version is 1.44"},
		{name: "too old", path: "/v1.12/_ping", code: http.StatusBadRequest, message: "client version 1.12 is too old. Minimum supported API version is 1.24, please upgrade your client to a newer version"},
		{name: "unknown endpoint", path: "/v1.44/swarm", code: http.StatusNotFound, message: "page not found: skiff does not serve GET /swarm"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rec := httptest.NewRecorder()
			s.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, tc.path, nil))
			if rec.Code != tc.code {
				t.Fatalf("status = %d, want %d (%s)", rec.Code, tc.code, rec.Body)
			}
			for k, want := range map[string]string{"Api-Version": "1.44", "Ostype": "linux", "Server": "skiff/test", "Docker-Experimental": "false"} {
				if got := rec.Header().Get(k); got != want {
					t.Errorf("%s = %q, want %q", k, got, want)
				}
			}
			if tc.message == "" {
				return
			}
			var body errorBody
			if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil {
				t.Fatalf("error body %q: %v", rec.Body, err)
			}
			if body.Message != tc.message {
				t.Errorf("message = %q, want %q", body.Message, tc.message)
			}
		})
	}
}

func TestPingHead(t *testing.T) {
	rec := httptest.NewRecorder()
	New(Backend{}).ServeHTTP(rec, httptest.NewRequest(http.MethodHead, "/_ping", nil))
	if rec.Code != http.StatusOK || rec.Body.Len() != 0 || rec.Header().Get("Builder-Version") != "1" {
		t.Errorf("HEAD /_ping = %d %q, Builder-Version %q", rec.Code, rec.Body, rec.Header().Get("Builder-Version"))
	}
}
