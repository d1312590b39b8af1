package format

import (
	"bytes"
	"strings"
	"testing"
	"time"
)

type row struct {
	ID    string
	Names string
}

func (r row) Label(k string) string { return "label-" + k }

var header = map[string]string{"ID": "CONTAINER ID", "Names": "NAMES"}

const def = "table {{.ID}}\t{{.Names}}"

func TestWrite(t *testing.T) {
	rows := []any{row{"abc", "web"}, row{"0123456789abcdef", "db"}}
	tests := []struct {
		name, format, want string
	}{
		{"default table", "", "CONTAINER ID       NAMES\nabc                web\n0123456789abcdef   db\n"},
		{"table keyword", "table", "CONTAINER ID       NAMES\nabc                web\n0123456789abcdef   db\n"},
		{"table template", `table {{.Names}}\t{{.ID}}`, "NAMES     CONTAINER ID\nweb       abc\ndb        0123456789abcdef\n"},
		{"json", "json", `{"ID":"abc","Names":"web"}` + "\n" + `{"ID":"0123456789abcdef","Names":"db"}` + "\n"},
		{"template", "{{.Names}}", "web\ndb\n"},
		{"functions", `{{upper .Names}} {{lower "AB"}} {{title "hello world"}} {{truncate .ID 2}} {{pad .Names 1 1}}|{{join (split "a,b" ",") "+"}} {{json .Names}}`,
			"WEB ab Hello World ab  web |a+b \"web\"\nDB ab Hello World 01  db |a+b \"db\"\n"},
		{"method with argument", `{{.Label "tier"}}`, "label-tier\nlabel-tier\n"},
		{"table header skipped when it cannot render", `table {{.Label "tier"}}`, "label-tier\nlabel-tier\n"},
		{"println", `{{println .Names}}`, "web\n\ndb\n\n"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f, err := Parse(tc.format, def)
			if err != nil {
				t.Fatal(err)
			}
			var buf bytes.Buffer
			if err := f.Write(&buf, header, rows); err != nil {
				t.Fatal(err)
			}
			if buf.String() != tc.want {
				t.Errorf("got:\n%q\nwant:\n%q", buf.String(), tc.want)
			}
		})
	}
}

func TestWriteEmptyTableKeepsHeader(t *testing.T) {
	f, _ := Parse("", def)
	var buf bytes.Buffer
	if err := f.Write(&buf, header, nil); err != nil || buf.String() != "CONTAINER ID   NAMES\n" {
		t.Errorf("%q %v", buf.String(), err)
	}
}

func TestParseErrors(t *testing.T) {
	if _, err := Parse("{{.ID", def); err == nil {
		t.Error("an unclosed action parsed")
	}
	f, _ := Parse("{{.Nope}}", def)
	if err := f.Write(&bytes.Buffer{}, header, []any{row{}}); err == nil {
		t.Error("an unknown field rendered")
	}
}

func TestInspect(t *testing.T) {
	var buf bytes.Buffer
	if err := Inspect(&buf, "", []any{row{"a", "b"}}); err != nil {
		t.Fatal(err)
	}
	want := "[\n    {\n        \"ID\": \"a\",\n        \"Names\": \"b\"\n    }\n]\n"
	if buf.String() != want {
		t.Errorf("got %q want %q", buf.String(), want)
	}
	buf.Reset()
	if err := Inspect(&buf, "", nil); err != nil || buf.String() != "[]\n" {
		t.Errorf("empty inspect = %q", buf.String())
	}
	buf.Reset()
	if err := Inspect(&buf, `{{.Names}}\t{{.ID}}`, []any{row{"a", "b"}}); err != nil || buf.String() != "b\ta\n" {
		t.Errorf("template inspect = %q %v", buf.String(), err)
	}
}

func TestEllipsis(t *testing.T) {
	for _, tc := range []struct {
		in   string
		n    int
		want string
	}{
		{"short", 20, "short"},
		{"docker-entrypoint.sh nginx", 20, "docker-entrypoint.s…"},
		{"ab", 1, "a"},
		{"héllo wörld", 5, "héll…"},
	} {
		if got := Ellipsis(tc.in, tc.n); got != tc.want {
			t.Errorf("Ellipsis(%q, %d) = %q, want %q", tc.in, tc.n, got, tc.want)
		}
	}
}

func TestTimesAndSizes(t *testing.T) {
	now := time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		d    time.Duration
		want string
	}{
		{500 * time.Millisecond, "Less than a second ago"},
		{5 * time.Second, "5 seconds ago"},
		{61 * time.Second, "About a minute ago"},
		{2 * time.Minute, "2 minutes ago"},
		{3 * time.Hour, "3 hours ago"},
		{72 * time.Hour, "3 days ago"},
	} {
		if got := Ago(now.Add(-tc.d), now); got != tc.want {
			t.Errorf("Ago(-%v) = %q, want %q", tc.d, got, tc.want)
		}
	}
	if got := Size(4_260_000); got != "4.26MB" {
		t.Errorf("Size = %q", got)
	}
	if got := RFC3339Nano(Time(0)); got != "0001-01-01T00:00:00Z" {
		t.Errorf("zero time = %q", got)
	}
	if got := Time(now.UnixNano()); !got.Equal(now) {
		t.Errorf("Time = %v", got)
	}
	if !strings.HasPrefix(RFC3339Nano(Time(now.UnixNano()+5)), "2024-05-01T12:00:00.000000005Z") {
		t.Error("nanoseconds lost")
	}
}

func TestInspectTemplateUsesJSONNames(t *testing.T) {
	type item struct {
		ID  string `json:"Id"`
		Mem int64
	}
	var buf bytes.Buffer
	if err := Inspect(&buf, "{{.Id}} {{.Mem}}", []any{item{"abc", 1 << 30}}); err != nil || buf.String() != "abc 1073741824\n" {
		t.Errorf("got %q, %v", buf.String(), err)
	}
	buf.Reset()
	if err := Inspect(&buf, "{{.ID}}", []any{item{ID: "abc"}}); err != nil || buf.String() != "abc\n" {
		t.Errorf("Go field names must work too: %q, %v", buf.String(), err)
	}
	if err := Inspect(&buf, "{{.Nope}}", []any{item{}}); err == nil {
		t.Error("an unknown field rendered")
	}
}
