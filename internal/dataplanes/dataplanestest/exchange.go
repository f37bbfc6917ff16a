package dataplanestest

import (
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/kubecors/kubecors/internal/corscheck"
	"github.com/kubecors/kubecors/internal/dataplanes"
)

// ExchangeCase is one request to a model and the CORS part of the answers
// it must give. want* maps hold the exact CORS headers (Access-Control-*
// and Vary); a nil map means "not checked".
type ExchangeCase struct {
	Name          string
	Origin        string
	Method        string
	Headers       http.Header
	WantPreflight map[string]string
	WantStatus    int
	WantActual    map[string]string
}

// corsHeaders keeps the CORS headers of a response, for comparison.
func corsHeaders(h http.Header) map[string]string {
	out := map[string]string{}
	for name, values := range h {
		if strings.HasPrefix(name, "Access-Control-") || name == dataplanes.HeaderVary {
			out[name] = strings.Join(values, ", ")
		}
	}
	return out
}

// CheckExchanges asks m each case's preflight and actual request and
// compares the CORS headers and status with the case's.
func CheckExchanges(t *testing.T, m dataplanes.Model, cases []ExchangeCase) {
	t.Helper()
	for _, c := range cases {
		req := corscheck.Request{Origin: c.Origin, Method: c.Method, Headers: c.Headers}
		if req.Method == "" {
			req.Method = http.MethodPut
		}
		if req.Headers == nil {
			req.Headers = http.Header{}
		}
		pre, err := m.Preflight(req)
		if err != nil {
			t.Fatalf("%s: preflight: %v", c.Name, err)
		}
		if c.WantStatus != 0 && pre.Status != c.WantStatus {
			t.Errorf("%s: preflight status %d, want %d", c.Name, pre.Status, c.WantStatus)
		}
		if c.WantPreflight != nil {
			if diff := cmp.Diff(c.WantPreflight, corsHeaders(pre.Header)); diff != "" {
				t.Errorf("%s: preflight headers (-want +got):\n%s", c.Name, diff)
			}
		}
		act, err := m.Actual(req)
		if err != nil {
			t.Fatalf("%s: actual: %v", c.Name, err)
		}
		if c.WantActual != nil {
			if diff := cmp.Diff(c.WantActual, corsHeaders(act.Header)); diff != "" {
				t.Errorf("%s: actual headers (-want +got):\n%s", c.Name, diff)
			}
		}
	}
}

// CheckModelAnswers asks a model the questions explain and audit ask, so
// that a parser's output can never make them panic, and fails t with every
// problem ModelAnswerProblems finds.
func CheckModelAnswers(t *testing.T, m dataplanes.Model, origin string) {
	t.Helper()
	for _, problem := range ModelAnswerProblems(m, origin) {
		t.Error(problem)
	}
}

// ModelAnswerProblems asks m a credentialed PUT with a CORS-unsafe header
// from origin, directly and through corscheck as a browser carries it out,
// and returns what contradicts the guarantees every data plane here gives:
// no answer fails, Allow-Origin is one value, and a request the browser
// lets through is one the model's own Effective configuration allows (CORS
// on, credentials on if sent, the origin listed or covered by "*", a
// wildcard or a regex). Each is a string for a failure message; none when
// the model is consistent.
func ModelAnswerProblems(m dataplanes.Model, origin string) []string {
	var problems []string
	eff := m.Effective()
	req := corscheck.Request{Origin: origin, Method: http.MethodPut, Headers: http.Header{"X-Request-Id": {"1"}}, Credentials: true}
	// Only an origin as browsers send it is held to the effective origins
	// (and is one corscheck must carry out).
	browserOrigin := corscheck.Validate(req) == nil
	for _, answer := range []struct {
		name string
		ask  func(corscheck.Request) (corscheck.Response, error)
	}{{"preflight", m.Preflight}, {"actual request", m.Actual}} {
		resp, err := answer.ask(req)
		if err != nil {
			problems = append(problems, fmt.Sprintf("%s: %v", answer.name, err))
			continue
		}
		values := resp.Header.Values(dataplanes.HeaderAllowOrigin)
		if len(values) > 1 {
			problems = append(problems, fmt.Sprintf("%s: Access-Control-Allow-Origin sent %d times", answer.name, len(values)))
		}
		if len(values) == 1 && browserOrigin && !originAnswerExplained(eff, origin, values[0]) {
			problems = append(problems, fmt.Sprintf("%s: Access-Control-Allow-Origin %q for Origin %q, but the effective configuration allows %q, regexes %q, any origin %v",
				answer.name, values[0], origin, eff.AllowOrigins, eff.AllowOriginRegexes, eff.AnyOrigin))
		}
	}
	_ = m.AnsweredBy(req, true)
	_, verdict, err := corscheck.Run(m, req)
	switch {
	case err != nil && browserOrigin:
		// A request corscheck accepts is one the model must answer.
		problems = append(problems, fmt.Sprintf("corscheck: %v", err))
	case err != nil || !verdict.Allowed:
	case !eff.Enabled:
		problems = append(problems, fmt.Sprintf("a browser lets the request from %q through, yet the effective configuration has CORS off", origin))
	case !eff.AllowCredentials:
		problems = append(problems, fmt.Sprintf("a browser lets the credentialed request from %q through, yet the effective configuration has credentials off", origin))
	}
	return problems
}

// originAnswerExplained reports whether sent, an Access-Control-Allow-Origin
// value answering origin, is one the effective configuration can send:
// "*", one of its listed origins (some data planes send the first when
// nothing matches; ingress-nginx compares hosts case-insensitively), or the request's origin echoed when the configuration
// has something that matches more than listed values: any origin, a
// wildcard or a regex.
func originAnswerExplained(eff dataplanes.Effective, origin, sent string) bool {
	switch {
	case sent == "*", slices.ContainsFunc(eff.AllowOrigins, func(o string) bool { return strings.EqualFold(o, sent) }):
		return true
	case sent != origin:
		return false
	}
	// ingress-nginx matches its list unanchored at the start, so an entry
	// "s://app.example.com" lets "https://app.example.com" through: a
	// listed entry that ends the origin explains the echo.
	return eff.AnyOrigin || len(eff.AllowOriginRegexes) > 0 || slices.ContainsFunc(eff.AllowOrigins, func(o string) bool {
		return strings.Contains(o, "*") || strings.HasSuffix(strings.ToLower(origin), strings.ToLower(o))
	})
}
