package cli

import (
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"

	"k8s.io/apimachinery/pkg/util/validation/field"

	kubecorsv1alpha1 "github.com/kubecors/kubecors/api/v1alpha1"
	"github.com/kubecors/kubecors/internal/corscheck"
	"github.com/kubecors/kubecors/internal/dataplanes"
)

// explainReport is the outcome of explain, printed as a table, JSON or YAML.
type explainReport struct {
	Target     string               `json:"target"`
	DataPlane  string               `json:"dataPlane"`
	Detection  string               `json:"detection,omitempty"`
	GovernedBy string               `json:"governedBy"`
	Policy     string               `json:"policy,omitempty"`
	Notes      []string             `json:"notes,omitempty"`
	Request    requestView          `json:"request"`
	Effective  dataplanes.Effective `json:"effective"`
	Preflight  *exchangeView        `json:"preflight,omitempty"`
	Actual     *exchangeView        `json:"actual,omitempty"`
	Verdict    corscheck.Verdict    `json:"verdict"`
	// Causes name the defaults and fall-backs of the data plane that
	// produced the failing response, with the setting they stand for.
	Causes []string `json:"causes,omitempty"`
	// Fix is the change that removes the block, in the terms of what
	// governs the target.
	Fix string `json:"fix,omitempty"`
	// Hints are further advice: alternatives, migration to a CorsPolicy.
	Hints []string `json:"hints,omitempty"`
	// Wire is the last check of the target on the wire by the operator,
	// when there is one.
	Wire *wireView `json:"wire,omitempty"`
}

// exchangeView is one request of the exchange and its simulated response.
type exchangeView struct {
	AnsweredBy     string      `json:"answeredBy"`
	RequestHeaders http.Header `json:"requestHeaders"`
	Status         int         `json:"status"`
	Headers        http.Header `json:"headers"`
}

// explain runs the browser's CORS check against the target's model and
// works out the fix for a block.
func explain(t *explainTarget, req corscheck.Request) (*explainReport, error) {
	ex, verdict, err := corscheck.Run(t.model, req)
	if err != nil {
		return nil, err
	}
	eff := t.model.Effective()
	r := &explainReport{
		Target: t.Ref, DataPlane: eff.DataPlane, Detection: t.Detection, GovernedBy: t.GovernedBy, Policy: t.PolicyRef,
		Notes: t.Notes, Effective: eff, Verdict: verdict,
		Request: viewOf(req),
	}
	if len(r.Request.Headers) == 0 {
		r.Request.Headers = nil
	}
	sent, _ := corscheck.Normalize(req)
	if ex.Preflight != nil {
		r.Preflight = &exchangeView{AnsweredBy: answeredBy(t.model, sent, true), RequestHeaders: corscheck.PreflightRequestHeaders(req),
			Status: ex.Preflight.Status, Headers: ex.Preflight.Header}
	}
	if ex.Actual != nil {
		r.Actual = &exchangeView{AnsweredBy: answeredBy(t.model, sent, false), RequestHeaders: corscheck.ActualRequestHeaders(req),
			Status: ex.Actual.Status, Headers: ex.Actual.Header}
	}
	r.Fix, r.Hints = t.fix(req, verdict)
	r.Wire = lastWireObservation(t)
	if hint := wireHint(r.Wire, verdict.Allowed); hint != "" {
		r.Hints = append(r.Hints, hint)
	}
	if verdict.Failure != nil {
		r.Causes = causes(eff, verdict.Failure.Class)
	}
	if verdict.Allowed && t.GovernedBy != governedByPolicy {
		// Allowed is not the same as safe: say what audit would say.
		for _, f := range auditModel(auditTarget{model: t.model}) {
			if severityRank[f.Severity] >= severityRank[severityMedium] {
				r.Hints = append(r.Hints, fmt.Sprintf("allowed, but %s (%s, %s risk; see kubectl cors audit)", f.Message, f.Rule, f.Severity))
			}
		}
	}
	return r, nil
}

// causeSettings are the settings behind each failure class.
var causeSettings = map[string][]string{
	corscheck.ClassWildcardWithCredentials: {dataplanes.SettingAllowOrigins, dataplanes.SettingAllowCredentials},
	corscheck.ClassCredentialsNotAllowed:   {dataplanes.SettingAllowCredentials},
	corscheck.ClassNoCORSHeaders:           {dataplanes.SettingEnabled, dataplanes.SettingAllowOrigins, dataplanes.SettingAllowOriginRegexes},
	corscheck.ClassOriginMismatch:          {dataplanes.SettingAllowOrigins, dataplanes.SettingAllowOriginRegexes},
	corscheck.ClassMethodNotAllowed:        {dataplanes.SettingAllowMethods},
	corscheck.ClassHeaderNotAllowed:        {dataplanes.SettingAllowHeaders},
	corscheck.ClassHeaderNotExposed:        {dataplanes.SettingExposeHeaders},
}

// causes lists the settings behind a failure that the data plane did not
// take as written: its defaults and silent fall-backs, which are what
// people do not expect.
func causes(eff dataplanes.Effective, class string) []string {
	var out []string
	for _, name := range causeSettings[class] {
		for _, s := range eff.Settings {
			if s.Name == name && s.Source != dataplanes.SourceWritten && s.Note != "" {
				out = append(out, s.Key+": "+s.Note)
			}
		}
	}
	return out
}

// answeredBy names who produced a response, for people.
func answeredBy(m dataplanes.Model, req corscheck.Request, preflight bool) string {
	dp := m.Effective().DataPlane
	if m.AnsweredBy(req, preflight) == dataplanes.ByBackend {
		return fmt.Sprintf("the backend (%s adds no CORS header; the backend is assumed not to either)", dp)
	}
	if preflight {
		return dp
	}
	return "the backend, with CORS headers from " + dp
}

// credentialsDefaulted reports whether credentials are on only because the
// data plane defaults them to true.
func credentialsDefaulted(eff dataplanes.Effective) bool {
	s, ok := eff.Setting(dataplanes.SettingAllowCredentials)
	return ok && s.Source != dataplanes.SourceWritten && s.Effective == trueValue
}

// specFieldPath is the path CorsPolicy spec errors are reported under.
var specFieldPath = field.NewPath("spec")

// applyChange applies a corscheck change to a spec, to validate the result.
func applyChange(spec *kubecorsv1alpha1.CorsPolicySpec, c corscheck.Change) {
	edit := func(list []string) []string {
		if c.Action == corscheck.ActionReplace {
			list = slices.DeleteFunc(list, func(v string) bool { return v == c.Replaces })
		}
		for _, v := range c.Values {
			if !slices.Contains(list, v) {
				list = append(list, v)
			}
		}
		return list
	}
	switch c.Field {
	case corscheck.FieldAllowOrigins:
		spec.AllowOrigins = convertList[kubecorsv1alpha1.Origin](edit(stringList(spec.AllowOrigins)))
	case corscheck.FieldAllowMethods:
		spec.AllowMethods = convertList[kubecorsv1alpha1.HTTPMethod](edit(stringList(spec.AllowMethods)))
	case corscheck.FieldAllowHeaders:
		spec.AllowHeaders = convertList[kubecorsv1alpha1.RequestHeaderName](edit(stringList(spec.AllowHeaders)))
	case corscheck.FieldExposeHeaders:
		spec.ExposeHeaders = convertList[kubecorsv1alpha1.ResponseHeaderName](edit(stringList(spec.ExposeHeaders)))
	case corscheck.FieldAllowCredentials:
		on := len(c.Values) > 0 && c.Values[0] == trueValue
		spec.AllowCredentials = &on
	}
}

// stringList converts a list of string-based API values to strings.
func stringList[T ~string](values []T) []string {
	out := make([]string, len(values))
	for i, v := range values {
		out[i] = string(v)
	}
	return out
}

// convertList converts strings to a string-based API type.
func convertList[T ~string](values []string) []T {
	out := make([]T, len(values))
	for i, v := range values {
		out[i] = T(v)
	}
	return out
}

// printExplainReport prints the report in the chosen format.
func printExplainReport(w io.Writer, format string, r *explainReport) error {
	switch format {
	case outputJSON:
		return writeJSON(w, r)
	case outputYAML:
		return writeYAML(w, r)
	}
	p := &textPrinter{w: w}
	p.field("Target", r.Target)
	p.field("Data plane", fmt.Sprintf("%s (%s)", r.DataPlane, r.Detection))
	governed := r.GovernedBy
	if r.Policy != "" {
		governed = r.Policy
	}
	p.field("Governed by", governed)
	p.field("Request", describeRequest(r.Request))
	for _, n := range r.Notes {
		p.field("Note", n)
	}
	printWire(p, r.Wire)
	p.line("")
	p.line("Effective configuration:")
	printSettings(p, r.Effective)
	p.linef("  Preflights: %s", r.Effective.Preflight)
	p.line("")
	if r.Verdict.PreflightNeeded {
		p.linef("Preflight: needed, because %s", strings.Join(r.Verdict.PreflightReasons, "; "))
	} else {
		p.line("Preflight: not needed")
	}
	if r.Preflight != nil {
		p.linef("  sent: OPTIONS with %s", inlineHeaders(r.Preflight.RequestHeaders, "Origin", "Access-Control-Request-Method", "Access-Control-Request-Headers"))
		printResponse(p, r.Preflight)
	}
	if r.Actual != nil {
		p.linef("Actual request: %s", r.Request.Method)
		printResponse(p, r.Actual)
	} else {
		p.linef("Actual request: not sent (the preflight failed)")
	}
	p.line("")
	p.line("Checks:")
	rows := make([][]string, 0, len(r.Verdict.Steps))
	for _, s := range r.Verdict.Steps {
		rows = append(rows, []string{s.Stage, s.Check, strings.ToUpper(s.Outcome), s.Detail})
	}
	writeTable(p, "  ", rows)
	p.line("")
	if r.Verdict.Allowed {
		p.line("Verdict: ALLOWED")
	} else {
		p.linef("Verdict: BLOCKED (%s)", r.Verdict.Failure.Class)
		p.field("  Why", r.Verdict.Failure.Message)
		for _, c := range r.Causes {
			p.field("  Because", c)
		}
		p.field("  Fix", r.Fix)
	}
	if len(r.Verdict.ReadableHeaders) > 0 {
		p.field("  Readable", strings.Join(r.Verdict.ReadableHeaders, ", "))
	}
	for _, w := range r.Verdict.Warnings {
		p.field("  Warning", w.Message)
	}
	for _, h := range r.Hints {
		p.field("  Hint", h)
	}
	return p.err
}

// describeRequest writes the page's request in one line.
func describeRequest(r requestView) string {
	parts := []string{fmt.Sprintf("%s from %s", r.Method, r.Origin)}
	if r.Credentials {
		parts = append(parts, "with credentials")
	} else {
		parts = append(parts, "without credentials")
	}
	if len(r.Headers) > 0 {
		parts = append(parts, "headers "+inlineHeaders(r.Headers))
	}
	if len(r.ReadHeaders) > 0 {
		parts = append(parts, "reads "+strings.Join(r.ReadHeaders, ", "))
	}
	return strings.Join(parts, ", ")
}

// printSettings prints the effective configuration's settings as a table.
func printSettings(p *textPrinter, e dataplanes.Effective) {
	if len(e.Settings) == 0 {
		p.line("  (no CORS configuration)")
		return
	}
	rows := [][]string{{"KEY", "WRITTEN", "EFFECTIVE", "SOURCE", "NOTE"}}
	for _, s := range e.Settings {
		written := "(absent)"
		if s.Present {
			written = displayValue(s.Written)
		}
		effective := s.Effective
		switch {
		case s.Present && s.Source == dataplanes.SourceWritten && strings.TrimSpace(s.Written) == s.Effective:
			effective = "(as written)"
		case effective == "":
			effective = "(none)"
		}
		rows = append(rows, []string{s.Key, written, effective, string(s.Source), s.Note})
	}
	writeTable(p, "  ", rows)
}

// printResponse prints who answered and the response's headers.
func printResponse(p *textPrinter, x *exchangeView) {
	p.linef("  answered by %s: %s", x.AnsweredBy, statusLine(x.Status))
	names := make([]string, 0, len(x.Headers))
	for name := range x.Headers {
		names = append(names, name)
	}
	slices.Sort(names)
	for _, name := range names {
		for _, v := range x.Headers[name] {
			p.linef("    %s: %s", name, v)
		}
	}
	if len(names) == 0 {
		p.line("    (no headers)")
	}
}

// statusLine writes a status as "204 No Content".
func statusLine(status int) string {
	return strings.TrimSpace(fmt.Sprintf("%d %s", status, http.StatusText(status)))
}

// inlineHeaders writes headers as "Name: value; Name: value", the named
// ones first in the given order, then the rest sorted.
func inlineHeaders(h http.Header, first ...string) string {
	var names []string
	for _, name := range first {
		if _, ok := h[http.CanonicalHeaderKey(name)]; ok {
			names = append(names, http.CanonicalHeaderKey(name))
		}
	}
	var rest []string
	for name := range h {
		if !slices.Contains(names, name) {
			rest = append(rest, name)
		}
	}
	slices.Sort(rest)
	names = append(names, rest...)
	parts := make([]string, 0, len(names))
	for _, name := range names {
		parts = append(parts, name+": "+strings.Join(h[name], ", "))
	}
	return strings.Join(parts, "; ")
}
