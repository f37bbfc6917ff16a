// Package verify checks on the wire what a data plane answers browsers for
// one target of a CorsPolicy: it sends the requests a browser would send
// (preflights and GETs, from an origin the policy allows and from one it
// does not), judges each exchange with the CORS engine of
// internal/corscheck, and compares the verdicts with what the policy
// promises. It never sends a body, a cookie or any other credential, and
// only OPTIONS, GET and HEAD. The controller finds the address and writes
// the Result into the policy's status; this package knows no client.
package verify

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	kubecorsv1alpha1 "github.com/kubecors/kubecors/api/v1alpha1"
	"github.com/kubecors/kubecors/internal/corscheck"
	"github.com/kubecors/kubecors/internal/corsrules"
)

// Diagnoses that the wire check adds to corscheck's vocabulary. Every other
// diagnosis is a corscheck class (origin-mismatch, preflight-not-handled,
// no-cors-headers, …), and scripts match on both, so they never change
// spelling.
const (
	// ClassDuplicateAllowOrigin means a response carries
	// Access-Control-Allow-Origin more than once, typically once from the
	// data plane and once from a backend that does CORS itself; browsers
	// then block every request.
	ClassDuplicateAllowOrigin = "duplicate-allow-origin"
	// ClassBroaderThanPolicy means the wire allows an origin, method,
	// header, exposed header or credentials that the policy does not: a
	// security finding.
	ClassBroaderThanPolicy = "broader-than-policy"
	// ClassUnreachable means the data plane did not answer; the target is
	// then neither verified nor refuted.
	ClassUnreachable = "unreachable"
)

// headerAllowOrigin and the other response headers the comparison with
// the policy reads.
const (
	headerAllowOrigin      = "Access-Control-Allow-Origin"
	headerAllowMethods     = "Access-Control-Allow-Methods"
	headerAllowHeaders     = "Access-Control-Allow-Headers"
	headerExposeHeaders    = "Access-Control-Expose-Headers"
	headerAllowCredentials = "Access-Control-Allow-Credentials"
	wildcard               = "*"
)

// Origins the checks send when the policy names none exactly. The .invalid
// top-level domain is reserved (RFC 2606): no page is ever served from it.
const (
	// deniedOrigin is the origin the policy must not allow.
	deniedOrigin = "https://kubecors-verify.invalid"
	// wildcardLabel is put in front of a "*." origin pattern.
	wildcardLabel = "kubecors-verify"
	// wildcardPort replaces a ":*" port.
	wildcardPort = "8443"
	// probeHeader is sent when the policy allows any header ("*").
	probeHeader = "X-Kubecors-Verify"
)

// Promise is what a policy promises browsers: the CORS fields of its spec.
type Promise struct {
	Origins       []string
	Methods       []string
	Headers       []string
	ExposeHeaders []string
	Credentials   bool
}

// PromiseOf reads the promise of a policy's spec.
func PromiseOf(spec *kubecorsv1alpha1.CorsPolicySpec) Promise {
	p := Promise{Credentials: spec.AllowCredentials != nil && *spec.AllowCredentials}
	for _, o := range spec.AllowOrigins {
		p.Origins = append(p.Origins, string(o))
	}
	for _, m := range spec.AllowMethods {
		p.Methods = append(p.Methods, string(m))
	}
	for _, h := range spec.AllowHeaders {
		p.Headers = append(p.Headers, string(h))
	}
	for _, h := range spec.ExposeHeaders {
		p.ExposeHeaders = append(p.ExposeHeaders, string(h))
	}
	return p
}

// Target is where the requests go: a data plane's address, and the Host
// and path of one rule of the target.
type Target struct {
	// Key names the target for the per-target rate limit, e.g.
	// "default/Ingress/api".
	Key string
	// Scheme is "http" or "https".
	Scheme string
	// Address is the host:port dialled, the data plane's Service or load
	// balancer.
	Address string
	// Host is the Host header (and TLS server name); empty sends Address.
	Host string
	// Path is the request path, starting with "/".
	Path string
}

// URL is the target as a browser would write it.
func (t Target) URL() string {
	host := t.Host
	if host == "" {
		host = t.Address
	}
	return t.Scheme + "://" + host + t.Path
}

// Result is the verdict on one target.
type Result struct {
	// Status is True (the wire does what the policy promises), False (it
	// does not, Diagnosis says how) or Unknown (the data plane could not be
	// reached or no address is known).
	Status metav1.ConditionStatus
	// Diagnosis is empty when verified, ClassDuplicateAllowOrigin,
	// ClassBroaderThanPolicy, ClassUnreachable or a corscheck class.
	Diagnosis string
	// Broader is true when the wire allows more than the policy, whatever
	// Diagnosis names first.
	Broader bool
	// Message says what was sent and what was seen, raw headers included.
	Message string
	// ObservedAt is when the last answer arrived.
	ObservedAt time.Time
}

// Reason is the condition reason of the result: Verified, or the
// diagnosis in CamelCase (DuplicateAllowOrigin, OriginMismatch,
// BroaderThanPolicy, Unreachable, …), because condition reasons may not
// contain "-".
func (r Result) Reason() string {
	if r.Diagnosis == "" {
		return kubecorsv1alpha1.ReasonVerified
	}
	var b strings.Builder
	for word := range strings.SplitSeq(r.Diagnosis, "-") {
		if word == "" {
			continue
		}
		b.WriteString(strings.ToUpper(word[:1]) + word[1:])
	}
	return b.String()
}

// Unknown is the result for a target that cannot be checked: no address,
// or a data plane that does not answer. It is never False, because
// nothing was seen to contradict the policy.
func Unknown(diagnosis, message string, now time.Time) Result {
	return Result{Status: metav1.ConditionUnknown, Diagnosis: diagnosis, Message: message, ObservedAt: now}
}

// expectation is what the policy promises about one check.
type expectation int

const (
	// expectAllowed: the browser must hand the response to the page.
	expectAllowed expectation = iota
	// expectDenied: the browser must block the response.
	expectDenied
)

// check is one request a browser would make, and what the policy promises
// about its verdict.
type check struct {
	// name says in plain words what the check is, for messages.
	name   string
	req    corscheck.Request
	expect expectation
}

// checks builds the requests that verify p: a preflight and a simple GET
// from an allowed origin (credentialed when the policy allows
// credentials), then the same from an origin the policy does not allow.
// A policy allowing every origin gets no denied checks.
func checks(p Promise) []check {
	allowed, denied := allowedOrigin(p), deniedOriginFor(p)
	var out []check
	if allowed != "" {
		if pre, ok := preflightRequest(p, allowed); ok {
			out = append(out, check{name: "preflight from an allowed origin", req: pre, expect: expectAllowed})
		}
		out = append(out, check{name: "GET from an allowed origin",
			req: corscheck.Request{Origin: allowed, Method: http.MethodGet, Credentials: p.Credentials, ReadHeaders: readable(p)}, expect: expectAllowed})
	}
	if denied == "" {
		return out
	}
	if pre, ok := preflightRequest(p, denied); ok {
		out = append(out, check{name: "preflight from an origin the policy does not allow", req: pre, expect: expectDenied})
	} else {
		// A policy with no method or header that needs a preflight still
		// must not answer one for a stranger.
		out = append(out, check{name: "preflight from an origin the policy does not allow",
			req: corscheck.Request{Origin: denied, Method: http.MethodPut}, expect: expectDenied})
	}
	out = append(out, check{name: "GET from an origin the policy does not allow",
		req: corscheck.Request{Origin: denied, Method: http.MethodGet}, expect: expectDenied})
	// An origin that only starts like the allowed one catches matching
	// that is not anchored at the end, a classic way to read a policy
	// wider than written ("https://app.example.com.evil.test").
	if lookalike := lookalikeOf(allowed); lookalike != "" && !allows(p.Origins, lookalike) {
		out = append(out, check{name: "GET from an origin that only starts like an allowed one",
			req: corscheck.Request{Origin: lookalike, Method: http.MethodGet}, expect: expectDenied})
	}
	return out
}

// lookalikeOf is origin with its host extended by a label under .invalid,
// keeping scheme and port; empty for an origin that does not parse.
func lookalikeOf(origin string) string {
	u, err := url.Parse(origin)
	if err != nil || u.Hostname() == "" || strings.Contains(u.Hostname(), ":") {
		return ""
	}
	host := u.Hostname() + "." + wildcardLabel + ".invalid"
	if port := u.Port(); port != "" {
		host += ":" + port
	}
	return u.Scheme + "://" + host
}

// allowedOrigin is the first exact origin of the policy, or one
// synthesised under its first wildcard; empty when the policy allows none.
func allowedOrigin(p Promise) string {
	for _, o := range p.Origins {
		if !strings.Contains(o, wildcard) {
			return o
		}
	}
	for _, o := range p.Origins {
		switch {
		case o == wildcard:
			return "https://" + wildcardLabel + ".example.com"
		case strings.Contains(o, "://*."):
			return strings.Replace(o, "://*.", "://"+wildcardLabel+".", 1)
		case strings.HasSuffix(o, ":*"):
			return strings.TrimSuffix(o, "*") + wildcardPort
		}
	}
	return ""
}

// deniedOriginFor is an origin the policy does not allow, or empty when it
// allows every origin.
func deniedOriginFor(p Promise) string {
	if allows(p.Origins, deniedOrigin) {
		return ""
	}
	return deniedOrigin
}

// allows reports whether one of the patterns allows origin.
func allows(patterns []string, origin string) bool {
	return slices.ContainsFunc(patterns, func(pattern string) bool { return corsrules.MatchOrigin(pattern, origin) })
}

// preflightRequest is a request from origin that needs a preflight: the
// first method of the policy that is not safelisted, with the first header
// the policy allows. ok is false when the policy allows nothing that needs
// a preflight.
func preflightRequest(p Promise, origin string) (corscheck.Request, bool) {
	req := corscheck.Request{Origin: origin, Method: http.MethodGet, Headers: http.Header{}, Credentials: p.Credentials}
	for _, m := range p.Methods {
		if m != wildcard && !safelisted(m) {
			req.Method = m
			break
		}
		if m == wildcard {
			req.Method = http.MethodPut
			break
		}
	}
	if len(p.Headers) > 0 {
		name := p.Headers[0]
		if name == wildcard {
			name = probeHeader
		}
		req.Headers.Set(name, "1")
	}
	needed, _ := corscheck.NeedsPreflight(req)
	return req, needed
}

// readable are the exposed headers the GET from an allowed origin reads.
func readable(p Promise) []string {
	var out []string
	for _, h := range p.ExposeHeaders {
		if h != wildcard {
			out = append(out, h)
		}
	}
	return out
}

// safelisted reports whether a method needs no preflight.
func safelisted(method string) bool {
	return method == http.MethodGet || method == http.MethodHead || method == http.MethodPost
}

// observation is one check as it went on the wire.
type observation struct {
	check   check
	ex      corscheck.Exchange
	verdict corscheck.Verdict
}

// Verify sends the checks of p to t through sender and judges them.
// Transport failures make the result Unknown; a promise the wire does not
// keep makes it False with the first diagnosis; a wire that allows more
// than the promise makes it False with ClassBroaderThanPolicy.
func Verify(ctx context.Context, sender *Sender, p Promise, t Target) Result {
	var seen []observation
	for _, c := range checks(p) {
		server := &wireServer{ctx: ctx, sender: sender, target: t}
		ex, verdict, err := corscheck.Run(server, c.req)
		if err != nil {
			return Unknown(ClassUnreachable, fmt.Sprintf("%s %s: %v", c.name, t.URL(), err), sender.now())
		}
		seen = append(seen, observation{check: c, ex: ex, verdict: verdict})
	}
	return judge(p, t, seen, sender.now())
}

// judge compares what was seen with the promise.
func judge(p Promise, t Target, seen []observation, now time.Time) Result {
	res := Result{Status: metav1.ConditionTrue, ObservedAt: now}
	broader := make([]string, 0, len(seen))
	var failed *observation
	for i := range seen {
		o := &seen[i]
		if o.check.expect == expectAllowed && o.verdict.Failure != nil && failed == nil {
			failed = o
		}
		broader = append(broader, broaderFindings(p, *o)...)
	}
	res.Broader = len(broader) > 0
	switch {
	case failed != nil:
		d := *failed.verdict.Failure
		res.Status, res.Diagnosis = metav1.ConditionFalse, d.Class
		if d.Class == corscheck.ClassInvalidCORSHeader && duplicateAllowOrigin(failed.ex) {
			res.Diagnosis = ClassDuplicateAllowOrigin
		}
		res.Message = fmt.Sprintf("%s: %s %s: %s; seen: %s", res.Diagnosis, failed.check.name, t.URL(), d.Message, describe(failed.ex))
		if res.Broader {
			res.Message += "; also " + ClassBroaderThanPolicy + ": " + strings.Join(broader, "; ")
		}
	case res.Broader:
		res.Status, res.Diagnosis = metav1.ConditionFalse, ClassBroaderThanPolicy
		res.Message = fmt.Sprintf("%s: %s at %s", ClassBroaderThanPolicy, strings.Join(broader, "; "), t.URL())
	default:
		res.Message = fmt.Sprintf("%d requests to %s answered as the policy promises", len(seen), t.URL())
		if len(seen) > 0 {
			res.Message += "; seen: " + describe(seen[0].ex)
		}
	}
	return res
}

// duplicateAllowOrigin reports whether a response of ex carries
// Access-Control-Allow-Origin more than once.
func duplicateAllowOrigin(ex corscheck.Exchange) bool {
	for _, r := range []*corscheck.Response{ex.Preflight, ex.Actual} {
		if r != nil && len(headerValues(r.Header, headerAllowOrigin)) > 1 {
			return true
		}
	}
	return false
}

// broaderFindings lists what one exchange allows beyond the promise.
func broaderFindings(p Promise, o observation) []string {
	var out []string
	if o.check.expect == expectDenied && (o.verdict.Allowed || o.verdict.Incomplete && o.verdict.Failure == nil) {
		out = append(out, fmt.Sprintf("the %s (%s) is allowed; seen: %s", o.check.name, o.check.req.Origin, describe(o.ex)))
	}
	for _, r := range []*corscheck.Response{o.ex.Preflight, o.ex.Actual} {
		// The other CORS headers of a response that does not allow the
		// origin are inert: browsers stop at Access-Control-Allow-Origin.
		if r == nil || !allowsOrigin(*r, o.check.req.Origin) {
			continue
		}
		if !p.Credentials && strings.EqualFold(strings.Join(headerValues(r.Header, headerAllowCredentials), ","), "true") {
			out = append(out, "Access-Control-Allow-Credentials: true, though the policy does not allow credentials")
		}
		if extra := beyond(headerValues(r.Header, headerAllowMethods), p.Methods, true, safelisted); len(extra) > 0 {
			out = append(out, fmt.Sprintf("%s allows %s, which the policy does not", headerAllowMethods, strings.Join(extra, ", ")))
		}
		if extra := beyond(headerValues(r.Header, headerAllowHeaders), p.Headers, false, nil); len(extra) > 0 {
			out = append(out, fmt.Sprintf("%s allows %s, which the policy does not", headerAllowHeaders, strings.Join(extra, ", ")))
		}
		if extra := beyond(headerValues(r.Header, headerExposeHeaders), p.ExposeHeaders, false, nil); len(extra) > 0 {
			out = append(out, fmt.Sprintf("%s exposes %s, which the policy does not", headerExposeHeaders, strings.Join(extra, ", ")))
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// allowsOrigin reports whether a response's Access-Control-Allow-Origin
// lets origin through: the origin itself or "*".
func allowsOrigin(r corscheck.Response, origin string) bool {
	values := headerValues(r.Header, headerAllowOrigin)
	return slices.ContainsFunc(values, func(v string) bool { v = strings.TrimSpace(v); return v == origin || v == wildcard })
}

// beyond returns the items of the header values that the promised list
// does not cover: "*" in the promise covers everything, free reports items
// that need no permission. Methods compare case-sensitively, header names
// not.
func beyond(values, promised []string, caseSensitive bool, free func(string) bool) []string {
	if slices.Contains(promised, wildcard) {
		return nil
	}
	var extra []string
	for _, v := range values {
		for item := range strings.SplitSeq(v, ",") {
			item = strings.TrimSpace(item)
			if item == "" || free != nil && free(item) {
				continue
			}
			covered := slices.ContainsFunc(promised, func(p string) bool {
				return p == item || !caseSensitive && strings.EqualFold(p, item)
			})
			if !covered {
				extra = append(extra, item)
			}
		}
	}
	return extra
}

// headerValues returns every value of name in h, matching the name
// case-insensitively.
func headerValues(h http.Header, name string) []string {
	var out []string
	for key, values := range h {
		if strings.EqualFold(key, name) {
			out = append(out, values...)
		}
	}
	return out
}

// describe renders the CORS-relevant part of an exchange for a message:
// each response's status and Access-Control-* and Vary headers, as seen.
func describe(ex corscheck.Exchange) string {
	var parts []string
	for _, r := range []struct {
		method string
		resp   *corscheck.Response
	}{{http.MethodOptions, ex.Preflight}, {"GET", ex.Actual}} {
		if r.resp == nil {
			continue
		}
		var headers []string
		for key, values := range r.resp.Header {
			lower := strings.ToLower(key)
			if strings.HasPrefix(lower, "access-control-") || lower == "vary" {
				for _, v := range values {
					headers = append(headers, key+": "+v)
				}
			}
		}
		slices.Sort(headers)
		if len(headers) == 0 {
			headers = []string{"no CORS headers"}
		}
		parts = append(parts, fmt.Sprintf("%s → %d [%s]", r.method, r.resp.Status, strings.Join(headers, "; ")))
	}
	return strings.Join(parts, ", ")
}

// errMethodNotSafe keeps everything but OPTIONS, GET and HEAD off the
// wire: the actual request of a PUT preflight check is never sent.
var errMethodNotSafe = errors.New("only OPTIONS, GET and HEAD are sent")

// wireServer is corscheck's Server over the sender.
type wireServer struct {
	ctx    context.Context
	sender *Sender
	target Target
}

// Preflight sends the OPTIONS preflight.
func (s *wireServer) Preflight(req corscheck.Request) (corscheck.Response, error) {
	return s.sender.send(s.ctx, s.target, http.MethodOptions, corscheck.PreflightRequestHeaders(req))
}

// Actual sends a GET or HEAD; other methods are judged on their preflight
// alone.
func (s *wireServer) Actual(req corscheck.Request) (corscheck.Response, error) {
	if req.Method != http.MethodGet && req.Method != http.MethodHead {
		return corscheck.Response{}, corscheck.ErrNotSent
	}
	return s.sender.send(s.ctx, s.target, req.Method, corscheck.ActualRequestHeaders(req))
}
