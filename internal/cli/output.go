package cli

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"
	"text/tabwriter"
	"unicode"

	"sigs.k8s.io/yaml"
)

// writeTable prints rows as aligned columns, each line indented, without
// trailing spaces.
func writeTable(w io.Writer, indent string, rows [][]string) {
	var buf bytes.Buffer
	tw := tabwriter.NewWriter(&buf, 0, 0, 2, ' ', 0)
	for _, row := range rows {
		_, _ = fmt.Fprintln(tw, indent+strings.Join(row, "\t"))
	}
	_ = tw.Flush()
	for line := range strings.Lines(buf.String()) {
		_, _ = fmt.Fprintln(w, strings.TrimRight(line, " \n"))
	}
}

// displayValue quotes a written value for a table: plainly, unless it
// holds characters a reader could not see.
func displayValue(v string) string {
	if strings.ContainsFunc(v, func(r rune) bool { return r == '"' || !unicode.IsPrint(r) }) {
		return strconv.Quote(v)
	}
	return `"` + v + `"`
}

// textPrinter writes lines and keeps the first error, so that printing
// code reads straight.
type textPrinter struct {
	w   io.Writer
	err error
}

// Write writes b unless an earlier write failed, and keeps the first error.
func (p *textPrinter) Write(b []byte) (int, error) {
	if p.err != nil {
		return 0, p.err
	}
	n, err := p.w.Write(b)
	p.err = err
	return n, err
}

func (p *textPrinter) line(s string) { _, _ = fmt.Fprintln(p, s) }

func (p *textPrinter) linef(format string, args ...any) { _, _ = fmt.Fprintf(p, format+"\n", args...) }

// field prints "Name: value", indenting continuation lines under the value.
func (p *textPrinter) field(name, value string) {
	pad := strings.Repeat(" ", max(13-len(name)-1, 1))
	value = strings.ReplaceAll(value, "\n", "\n"+strings.Repeat(" ", len(name)+1+len(pad)))
	p.linef("%s:%s%s", name, pad, value)
}

// writeJSON writes v as indented JSON.
func writeJSON(w io.Writer, v any) error {
	encoder := json.NewEncoder(w)
	encoder.SetIndent("", "  ")
	return encoder.Encode(v)
}

// writeYAML writes v as YAML, through its JSON form.
func writeYAML(w io.Writer, v any) error {
	data, err := yaml.Marshal(v)
	if err != nil {
		return err
	}
	_, err = w.Write(data)
	return err
}

// objectRef writes namespace/name, or name alone for cluster objects.
func objectRef(namespace, name string) string {
	if namespace == "" {
		return name
	}
	return namespace + "/" + name
}
