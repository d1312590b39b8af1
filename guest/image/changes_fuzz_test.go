package image

import (
	"encoding/json"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// FuzzApplyChange feeds import's --change parser untrusted text: it must
// never panic, and a change it accepts leaves a config that still
// serialises.
func FuzzApplyChange(f *testing.F) {
	for _, seed := range []string{
		`CMD ["sh", "-c", "echo hi"]`,
		`CMD echo hi`,
		`ENTRYPOINT ["/bin/app"]`,
		`ENV A=1 B="two words"`,
		`ENV KEY value`,
		`WORKDIR /srv`,
		`USER 1000:1000`,
		`EXPOSE 80/tcp 53/udp 8080`,
		`LABEL a=b "c d"="e f"`,
		`VOLUME ["/data", "/logs"]`,
		`STOPSIGNAL SIGINT`,
		`RUN rm -rf /`,
		`CMD ["unterminated`,
		`ENV =`,
		"",
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, change string) {
		c := &v1.Config{}
		if err := applyChange(c, change); err != nil {
			return
		}
		if _, err := json.Marshal(&v1.ConfigFile{Config: *c}); err != nil {
			t.Fatalf("config after %q does not serialise: %v", change, err)
		}
	})
}
