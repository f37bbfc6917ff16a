package cli

import (
	"encoding/json"
	"fmt"
	"io"
	"regexp"
	"strconv"
	"strings"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/kubecors/kubecors/internal/policycheck"
)

// checkCounts are the totals of the summary line.
type checkCounts struct {
	policies    int
	invalid     int
	warned      int
	skipped     int
	inputErrors int
}

// reporter prints the findings of check: verdicts on standard output (as
// they come in text, all at the end in JSON, which must stay one
// document), notes and the summary on standard error, where they never
// mix with what a CI system parses.
type reporter struct {
	format  string
	out     *reportStream
	errOut  *reportStream
	counts  checkCounts
	reports []policyReport
}

// newReporter returns a reporter printing in format (text or json).
func newReporter(format string, out, errOut io.Writer) *reporter {
	// Non-nil, so that JSON output is [] rather than null when no policy
	// was found.
	return &reporter{format: format, out: &reportStream{w: out}, errOut: &reportStream{w: errOut}, reports: []policyReport{}}
}

// reportStream is an output stream of the reporter. It keeps the first
// write error, so that the reporter can print line after line and check
// once, in finish, that everything it printed was written; after an error
// it prints nothing more, since the stream has already lost a line.
type reportStream struct {
	w   io.Writer
	err error
}

// printf prints to the stream unless an earlier write failed.
func (s *reportStream) printf(format string, args ...any) {
	if s.err == nil {
		_, s.err = fmt.Fprintf(s.w, format, args...)
	}
}

// policyReport is the JSON form of the verdict on one policy.
type policyReport struct {
	File      string         `json:"file"`
	Document  int            `json:"document"`
	Kind      string         `json:"kind"`
	Name      string         `json:"name"`
	Namespace string         `json:"namespace"`
	Valid     bool           `json:"valid"`
	Errors    []fieldProblem `json:"errors"`
	Warnings  []string       `json:"warnings"`
}

// fieldProblem is the JSON form of one error: the field's path, empty for
// an error about the whole object, and the message a person reads.
type fieldProblem struct {
	Field   string `json:"field"`
	Message string `json:"message"`
}

// inputError reports an input that could not be read or parsed.
func (r *reporter) inputError(where string, err error) {
	r.counts.inputErrors++
	r.errOut.printf("%s: error: %v\n", where, err)
}

// skipped notes a document that was not checked, and why.
func (r *reporter) skipped(where location, reason string) {
	r.counts.skipped++
	r.errOut.printf("%s: skipped: %s\n", where, reason)
}

// policy reports the verdict on one checked policy.
func (r *reporter) policy(where location, obj *unstructured.Unstructured, result policycheck.Result) {
	r.counts.policies++
	if !result.Valid() {
		r.counts.invalid++
	}
	if len(result.Warnings) > 0 {
		r.counts.warned++
	}
	if r.format == outputJSON {
		report := policyReport{
			File:      where.file,
			Document:  where.document,
			Kind:      obj.GetKind(),
			Name:      obj.GetName(),
			Namespace: obj.GetNamespace(),
			Valid:     result.Valid(),
			Errors:    []fieldProblem{},
			Warnings:  append([]string{}, result.Warnings...),
		}
		for _, err := range result.Errors {
			report.Errors = append(report.Errors, fieldProblem{Field: fieldOf(err), Message: humanMessage(err)})
		}
		r.reports = append(r.reports, report)
		return
	}
	for _, err := range result.Errors {
		if path := fieldOf(err); path != "" {
			r.out.printf("%s: %s: %s\n", where, path, humanMessage(err))
		} else {
			r.out.printf("%s: %s\n", where, humanMessage(err))
		}
	}
	for _, warning := range result.Warnings {
		r.out.printf("%s: warning: %s\n", where, warning)
	}
}

// finish prints the JSON document, if any, and the summary line. Its error
// says that a write failed, so that the report the streams hold is
// incomplete.
func (r *reporter) finish() error {
	if r.format == outputJSON {
		// The array is all that standard output gets in JSON, so there is
		// no earlier write error on it to respect.
		encoder := json.NewEncoder(r.out.w)
		encoder.SetIndent("", "  ")
		if err := encoder.Encode(r.reports); err != nil {
			return fmt.Errorf("writing the JSON report: %w", err)
		}
	}
	r.errOut.printf("%s\n", r.counts.summary())
	if r.out.err != nil {
		return fmt.Errorf("writing the report to standard output: %w", r.out.err)
	}
	if r.errOut.err != nil {
		return fmt.Errorf("writing to standard error: %w", r.errOut.err)
	}
	return nil
}

// summary is the last line check prints, such as
// "3 policies checked: 1 invalid, 1 with warnings".
func (c checkCounts) summary() string {
	s := fmt.Sprintf("%s checked: %d invalid, %d with warnings",
		plural(c.policies, "policy", "policies"), c.invalid, c.warned)
	if c.skipped > 0 {
		s += fmt.Sprintf("; %s skipped", plural(c.skipped, "other document", "other documents"))
	}
	if c.inputErrors > 0 {
		s += fmt.Sprintf("; %s", plural(c.inputErrors, "input error", "input errors"))
	}
	return s
}

func plural(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return strconv.Itoa(n) + " " + many
}

// fieldOf is the path of a field error, or "" for an error about the whole
// object, which field.Error spells "<nil>".
func fieldOf(err *field.Error) string {
	if err.Field == "<nil>" {
		return ""
	}
	return err.Field
}

// humanMessage is what follows the path of a field error: the Detail alone
// for an invalid value whose Detail already names the value (the kubecors
// rules and CEL messages do), otherwise the whole body ("Required value",
// `Unsupported value: "x": supported values: ...`, `Too many: 65: must have
// at most 64 items`, or `Invalid value: "v": detail`), since there the type
// and value carry the meaning.
func humanMessage(err *field.Error) string {
	if err.Type == field.ErrorTypeInvalid && err.Detail != "" && detailNamesValue(err) {
		return err.Detail
	}
	return err.ErrorBody()
}

// detailNamesValue reports whether an invalid-value error's Detail already
// shows its bad value, or there is no value to show.
func detailNamesValue(err *field.Error) bool {
	switch value := err.BadValue.(type) {
	case nil, field.OmitValueType:
		return true
	case string:
		return value == "" || strings.Contains(err.Detail, strconv.Quote(value))
	case int, int32, int64, float64, bool:
		// Numbers are written unquoted; match whole numbers only, so that
		// 5 is not found inside 86400 ... or 7250.
		pattern := `(^|[^0-9.])` + regexp.QuoteMeta(fmt.Sprint(value)) + `([^0-9]|$)`
		return regexp.MustCompile(pattern).MatchString(err.Detail)
	default:
		return false
	}
}
