package dataplanestest

import (
	"errors"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/kubecors/kubecors/internal/corscheck"
	"github.com/kubecors/kubecors/internal/dataplanes"
)

// brokenModel answers every request with fixed CORS headers, whatever its
// Effective says, or fails: the kinds of reader bug the fuzz targets'
// checks are there to catch.
type brokenModel struct {
	effective dataplanes.Effective
	header    http.Header
	// echo sends the request's Origin back as Access-Control-Allow-Origin.
	echo bool
	err  error
}

func (b brokenModel) answer(req corscheck.Request) (corscheck.Response, error) {
	if b.err != nil {
		return corscheck.Response{}, b.err
	}
	h := b.header.Clone()
	if h == nil {
		h = http.Header{}
	}
	if b.echo {
		h.Set(dataplanes.HeaderAllowOrigin, req.Origin)
	}
	return corscheck.Response{Status: http.StatusOK, Header: h}, nil
}

func (b brokenModel) Preflight(req corscheck.Request) (corscheck.Response, error) {
	return b.answer(req)
}
func (b brokenModel) Actual(req corscheck.Request) (corscheck.Response, error) { return b.answer(req) }
func (b brokenModel) Effective() dataplanes.Effective                          { return b.effective }
func (b brokenModel) AnsweredBy(corscheck.Request, bool) string                { return dataplanes.ByDataPlane }

// permissive is a header set that lets a credentialed PUT with
// X-Request-Id through.
func permissive() http.Header {
	return http.Header{dataplanes.HeaderAllowCredentials: {"true"}, dataplanes.HeaderAllowMethods: {"PUT"},
		dataplanes.HeaderAllowHeaders: {"X-Request-Id"}}
}

// TestModelAnswerProblems checks that the fuzz targets' model checks can
// fire: each broken model is reported for its own reason, and a
// consistent one is not.
func TestModelAnswerProblems(t *testing.T) {
	listed := dataplanes.Effective{Enabled: true, AllowOrigins: []string{"https://app.example.com"}, AllowCredentials: true}
	for _, tc := range []struct {
		name  string
		model brokenModel
		want  string
	}{
		{"a model that fails", brokenModel{effective: listed, err: errors.New("no answer")}, "preflight: no answer"},
		{"Allow-Origin twice", brokenModel{effective: listed, header: http.Header{dataplanes.HeaderAllowOrigin: {"https://app.example.com", "*"}}},
			"Access-Control-Allow-Origin sent 2 times"},
		{"an echo of an origin nothing allows", brokenModel{effective: listed, header: permissive(), echo: true},
			`Access-Control-Allow-Origin "https://evil.example" for Origin "https://evil.example"`},
		{"a value outside the list", brokenModel{effective: listed, header: http.Header{dataplanes.HeaderAllowOrigin: {"https://other.example"}}},
			`Access-Control-Allow-Origin "https://other.example"`},
		{"let through with CORS off", brokenModel{effective: dataplanes.Effective{AnyOrigin: true, AllowCredentials: true}, header: permissive(), echo: true},
			"CORS off"},
		{"let through with credentials off", brokenModel{effective: dataplanes.Effective{Enabled: true, AnyOrigin: true}, header: permissive(), echo: true},
			"credentials off"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			problems := ModelAnswerProblems(tc.model, "https://evil.example")
			if !slices.ContainsFunc(problems, func(p string) bool { return strings.Contains(p, tc.want) }) {
				t.Errorf("problems %q, want one containing %q", problems, tc.want)
			}
		})
	}
	consistent := brokenModel{effective: dataplanes.Effective{Enabled: true, AnyOrigin: true, AllowCredentials: true}, header: permissive(), echo: true}
	if problems := ModelAnswerProblems(consistent, "https://evil.example"); len(problems) > 0 {
		t.Errorf("a model that does what its configuration says is reported: %q", problems)
	}
}
