package gatewayapi

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"net/http"
	"path"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"k8s.io/apimachinery/pkg/util/validation/field"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"
	"sigs.k8s.io/yaml"

	kubecorsv1alpha1 "github.com/kubecors/kubecors/api/v1alpha1"
	"github.com/kubecors/kubecors/internal/corscheck"
	"github.com/kubecors/kubecors/internal/corsrules"
	"github.com/kubecors/kubecors/internal/dataplanes"
	"github.com/kubecors/kubecors/internal/dataplanes/dataplanestest"
	"github.com/kubecors/kubecors/test/conformance"
)

// The semantics check against Gateway API's conformance plan for the CORS
// filter (HTTPRouteCORS in sigs.k8s.io/gateway-api/conformance v1.6.3),
// read from the copy vendored under test/conformance: each route rule's
// filter is written as a CorsPolicy, rendered, and compared with the
// upstream filter; and each upstream request/response pair is evaluated
// against the policy and against the production reader (read.go).

// upstreamFile reads one vendored upstream file.
func upstreamFile(t *testing.T, name string) []byte {
	t.Helper()
	data, err := conformance.Upstream.ReadFile(path.Join(conformance.UpstreamDir, name))
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// readmeChecksum is a row of the vendored README's table: file, upstream
// file, sha256.
var readmeChecksum = regexp.MustCompile("(?m)^\\| `([^`]+)` \\| `([^`]+)` \\| `([0-9a-f]{64})` \\|$")

// TestConformanceFilesAreVerbatim checks the vendored files against the
// checksums their README records, taken from the module cache when they
// were copied, so that an edit to the "upstream" plan cannot pass
// unnoticed.
func TestConformanceFilesAreVerbatim(t *testing.T) {
	rows := readmeChecksum.FindAllStringSubmatch(string(upstreamFile(t, "README.md")), -1)
	if len(rows) != 2 {
		t.Fatalf("the README lists %d checksums, want 2", len(rows))
	}
	for _, row := range rows {
		sum := sha256.Sum256(upstreamFile(t, row[1]))
		if got := hex.EncodeToString(sum[:]); got != row[3] {
			t.Errorf("%s (upstream %s) has sha256 %s, the README records %s", row[1], row[2], got, row[3])
		}
	}
}

// upstreamCases extracts the request/response pairs from the vendored
// test's []http.ExpectedResponse literal, normalising status codes as the
// upstream framework does.
func upstreamCases(t *testing.T) []conformance.Case {
	t.Helper()
	file, err := parser.ParseFile(token.NewFileSet(), "httproute-cors.go", upstreamFile(t, "httproute-cors.go.txt"), 0)
	if err != nil {
		t.Fatal(err)
	}
	var list *ast.CompositeLit
	ast.Inspect(file, func(n ast.Node) bool {
		if lit, ok := n.(*ast.CompositeLit); ok {
			if array, ok := lit.Type.(*ast.ArrayType); ok && exprString(array.Elt) == "http.ExpectedResponse" {
				list = lit
			}
		}
		return list == nil
	})
	if list == nil {
		t.Fatal("no []http.ExpectedResponse literal in the vendored test")
	}
	cases := make([]conformance.Case, 0, len(list.Elts))
	for _, elt := range list.Elts {
		fields := literalValue(t, elt).(map[string]any)
		checkKeys(t, fields, "TestCaseName", "Request", "ExpectedRequest", "Namespace", "Response")
		request := fields["Request"].(map[string]any)
		checkKeys(t, request, "Path", "Method", "Headers")
		response := fields["Response"].(map[string]any)
		checkKeys(t, response, "StatusCode", "StatusCodes", "Headers", "ValidHeaderValues", "AbsentHeaders", "IgnoreWhitespace")
		c := conformance.Case{
			Name: fields["TestCaseName"].(string),
			Request: conformance.Request{
				Path:    request["Path"].(string),
				Method:  request["Method"].(string),
				Headers: stringMap(request["Headers"]),
			},
			Response: conformance.Response{
				Headers:       stringMap(response["Headers"]),
				AbsentHeaders: stringSlice(response["AbsentHeaders"]),
			},
		}
		for _, code := range asSlice(response["StatusCodes"]) {
			c.Response.StatusCodes = append(c.Response.StatusCodes, code.(int))
		}
		if code, ok := response["StatusCode"].(int); ok && !slices.Contains(c.Response.StatusCodes, code) {
			c.Response.StatusCodes = append(c.Response.StatusCodes, code)
		}
		if len(c.Response.StatusCodes) == 0 {
			c.Response.StatusCodes = []int{200}
		}
		if values, ok := response["ValidHeaderValues"].(map[string]any); ok {
			c.Response.ValidHeaderValues = map[string][]string{}
			for name, v := range values {
				c.Response.ValidHeaderValues[name] = stringSlice(v)
			}
		}
		c.Response.IgnoreWhitespace, _ = response["IgnoreWhitespace"].(bool)
		cases = append(cases, c)
	}
	return cases
}

// checkKeys fails on a field the extraction does not know, so that a new
// upstream expectation is looked at rather than dropped.
func checkKeys(t *testing.T, fields map[string]any, known ...string) {
	t.Helper()
	for k := range fields {
		if !slices.Contains(known, k) {
			t.Errorf("the vendored test sets %s, which the extraction does not read", k)
		}
	}
}

// literalValue evaluates the constant parts of a Go literal: strings,
// ints, booleans, slices, maps, and structs as maps of their fields.
// Identifiers and selectors (a namespace variable) become their source.
func literalValue(t *testing.T, expr ast.Expr) any {
	t.Helper()
	switch e := expr.(type) {
	case *ast.BasicLit:
		switch e.Kind {
		case token.STRING:
			s, err := strconv.Unquote(e.Value)
			if err != nil {
				t.Fatal(err)
			}
			return s
		case token.INT:
			n, err := strconv.Atoi(e.Value)
			if err != nil {
				t.Fatal(err)
			}
			return n
		}
	case *ast.Ident:
		switch e.Name {
		case "true", "false":
			return e.Name == "true"
		case "nil":
			return nil
		}
		return e.Name
	case *ast.SelectorExpr:
		return exprString(e)
	case *ast.UnaryExpr:
		return literalValue(t, e.X)
	case *ast.CompositeLit:
		if _, isArray := e.Type.(*ast.ArrayType); isArray || (len(e.Elts) > 0 && !isKeyValue(e.Elts[0])) {
			items := make([]any, 0, len(e.Elts))
			for _, elt := range e.Elts {
				items = append(items, literalValue(t, elt))
			}
			return items
		}
		fields := map[string]any{}
		for _, elt := range e.Elts {
			kv := elt.(*ast.KeyValueExpr)
			key, ok := literalValue(t, kv.Key).(string)
			if !ok {
				t.Fatalf("unexpected key %s", exprString(kv.Key))
			}
			fields[key] = literalValue(t, kv.Value)
		}
		return fields
	}
	t.Fatalf("unexpected expression %T in the vendored test", expr)
	return nil
}

func isKeyValue(e ast.Expr) bool {
	_, ok := e.(*ast.KeyValueExpr)
	return ok
}

func exprString(e ast.Expr) string {
	switch e := e.(type) {
	case *ast.Ident:
		return e.Name
	case *ast.SelectorExpr:
		return exprString(e.X) + "." + e.Sel.Name
	}
	return fmt.Sprintf("%T", e)
}

func asSlice(v any) []any {
	s, _ := v.([]any)
	return s
}

func stringSlice(v any) []string {
	items := asSlice(v)
	if items == nil {
		return nil
	}
	out := make([]string, 0, len(items))
	for _, item := range items {
		out = append(out, item.(string))
	}
	return out
}

func stringMap(v any) map[string]string {
	m, ok := v.(map[string]any)
	if !ok {
		return nil
	}
	out := map[string]string{}
	for k, item := range m {
		out[k] = item.(string)
	}
	return out
}

// TestConformanceCasesMatchUpstream keeps test/conformance's table of
// pairs, the data an end-to-end suite replays, equal to the vendored test.
func TestConformanceCasesMatchUpstream(t *testing.T) {
	if diff := cmp.Diff(upstreamCases(t), conformance.HTTPRouteCORSCases); diff != "" {
		t.Errorf("conformance.HTTPRouteCORSCases differs from the vendored test (-upstream +table):\n%s", diff)
	}
}

// upstreamRule is one route rule of the vendored httproute-cors.yaml.
type upstreamRule struct {
	route      string
	rule       int
	pathPrefix string
	filter     *gatewayv1.HTTPCORSFilter
}

func (r upstreamRule) String() string {
	return fmt.Sprintf("%s rules[%d] (%s)", r.route, r.rule, r.pathPrefix)
}

// upstreamRules reads every rule of the vendored routes with its one
// PathPrefix match and its CORS filter.
func upstreamRules(t *testing.T) []upstreamRule {
	t.Helper()
	var rules []upstreamRule
	for doc := range strings.SplitSeq(string(upstreamFile(t, "httproute-cors.yaml")), "\n---") {
		if strings.TrimSpace(doc) == "" {
			continue
		}
		var route gatewayv1.HTTPRoute
		if err := yaml.UnmarshalStrict([]byte(doc), &route); err != nil {
			t.Fatal(err)
		}
		for i, rule := range route.Spec.Rules {
			if len(rule.Matches) != 1 || rule.Matches[0].Path == nil || rule.Matches[0].Path.Type == nil ||
				*rule.Matches[0].Path.Type != gatewayv1.PathMatchPathPrefix || len(rule.Filters) != 1 || rule.Filters[0].CORS == nil {
				t.Fatalf("%s rules[%d]: want one PathPrefix match and one CORS filter", route.Name, i)
			}
			rules = append(rules, upstreamRule{route: route.Name, rule: i, pathPrefix: *rule.Matches[0].Path.Value, filter: rule.Filters[0].CORS})
		}
	}
	return rules
}

// ruleFor is the rule that serves a request path: Gateway API's PathPrefix
// matches whole path elements, so "/cors-wildcard-methods-headers" does not
// serve "/cors-wildcard-methods-headers-unauth"; the longest prefix wins.
func ruleFor(rules []upstreamRule, requestPath string) (upstreamRule, bool) {
	best, found := upstreamRule{}, false
	for _, r := range rules {
		prefix := strings.TrimSuffix(r.pathPrefix, "/")
		if (requestPath == prefix || strings.HasPrefix(requestPath, prefix+"/")) && len(prefix) >= len(best.pathPrefix) {
			best, found = r, true
		}
	}
	return best, found
}

// conformanceMapping writes one upstream filter as a CorsPolicy spec.
type conformanceMapping struct {
	// route and rule name the upstream rule.
	route string
	rule  int
	// spec is the policy a user would write for the same behaviour.
	spec kubecorsv1alpha1.CorsPolicySpec
	// mapping says how the upstream fields map to the policy's.
	mapping string
	// rejected are the corsrules error messages the spec must draw, in
	// order; empty when it must be accepted.
	rejected []string
	// narrowed are the fields of the narrowings the render must report.
	narrowed []string
}

// conformanceMappings maps each of the five upstream CORS filters. Fields
// map one to one (allowOrigins, allowMethods, allowHeaders, exposeHeaders,
// allowCredentials, maxAge); an unset upstream allowCredentials or maxAge
// stays unset, and both sides then mean false and 5 seconds.
var conformanceMappings = []conformanceMapping{
	{
		route: "cors-multiple-origins-methods-headers", rule: 0,
		mapping: "field for field; https origins, so credentials are allowed",
		spec: kubecorsv1alpha1.CorsPolicySpec{
			AllowOrigins:     []kubecorsv1alpha1.Origin{"https://www.foo.com", "https://*.bar.com"},
			AllowMethods:     []kubecorsv1alpha1.HTTPMethod{"GET", "OPTIONS"},
			AllowHeaders:     []kubecorsv1alpha1.RequestHeaderName{"x-header-1", "x-header-2"},
			ExposeHeaders:    []kubecorsv1alpha1.ResponseHeaderName{"x-header-3", "x-header-4"},
			AllowCredentials: new(true),
			MaxAge:           new(int32(3600)),
		},
	},
	{
		route: "cors-wildcard-methods", rule: 0,
		mapping: "field for field; allowCredentials and maxAge unset on both sides",
		spec: kubecorsv1alpha1.CorsPolicySpec{
			AllowOrigins: []kubecorsv1alpha1.Origin{"https://www.foo.com"},
			AllowMethods: []kubecorsv1alpha1.HTTPMethod{"*"},
		},
	},
	{
		route: "cors-wildcard-origin", rule: 0,
		mapping: "field for field",
		spec: kubecorsv1alpha1.CorsPolicySpec{
			AllowOrigins:     []kubecorsv1alpha1.Origin{"*"},
			AllowMethods:     []kubecorsv1alpha1.HTTPMethod{"PUT"},
			AllowCredentials: new(false),
		},
	},
	{
		route: "cors-wildcard-methods-headers", rule: 0,
		mapping: `field for field; kubecors forbids "*" with allowCredentials: true in each list (Gateway API echoes the request instead)`,
		spec: kubecorsv1alpha1.CorsPolicySpec{
			AllowOrigins:     []kubecorsv1alpha1.Origin{"*"},
			AllowMethods:     []kubecorsv1alpha1.HTTPMethod{"*"},
			AllowHeaders:     []kubecorsv1alpha1.RequestHeaderName{"*"},
			AllowCredentials: new(true),
		},
		rejected: []string{
			`"*" cannot be used with allowCredentials: true: a credentialed response to any origin lets every website read your users' data; list the trusted origins instead, for example "https://app.example.com"`,
			`"*" cannot be used with allowCredentials: true: browsers then read it as a method literally named "*"; list the methods instead, for example ["GET", "PUT", "DELETE"]`,
			`"*" cannot be used with allowCredentials: true: browsers then read it as a header literally named "*"; list the headers instead, for example ["Content-Type", "Authorization"]`,
		},
	},
	{
		route: "cors-wildcard-methods-headers", rule: 1,
		mapping: `allowHeaders ["*"] becomes ["*", "Authorization"]: Gateway API's "*" may be answered by echoing the requested headers, ` +
			`Authorization included, and a policy's "*" alone never covers Authorization (see TestConformanceLiteralHeadersWildcard)`,
		spec: kubecorsv1alpha1.CorsPolicySpec{
			AllowOrigins:     []kubecorsv1alpha1.Origin{"*"},
			AllowMethods:     []kubecorsv1alpha1.HTTPMethod{"*"},
			AllowHeaders:     []kubecorsv1alpha1.RequestHeaderName{"*", "Authorization"},
			AllowCredentials: new(false),
		},
		narrowed: []string{"spec.allowHeaders[1]"},
	},
}

// conformancePolicy is a mapping's spec as a full policy: targeting the
// route, with the CRD's defaults applied as the API server would.
func conformancePolicy(m conformanceMapping) dataplanes.Policy {
	spec := *m.spec.DeepCopy()
	spec.TargetRefs = []kubecorsv1alpha1.PolicyTargetReference{{Group: kubecorsv1alpha1.GroupGateway, Kind: kubecorsv1alpha1.KindHTTPRoute, Name: m.route}}
	if spec.AllowCredentials == nil {
		spec.AllowCredentials = new(false)
	}
	if spec.MaxAge == nil {
		spec.MaxAge = new(dataplanes.DefaultMaxAge)
	}
	return dataplanes.Policy{Namespace: "gateway-conformance-infra", Name: m.route, Spec: spec}
}

// filterSemantics is a filter as Gateway API reads it, for comparing an
// upstream filter with a rendered one: lists are sets (header names
// case-insensitive), an unset allowCredentials is false and an unset
// maxAge is the CRD default of 5.
type filterSemantics struct {
	Origins, Methods, AllowHeaders, ExposeHeaders []string
	Credentials                                   bool
	MaxAge                                        int32
}

func semanticsOf(f *gatewayv1.HTTPCORSFilter) filterSemantics {
	set := func(values []string, fold bool) []string {
		out := make([]string, 0, len(values))
		for _, v := range values {
			if fold {
				v = strings.ToLower(v)
			}
			out = append(out, v)
		}
		slices.Sort(out)
		return slices.Compact(out)
	}
	c := filterSemantics{
		Origins:       set(names(f.AllowOrigins), false),
		Methods:       set(names(f.AllowMethods), false),
		AllowHeaders:  set(names(f.AllowHeaders), true),
		ExposeHeaders: set(names(f.ExposeHeaders), true),
		Credentials:   f.AllowCredentials != nil && *f.AllowCredentials,
		MaxAge:        f.MaxAge,
	}
	if c.MaxAge == 0 {
		c.MaxAge = 5
	}
	return c
}

func names[T ~string](values []T) []string {
	out := make([]string, len(values))
	for i, v := range values {
		out[i] = string(v)
	}
	return out
}

func errorDetails(errs field.ErrorList) []string {
	details := make([]string, len(errs))
	for i, err := range errs {
		details[i] = err.Detail
	}
	return details
}

// TestConformanceFilters renders each upstream filter's CorsPolicy and
// checks that the filter kubecors writes is equivalent to the upstream
// one, or that the policy is rejected where kubecors is deliberately
// stricter, with the message a user would read.
func TestConformanceFilters(t *testing.T) {
	rules := upstreamRules(t)
	if len(rules) != len(conformanceMappings) {
		t.Fatalf("the vendored routes have %d CORS filters and the table maps %d", len(rules), len(conformanceMappings))
	}
	for i, rule := range rules {
		m := conformanceMappings[i]
		t.Run(rule.String(), func(t *testing.T) {
			if m.route != rule.route || m.rule != rule.rule {
				t.Fatalf("mapping %d is for %s rules[%d]", i, m.route, m.rule)
			}
			policy := conformancePolicy(m)
			errs, _ := corsrules.ValidateSpec(&policy.Spec, field.NewPath("spec"))
			if len(m.rejected) > 0 {
				if diff := cmp.Diff(m.rejected, errorDetails(errs)); diff != "" {
					t.Errorf("want the policy rejected with exactly these messages (-want +got):\n%s", diff)
				}
				t.Logf("rejected, as intended (%s): %v", m.mapping, errs)
				return
			}
			if len(errs) > 0 {
				t.Fatalf("the policy is rejected: %v", errs)
			}
			config := RenderHTTPRouteCORS(policy)
			for _, problem := range gatewayConfigProblems(t, config) {
				t.Error(problem)
			}
			if config.Filter == nil {
				t.Fatalf("refused: %s", config.Refused)
			}
			if diff := cmp.Diff(semanticsOf(rule.filter), semanticsOf(config.Filter)); diff != "" {
				t.Errorf("the rendered filter is not equivalent to the upstream one (-upstream +rendered):\n%s", diff)
			}
			var narrowed []string
			for _, n := range config.Narrowed {
				narrowed = append(narrowed, n.Field)
			}
			if !slices.Equal(narrowed, m.narrowed) {
				t.Errorf("narrowed %v, want %v: %+v", narrowed, m.narrowed, config.Narrowed)
			}
			t.Logf("equivalent (%s); narrowed: %v", m.mapping, config.Narrowed)
		})
	}
}

// TestConformanceLiteralHeadersWildcard shows why the last mapping adds
// "Authorization": the literal translation of the upstream filter, with
// allowHeaders ["*"] alone, is accepted but rendered without "*".
func TestConformanceLiteralHeadersWildcard(t *testing.T) {
	m := conformanceMappings[len(conformanceMappings)-1]
	m.spec.AllowHeaders = []kubecorsv1alpha1.RequestHeaderName{"*"}
	policy := conformancePolicy(m)
	if errs, _ := corsrules.ValidateSpec(&policy.Spec, field.NewPath("spec")); len(errs) > 0 {
		t.Fatalf("the policy is rejected: %v", errs)
	}
	config := RenderHTTPRouteCORS(policy)
	if config.Filter == nil || len(config.Filter.AllowHeaders) > 0 || len(config.Narrowed) != 1 || config.Narrowed[0].Field != "spec.allowHeaders[0]" {
		t.Fatalf(`want allowHeaders left out and "*" reported; got %+v`, config)
	}
}

// headerValue looks a header up by name, case-insensitively.
func headerValue(headers map[string]string, name string) (string, bool) {
	for k, v := range headers {
		if strings.EqualFold(k, name) {
			return v, true
		}
	}
	return "", false
}

// gatewayResponse is the response the production reader (ReadFilter, under
// one reading) gives an upstream request: a preflight (OPTIONS with
// Access-Control-Request-Method) stands for the actual request it
// announces, as corscheck.Server's Preflight takes it. A nil filter is a
// rule without a CORS filter. It returns the response headers.
func gatewayResponse(t *testing.T, filter *gatewayv1.HTTPCORSFilter, method string, headers map[string]string, reading Reading) map[string]string {
	t.Helper()
	content := filterContent(t, filter)
	m := ReadFilter(content, "cors", reading)
	origin, _ := headerValue(headers, "Origin")
	req := corscheck.Request{Origin: origin, Method: method, Headers: http.Header{}}
	answer := m.Actual
	if requested, ok := headerValue(headers, dataplanes.HeaderRequestMethod); ok && method == http.MethodOptions {
		req.Method, answer = requested, m.Preflight
		if names, ok := headerValue(headers, dataplanes.HeaderRequestHeaders); ok {
			for _, name := range dataplanestest.HeaderListValues(names) {
				req.Headers.Set(name, "1")
			}
		}
	}
	resp, err := answer(req)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for name, values := range resp.Header {
		out[name] = strings.Join(values, ", ")
	}
	return out
}

// satisfies lists how a response fails an upstream expectation, comparing
// as the upstream framework does.
func satisfies(resp map[string]string, want conformance.Response) []string {
	get := func(name string) (string, bool) { return headerValue(resp, name) }
	normalise := func(v string) string {
		if want.IgnoreWhitespace {
			return strings.ReplaceAll(v, " ", "")
		}
		return v
	}
	var failures []string
	for name, values := range want.ValidHeaderValues {
		got, ok := get(name)
		if !ok || !slices.ContainsFunc(values, func(v string) bool { return normalise(v) == normalise(got) }) {
			failures = append(failures, fmt.Sprintf("%s: got %q (set %v), want one of %q", name, got, ok, values))
		}
	}
	for name, value := range want.Headers {
		if got, ok := get(name); !ok || normalise(got) != normalise(value) {
			failures = append(failures, fmt.Sprintf("%s: got %q (set %v), want %q", name, got, ok, value))
		}
	}
	for _, name := range want.AbsentHeaders {
		if got, ok := get(name); ok {
			failures = append(failures, fmt.Sprintf("%s: got %q, want it absent", name, got))
		}
	}
	slices.Sort(failures)
	return failures
}

// expectsAllowed is the pair's expectation of the request: true when it
// wants Access-Control-Allow-Origin set, false when it wants it absent,
// nil when it does not say (it checks other headers only).
func expectsAllowed(want conformance.Response) *bool {
	for _, name := range want.AbsentHeaders {
		if strings.EqualFold(name, dataplanes.HeaderAllowOrigin) {
			return new(false)
		}
	}
	_, inHeaders := headerValue(want.Headers, dataplanes.HeaderAllowOrigin)
	if _, inValid := validValues(want, dataplanes.HeaderAllowOrigin); inHeaders || inValid {
		return new(true)
	}
	return nil
}

// validValues looks a header up in ValidHeaderValues, case-insensitively.
func validValues(want conformance.Response, name string) ([]string, bool) {
	for k, v := range want.ValidHeaderValues {
		if strings.EqualFold(k, name) {
			return v, true
		}
	}
	return nil, false
}

// pairRequest is the request of a pair as the policy model reads it: a
// preflight stands for the actual request it announces. Credentials are
// not part of an HTTP request; the pair's credential expectation is
// compared with the policy's allowCredentials separately.
func pairRequest(c conformance.Case) dataplanestest.Request {
	origin, _ := headerValue(c.Request.Headers, "Origin")
	r := dataplanestest.Request{Origin: origin, Method: c.Request.Method}
	if method, ok := headerValue(c.Request.Headers, "Access-Control-Request-Method"); ok && c.Request.Method == "OPTIONS" {
		r.Method = method
		if headers, ok := headerValue(c.Request.Headers, "Access-Control-Request-Headers"); ok {
			r.Headers = dataplanestest.HeaderListValues(headers)
		}
	}
	return r
}

// TestConformancePairs evaluates every upstream request/response pair:
//
//   - the upstream filter in the Gateway API model must satisfy it under
//     both readings (this checks the model against upstream);
//   - the filter kubecors renders for the mapped policy must satisfy it
//     under both readings, unless kubecors rejects the policy;
//   - the policy's own semantics (corsrules matching, allowCredentials,
//     methods, headers) must agree with whether the pair expects the
//     request to be allowed and credentialed.
//
// Agreements and differences go to the test log. The only differences
// allowed are the pairs on the rule whose policy kubecors rejects ("*" with
// credentials): kubecors then programs nothing, so no CORS header is sent.
func TestConformancePairs(t *testing.T) {
	rules := upstreamRules(t)
	wantDifferent := []string{
		"CORS preflight request requesting specific method and headers should be allowed and always echo the origin with allowCredentials set to true",
		"CORS request should receive access-control-allow-credentials header with allowCredentials set to true",
	}
	var different []string
	for _, c := range conformance.HTTPRouteCORSCases {
		rule, ok := ruleFor(rules, c.Request.Path)
		if !ok {
			t.Fatalf("%s: no rule serves %s", c.Name, c.Request.Path)
		}
		m := conformanceMappings[slices.IndexFunc(conformanceMappings, func(m conformanceMapping) bool { return m.route == rule.route && m.rule == rule.rule })]
		policy := conformancePolicy(m)
		errs, _ := corsrules.ValidateSpec(&policy.Spec, field.NewPath("spec"))
		accepted := len(errs) == 0
		var rendered *gatewayv1.HTTPCORSFilter
		if accepted {
			rendered = RenderHTTPRouteCORS(policy).Filter
		}
		for _, mode := range Readings {
			if failures := satisfies(gatewayResponse(t, rule.filter, c.Request.Method, c.Request.Headers, mode), c.Response); len(failures) > 0 {
				t.Errorf("%s: the model of the upstream filter (%s) fails upstream's expectation: %v", c.Name, mode, failures)
			}
			failures := satisfies(gatewayResponse(t, rendered, c.Request.Method, c.Request.Headers, mode), c.Response)
			if accepted && len(failures) > 0 {
				t.Errorf("%s: the rendered filter (%s) fails upstream's expectation: %v", c.Name, mode, failures)
			}
		}

		var differences []string
		policyAllowed := accepted && dataplanestest.PolicyAllows(policy.Spec, pairRequest(c))
		if want := expectsAllowed(c.Response); want != nil && *want != policyAllowed {
			differences = append(differences, fmt.Sprintf("upstream expects the request allowed: %v, the policy allows it: %v", *want, policyAllowed))
		}
		if want := credentialsExpected(c.Response); policyAllowed && want != nil && *want != dataplanes.Credentials(policy.Spec) {
			differences = append(differences, fmt.Sprintf("upstream expects credentials allowed: %v, the policy allows them: %v", *want, dataplanes.Credentials(policy.Spec)))
		}
		verdict := "agree"
		if len(differences) > 0 {
			verdict = "DIFFER: " + strings.Join(differences, "; ")
			different = append(different, c.Name)
		}
		if !accepted {
			verdict += " (kubecors rejects this rule's policy and programs nothing: " + strings.Join(errorDetails(errs), " / ") + ")"
		}
		t.Logf("%q: %s %s %v on %s: %s", c.Name, c.Request.Method, c.Request.Path, c.Request.Headers, rule, verdict)
	}
	t.Logf("%d upstream pairs: %d agree with the policy semantics, %d differ", len(conformance.HTTPRouteCORSCases),
		len(conformance.HTTPRouteCORSCases)-len(different), len(different))
	if !slices.Equal(different, wantDifferent) {
		t.Errorf("the pairs on which kubecors differs from upstream are\n%q\nwant\n%q", different, wantDifferent)
	}
}

// credentialsExpected is the pair's expectation of
// Access-Control-Allow-Credentials: true when it wants "true", false when
// it wants the header absent, nil when it does not say.
func credentialsExpected(want conformance.Response) *bool {
	for _, name := range want.AbsentHeaders {
		if strings.EqualFold(name, dataplanes.HeaderAllowCredentials) {
			return new(false)
		}
	}
	if v, ok := headerValue(want.Headers, dataplanes.HeaderAllowCredentials); ok {
		return new(v == dataplanes.CredentialsTrue)
	}
	if values, ok := validValues(want, dataplanes.HeaderAllowCredentials); ok {
		return new(slices.Equal(values, []string{dataplanes.CredentialsTrue}))
	}
	return nil
}

// TestConformanceCheckIsNotVacuous damages the first upstream filter and
// checks that the pairs then fail, so that a green TestConformancePairs
// means the model and the comparison both look at the headers.
func TestConformanceCheckIsNotVacuous(t *testing.T) {
	rule := upstreamRules(t)[0]
	damaged := rule.filter.DeepCopy()
	damaged.AllowCredentials = new(false)
	damaged.AllowOrigins = []gatewayv1.CORSOrigin{"https://www.foo.com", "https://*.www.bar.com"}
	failed := 0
	for _, c := range conformance.HTTPRouteCORSCases {
		if c.Request.Path != rule.pathPrefix {
			continue
		}
		if len(satisfies(gatewayResponse(t, damaged, c.Request.Method, c.Request.Headers, Echoes), c.Response)) > 0 {
			failed++
		}
	}
	// The three allowed preflights want credentials, and the simple request
	// from https://www.bar.com is no longer allowed.
	if failed != 4 {
		t.Errorf("%d pairs of %s fail against the damaged filter, want 4", failed, rule)
	}
}
