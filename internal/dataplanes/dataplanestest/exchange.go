package dataplanestest

import (
	"net/http"
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
// that a parser's output can never make them panic, and checks the one
// thing every data plane here guarantees: Allow-Origin is one value.
func CheckModelAnswers(t *testing.T, m dataplanes.Model, origin string) {
	t.Helper()
	req := corscheck.Request{Origin: origin, Method: http.MethodPut, Headers: http.Header{"X-Request-Id": {"1"}}, Credentials: true}
	for _, answer := range []func(corscheck.Request) (corscheck.Response, error){m.Preflight, m.Actual} {
		resp, err := answer(req)
		if err != nil {
			t.Fatal(err)
		}
		if n := len(resp.Header.Values(dataplanes.HeaderAllowOrigin)); n > 1 {
			t.Fatalf("Access-Control-Allow-Origin sent %d times", n)
		}
	}
	_ = m.AnsweredBy(req, true)
	_, _, _ = corscheck.Run(m, req)
}
