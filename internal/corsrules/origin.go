// Package corsrules holds every rule of CORS-RULES.md as pure functions:
// parsing origin patterns, matching a request's Origin against them, and
// validating a CorsPolicy spec into field errors and warnings. The CRD's CEL
// rules, the validating webhook and the offline checker all answer with
// these rules, so the three cannot drift apart.
package corsrules

import (
	"errors"
	"fmt"
	"net/netip"
	"strconv"
	"strings"

	"golang.org/x/net/publicsuffix"
)

// Scheme is the scheme of an origin: http or https.
type Scheme string

// The schemes an origin may have.
const (
	SchemeHTTP  Scheme = "http"
	SchemeHTTPS Scheme = "https"
)

// AnyPort is the Port of a pattern written with the port wildcard ":*".
const AnyPort = -1

// OriginPattern is a parsed entry of allowOrigins.
type OriginPattern struct {
	// Any is true for the lone "*", which matches every origin; the other
	// fields are then empty.
	Any bool
	// Scheme is http or https.
	Scheme Scheme
	// Host is the host without brackets and, for a subdomain wildcard,
	// without the leading "*." (the suffix every matched host ends with).
	Host string
	// SubdomainWildcard is true when the pattern was written "*.Host": it
	// matches one or more labels in front of Host, never Host itself.
	SubdomainWildcard bool
	// IP is the host as an address when the host is an IP literal.
	IP netip.Addr
	// Port is 0 when absent (the scheme's default port), AnyPort for ":*",
	// else the port number.
	Port int
}

// String writes the pattern back in its canonical form.
func (p OriginPattern) String() string {
	if p.Any {
		return "*"
	}
	var b strings.Builder
	b.WriteString(string(p.Scheme))
	b.WriteString("://")
	if p.SubdomainWildcard {
		b.WriteString("*.")
	}
	if p.IP.Is6() {
		b.WriteString("[" + p.Host + "]")
	} else {
		b.WriteString(p.Host)
	}
	switch {
	case p.Port == AnyPort:
		b.WriteString(":*")
	case p.Port > 0:
		b.WriteString(":" + strconv.Itoa(p.Port))
	}
	return b.String()
}

// IsLoopback reports whether the pattern only matches loopback hosts:
// localhost, 127.0.0.1 and [::1].
func (p OriginPattern) IsLoopback() bool {
	if p.Any || p.SubdomainWildcard {
		return false
	}
	return p.Host == "localhost" || p.Host == "127.0.0.1" || p.Host == "::1"
}

// ReadableOnTheWire reports whether the pattern allows a plain-http origin
// other than loopback: one whose pages a network attacker can alter, which
// rule 8 of CORS-RULES.md forbids with credentials unless opted in.
func (p OriginPattern) ReadableOnTheWire() bool {
	return !p.Any && p.Scheme == SchemeHTTP && !p.IsLoopback()
}

// defaultPort is the port a browser leaves out of an origin of scheme s.
func defaultPort(s Scheme) int {
	if s == SchemeHTTPS {
		return 443
	}
	return 80
}

// OriginError explains why a string is not a valid origin pattern. Its
// message starts with the quoted input and, where it can, says what to
// write instead.
type OriginError struct {
	// Input is the string that was parsed.
	Input string
	// Reason is the explanation that follows the quoted input.
	Reason string

	wrapped error
}

func (e *OriginError) Error() string { return strconv.Quote(e.Input) + " " + e.Reason }

// Unwrap returns the sentinel error of the rule, if it has one.
func (e *OriginError) Unwrap() error { return e.wrapped }

func originErr(in, format string, args ...any) error {
	return &OriginError{Input: in, Reason: fmt.Sprintf(format, args...)}
}

// ParseOriginPattern parses an entry of allowOrigins and checks every rule
// of CORS-RULES.md that concerns a single origin, except the public-suffix
// rule (see PublicSuffixWildcard), which depends on an opt-in.
func ParseOriginPattern(s string) (OriginPattern, error) {
	return parseOrigin(s, false)
}

// parseOrigin parses a pattern or, with request set, an Origin header:
// browsers do send https origins with IP hosts, which no pattern may name.
func parseOrigin(s string, request bool) (OriginPattern, error) {
	if s == "*" {
		return OriginPattern{Any: true}, nil
	}
	if s == "null" {
		return OriginPattern{}, originErr(s, "is never a safe origin: any page can send it from a sandboxed iframe or a local file; list the real origins instead")
	}
	if strings.ContainsAny(s, " \t\r\n\v\f") {
		return OriginPattern{}, originErr(s, "must not contain whitespace, such as the trailing newline a YAML block scalar adds")
	}
	lower := strings.ToLower(s)
	scheme, rest, ok := strings.Cut(lower, "://")
	if !ok || (scheme != "http" && scheme != "https") {
		return OriginPattern{}, originErr(s, `must start with http:// or https://: an origin is scheme://host[:port], for example "https://app.example.com"`)
	}
	if s != lower {
		return OriginPattern{}, originErr(s, "must be lowercase, because browsers send origins in lowercase; write %q", lower)
	}
	if i := strings.IndexAny(rest, "/?#"); i >= 0 {
		return OriginPattern{}, originErr(s, `must not have a path, query or fragment (not even a trailing "/"); write %q`, scheme+"://"+rest[:i])
	}
	if strings.Contains(rest, "@") {
		return OriginPattern{}, originErr(s, `must not contain user information ("user@"); write scheme://host[:port]`)
	}
	p := OriginPattern{Scheme: Scheme(scheme)}
	host, port, err := splitHostPort(s, rest)
	if err != nil {
		return OriginPattern{}, err
	}
	if strings.Contains(host, "*") {
		if !strings.HasPrefix(host, "*.") || strings.Contains(host[2:], "*") || port == "*" {
			return OriginPattern{}, wildcardErr(s)
		}
		p.SubdomainWildcard = true
		host = host[2:]
	}
	if err := parsePort(s, Scheme(scheme), port, &p); err != nil {
		return OriginPattern{}, err
	}
	if err := parseHost(s, host, request, &p); err != nil {
		return OriginPattern{}, err
	}
	return p, nil
}

func wildcardErr(s string) error {
	return originErr(s, `uses "*" where it is not allowed: write "*" alone for any origin, one leading "*." label for subdomains ("https://*.example.com") or ":*" for any port ("http://localhost:*"), never both`)
}

// splitHostPort splits "host[:port]" where host may be a bracketed IPv6
// literal.
func splitHostPort(s, hostport string) (host, port string, err error) {
	if strings.HasPrefix(hostport, "[") {
		end := strings.Index(hostport, "]")
		if end < 0 {
			return "", "", invalidOriginErr(s)
		}
		host, rest := hostport[:end+1], hostport[end+1:]
		if rest == "" {
			return host, "", nil
		}
		if !strings.HasPrefix(rest, ":") {
			return "", "", invalidOriginErr(s)
		}
		return host, rest[1:], nil
	}
	if i := strings.LastIndex(hostport, ":"); i >= 0 {
		return hostport[:i], hostport[i+1:], nil
	}
	return hostport, "", nil
}

func parsePort(s string, scheme Scheme, port string, p *OriginPattern) error {
	switch {
	case port == "" && strings.HasSuffix(s, ":"):
		return invalidPortErr(s)
	case port == "":
		return nil
	case port == "*":
		if p.SubdomainWildcard {
			return wildcardErr(s)
		}
		p.Port = AnyPort
		return nil
	case strings.Contains(port, "*"):
		return wildcardErr(s)
	}
	n, err := strconv.Atoi(port)
	if err != nil || n < 1 || n > 65535 || port[0] == '0' || port[0] == '+' {
		return invalidPortErr(s)
	}
	if n == defaultPort(scheme) {
		return originErr(s, "names the default port of its scheme, which browsers never send; write %q", s[:strings.LastIndex(s, ":")])
	}
	p.Port = n
	return nil
}

func invalidPortErr(s string) error {
	return originErr(s, `has an invalid port: write a number from 1 to 65535 without leading zeros, or ":*" for any port`)
}

func invalidOriginErr(s string) error {
	return originErr(s, `is not a valid origin: write scheme://host[:port] with a lowercase ASCII host of dot-separated labels (letters, digits, inner hyphens, at most 63 characters each; Punycode "xn--" for international names), for example "https://app.example.com"`)
}

func parseHost(s, host string, request bool, p *OriginPattern) error {
	var err error
	switch {
	case strings.HasPrefix(host, "["):
		err = parseIPv6(s, host, p)
	case checkDNSName(s, host) != nil:
		return checkDNSName(s, host)
	case looksLikeIPv4(host):
		err = parseIPv4(s, host, p)
	default:
		p.Host = host
	}
	if request && errors.Is(err, errHTTPSIP) {
		return nil
	}
	return err
}
func parseIPv6(s, host string, p *OriginPattern) error {
	if p.SubdomainWildcard {
		return wildcardErr(s)
	}
	inner := strings.TrimSuffix(strings.TrimPrefix(host, "["), "]")
	if strings.Contains(inner, "%") {
		return originErr(s, "must not have an IPv6 zone: browsers never send one")
	}
	addr, err := netip.ParseAddr(inner)
	if err != nil || !addr.Is6() {
		return invalidOriginErr(s)
	}
	if canonical := serializeIPv6(addr); canonical != inner {
		return originErr(s, "must write its IPv6 address in the canonical compressed form browsers send; write %q", strings.Replace(s, inner, canonical, 1))
	}
	p.Host, p.IP = inner, addr
	if p.Scheme == SchemeHTTPS {
		return httpsIPErr(s)
	}
	return nil
}

// serializeIPv6 writes an address as the WHATWG URL standard serializes
// IPv6 hosts (and so as browsers send them): lowercase hex groups, the
// first longest run of two or more zero groups compressed to "::", and,
// unlike netip's String, never a dotted IPv4 tail.
func serializeIPv6(addr netip.Addr) string {
	b := addr.As16()
	var groups [8]uint16
	for i := range groups {
		groups[i] = uint16(b[2*i])<<8 | uint16(b[2*i+1])
	}
	start, length := -1, 1
	for i := 0; i < 8; {
		j := i
		for j < 8 && groups[j] == 0 {
			j++
		}
		if j-i > length {
			start, length = i, j-i
		}
		i = j + 1
	}
	var out strings.Builder
	for i := 0; i < 8; i++ {
		if i == start {
			out.WriteString("::")
			i += length - 1
			continue
		}
		if i > 0 && i != start+length {
			out.WriteString(":")
		}
		out.WriteString(strconv.FormatUint(uint64(groups[i]), 16))
	}
	return out.String()
}

// errHTTPSIP marks the one rule that holds for patterns but not for the
// Origin headers browsers send.
var errHTTPSIP = errors.New("https with an IP host")

func httpsIPErr(s string) error {
	return &OriginError{Input: s, Reason: "uses https with an IP address, which no publicly trusted certificate covers; use the host name the certificate is issued for", wrapped: errHTTPSIP}
}

// looksLikeIPv4 follows the WHATWG URL parser: a host whose last label is
// numeric is parsed as an IPv4 address, in any of its legacy notations.
func looksLikeIPv4(host string) bool {
	labels := strings.Split(host, ".")
	last := labels[len(labels)-1]
	if last == "" {
		return false
	}
	digits := "0123456789"
	if hex, ok := strings.CutPrefix(last, "0x"); ok {
		last, digits = hex, "0123456789abcdef"
	}
	for _, r := range last {
		if !strings.ContainsRune(digits, r) {
			return false
		}
	}
	return true
}

func parseIPv4(s, host string, p *OriginPattern) error {
	if p.SubdomainWildcard {
		return wildcardErr(s)
	}
	addr, err := netip.ParseAddr(host)
	if err != nil || !addr.Is4() {
		// Browsers accept legacy forms such as 127.1 or 0x7f.0.0.1 and
		// send the dotted-quad instead, so the pattern would never match.
		return originErr(s, "must write its IPv4 address as four decimal numbers without leading zeros (dotted quad), the only form browsers send")
	}
	p.Host, p.IP = host, addr
	if p.Scheme == SchemeHTTPS {
		return httpsIPErr(s)
	}
	return nil
}

// checkDNSName checks a host name: lowercase ASCII letters, digits and
// inner hyphens, labels of 1 to 63 characters, at most 253 in all.
func checkDNSName(s, host string) error {
	if host == "" || len(host) > 253 {
		return invalidOriginErr(s)
	}
	for label := range strings.SplitSeq(host, ".") {
		if len(label) == 0 || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return invalidOriginErr(s)
		}
		for i := 0; i < len(label); i++ {
			c := label[i]
			if (c < 'a' || c > 'z') && (c < '0' || c > '9') && c != '-' {
				return invalidOriginErr(s)
			}
		}
	}
	return nil
}

// PublicSuffixWildcard reports whether a subdomain-wildcard pattern covers
// sites of unrelated owners: its host is a public suffix of the Public
// Suffix List (private suffixes such as github.io included), or a wildcard
// rule of the list makes every name directly under it a public suffix
// ("*.compute.amazonaws.com"). A single unlisted label such as "localhost"
// or "internal" falls under the list's implicit default rule only, and is
// not counted.
func PublicSuffixWildcard(p OriginPattern) bool {
	if !p.SubdomainWildcard {
		return false
	}
	suffix, icann := publicsuffix.PublicSuffix(p.Host)
	if suffix == p.Host {
		return icann || strings.Contains(p.Host, ".")
	}
	// A label that no list entry names, so only a wildcard rule can make
	// probe.host a public suffix.
	probe := "kubecors-probe." + p.Host
	suffix, _ = publicsuffix.PublicSuffix(probe)
	return suffix == probe
}

// ErrNotAnOrigin is returned by ParseRequestOrigin for values a browser
// would never send as an http(s) origin.
var ErrNotAnOrigin = errors.New("not a serialized http or https origin")

// RequestOrigin is the value of an Origin request header.
type RequestOrigin struct {
	// Scheme is http or https.
	Scheme Scheme
	// Host is the lowercase host, without brackets for IPv6.
	Host string
	// Port is the explicit port, or the scheme's default port.
	Port int
}

// ParseRequestOrigin parses an Origin header the way a server must: exactly
// as browsers serialise it, byte for byte. Anything else (including "null")
// is rejected, so it can never match a pattern.
func ParseRequestOrigin(s string) (RequestOrigin, error) {
	scheme, rest, ok := strings.Cut(s, "://")
	if !ok || (scheme != "http" && scheme != "https") {
		return RequestOrigin{}, ErrNotAnOrigin
	}
	p, err := parseOrigin(s, true)
	if err != nil || p.Any || p.SubdomainWildcard || p.Port == AnyPort || rest == "" {
		return RequestOrigin{}, ErrNotAnOrigin
	}
	port := p.Port
	if port == 0 {
		port = defaultPort(p.Scheme)
	}
	return RequestOrigin{Scheme: p.Scheme, Host: p.Host, Port: port}, nil
}

// Matches reports whether the pattern allows a request from origin o.
func (p OriginPattern) Matches(o RequestOrigin) bool {
	if p.Any {
		return true
	}
	if p.Scheme != o.Scheme {
		return false
	}
	switch {
	case p.Port == AnyPort:
	case p.Port == 0 && o.Port != defaultPort(o.Scheme):
		return false
	case p.Port > 0 && o.Port != p.Port:
		return false
	}
	if p.SubdomainWildcard {
		// One or more whole labels in front of the suffix: the dot keeps
		// "evilexample.com" from matching "*.example.com".
		return len(o.Host) > len(p.Host)+1 && strings.HasSuffix(o.Host, "."+p.Host)
	}
	return o.Host == p.Host
}

// MatchOrigin reports whether the Origin header value origin is allowed by
// the pattern written as pattern. "*" allows every origin, including the
// opaque "null" of sandboxed iframes, because that is how browsers read an
// Access-Control-Allow-Origin of "*"; otherwise malformed input on either
// side never matches.
func MatchOrigin(pattern, origin string) bool {
	p, err := ParseOriginPattern(pattern)
	if err != nil {
		return false
	}
	if p.Any {
		return true
	}
	o, err := ParseRequestOrigin(origin)
	if err != nil {
		return false
	}
	return p.Matches(o)
}
