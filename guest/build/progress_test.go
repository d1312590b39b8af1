package build

import (
	"bytes"
	"testing"
	"time"
)

func TestProgressNumbersStepsAndPrefixesOutput(t *testing.T) {
	var buf bytes.Buffer
	p := newProgress(&buf)
	p.step("[internal] load build context").done(0)
	s := p.step("[stage-0 2/2] RUN make")
	_, _ = s.Write([]byte("compiling\npart"))
	_, _ = s.Write([]byte("ial line"))
	s.done(1500 * time.Millisecond)
	c := p.step("[stage-0 3/3] COPY a b")
	c.cached()
	want := "#1 [internal] load build context\n#1 DONE 0.0s\n" +
		"#2 [stage-0 2/2] RUN make\n#2 compiling\n#2 partial line\n#2 DONE 1.5s\n" +
		"#3 [stage-0 3/3] COPY a b\n#3 CACHED\n"
	if buf.String() != want {
		t.Errorf("progress:\n%s\nwant:\n%s", buf.String(), want)
	}
	if !c.isCached() || s.isCached() {
		t.Error("isCached is wrong")
	}
}
