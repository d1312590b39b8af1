// Package format renders command output the way docker's --format does:
// aligned tables with a header, one JSON object per line, or a Go template
// per item with docker's template functions; and the indented JSON array
// of inspect. It also spells times and sizes as docker does ("5 seconds
// ago", "1.23MB"). What the rows hold is left to the commands.
package format

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"text/template"
	"unicode"
	"unicode/utf8"
)

// Keywords of --format.
const (
	TableKey = "table"
	JSONKey  = "json"
)

// Format is a parsed --format value.
type Format struct {
	table bool
	tmpl  *template.Template
}

// Parse parses a --format value: "" or "table" for defaultTable (itself a
// "table ..." format), "json", "table TEMPLATE", or a bare TEMPLATE.
func Parse(value, defaultTable string) (*Format, error) {
	switch {
	case value == "" || value == TableKey:
		value = defaultTable
	case value == JSONKey:
		value = "{{json .}}"
	}
	f := &Format{}
	if rest, ok := strings.CutPrefix(value, TableKey); ok && (rest == "" || rest[0] == ' ' || rest[0] == '\t') {
		f.table = true
		value = rest
	}
	// Docker accepts \t and \n typed literally on the command line.
	value = strings.NewReplacer(`\t`, "\t", `\n`, "\n").Replace(strings.Trim(value, " "))
	tmpl, err := New(value)
	if err != nil {
		return nil, err
	}
	f.tmpl = tmpl
	return f, nil
}

// New parses a Go template with docker's template functions.
func New(text string) (*template.Template, error) {
	t, err := template.New("").Funcs(Funcs).Parse(text)
	if err != nil {
		return nil, fmt.Errorf("invalid format template: %w", err)
	}
	return t, nil
}

// IsTable reports whether f prints a header and aligned columns.
func (f *Format) IsTable() bool { return f.table }

// Write renders rows: one line per row, and in a table a header first,
// made by running the template on header (field name to title), then all
// aligned. A header the template cannot be run on (a field called with
// arguments, say) is left out rather than failing the listing.
func (f *Format) Write(w io.Writer, header map[string]string, rows []any) error {
	var buf bytes.Buffer
	for _, r := range rows {
		if err := f.tmpl.Execute(&buf, r); err != nil {
			return fmt.Errorf("format: %w", err)
		}
		buf.WriteByte('\n')
	}
	if !f.table {
		_, err := w.Write(buf.Bytes())
		return err
	}
	tw := tabwriter.NewWriter(w, 10, 1, 3, ' ', 0)
	var head bytes.Buffer
	if err := f.tmpl.Execute(&head, header); err == nil {
		head.WriteByte('\n')
		if _, err := tw.Write(head.Bytes()); err != nil {
			return err
		}
	}
	if _, err := tw.Write(buf.Bytes()); err != nil {
		return err
	}
	return tw.Flush()
}

// Inspect writes items as inspect does: an indented JSON array, or with
// a template (anything but "" and "json") one line per item.
func Inspect(w io.Writer, format string, items []any) error {
	if format == "" || format == JSONKey {
		if items == nil {
			items = []any{}
		}
		b, err := json.MarshalIndent(items, "", "    ")
		if err != nil {
			return err
		}
		_, err = fmt.Fprintf(w, "%s\n", b)
		return err
	}
	tmpl, err := New(strings.NewReplacer(`\t`, "\t", `\n`, "\n").Replace(format))
	if err != nil {
		return err
	}
	var buf bytes.Buffer
	for _, it := range items {
		if err := execInspect(&buf, tmpl, it); err != nil {
			return err
		}
		buf.WriteByte('\n')
	}
	_, err = w.Write(buf.Bytes())
	return err
}

// execInspect runs tmpl on item, and when that fails, on item's JSON form,
// as docker does: templates name fields as the JSON does ({{.Id}}), and
// numbers stay as written (UseNumber), not floats.
func execInspect(w *bytes.Buffer, tmpl *template.Template, item any) error {
	var typed bytes.Buffer
	err := tmpl.Execute(&typed, item)
	if err == nil {
		w.Write(typed.Bytes())
		return nil
	}
	b, jerr := json.Marshal(item)
	if jerr != nil {
		return fmt.Errorf("format: %w", err)
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var raw any
	if jerr := dec.Decode(&raw); jerr != nil {
		return fmt.Errorf("format: %w", err)
	}
	strict, cerr := tmpl.Clone()
	if cerr != nil {
		return fmt.Errorf("format: %w", err)
	}
	// A key the JSON lacks is as wrong as a field the type lacks.
	strict.Option("missingkey=error")
	var fromJSON bytes.Buffer
	if rerr := strict.Execute(&fromJSON, raw); rerr != nil {
		return fmt.Errorf("format: %w", err)
	}
	w.Write(fromJSON.Bytes())
	return nil
}

// Funcs are docker's template functions.
var Funcs = template.FuncMap{
	"json": func(v any) (string, error) {
		var buf bytes.Buffer
		enc := json.NewEncoder(&buf)
		enc.SetEscapeHTML(false)
		if err := enc.Encode(v); err != nil {
			return "", err
		}
		return strings.TrimSpace(buf.String()), nil
	},
	"split":    strings.Split,
	"join":     strings.Join,
	"title":    title,
	"lower":    strings.ToLower,
	"upper":    strings.ToUpper,
	"pad":      pad,
	"truncate": truncate,
	"println":  fmt.Sprintln,
}

// title upper-cases the first letter of each word, leaving the rest as it
// is (strings.Title's behaviour, which docker's templates keep).
func title(s string) string {
	var b strings.Builder
	prev := ' '
	for _, r := range s {
		if unicode.IsSpace(prev) || unicode.IsPunct(prev) && prev != '\'' {
			r = unicode.ToTitle(r)
		}
		b.WriteRune(r)
		prev = r
	}
	return b.String()
}

func pad(s string, prefix, suffix int) string {
	if s == "" {
		return s
	}
	return strings.Repeat(" ", prefix) + s + strings.Repeat(" ", suffix)
}

func truncate(s string, n int) string {
	if n < 0 || utf8.RuneCountInString(s) <= n {
		return s
	}
	return string([]rune(s)[:n])
}

// Ellipsis shortens s to at most n characters, marking the cut with "…",
// as docker's tables do.
func Ellipsis(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	if n <= 1 {
		return string(r[:n])
	}
	return string(r[:n-1]) + "…"
}
