package corscheck

import (
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/kubecors/kubecors/internal/corsrules"
)

// Limits of Fetch's CORS-safelisted request-header rules.
const (
	// maxSafelistedValue is the longest value, in bytes, a safelisted
	// request header may have.
	maxSafelistedValue = 128
	// maxSafelistedTotal is the most bytes the values of all safelisted
	// request headers may add up to before they all need a preflight.
	maxSafelistedTotal = 1024
)

// Header names the checks refer to.
const (
	headerAllowOrigin      = "Access-Control-Allow-Origin"
	headerAllowCredentials = "Access-Control-Allow-Credentials"
	headerAllowMethods     = "Access-Control-Allow-Methods"
	headerAllowHeaders     = "Access-Control-Allow-Headers"
	headerExposeHeaders    = "Access-Control-Expose-Headers"
	headerRequestMethod    = "Access-Control-Request-Method"
	headerRequestHeaders   = "Access-Control-Request-Headers"
	headerOrigin           = "Origin"
	headerVary             = "Vary"
	headerLocation         = "Location"
	headerAccept           = "Accept"
	headerAuthorization    = "authorization"
	wildcard               = "*"
	opaqueOrigin           = "null"
)

// safelistedMethods need no preflight.
var safelistedMethods = []string{http.MethodGet, http.MethodHead, http.MethodPost}

// normalizedMethods are the methods fetch() uppercases ("To normalize a
// method"); any other method, such as "patch", is sent as written.
var normalizedMethods = []string{"DELETE", "GET", "HEAD", "OPTIONS", "POST", "PUT"}

// forbiddenMethods make fetch() throw.
var forbiddenMethods = []string{"CONNECT", "TRACE", "TRACK"}

// forbiddenRequestHeaders are the Fetch standard's forbidden request-header
// names, lowercase: the browser controls them, and silently ignores a page
// that sets them. Names starting with "proxy-" or "sec-" are forbidden too.
var forbiddenRequestHeaders = []string{
	"accept-charset", "accept-encoding", "access-control-request-headers",
	"access-control-request-method", "connection", "content-length", "cookie",
	"cookie2", "date", "dnt", "expect", "host", "keep-alive", "origin",
	"referer", "set-cookie", "te", "trailer", "transfer-encoding", "upgrade",
	"via",
}

// methodOverrideHeaders are forbidden when one of their values names a
// forbidden method, so that a page cannot tunnel TRACE through them.
var methodOverrideHeaders = []string{"x-http-method", "x-http-method-override", "x-method-override"}

// safelistedContentTypes are the MIME type essences a form or a plain
// text request can carry without a preflight.
var safelistedContentTypes = []string{"application/x-www-form-urlencoded", "multipart/form-data", "text/plain"}

// safelistedResponseHeaders are the CORS-safelisted response-header names,
// lowercase: scripts read them without their being exposed.
var safelistedResponseHeaders = []string{
	"cache-control", "content-language", "content-length", "content-type",
	"expires", "last-modified", "pragma",
}

// forbiddenResponseHeaders are never readable by scripts, exposed or not.
var forbiddenResponseHeaders = []string{"set-cookie", "set-cookie2"}

// redirectStatuses are Fetch's redirect statuses: only these, with a
// Location, make the browser follow (or, for a preflight, fail).
var redirectStatuses = []int{
	http.StatusMovedPermanently, http.StatusFound, http.StatusSeeOther,
	http.StatusTemporaryRedirect, http.StatusPermanentRedirect,
}

// ErrInvalidRequest wraps every reason Validate gives: the page could not
// make the request at all (fetch() would throw).
var ErrInvalidRequest = errors.New("not a request a page can make")

// headerField is one entry of a header list: browsers keep each value a
// page appends as its own entry, and the safelist rules look at entries.
type headerField struct {
	name, value string
}

// fieldsOf returns h as a header list in a stable order: by lowercase name,
// then in the order of the values.
func fieldsOf(h http.Header) []headerField {
	names := make([]string, 0, len(h))
	for name := range h {
		names = append(names, name)
	}
	slices.SortFunc(names, func(a, b string) int {
		if c := strings.Compare(strings.ToLower(a), strings.ToLower(b)); c != 0 {
			return c
		}
		return strings.Compare(a, b)
	})
	var fields []headerField
	for _, name := range names {
		for _, value := range h[name] {
			fields = append(fields, headerField{name: name, value: value})
		}
	}
	return fields
}

// Validate returns an error wrapping ErrInvalidRequest when a page could
// not make req: Origin is not an origin as browsers send it, the method is
// not a token or is forbidden, or a header name or value is malformed.
func Validate(req Request) error {
	if req.Origin != opaqueOrigin {
		if _, err := corsrules.ParseRequestOrigin(req.Origin); err != nil {
			return fmt.Errorf("%w: origin %q is not an origin as browsers send it (scheme://host[:port], lowercase, no path; or null)", ErrInvalidRequest, req.Origin)
		}
	}
	if !isToken(req.Method) {
		return fmt.Errorf("%w: method %q is not an HTTP token", ErrInvalidRequest, req.Method)
	}
	if containsFold(forbiddenMethods, req.Method) {
		return fmt.Errorf("%w: fetch() refuses the method %s", ErrInvalidRequest, req.Method)
	}
	for _, f := range fieldsOf(req.Headers) {
		if !isToken(f.name) {
			return fmt.Errorf("%w: header name %q is not an HTTP token", ErrInvalidRequest, f.name)
		}
		if strings.ContainsAny(normalizeValue(f.value), "\x00\r\n") {
			return fmt.Errorf("%w: the value of header %s contains NUL, CR or LF", ErrInvalidRequest, f.name)
		}
	}
	for _, name := range req.ReadHeaders {
		if !isToken(name) {
			return fmt.Errorf("%w: response header name %q is not an HTTP token", ErrInvalidRequest, name)
		}
	}
	return nil
}

// Normalize returns req as the browser carries it out: the method
// normalized as fetch() does ("put" becomes "PUT", "patch" stays), header
// values without leading or trailing whitespace, and forbidden request
// headers dropped, as browsers drop them without an error. The notes say
// what was dropped. req itself is not changed.
func Normalize(req Request) (Request, []string) {
	out := req
	out.Method = normalizeMethod(req.Method)
	out.Headers = http.Header{}
	var notes []string
	for _, f := range fieldsOf(req.Headers) {
		value := normalizeValue(f.value)
		if forbiddenRequestHeader(f.name, value) {
			note := fmt.Sprintf("%s is a forbidden request header: the browser ignores the page's value and never sends it", http.CanonicalHeaderKey(f.name))
			if !slices.Contains(notes, note) {
				notes = append(notes, note)
			}
			continue
		}
		// Not Add: it would canonicalize the name, and the entry's name is
		// what the page wrote.
		out.Headers[f.name] = append(out.Headers[f.name], value)
	}
	return out, notes
}

// NeedsPreflight reports whether the browser sends a preflight before req,
// and why, in plain words: a method other than GET, HEAD and POST, or a
// header that is not CORS-safelisted (by name, by value, or because the
// safelisted values add up to more than 1024 bytes).
func NeedsPreflight(req Request) (bool, []string) {
	req, _ = Normalize(req)
	var reasons []string
	if !slices.Contains(safelistedMethods, req.Method) {
		reasons = append(reasons, fmt.Sprintf("the method %s is not GET, HEAD or POST", req.Method))
	}
	_, why := unsafeHeaderNames(fieldsOf(req.Headers))
	for _, reason := range why {
		if !slices.Contains(reasons, reason) {
			reasons = append(reasons, reason)
		}
	}
	return len(reasons) > 0, reasons
}

// PreflightRequestHeaders returns the headers of the OPTIONS preflight the
// browser sends for req: Accept, Origin, Access-Control-Request-Method and,
// when the page sets headers that are not safelisted,
// Access-Control-Request-Headers with their names lowercase, sorted and
// separated by "," without spaces, exactly as browsers write it. The
// preflight never carries the page's own headers or credentials.
func PreflightRequestHeaders(req Request) http.Header {
	req, _ = Normalize(req)
	h := http.Header{}
	h.Set(headerAccept, "*/*")
	h.Set(headerOrigin, req.Origin)
	h.Set(headerRequestMethod, req.Method)
	if names, _ := unsafeHeaderNames(fieldsOf(req.Headers)); len(names) > 0 {
		h.Set(headerRequestHeaders, strings.Join(names, ","))
	}
	return h
}

// ActualRequestHeaders returns the headers the browser sends with the
// actual request: the page's headers (forbidden ones dropped), Origin, and
// Accept: */* when the page set no Accept. Cookies and other credentials
// come from the browser and are not modelled.
func ActualRequestHeaders(req Request) http.Header {
	req, _ = Normalize(req)
	h := http.Header{}
	for name, values := range req.Headers {
		for _, v := range values {
			h.Add(name, v)
		}
	}
	if len(h.Values(headerAccept)) == 0 {
		h.Set(headerAccept, "*/*")
	}
	h.Set(headerOrigin, req.Origin)
	return h
}

// unsafeHeaderNames returns Fetch's "CORS-unsafe request-header names" of
// a header list (lowercase, sorted, unique) and the reason for each.
func unsafeHeaderNames(fields []headerField) ([]string, []string) {
	var unsafe, potentiallyUnsafe, reasons []string
	total := 0
	for _, f := range fields {
		if why := unsafeHeaderReason(f.name, f.value); why != "" {
			unsafe = append(unsafe, strings.ToLower(f.name))
			reasons = append(reasons, why)
			continue
		}
		potentiallyUnsafe = append(potentiallyUnsafe, strings.ToLower(f.name))
		total += len(f.value)
	}
	if total > maxSafelistedTotal {
		unsafe = append(unsafe, potentiallyUnsafe...)
		reasons = append(reasons, fmt.Sprintf("the values of the safelisted headers add up to %d bytes, more than the %d Fetch allows", total, maxSafelistedTotal))
	}
	slices.Sort(unsafe)
	return slices.Compact(unsafe), reasons
}

// unsafeHeaderReason returns why (name, value) is not a CORS-safelisted
// request-header, or "" when it is one.
func unsafeHeaderReason(name, value string) string {
	display := http.CanonicalHeaderKey(name)
	if len(value) > maxSafelistedValue {
		return fmt.Sprintf("the value of %s is %d bytes long, more than the %d a safelisted header may have", display, len(value), maxSafelistedValue)
	}
	switch strings.ToLower(name) {
	case "accept":
		if b, ok := corsUnsafeByte(value); ok {
			return fmt.Sprintf("the value of %s contains %s, which Fetch counts as unsafe", display, describeByte(b))
		}
	case "accept-language", "content-language":
		for i := 0; i < len(value); i++ {
			if !languageByte(value[i]) {
				return fmt.Sprintf("the value of %s contains %s; only letters, digits, space and *,-.;= are safelisted", display, describeByte(value[i]))
			}
		}
	case "content-type":
		if b, ok := corsUnsafeByte(value); ok {
			return fmt.Sprintf("the value of %s contains %s, which Fetch counts as unsafe", display, describeByte(b))
		}
		essence, ok := mimeEssence(value)
		if !ok {
			return fmt.Sprintf("Content-Type %q is not a MIME type", value)
		}
		if !slices.Contains(safelistedContentTypes, essence) {
			return fmt.Sprintf("Content-Type %s is not application/x-www-form-urlencoded, multipart/form-data or text/plain", essence)
		}
	case "range":
		if !safelistedRange(value) {
			return fmt.Sprintf("Range %q is not a single byte range with a start (bytes=START- or bytes=START-END)", value)
		}
	default:
		return fmt.Sprintf("the header %s is not CORS-safelisted", display)
	}
	return ""
}

// corsUnsafeByte returns the first CORS-unsafe request-header byte of v.
func corsUnsafeByte(v string) (byte, bool) {
	for i := 0; i < len(v); i++ {
		b := v[i]
		if (b < 0x20 && b != '\t') || b == 0x7f || strings.IndexByte(`"():<>?@[\]{}`, b) >= 0 {
			return b, true
		}
	}
	return 0, false
}

// languageByte reports whether b may appear in a safelisted
// Accept-Language or Content-Language value.
func languageByte(b byte) bool {
	return b >= '0' && b <= '9' || b >= 'A' && b <= 'Z' || b >= 'a' && b <= 'z' || strings.IndexByte(" *,-.;=", b) >= 0
}

// describeByte names a byte for a person: printable ones quoted, others in
// hex.
func describeByte(b byte) string {
	if b > 0x20 && b < 0x7f {
		return fmt.Sprintf("%q", string(rune(b)))
	}
	return fmt.Sprintf("the byte 0x%02X", b)
}

// mimeEssence parses v as the MIME Sniffing standard parses a MIME type
// and returns its lowercase essence (type/subtype). Parameters never make
// parsing fail, so they are not looked at.
func mimeEssence(v string) (string, bool) {
	v = strings.Trim(v, "\t\n\r ")
	typ, rest, ok := strings.Cut(v, "/")
	if !ok || !isToken(typ) {
		return "", false
	}
	subtype, _, _ := strings.Cut(rest, ";")
	subtype = strings.TrimRight(subtype, "\t\n\r ")
	if !isToken(subtype) {
		return "", false
	}
	return strings.ToLower(typ + "/" + subtype), true
}

// safelistedRange reports whether v is a Range value Fetch safelists: one
// "bytes=" range, without whitespace, with a start, and the end (if any)
// not before the start.
func safelistedRange(v string) bool {
	spec, ok := strings.CutPrefix(v, "bytes=")
	if !ok {
		return false
	}
	start, end, ok := strings.Cut(spec, "-")
	if !ok || start == "" || !allDigits(start) || !allDigits(end) {
		return false
	}
	if end == "" {
		return true
	}
	// Compared as decimal strings, because values beyond uint64 are still
	// ranges to Fetch.
	start, end = strings.TrimLeft(start, "0"), strings.TrimLeft(end, "0")
	if len(start) != len(end) {
		return len(start) < len(end)
	}
	return start <= end
}

// allDigits reports whether s is made of ASCII digits only (true for "").
func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// forbiddenRequestHeader reports whether (name, value) is a forbidden
// request-header, which a page cannot set.
func forbiddenRequestHeader(name, value string) bool {
	lower := strings.ToLower(name)
	if slices.Contains(forbiddenRequestHeaders, lower) || strings.HasPrefix(lower, "proxy-") || strings.HasPrefix(lower, "sec-") {
		return true
	}
	if slices.Contains(methodOverrideHeaders, lower) {
		for _, method := range splitList(value) {
			if containsFold(forbiddenMethods, method) {
				return true
			}
		}
	}
	return false
}

// normalizeMethod uppercases the methods fetch() uppercases.
func normalizeMethod(m string) string {
	if containsFold(normalizedMethods, m) {
		return strings.ToUpper(m)
	}
	return m
}

// normalizeValue strips the leading and trailing HTTP whitespace that
// browsers strip from header values.
func normalizeValue(v string) string {
	return strings.Trim(v, "\t\n\r ")
}

// isToken reports whether s is an HTTP token (RFC 9110): method names,
// header names and MIME types are.
func isToken(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		b := s[i]
		alphanumeric := b >= '0' && b <= '9' || b >= 'A' && b <= 'Z' || b >= 'a' && b <= 'z'
		if !alphanumeric && strings.IndexByte("!#$%&'*+-.^_`|~", b) < 0 {
			return false
		}
	}
	return true
}

// containsFold reports whether list holds s, ignoring ASCII case.
func containsFold(list []string, s string) bool {
	return slices.ContainsFunc(list, func(item string) bool { return strings.EqualFold(item, s) })
}

// splitList splits a comma-separated header value, trimming whitespace and
// keeping empty elements (callers decide what they mean).
func splitList(v string) []string {
	parts := strings.Split(v, ",")
	for i, p := range parts {
		parts[i] = strings.Trim(p, "\t ")
	}
	return parts
}

// quoteList renders values for a message: "a", "b" and "c".
func quoteList(values []string) string {
	quoted := make([]string, len(values))
	for i, v := range values {
		quoted[i] = strconv.Quote(v)
	}
	return joinAnd(quoted)
}

// joinAnd joins words as a sentence does: a, b and c.
func joinAnd(words []string) string {
	switch len(words) {
	case 0:
		return ""
	case 1:
		return words[0]
	}
	return strings.Join(words[:len(words)-1], ", ") + " and " + words[len(words)-1]
}
