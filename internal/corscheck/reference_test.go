package corscheck_test

// This file holds a second, independent implementation of the browser's
// CORS check, written for tests only: a step-by-step transliteration of the
// Fetch standard's algorithms over an ordered header list, with its own
// parsers, sharing no code with the package. A randomized comparison then
// asserts that both give the same verdict, so that a bug must be made
// twice, in two different shapes, to go unnoticed.

import (
	"maps"
	"math/rand/v2"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/kubecors/kubecors/internal/corscheck"
)

// refHeader is an entry of a Fetch header list.
type refHeader struct{ name, value string }

// refHeaderList converts h into a header list. Map order is unknown, so
// names are visited in byte order.
func refHeaderList(h http.Header) []refHeader {
	names := slices.Sorted(maps.Keys(h))
	var list []refHeader
	for _, name := range names {
		for _, value := range h[name] {
			list = append(list, refHeader{name, value})
		}
	}
	return list
}

// refLower is byte-lowercase.
func refLower(s string) string {
	b := []byte(s)
	for i, c := range b {
		if 'A' <= c && c <= 'Z' {
			b[i] = c + ('a' - 'A')
		}
	}
	return string(b)
}

// refGet is "get a header name from a header list".
func refGet(list []refHeader, name string) (string, bool) {
	var values []string
	for _, h := range list {
		if refLower(h.name) == refLower(name) {
			values = append(values, h.value)
		}
	}
	if values == nil {
		return "", false
	}
	return strings.Join(values, "\x2c\x20"), true
}

// refTokenByte is tchar of RFC 9110.
func refTokenByte(c byte) bool {
	switch {
	case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		return true
	}
	return strings.ContainsRune("!#$%&'*+-.^_`|~", rune(c))
}

// refExtractTokens is "extract header list values" for a #token header:
// (nil, false) when absent, failure when a member is not a token.
func refExtractTokens(list []refHeader, name string) (values []string, present, failure bool) {
	for _, h := range list {
		if refLower(h.name) != refLower(name) {
			continue
		}
		present = true
		// A position variable over the value, member by member.
		v, pos := h.value, 0
		for pos <= len(v) {
			start := pos
			for pos < len(v) && v[pos] != ',' {
				pos++
			}
			member := v[start:pos]
			pos++
			for len(member) > 0 && (member[0] == ' ' || member[0] == '\t') {
				member = member[1:]
			}
			for len(member) > 0 && (member[len(member)-1] == ' ' || member[len(member)-1] == '\t') {
				member = member[:len(member)-1]
			}
			if member == "" {
				continue
			}
			for i := 0; i < len(member); i++ {
				if !refTokenByte(member[i]) {
					return nil, true, true
				}
			}
			values = append(values, member)
		}
	}
	return values, present, false
}

// refForbiddenRequestHeader is "forbidden request-header".
func refForbiddenRequestHeader(name, value string) bool {
	switch refLower(name) {
	case "accept-charset", "accept-encoding", "access-control-request-headers", "access-control-request-method",
		"connection", "content-length", "cookie", "cookie2", "date", "dnt", "expect", "host", "keep-alive",
		"origin", "referer", "set-cookie", "te", "trailer", "transfer-encoding", "upgrade", "via":
		return true
	case "x-http-method", "x-http-method-override", "x-method-override":
		for m := range strings.SplitSeq(value, ",") {
			switch refLower(strings.Trim(m, " \t")) {
			case "connect", "trace", "track":
				return true
			}
		}
	}
	l := refLower(name)
	return strings.HasPrefix(l, "proxy-") || strings.HasPrefix(l, "sec-")
}

// refUnsafeByte is "CORS-unsafe request-header byte".
func refUnsafeByte(c byte) bool {
	if c < 0x20 {
		return c != 0x09
	}
	switch c {
	case 0x22, 0x28, 0x29, 0x3A, 0x3C, 0x3E, 0x3F, 0x40, 0x5B, 0x5C, 0x5D, 0x7B, 0x7D, 0x7F:
		return true
	}
	return false
}

// refMIMEEssence is MIME Sniffing's "parse a MIME type", as far as the
// essence: a small state machine over the bytes.
func refMIMEEssence(input string) (string, bool) {
	isWS := func(c byte) bool { return c == '\n' || c == '\r' || c == '\t' || c == ' ' }
	i, j := 0, len(input)
	for i < j && isWS(input[i]) {
		i++
	}
	for j > i && isWS(input[j-1]) {
		j--
	}
	s := input[i:j]
	const (
		inType = iota
		inSubtype
	)
	state, typ, sub := inType, []byte{}, []byte{}
	for k := 0; k < len(s); k++ {
		c := s[k]
		if state == inType {
			if c == '/' {
				state = inSubtype
				continue
			}
			typ = append(typ, c)
			continue
		}
		if c == ';' {
			break
		}
		sub = append(sub, c)
	}
	for len(sub) > 0 && isWS(sub[len(sub)-1]) {
		sub = sub[:len(sub)-1]
	}
	if state != inSubtype || len(typ) == 0 || len(sub) == 0 {
		return "", false
	}
	for _, c := range append(append([]byte{}, typ...), sub...) {
		if !refTokenByte(c) {
			return "", false
		}
	}
	return refLower(string(typ) + "/" + string(sub)), true
}

// refRange is "parse a single range header value" with allowWhitespace
// false; it returns whether it succeeded and whether the start is null.
func refRange(data string) (ok, startNull bool) {
	if !strings.HasPrefix(data, "bytes") {
		return false, false
	}
	pos := 5
	if pos >= len(data) || data[pos] != '=' {
		return false, false
	}
	pos++
	collectDigits := func() string {
		start := pos
		for pos < len(data) && data[pos] >= '0' && data[pos] <= '9' {
			pos++
		}
		return data[start:pos]
	}
	rangeStart := collectDigits()
	if pos >= len(data) || data[pos] != '-' {
		return false, false
	}
	pos++
	rangeEnd := collectDigits()
	if pos != len(data) {
		return false, false
	}
	if rangeStart == "" && rangeEnd == "" {
		return false, false
	}
	if rangeStart != "" && rangeEnd != "" {
		// The generator keeps numbers within uint64.
		a, errA := strconv.ParseUint(rangeStart, 10, 64)
		b, errB := strconv.ParseUint(rangeEnd, 10, 64)
		if errA != nil || errB != nil || a > b {
			return false, false
		}
	}
	return true, rangeStart == ""
}

// refSafelistedRequestHeader is "CORS-safelisted request-header".
func refSafelistedRequestHeader(name, value string) bool {
	if len(value) > 128 {
		return false
	}
	switch refLower(name) {
	case "accept":
		for i := 0; i < len(value); i++ {
			if refUnsafeByte(value[i]) {
				return false
			}
		}
	case "accept-language", "content-language":
		for i := 0; i < len(value); i++ {
			c := value[i]
			alphanumeric := '0' <= c && c <= '9' || 'A' <= c && c <= 'Z' || 'a' <= c && c <= 'z'
			if !alphanumeric && !strings.ContainsRune(" *,-.;=", rune(c)) {
				return false
			}
		}
	case "content-type":
		for i := 0; i < len(value); i++ {
			if refUnsafeByte(value[i]) {
				return false
			}
		}
		essence, ok := refMIMEEssence(value)
		if !ok || (essence != "application/x-www-form-urlencoded" && essence != "multipart/form-data" && essence != "text/plain") {
			return false
		}
	case "range":
		ok, startNull := refRange(value)
		if !ok || startNull {
			return false
		}
	default:
		return false
	}
	return true
}

// refUnsafeNames is "CORS-unsafe request-header names".
func refUnsafeNames(list []refHeader) []string {
	var unsafe, potentially []string
	size := 0
	for _, h := range list {
		if !refSafelistedRequestHeader(h.name, h.value) {
			unsafe = append(unsafe, h.name)
		} else {
			potentially = append(potentially, h.name)
			size += len(h.value)
		}
	}
	if size > 1024 {
		unsafe = append(unsafe, potentially...)
	}
	set := map[string]bool{}
	var out []string
	for _, n := range unsafe {
		if l := refLower(n); !set[l] {
			set[l] = true
			out = append(out, l)
		}
	}
	slices.Sort(out)
	return out
}

// refCORSCheck is "CORS check".
func refCORSCheck(origin string, include bool, resp []refHeader) bool {
	allowOrigin, ok := refGet(resp, "Access-Control-Allow-Origin")
	if !ok {
		return false
	}
	if !include && allowOrigin == "*" {
		return true
	}
	if allowOrigin != origin {
		return false
	}
	if !include {
		return true
	}
	credentials, _ := refGet(resp, "Access-Control-Allow-Credentials")
	return credentials == "true"
}

// refRequest is the request after the Request constructor and Headers
// object have done their work.
type refRequest struct {
	origin, method string
	include        bool
	headers        []refHeader
	read           []string
}

// refPrepare normalizes the method and builds the header list as a page's
// Headers object would: values normalized, forbidden headers ignored.
func refPrepare(req corscheck.Request) refRequest {
	r := refRequest{origin: req.Origin, method: req.Method, include: req.Credentials, read: req.ReadHeaders}
	switch refLower(req.Method) {
	case "delete", "get", "head", "options", "post", "put":
		r.method = strings.ToUpper(req.Method)
	}
	for _, h := range refHeaderList(req.Headers) {
		value := strings.Trim(h.value, "\t\n\r ")
		if !refForbiddenRequestHeader(h.name, value) {
			r.headers = append(r.headers, refHeader{h.name, value})
		}
	}
	return r
}

// refNeedsPreflight is the condition under which fetch runs a
// CORS-preflight fetch (leaving the preflight cache out).
func refNeedsPreflight(r refRequest) bool {
	return (r.method != "GET" && r.method != "HEAD" && r.method != "POST") || len(refUnsafeNames(r.headers)) > 0
}

// refVerdict is the browser's verdict: the response is handed to the page
// and every header it wants to read is readable.
func refVerdict(req corscheck.Request, ex corscheck.Exchange) bool {
	r := refPrepare(req)
	if refNeedsPreflight(r) && !refPreflightPasses(r, *ex.Preflight) {
		return false
	}
	act := refHeaderList(ex.Actual.Header)
	if !refCORSCheck(r.origin, r.include, act) {
		return false
	}
	if _, hasLocation := refGet(act, "Location"); hasLocation && slices.Contains([]int{301, 302, 303, 307, 308}, ex.Actual.Status) {
		// Redirects are not modelled: neither side may call this allowed.
		return false
	}
	return refReadable(r, act)
}

// refPreflightPasses is step 7 of "CORS-preflight fetch".
func refPreflightPasses(r refRequest, preflight corscheck.Response) bool {
	pre := refHeaderList(preflight.Header)
	if !refCORSCheck(r.origin, r.include, pre) || preflight.Status < 200 || preflight.Status > 299 {
		return false
	}
	methods, _, failM := refExtractTokens(pre, "Access-Control-Allow-Methods")
	headerNames, _, failH := refExtractTokens(pre, "Access-Control-Allow-Headers")
	if failM || failH {
		return false
	}
	if !slices.Contains(methods, r.method) && r.method != "GET" && r.method != "HEAD" && r.method != "POST" &&
		(r.include || !slices.Contains(methods, "*")) {
		return false
	}
	inNames := func(n string) bool {
		return slices.ContainsFunc(headerNames, func(h string) bool { return refLower(h) == refLower(n) })
	}
	for _, h := range r.headers {
		if refLower(h.name) == "authorization" && !inNames(h.name) {
			return false
		}
	}
	for _, n := range refUnsafeNames(r.headers) {
		if !inNames(n) && (r.include || !slices.Contains(headerNames, "*")) {
			return false
		}
	}
	return true
}

// refReadable applies the CORS-filtered response to the headers the page
// reads. Exposure is judged as if the response carried every one of them,
// because a simulated response (explain) lacks the backend's headers; so
// they are added before computing.
func refReadable(r refRequest, act []refHeader) bool {
	for _, name := range r.read {
		if _, ok := refGet(act, name); !ok {
			act = append(act, refHeader{name, "x"})
		}
	}
	exposed, present, failure := refExtractTokens(act, "Access-Control-Expose-Headers")
	var exposedNames []string
	switch {
	case failure || !present:
	case !r.include && slices.Contains(exposed, "*"):
		for _, h := range act {
			exposedNames = append(exposedNames, h.name)
		}
	default:
		exposedNames = exposed
	}
	for _, name := range r.read {
		l := refLower(name)
		switch l {
		case "cache-control", "content-language", "content-length", "content-type", "expires", "last-modified", "pragma":
			continue
		case "set-cookie", "set-cookie2":
			return false
		}
		if !slices.ContainsFunc(exposedNames, func(e string) bool { return refLower(e) == l }) {
			return false
		}
	}
	return true
}

// gen draws random requests and responses from pools that mix correct
// values with the mistakes people make.
type gen struct{ r *rand.Rand }

func (g gen) pick(options ...string) string { return options[g.r.IntN(len(options))] }

func (g gen) chance(p float64) bool { return g.r.Float64() < p }

func (g gen) request() corscheck.Request {
	req := corscheck.Request{
		Origin:      g.pick(page, page, page, "null", "http://localhost:8080"),
		Method:      g.pick("GET", "GET", "GET", "GET", "HEAD", "POST", "POST", "POST", "PUT", "DELETE", "PATCH", "get", "put", "patch", "PURGE", "options"),
		Credentials: g.chance(0.4),
		Headers:     http.Header{},
	}
	for range max(0, g.r.IntN(6)-2) {
		name := g.pick("Accept", "Accept-Language", "Content-Language", "Content-Type", "Content-Type", "Range",
			"X-Api-Key", "Authorization", "authorization", "Cookie", "X-Http-Method-Override", "Sec-Fetch-Mode", "Dnt", "Cache-Control")
		var value string
		switch refLower(name) {
		case "content-type":
			value = g.pick("text/plain", "application/json", "multipart/form-data; boundary=x", `text/plain;charset="x"`,
				"TEXT/PLAIN", " text/plain ", "text/", "/plain", "application/x-www-form-urlencoded;x=(", "text/plain\t;a=b",
				"text/plain;", "te xt/plain", "application/x-www-form-urlencoded")
		case "range":
			value = g.pick("bytes=0-", "bytes=-5", "bytes=5-1", "bytes=1-5", "bytes=0-1,2-3", "Bytes=0-1", "bytes =0-1", "bytes=007-7", "bytes=")
		case "accept-language", "content-language":
			value = g.pick("en", "en-US,en;q=0.9", "en_US", "de (DE)", "*")
		case "accept":
			value = g.pick("*/*", "a{b}", "text/html", "application/json;q=0.9", "a\tb")
		case "x-http-method-override":
			value = g.pick("TRACE", "put", "connect, get", "GET")
		default:
			value = g.pick("1", "Bearer abc", "x y")
		}
		if g.chance(0.05) {
			value = strings.Repeat("a", 100+g.r.IntN(60))
		}
		req.Headers[name] = append(req.Headers[name], value)
	}
	if g.chance(0.05) {
		// Safelisted values around the 1024-byte total.
		for range 7 + g.r.IntN(3) {
			req.Headers["Content-Language"] = append(req.Headers["Content-Language"], strings.Repeat("a", 120+g.r.IntN(9)))
		}
	}
	for range g.r.IntN(3) {
		req.ReadHeaders = append(req.ReadHeaders, g.pick("X-Request-Id", "Content-Type", "set-cookie", "ETag", "cache-control", "x-total"))
	}
	return req
}

// corsHeaders adds the response headers every response may carry.
func (g gen) corsHeaders(h http.Header, origin string) {
	switch g.pick("none", "star", "star", "origin", "origin", "origin", "origin", "origin", "other", "upper", "slash", "null", "twice", "list") {
	case "star":
		h.Add("Access-Control-Allow-Origin", "*")
	case "origin":
		h.Add("Access-Control-Allow-Origin", origin)
	case "other":
		h.Add("Access-Control-Allow-Origin", other)
	case "upper":
		h.Add("Access-Control-Allow-Origin", strings.ToUpper(origin))
	case "slash":
		h.Add("Access-Control-Allow-Origin", origin+"/")
	case "null":
		h.Add("Access-Control-Allow-Origin", "null")
	case "twice":
		h.Add("Access-Control-Allow-Origin", origin)
		h.Add("Access-Control-Allow-Origin", origin)
	case "list":
		h.Add("Access-Control-Allow-Origin", origin+", "+other)
	}
	switch g.pick("none", "true", "true", "true", "true", "true", "True", "false", "twice") {
	case "true":
		h.Add("Access-Control-Allow-Credentials", "true")
	case "True":
		h.Add("Access-Control-Allow-Credentials", "True")
	case "false":
		h.Add("Access-Control-Allow-Credentials", "false")
	case "twice":
		h.Add("Access-Control-Allow-Credentials", "true")
		h.Add("Access-Control-Allow-Credentials", "true")
	}
	if g.chance(0.5) {
		h.Add("Vary", g.pick("Origin", "Accept-Encoding", "origin, accept", "*"))
	}
}

func (g gen) preflight(origin string) corscheck.Response {
	h := http.Header{}
	g.corsHeaders(h, origin)
	if !g.chance(0.15) {
		h.Add("Access-Control-Allow-Methods", g.pick("*", "GET, PUT", "PUT", "put", "GET;PUT", "DELETE, PATCH, PURGE",
			"", ",PUT,", "PUT, *", "OPTIONS, DELETE, PUT, PATCH, patch, PURGE, GET"))
	}
	if g.chance(0.2) {
		h.Add("Access-Control-Allow-Methods", g.pick("DELETE", "patch"))
	}
	if !g.chance(0.15) {
		h.Add("Access-Control-Allow-Headers", g.pick("*", "x-api-key", "X-API-KEY, content-type", "authorization", "*, authorization",
			"content-type,range", "bad value", "accept, accept-language, content-language, x-http-method-override, cache-control",
			"x-api-key, authorization, content-type, range, accept, content-language, accept-language, x-http-method-override, cache-control"))
	}
	status := 204
	if g.chance(0.2) {
		status = []int{200, 299, 404, 405, 500, 301, 307, 199, 300}[g.r.IntN(9)]
	}
	if g.chance(0.3) {
		h.Add("Location", "https://api.example.com/next")
	}
	return corscheck.Response{Status: status, Header: h}
}

func (g gen) actual(origin string) corscheck.Response {
	h := http.Header{}
	g.corsHeaders(h, origin)
	if g.chance(0.6) {
		h.Add("Access-Control-Expose-Headers", g.pick("*", "X-Request-Id", "x-request-id, etag", "Set-Cookie", "bad value",
			"*, set-cookie", "ETag, X-Total, X-Request-Id", ""))
	}
	for _, name := range []string{"X-Request-Id", "ETag", "Set-Cookie", "Content-Type"} {
		if g.chance(0.5) {
			h.Add(name, "v")
		}
	}
	status := 200
	if g.chance(0.25) {
		status = []int{201, 204, 404, 500, 302, 304, 307}[g.r.IntN(7)]
	}
	if g.chance(0.3) {
		h.Add("Location", "/elsewhere")
	}
	return corscheck.Response{Status: status, Header: h}
}

func TestEvaluateAgreesWithReference(t *testing.T) {
	const runs = 20000
	// A fixed seed, so that a failure reproduces; no secret depends on it.
	g := gen{rand.New(rand.NewPCG(7, 2026))} //nolint:gosec // G404: test data, not security.
	allowed, preflighted := 0, 0
	classes := map[string]int{}
	for i := range runs {
		req := g.request()
		ex := corscheck.Exchange{Preflight: new(g.preflight(req.Origin)), Actual: new(g.actual(req.Origin))}
		v := corscheck.Evaluate(req, ex)
		want := refVerdict(req, ex)
		needs, _ := corscheck.NeedsPreflight(req)
		if v.Allowed != want || needs != refNeedsPreflight(refPrepare(req)) {
			t.Fatalf("case %d: Allowed %v, reference %v (preflight needed %v)\nrequest %+v\npreflight %+v\nactual %+v\nfailure %+v\nsteps %+v",
				i, v.Allowed, want, needs, req, *ex.Preflight, *ex.Actual, v.Failure, v.Steps)
		}
		if got, want := corscheck.PreflightRequestHeaders(req).Get("Access-Control-Request-Headers"),
			strings.Join(refUnsafeNames(refPrepare(req).headers), ","); got != want {
			t.Fatalf("case %d: Access-Control-Request-Headers %q, reference %q\nrequest %+v", i, got, want, req)
		}
		if v.Allowed == (v.Failure != nil) {
			t.Fatalf("case %d: Allowed %v with Failure %+v", i, v.Allowed, v.Failure)
		}
		if v.Allowed {
			allowed++
		} else {
			classes[v.Failure.Class]++
		}
		if needs {
			preflighted++
		}
	}
	// Both sides could agree by refusing everything; the pools are tuned so
	// that a fair share of cases pass and a fair share need a preflight.
	if allowed < runs/20 || preflighted < runs/4 || preflighted > runs*9/10 {
		t.Errorf("%d of %d cases allowed, %d preflighted: the generator no longer exercises both outcomes", allowed, runs, preflighted)
	}
	for _, class := range []string{
		corscheck.ClassNoCORSHeaders, corscheck.ClassOriginMismatch, corscheck.ClassInvalidCORSHeader,
		corscheck.ClassPreflightNotHandled, corscheck.ClassRedirect, corscheck.ClassCredentialsNotAllowed,
		corscheck.ClassWildcardWithCredentials, corscheck.ClassMethodNotAllowed, corscheck.ClassHeaderNotAllowed,
		corscheck.ClassHeaderNotExposed,
	} {
		if classes[class] < runs/1000 {
			t.Errorf("only %d cases fail with %s: the generator no longer exercises it", classes[class], class)
		}
	}
	t.Logf("%d cases: %d allowed, %d preflighted, failures by class %v", runs, allowed, preflighted, classes)
}
