package dataplanestest

import (
	"fmt"
	"math/rand/v2"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"k8s.io/apimachinery/pkg/util/validation/field"

	kubecorsv1alpha1 "github.com/kubecors/kubecors/api/v1alpha1"
	"github.com/kubecors/kubecors/internal/corscheck"
	"github.com/kubecors/kubecors/internal/corsrules"
	"github.com/kubecors/kubecors/internal/dataplanes"
)

// The never-broaden property, shared by every data plane's test: for random valid policies and random requests
// (near-miss attack origins included), whatever a data plane's rendered
// configuration lets a browser do, the policy allows. The seed is fixed so
// that a failure reproduces.
const (
	PropertySeed      = 20260726
	PropertyPolicies  = 3000
	RequestsPerPolicy = 24
)

// Vocabularies of the generators, exported for tests that pick from
// them directly. Policy origins cover exact hosts, "*."
// at several depths, ports, port wildcards, IPv4, IPv6, localhost and
// Punycode; request origins add the near misses attackers use.
var (
	OriginVocabulary = []string{
		"https://app.example.com", "https://admin.example.com:8443", "https://example.com",
		"https://*.example.com", "https://*.example.com:8443", "https://*.eu.example.com",
		"http://*.example.com", "http://app.example.com", "http://*.localhost",
		"http://localhost:3000", "http://localhost:*", "http://localhost", "https://localhost:*",
		"http://127.0.0.1:8080", "http://127.0.0.1:*", "http://[::1]:3000", "http://[::1]:*",
		"http://192.168.1.10", "https://api.example.org", "https://*.svc.example.org",
		"https://xn--bcher-kva.example", "https://*.xn--bcher-kva.example",
	}
	RequestOriginVocabulary = []string{
		"https://app.example.com", "https://example.com", "https://a.example.com", "https://a.b.example.com",
		"https://a.b.c.example.com", "https://evilexample.com", "https://example.com.evil.net",
		"https://app.example.com.evil.net", "https://a.example.com.evil.net", "http://app.example.com",
		"https://app.example.com:8443", "https://a.example.com:8443", "https://admin.example.com:8443",
		"https://admin.example.com", "https://a.eu.example.com", "https://eu.example.com",
		"http://localhost", "http://localhost:3000", "http://localhost:9999", "https://localhost:3000",
		"http://127.0.0.1:8080", "http://127.0.0.1", "http://127.0.0.1:65535", "http://[::1]:3000", "http://[::1]",
		"http://192.168.1.10", "https://api.example.org", "https://x.svc.example.org", "https://svc.example.org",
		"https://evil.com", "http://evil.com", "https://xn--bcher-kva.example", "https://a.xn--bcher-kva.example",
		"http://a.localhost", "https://app-example.com", "https://appxexample.com", "https://example.org",
		"null", "chrome-extension://abcdefghijklmnopabcdefghijklmnop",
	}
	MethodVocabulary      = []string{"GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "patch", "OPTIONS", "PROPFIND", "M-SEARCH", "X_PURGE", "PURGE2"}
	AllowHeaderVocabulary = []string{"Content-Type", "Authorization", "X-Requested-With", "X-Custom-Header", "X.Dotted", "X~Tilde", "x_under", "If-Match"}
	// Requests also carry headers in other spellings and headers no policy lists.
	RequestHeaderVocabulary = append(slices.Clone(AllowHeaderVocabulary), "content-type", "x-custom-header", "X-Other")
	ExposeHeaderVocabulary  = []string{"X-Request-Id", "X-Total-Count", "X.Dotted", "ETag", "Cache-Control"}
)

// Pick returns up to n distinct entries of vocabulary, in random order.
func Pick(r *rand.Rand, vocabulary []string, n int) []string {
	shuffled := slices.Clone(vocabulary)
	r.Shuffle(len(shuffled), func(i, j int) { shuffled[i], shuffled[j] = shuffled[j], shuffled[i] })
	return shuffled[:min(n, len(shuffled))]
}

// RandomSpec draws a policy spec; ok is false when the rules reject it.
func RandomSpec(r *rand.Rand) (spec kubecorsv1alpha1.CorsPolicySpec, ok bool) {
	spec.TargetRefs = []kubecorsv1alpha1.PolicyTargetReference{{Group: "networking.k8s.io", Kind: "Ingress", Name: TargetName}}
	if r.IntN(10) == 0 {
		spec.AllowOrigins = []kubecorsv1alpha1.Origin{"*"}
	} else {
		for _, o := range Pick(r, OriginVocabulary, r.IntN(5)) {
			spec.AllowOrigins = append(spec.AllowOrigins, kubecorsv1alpha1.Origin(o))
		}
	}
	if r.IntN(8) == 0 {
		spec.AllowMethods = []kubecorsv1alpha1.HTTPMethod{"*"}
	} else {
		for _, m := range Pick(r, MethodVocabulary, r.IntN(5)) {
			spec.AllowMethods = append(spec.AllowMethods, kubecorsv1alpha1.HTTPMethod(m))
		}
	}
	switch r.IntN(10) {
	case 0:
		spec.AllowHeaders = []kubecorsv1alpha1.RequestHeaderName{"*"}
	case 1:
		spec.AllowHeaders = []kubecorsv1alpha1.RequestHeaderName{"*", "Authorization"}
	default:
		for _, h := range Pick(r, AllowHeaderVocabulary, r.IntN(5)) {
			spec.AllowHeaders = append(spec.AllowHeaders, kubecorsv1alpha1.RequestHeaderName(h))
		}
	}
	if r.IntN(8) == 0 {
		spec.ExposeHeaders = []kubecorsv1alpha1.ResponseHeaderName{"*"}
	} else {
		for _, h := range Pick(r, ExposeHeaderVocabulary, r.IntN(4)) {
			spec.ExposeHeaders = append(spec.ExposeHeaders, kubecorsv1alpha1.ResponseHeaderName(h))
		}
	}
	switch r.IntN(3) {
	case 1:
		spec.AllowCredentials = new(false)
	case 2:
		spec.AllowCredentials = new(true)
	}
	if r.IntN(4) > 0 {
		spec.MaxAge = new(r.Int32N(corsrules.MaxMaxAge + 1))
	}
	spec.DangerouslyAllowInsecureOrigins = r.IntN(4) == 0
	errs, _ := corsrules.ValidateSpec(&spec, field.NewPath("spec"))
	return spec, len(errs) == 0
}

// RandomRequest draws a request: half the time from the fixed list of
// origins, else derived from one of the policy's patterns (a matching
// origin, or a near miss: other scheme, other port, apex, deeper labels,
// the pattern as a prefix of an attacker's domain).
func RandomRequest(r *rand.Rand, spec kubecorsv1alpha1.CorsPolicySpec) Request {
	req := Request{
		Method: MethodVocabulary[r.IntN(len(MethodVocabulary))],
		// Mostly what the policy allows, so that other parts of the
		// request decide.
		Credentials: dataplanes.Credentials(spec) != (r.IntN(4) == 0),
	}
	if r.IntN(10) == 0 {
		req.Method = "*"
	}
	switch {
	case r.IntN(3) == 0 && len(spec.AllowMethods) > 0:
		req.Method = string(spec.AllowMethods[r.IntN(len(spec.AllowMethods))])
	case r.IntN(2) == 0:
		req.Method = []string{"GET", "HEAD", "POST"}[r.IntN(3)]
	}
	// Headers the policy lists half the time, so that requests get past
	// the preflight often enough for origins to matter.
	headerVocabulary := RequestHeaderVocabulary
	if r.IntN(2) == 0 && len(spec.AllowHeaders) > 0 {
		headerVocabulary = dataplanes.AllowHeaderNames(spec)
	}
	seen := map[string]bool{}
	for _, h := range Pick(r, headerVocabulary, r.IntN(3)) {
		if !seen[strings.ToLower(h)] {
			seen[strings.ToLower(h)] = true
			req.Headers = append(req.Headers, h)
		}
	}
	req.Origin = RequestOriginVocabulary[r.IntN(len(RequestOriginVocabulary))]
	if len(spec.AllowOrigins) > 0 && r.IntN(3) > 0 {
		written := spec.AllowOrigins[r.IntN(len(spec.AllowOrigins))]
		if p, err := corsrules.ParseOriginPattern(string(written)); err == nil && !p.Any {
			// Derived strings a browser would never send are dropped: the
			// property is about what browsers do.
			if o := deriveOrigin(r, p); isSerializedOrigin(o) {
				req.Origin = o
			}
		}
	}
	return req
}

func isSerializedOrigin(o string) bool {
	_, err := corsrules.ParseRequestOrigin(o)
	return err == nil
}

func deriveOrigin(r *rand.Rand, p corsrules.OriginPattern) string {
	scheme := string(p.Scheme)
	if r.IntN(6) == 0 {
		scheme = map[string]string{"http": "https", "https": "http"}[scheme]
	}
	host := p.Host
	if p.IP.Is6() {
		host = "[" + host + "]"
	}
	if p.SubdomainWildcard {
		host = []string{"", "a.", "a.b.", "x-1.y.z.", "www."}[r.IntN(5)] + host
	}
	if p.IP.IsValid() {
		// Near misses of an IP are just other IPs; keep it.
	} else {
		switch r.IntN(8) {
		case 0:
			host += ".evil.net"
		case 1:
			host = "evil" + host
		case 2:
			host = "a" + host
		}
	}
	port := ""
	switch {
	case p.Port == corsrules.AnyPort:
		port = []string{"", ":3000", ":8080", ":65535", ":1"}[r.IntN(5)]
	case p.Port > 0 && r.IntN(4) > 0:
		port = ":" + strconv.Itoa(p.Port)
	case p.Port > 0:
		port = []string{"", ":8444"}[r.IntN(2)]
	case r.IntN(5) == 0:
		port = ":8443"
	}
	return scheme + "://" + host + port
}

// Request is what a page asks a browser to send cross-origin.
type Request struct {
	// Origin is the page's serialized origin, as the browser sends it.
	Origin string
	// Method is the request method.
	Method string
	// Headers are the CORS-unsafe request headers the page sets.
	Headers []string
	// Credentials is true for credentials mode "include".
	Credentials bool
}

// String writes the request for failure messages.
func (r Request) String() string {
	return fmt.Sprintf("Origin: %s, method %s, headers %v, credentials %v", r.Origin, r.Method, r.Headers, r.Credentials)
}

func isSafelistedMethod(m string) bool { return slices.Contains(dataplanes.SafelistedMethods, m) }

// NeedsPreflight reports whether a browser sends a preflight first: for a
// method beyond the safelisted ones, or for any CORS-unsafe header.
func NeedsPreflight(r Request) bool { return !isSafelistedMethod(r.Method) || len(r.Headers) > 0 }

// HeaderListValues splits a header value into its comma-separated items,
// trimmed, as the Fetch standard's "get, decode, and split" does.
func HeaderListValues(v string) []string {
	var items []string
	for item := range strings.SplitSeq(v, ",") {
		items = append(items, strings.Trim(item, " \t"))
	}
	return items
}

// PolicyAllows decides whether the policy allows the request: corsrules
// matching for the origin, exact (case-sensitive) membership for methods,
// case-insensitive membership for headers, and "*" as CORS-RULES.md defines
// it.
//
// The lone "*" matches every Origin value, "null" and extension origins
// included: that is what Access-Control-Allow-Origin: * means to a browser,
// and no data plane can write a "*" that leaves some origins out. (corsrules
// matches "*" only against origins that ParseRequestOrigin accepts.)
func PolicyAllows(spec kubecorsv1alpha1.CorsPolicySpec, r Request) bool {
	o, err := corsrules.ParseRequestOrigin(r.Origin)
	matched := false
	for _, written := range spec.AllowOrigins {
		p, perr := corsrules.ParseOriginPattern(string(written))
		if perr == nil && (p.Any || err == nil && p.Matches(o)) {
			matched = true
			break
		}
	}
	if !matched || (r.Credentials && !dataplanes.Credentials(spec)) {
		return false
	}
	if !NeedsPreflight(r) {
		return true
	}
	methods := dataplanes.MethodNames(spec)
	if !isSafelistedMethod(r.Method) && !slices.Contains(methods, r.Method) &&
		(r.Credentials || !slices.Contains(methods, "*")) {
		return false
	}
	headers := dataplanes.AllowHeaderNames(spec)
	for _, name := range r.Headers {
		if slices.ContainsFunc(headers, func(h string) bool { return strings.EqualFold(h, name) }) {
			continue
		}
		if strings.EqualFold(name, "Authorization") || r.Credentials || !slices.Contains(headers, "*") {
			return false
		}
	}
	return true
}

// Stats counts what the run covered, so that a vacuous run (one in
// which nothing is ever allowed) is noticed.
type Stats struct {
	Policies, Skipped, Requests, PolicyAllowed, PlaneAllowed, Narrowed int
	// Unaskable counts requests corscheck refuses to carry out (an
	// extension origin): they test nothing.
	Unaskable int
}

// Corscheck is the request as corscheck takes it: each header the page
// sets carries a value that keeps it CORS-unsafe by name alone.
func (r Request) Corscheck() corscheck.Request {
	h := http.Header{}
	for _, name := range r.Headers {
		h.Add(name, "1")
	}
	return corscheck.Request{Origin: r.Origin, Method: r.Method, Headers: h, Credentials: r.Credentials}
}

// BrowserAllows asks a data plane's model the request as a browser carries
// it out (corscheck: the preflight when one is needed, then the actual
// request) and says whether the browser lets the page make it and read the
// response. The model is the production reader's: there is no second,
// test-only model of a data plane.
func BrowserAllows(m dataplanes.Model, r Request) (bool, corscheck.Exchange, error) {
	ex, v, err := corscheck.Run(m, r.Corscheck())
	if err != nil {
		return false, ex, err
	}
	return v.Allowed, ex, nil
}

// DescribeExchange writes the CORS headers of an exchange for failure
// messages.
func DescribeExchange(ex corscheck.Exchange) string {
	var parts []string
	if ex.Preflight != nil {
		parts = append(parts, fmt.Sprintf("preflight %d %v", ex.Preflight.Status, corsOnly(ex.Preflight.Header)))
	}
	if ex.Actual != nil {
		parts = append(parts, fmt.Sprintf("actual %d %v", ex.Actual.Status, corsOnly(ex.Actual.Header)))
	}
	return strings.Join(parts, "; ")
}

// corsOnly keeps the CORS response headers.
func corsOnly(h http.Header) map[string]string {
	out := map[string]string{}
	for name, values := range h {
		if strings.HasPrefix(name, "Access-Control-") || name == dataplanes.HeaderVary {
			out[name] = strings.Join(values, ", ")
		}
	}
	return out
}
