// Package corsrulestest holds the validation cases of CORS-RULES.md as one
// table, so that the rules' unit tests, the envtest suite (CRD schema, CEL
// and webhook on a real API server) and the offline checker all answer the
// same questions and cannot drift apart.
package corsrulestest

import (
	"fmt"
	"strings"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	kubecorsv1alpha1 "github.com/kubecors/kubecors/api/v1alpha1"
)

// Case is one validation case of the shared table.
type Case struct {
	// Name says why the case exists, e.g. "origin/suffix match evilexample.com is not under *.example.com".
	Name string
	// Spec is the CorsPolicy spec under test. Give every case a valid target (targetRefs to an Ingress named "web") unless the case is about targets.
	Spec kubecorsv1alpha1.CorsPolicySpec
	// Valid says whether the spec must be accepted.
	Valid bool
	// Field is, for an invalid case, the field path of the expected error, e.g. "spec.allowOrigins[1]" or "spec.allowOrigins".
	Field string
	// Message is, for an invalid case, a fragment of the expected error message; it must include the part that says what to write instead when the rules give one.
	Message string
	// Warning is, when non-empty, a fragment of a warning the rules must return (the case may be valid).
	Warning string
}

// Fragments of the rules' messages that many cases expect. Each keeps the
// part that tells the user what to write, because that part is what the
// rules promise.
const (
	invalidOrigin  = `is not a valid origin: write scheme://host[:port] with a lowercase ASCII host of dot-separated labels (letters, digits, inner hyphens, at most 63 characters each; Punycode "xn--" for international names), for example "https://app.example.com"`
	needScheme     = `must start with http:// or https://: an origin is scheme://host[:port], for example "https://app.example.com"`
	badWildcard    = `uses "*" where it is not allowed: write "*" alone for any origin, one leading "*." label for subdomains ("https://*.example.com") or ":*" for any port ("http://localhost:*"), never both`
	badPort        = `has an invalid port: write a number from 1 to 65535 without leading zeros, or ":*" for any port`
	badIPv4        = "must write its IPv4 address as four decimal numbers without leading zeros (dotted quad), the only form browsers send"
	httpsIP        = "uses https with an IP address, which no publicly trusted certificate covers; use the host name the certificate is issued for"
	noUserinfo     = `must not contain user information ("user@"); write scheme://host[:port]`
	noWhitespace   = "must not contain whitespace"
	insecureFix    = "cannot be used with allowCredentials: true, because anyone on the network path can read the credentialed responses; write them with https://, or set dangerouslyAllowInsecureOrigins: true to accept that risk"
	forbiddenReq   = "is a forbidden request header: browsers set it themselves and never let a page send it, so allowing it has no effect; remove it"
	responseOnly   = "is a response header that the server sends, never a request header a page sends; remove it"
	notHeaderName  = `is not a header name: use letters, digits or one of !#$%&*+-.^_|~, for example "X-Request-Id"`
	forbiddenVerb  = "is a forbidden method: browsers never send CONNECT, TRACE or TRACK cross-origin; remove it"
	notMethodName  = `is not an HTTP method name: use letters, digits or one of !#$%&*+-.^_|~, for example "PUT"`
	neverExposed   = "can never be exposed: browsers hide it from every script whatever the server says; remove it"
	safelistedResp = "is a CORS-safelisted response header that scripts can always read; listing it is needless"
	listedTwice    = "is listed twice: header names are case-insensitive; remove one"
	maxAgeRange    = "is out of range: write whole seconds from 0 to 86400 (24 hours)"
	aboveChromium  = "seconds is above Chromium's cap of 7200"
	insecureOptIn  = "dangerouslyAllowInsecureOrigins: is set"
	suffixOptIn    = "dangerouslyAllowPublicSuffixWildcards: is set"
	wrongPairing   = `write group "networking.k8s.io" with kind "Ingress", group "gateway.networking.k8s.io" with kind "HTTPRoute" or "Gateway", group "networking.istio.io" with kind "VirtualService", or group "projectcontour.io" with kind "HTTPProxy"`
)

// option changes the base spec built by spec.
type option func(*kubecorsv1alpha1.CorsPolicySpec)

// spec builds a valid policy and applies opts to it. The base targets the
// Ingress "web", allows one https origin and sets allowCredentials and
// maxAge explicitly: the API server defaults them (false and 5), and the
// rules must see the same object the server does.
func spec(opts ...option) kubecorsv1alpha1.CorsPolicySpec {
	s := kubecorsv1alpha1.CorsPolicySpec{
		TargetRefs:       []kubecorsv1alpha1.PolicyTargetReference{webIngress()},
		AllowOrigins:     []kubecorsv1alpha1.Origin{"https://app.example.com"},
		AllowCredentials: new(false),
		MaxAge:           new(int32(5)),
	}
	for _, opt := range opts {
		opt(&s)
	}
	return s
}

// origins replaces allowOrigins.
func origins(os ...string) option {
	return func(s *kubecorsv1alpha1.CorsPolicySpec) {
		s.AllowOrigins = nil
		for _, o := range os {
			s.AllowOrigins = append(s.AllowOrigins, kubecorsv1alpha1.Origin(o))
		}
	}
}

// methods sets allowMethods.
func methods(ms ...string) option {
	return func(s *kubecorsv1alpha1.CorsPolicySpec) {
		for _, m := range ms {
			s.AllowMethods = append(s.AllowMethods, kubecorsv1alpha1.HTTPMethod(m))
		}
	}
}

// allowHeaders sets allowHeaders.
func allowHeaders(hs ...string) option {
	return func(s *kubecorsv1alpha1.CorsPolicySpec) {
		for _, h := range hs {
			s.AllowHeaders = append(s.AllowHeaders, kubecorsv1alpha1.RequestHeaderName(h))
		}
	}
}

// exposeHeaders sets exposeHeaders.
func exposeHeaders(hs ...string) option {
	return func(s *kubecorsv1alpha1.CorsPolicySpec) {
		for _, h := range hs {
			s.ExposeHeaders = append(s.ExposeHeaders, kubecorsv1alpha1.ResponseHeaderName(h))
		}
	}
}

// creds sets allowCredentials: true; the base spec has it false.
func creds() option {
	return func(s *kubecorsv1alpha1.CorsPolicySpec) { s.AllowCredentials = new(true) }
}

// verification sets spec.verification's mode and interval (empty: unset).
func verification(mode, interval string) option {
	return func(s *kubecorsv1alpha1.CorsPolicySpec) {
		s.Verification = &kubecorsv1alpha1.VerificationSpec{Mode: mode}
		if interval != "" {
			d, err := time.ParseDuration(interval)
			if err != nil {
				panic(err)
			}
			s.Verification.Interval = &metav1.Duration{Duration: d}
		}
	}
}

// maxAge sets maxAge.
func maxAge(seconds int32) option {
	return func(s *kubecorsv1alpha1.CorsPolicySpec) { s.MaxAge = new(seconds) }
}

// insecureOrigins sets the dangerouslyAllowInsecureOrigins opt-in.
func insecureOrigins() option {
	return func(s *kubecorsv1alpha1.CorsPolicySpec) { s.DangerouslyAllowInsecureOrigins = true }
}

// publicSuffixWildcards sets the dangerouslyAllowPublicSuffixWildcards
// opt-in.
func publicSuffixWildcards() option {
	return func(s *kubecorsv1alpha1.CorsPolicySpec) { s.DangerouslyAllowPublicSuffixWildcards = true }
}

// targets replaces targetRefs; with no argument the policy has none.
func targets(refs ...kubecorsv1alpha1.PolicyTargetReference) option {
	return func(s *kubecorsv1alpha1.CorsPolicySpec) { s.TargetRefs = refs }
}

// selector sets targetSelector; a nil map gives the empty selector {},
// which selects every target of the namespace.
func selector(matchLabels map[string]string) option {
	return func(s *kubecorsv1alpha1.CorsPolicySpec) {
		s.TargetSelector = &metav1.LabelSelector{MatchLabels: matchLabels}
	}
}

// ref is a target reference written out in full, for the cases that get
// group or kind wrong on purpose.
func ref(group, kind, name string) kubecorsv1alpha1.PolicyTargetReference {
	return kubecorsv1alpha1.PolicyTargetReference{Group: group, Kind: kind, Name: name}
}

// webIngress references the Ingress "web", the target of every case that
// is not about targets.
func webIngress() kubecorsv1alpha1.PolicyTargetReference {
	return ref(kubecorsv1alpha1.GroupNetworking, kubecorsv1alpha1.KindIngress, "web")
}

// route references the HTTPRoute name.
func route(name string) kubecorsv1alpha1.PolicyTargetReference {
	return ref(kubecorsv1alpha1.GroupGateway, kubecorsv1alpha1.KindHTTPRoute, name)
}

// section narrows r to its rule (or, wrongly, section) called name.
func section(r kubecorsv1alpha1.PolicyTargetReference, name string) kubecorsv1alpha1.PolicyTargetReference {
	r.SectionName = new(name)
	return r
}

// numbered returns n distinct values of format, which must take one %d:
// the cases about list limits need many valid entries.
func numbered(format string, n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf(format, i)
	}
	return out
}

// manyRoutes returns n distinct HTTPRoute references.
func manyRoutes(n int) []kubecorsv1alpha1.PolicyTargetReference {
	refs := make([]kubecorsv1alpha1.PolicyTargetReference, n)
	for i, name := range numbered("web-%d", n) {
		refs[i] = route(name)
	}
	return refs
}

// Host names at the length limits of rule 2: labels of 63 characters and a
// host of 253 characters (63+1+63+1+63+1+61).
var (
	label63 = strings.Repeat("a", 63)
	label64 = strings.Repeat("a", 64)
	host253 = strings.Join([]string{label63, strings.Repeat("b", 63), strings.Repeat("c", 63), strings.Repeat("d", 61)}, ".")
	host254 = strings.Join([]string{label63, strings.Repeat("b", 63), strings.Repeat("c", 63), strings.Repeat("d", 62)}, ".")
)

// Cases is the table.
var Cases = []Case{
	// Rule 1: scheme://host[:port] and nothing else.
	{Name: "origin/plain https origin is accepted", Spec: spec(), Valid: true},
	{Name: "origin/plain http origin without credentials is accepted", Spec: spec(origins("http://app.example.com")), Valid: true},
	{Name: "origin/several distinct origins are accepted", Spec: spec(origins("https://app.example.com", "https://admin.example.com", "http://localhost:3000")), Valid: true},
	{Name: "origin/no allowOrigins at all is accepted and allows no origin", Spec: spec(origins()), Valid: true},
	{Name: "origin/null is rejected because sandboxed iframes send it", Spec: spec(origins("null")), Field: "spec.allowOrigins[0]",
		Message: `"null" is never a safe origin: any page can send it from a sandboxed iframe or a local file; list the real origins instead`},
	{Name: "origin/null after a good origin is rejected at its own index", Spec: spec(origins("https://app.example.com", "null")), Field: "spec.allowOrigins[1]", Message: "list the real origins instead"},
	{Name: "origin/trailing slash is a path and is rejected with the origin to write", Spec: spec(origins("https://app.example.com/")), Field: "spec.allowOrigins[0]",
		Message: `must not have a path, query or fragment (not even a trailing "/"); write "https://app.example.com"`},
	{Name: "origin/path is rejected with the origin to write", Spec: spec(origins("https://app.example.com/api")), Field: "spec.allowOrigins[0]", Message: `must not have a path, query or fragment (not even a trailing "/"); write "https://app.example.com"`},
	{Name: "origin/query is rejected with the origin to write", Spec: spec(origins("https://app.example.com?tenant=1")), Field: "spec.allowOrigins[0]", Message: `write "https://app.example.com"`},
	{Name: "origin/fragment is rejected with the origin to write", Spec: spec(origins("https://app.example.com#top")), Field: "spec.allowOrigins[0]", Message: `write "https://app.example.com"`},
	{Name: "origin/path after a port keeps the port in the origin to write", Spec: spec(origins("https://app.example.com:8443/")), Field: "spec.allowOrigins[0]", Message: `write "https://app.example.com:8443"`},
	{Name: "origin/userinfo is rejected", Spec: spec(origins("https://user@app.example.com")), Field: "spec.allowOrigins[0]", Message: noUserinfo},
	{Name: "origin/userinfo with password is rejected", Spec: spec(origins("https://user:secret@app.example.com")), Field: "spec.allowOrigins[0]", Message: noUserinfo},
	{Name: "origin/trailing space is rejected", Spec: spec(origins("https://app.example.com ")), Field: "spec.allowOrigins[0]", Message: noWhitespace},
	{Name: "origin/space inside the host is rejected", Spec: spec(origins("https://app. example.com")), Field: "spec.allowOrigins[0]", Message: noWhitespace},
	{Name: "origin/trailing newline from a YAML block scalar is rejected", Spec: spec(origins("https://app.example.com\n")), Field: "spec.allowOrigins[0]", Message: noWhitespace},
	{Name: "origin/tab is rejected", Spec: spec(origins("https://app.example.com\t")), Field: "spec.allowOrigins[0]", Message: noWhitespace},
	// The origin does start with https://; the message must give the real
	// reason, the leading space.
	{Name: "origin/leading space is rejected as whitespace, not as a missing scheme", Spec: spec(origins(" https://app.example.com")), Field: "spec.allowOrigins[0]", Message: noWhitespace},
	{Name: "origin/missing scheme is rejected", Spec: spec(origins("app.example.com")), Field: "spec.allowOrigins[0]", Message: needScheme},
	{Name: "origin/scheme-relative //host is rejected", Spec: spec(origins("//app.example.com")), Field: "spec.allowOrigins[0]", Message: needScheme},
	{Name: "origin/ftp scheme is rejected", Spec: spec(origins("ftp://files.example.com")), Field: "spec.allowOrigins[0]", Message: needScheme},
	{Name: "origin/file scheme is rejected", Spec: spec(origins("file:///home/user/index.html")), Field: "spec.allowOrigins[0]", Message: needScheme},
	{Name: "origin/chrome-extension scheme is rejected", Spec: spec(origins("chrome-extension://abcdefghijklmnopabcdefghijklmnop")), Field: "spec.allowOrigins[0]", Message: needScheme},
	{Name: "origin/wss scheme is rejected because origins are http or https", Spec: spec(origins("wss://app.example.com")), Field: "spec.allowOrigins[0]", Message: needScheme},

	// Rule 2: lowercase ASCII, label and host lengths, no empty labels.
	{Name: "host/uppercase host is rejected with its lowercase spelling", Spec: spec(origins("https://App.Example.com")), Field: "spec.allowOrigins[0]",
		Message: `must be lowercase, because browsers send origins in lowercase; write "https://app.example.com"`},
	{Name: "host/uppercase scheme is rejected with its lowercase spelling", Spec: spec(origins("HTTPS://app.example.com")), Field: "spec.allowOrigins[0]", Message: `write "https://app.example.com"`},
	{Name: "host/non-ASCII IDN is rejected in favour of punycode", Spec: spec(origins("https://bücher.example")), Field: "spec.allowOrigins[0]", Message: invalidOrigin},
	{Name: "host/punycode xn-- IDN is accepted", Spec: spec(origins("https://xn--bcher-kva.example")), Valid: true},
	{Name: "host/digits and inner hyphens are accepted", Spec: spec(origins("https://api-2.eu-west-1.example.com")), Valid: true},
	{Name: "host/single-label host is accepted", Spec: spec(origins("http://intranet")), Valid: true},
	{Name: "host/label of 63 characters is accepted", Spec: spec(origins("https://" + label63 + ".example.com")), Valid: true},
	{Name: "host/label of 64 characters is rejected", Spec: spec(origins("https://" + label64 + ".example.com")), Field: "spec.allowOrigins[0]", Message: invalidOrigin},
	{Name: "host/host of 253 characters is accepted", Spec: spec(origins("https://" + host253)), Valid: true},
	{Name: "host/host of 254 characters is rejected", Spec: spec(origins("https://" + host254)), Field: "spec.allowOrigins[0]", Message: invalidOrigin},
	{Name: "host/empty label a..b is rejected", Spec: spec(origins("https://a..example.com")), Field: "spec.allowOrigins[0]", Message: invalidOrigin},
	{Name: "host/leading dot is rejected", Spec: spec(origins("https://.example.com")), Field: "spec.allowOrigins[0]", Message: invalidOrigin},
	{Name: "host/trailing dot is an empty label and is rejected", Spec: spec(origins("https://app.example.com.")), Field: "spec.allowOrigins[0]", Message: invalidOrigin},
	{Name: "host/hyphen at the start of a label is rejected", Spec: spec(origins("https://-app.example.com")), Field: "spec.allowOrigins[0]", Message: invalidOrigin},
	{Name: "host/hyphen at the end of a label is rejected", Spec: spec(origins("https://app-.example.com")), Field: "spec.allowOrigins[0]", Message: invalidOrigin},
	{Name: "host/empty host is rejected", Spec: spec(origins("https://")), Field: "spec.allowOrigins[0]", Message: invalidOrigin},
	// Allow-lists copied from regular expressions: "\." and "^...$" are not
	// part of an origin, and "." is not "any character".
	{Name: "host/regex-escaped dots from an allow-list regex are rejected", Spec: spec(origins(`https://app\.example\.com`)), Field: "spec.allowOrigins[0]", Message: invalidOrigin},
	{Name: "host/regex anchors are rejected", Spec: spec(origins("^https://app.example.com$")), Field: "spec.allowOrigins[0]", Message: needScheme},
	{Name: "host/regex .* in front of the domain is rejected", Spec: spec(origins("https://.*.example.com")), Field: "spec.allowOrigins[0]", Message: badWildcard},
	{Name: "host/unescaped-dot lookalike appxexample.com is a distinct origin, not a duplicate", Spec: spec(origins("https://app.example.com", "https://appxexample.com")), Valid: true},

	// Rule 3: ports.
	{Name: "port/explicit non-default port is accepted", Spec: spec(origins("https://app.example.com:8443")), Valid: true},
	{Name: "port/1 is the lowest port and is accepted", Spec: spec(origins("http://app.example.com:1")), Valid: true},
	{Name: "port/65535 is the highest port and is accepted", Spec: spec(origins("https://app.example.com:65535")), Valid: true},
	{Name: "port/0 is rejected", Spec: spec(origins("https://app.example.com:0")), Field: "spec.allowOrigins[0]", Message: badPort},
	{Name: "port/65536 is out of range", Spec: spec(origins("https://app.example.com:65536")), Field: "spec.allowOrigins[0]", Message: badPort},
	{Name: "port/leading zero is rejected because browsers never send it", Spec: spec(origins("https://app.example.com:08443")), Field: "spec.allowOrigins[0]", Message: badPort},
	{Name: "port/:443 on https is the default port and is rejected with the origin to write", Spec: spec(origins("https://app.example.com:443")), Field: "spec.allowOrigins[0]",
		Message: `names the default port of its scheme, which browsers never send; write "https://app.example.com"`},
	{Name: "port/:80 on http is the default port and is rejected with the origin to write", Spec: spec(origins("http://app.example.com:80")), Field: "spec.allowOrigins[0]", Message: `write "http://app.example.com"`},
	{Name: "port/:80 on http for IPv6 loopback keeps the brackets in the origin to write", Spec: spec(origins("http://[::1]:80")), Field: "spec.allowOrigins[0]", Message: `write "http://[::1]"`},
	{Name: "port/:443 on http is not the default port and is accepted", Spec: spec(origins("http://app.example.com:443")), Valid: true},
	{Name: "port/:80 on https is not the default port and is accepted", Spec: spec(origins("https://app.example.com:80")), Valid: true},
	{Name: "port/port wildcard :* on a host name is accepted", Spec: spec(origins("https://app.example.com:*")), Valid: true},
	{Name: "port/partial port wildcard :8* is rejected", Spec: spec(origins("http://localhost:8*")), Field: "spec.allowOrigins[0]", Message: badWildcard},

	// Rule 4: IP hosts.
	{Name: "ip/canonical IPv4 on http is accepted", Spec: spec(origins("http://192.168.0.10")), Valid: true},
	{Name: "ip/canonical IPv4 with a port is accepted", Spec: spec(origins("http://10.0.0.1:8080")), Valid: true},
	{Name: "ip/IPv4 with leading zeros 127.000.0.1 is rejected", Spec: spec(origins("http://127.000.0.1")), Field: "spec.allowOrigins[0]", Message: badIPv4},
	{Name: "ip/shortened IPv4 127.1 is rejected", Spec: spec(origins("http://127.1")), Field: "spec.allowOrigins[0]", Message: badIPv4},
	{Name: "ip/hexadecimal IPv4 0x7f.0.0.1 is rejected", Spec: spec(origins("http://0x7f.0.0.1")), Field: "spec.allowOrigins[0]", Message: badIPv4},
	{Name: "ip/IPv4 as one decimal number is rejected", Spec: spec(origins("http://2130706433")), Field: "spec.allowOrigins[0]", Message: badIPv4},
	{Name: "ip/https with an IPv4 host is rejected", Spec: spec(origins("https://127.0.0.1")), Field: "spec.allowOrigins[0]", Message: httpsIP},
	{Name: "ip/https with an IPv6 host is rejected", Spec: spec(origins("https://[2001:db8::1]")), Field: "spec.allowOrigins[0]", Message: httpsIP},
	{Name: "ip/compressed IPv6 loopback is accepted", Spec: spec(origins("http://[::1]")), Valid: true},
	{Name: "ip/compressed IPv6 with a port is accepted", Spec: spec(origins("http://[2001:db8::1]:8080")), Valid: true},
	{Name: "ip/uncompressed IPv6 loopback is rejected with the compressed form", Spec: spec(origins("http://[0:0:0:0:0:0:0:1]")), Field: "spec.allowOrigins[0]",
		Message: `must write its IPv6 address in the canonical compressed form browsers send; write "http://[::1]"`},
	{Name: "ip/IPv6 with a needless zero run is rejected with the compressed form", Spec: spec(origins("http://[2001:db8:0:0:0:0:0:1]:8080")), Field: "spec.allowOrigins[0]", Message: `write "http://[2001:db8::1]:8080"`},
	{Name: "ip/uppercase IPv6 is rejected with its lowercase spelling", Spec: spec(origins("http://[2001:DB8::1]")), Field: "spec.allowOrigins[0]", Message: `write "http://[2001:db8::1]"`},
	{Name: "ip/IPv6 zone is rejected", Spec: spec(origins("http://[fe80::1%25eth0]")), Field: "spec.allowOrigins[0]", Message: "must not have an IPv6 zone: browsers never send one"},
	{Name: "ip/unclosed IPv6 bracket is rejected", Spec: spec(origins("http://[::1")), Field: "spec.allowOrigins[0]", Message: invalidOrigin},
	// Browsers serialize an IPv4-mapped IPv6 address in hexadecimal
	// (new URL("http://[::ffff:127.0.0.1]").origin is "http://[::ffff:7f00:1]"),
	// so that is its canonical form.
	{Name: "ip/IPv4-mapped IPv6 in the hexadecimal form browsers send is accepted", Spec: spec(origins("http://[::ffff:7f00:1]")), Valid: true},
	{Name: "ip/IPv4-mapped IPv6 in dotted form is rejected because browsers never send it", Spec: spec(origins("http://[::ffff:127.0.0.1]")), Field: "spec.allowOrigins[0]", Message: `write "http://[::ffff:7f00:1]"`},

	// Rule 5: wildcards.
	{Name: "wildcard/leading *. label is accepted", Spec: spec(origins("https://*.example.com")), Valid: true},
	{Name: "wildcard/apex and its subdomain wildcard together are accepted because the wildcard never covers the apex", Spec: spec(origins("https://example.com", "https://*.example.com")), Valid: true},
	{Name: "wildcard/subdomain wildcard with an explicit port is accepted", Spec: spec(origins("https://*.example.com:8443")), Valid: true},
	{Name: "wildcard/suffix match evilexample.com is a distinct origin from *.example.com", Spec: spec(origins("https://*.example.com", "https://evilexample.com")), Valid: true},
	{Name: "wildcard/prefix match example.com.evil.net is a distinct origin from example.com", Spec: spec(origins("https://example.com", "https://example.com.evil.net")), Valid: true},
	{Name: "wildcard/suffix-match pattern *example.com without a dot is rejected", Spec: spec(origins("https://*example.com")), Field: "spec.allowOrigins[0]", Message: badWildcard},
	{Name: "wildcard/prefix-match pattern example.com.* is rejected", Spec: spec(origins("https://example.com.*")), Field: "spec.allowOrigins[0]", Message: badWildcard},
	{Name: "wildcard/prefix-match pattern example.com* is rejected", Spec: spec(origins("https://example.com*")), Field: "spec.allowOrigins[0]", Message: badWildcard},
	{Name: "wildcard/wildcard in a middle label a.*.example.com is rejected", Spec: spec(origins("https://a.*.example.com")), Field: "spec.allowOrigins[0]", Message: badWildcard},
	{Name: "wildcard/two wildcard labels are rejected", Spec: spec(origins("https://*.*.example.com")), Field: "spec.allowOrigins[0]", Message: badWildcard},
	{Name: "wildcard/*.example.com without a scheme is rejected", Spec: spec(origins("*.example.com")), Field: "spec.allowOrigins[0]", Message: needScheme},
	{Name: "wildcard/host and port wildcards together are rejected", Spec: spec(origins("https://*.example.com:*")), Field: "spec.allowOrigins[0]", Message: badWildcard},
	{Name: "wildcard/https://* is not the any-origin wildcard and is rejected", Spec: spec(origins("https://*")), Field: "spec.allowOrigins[0]", Message: badWildcard},
	{Name: "wildcard/h* is rejected", Spec: spec(origins("h*")), Field: "spec.allowOrigins[0]", Message: needScheme},
	{Name: "wildcard/subdomain wildcard over an IPv4 address is rejected", Spec: spec(origins("http://*.0.0.1")), Field: "spec.allowOrigins[0]", Message: badWildcard},
	{Name: "public-suffix/wildcard over com is rejected", Spec: spec(origins("https://*.com")), Field: "spec.allowOrigins[0]",
		Message: `"https://*.com" matches every site under the public suffix "com", owned by unrelated parties; list your own domain instead ("https://*.yourdomain.com"), or set dangerouslyAllowPublicSuffixWildcards: true if you own this suffix`},
	{Name: "public-suffix/wildcard over co.uk is rejected", Spec: spec(origins("https://*.co.uk")), Field: "spec.allowOrigins[0]", Message: `matches every site under the public suffix "co.uk"`},
	{Name: "public-suffix/wildcard over the private suffix github.io is rejected", Spec: spec(origins("https://*.github.io")), Field: "spec.allowOrigins[0]", Message: `matches every site under the public suffix "github.io"`},
	{Name: "public-suffix/wildcard over the private suffix s3.amazonaws.com is rejected", Spec: spec(origins("https://*.s3.amazonaws.com")), Field: "spec.allowOrigins[0]", Message: `matches every site under the public suffix "s3.amazonaws.com"`},
	// The PSL's wildcard rule *.compute.amazonaws.com makes every
	// <region>.compute.amazonaws.com a public suffix: this pattern matches
	// ec2-*.<region>.compute.amazonaws.com hosts of every EC2 customer.
	{Name: "public-suffix/wildcard over compute.amazonaws.com covers the public suffixes of a PSL wildcard rule and is rejected", Spec: spec(origins("https://*.compute.amazonaws.com")), Field: "spec.allowOrigins[0]", Message: "or set dangerouslyAllowPublicSuffixWildcards: true"},
	{Name: "public-suffix/wildcard under a registrable .com domain is accepted", Spec: spec(origins("https://*.example.com")), Valid: true},
	{Name: "public-suffix/wildcard under a registrable co.uk domain is accepted", Spec: spec(origins("https://*.example.co.uk")), Valid: true},
	{Name: "public-suffix/wildcard under a github.io user site is accepted", Spec: spec(origins("https://*.octocat.github.io")), Valid: true},
	{Name: "public-suffix/wildcard over com is accepted with a warning under the opt-in", Spec: spec(origins("https://*.com"), publicSuffixWildcards()), Valid: true, Warning: suffixOptIn},
	{Name: "public-suffix/wildcard over github.io is accepted with a warning under the opt-in", Spec: spec(origins("https://*.github.io"), publicSuffixWildcards()), Valid: true, Warning: suffixOptIn},
	{Name: "public-suffix/wildcard over co.uk is accepted with a warning under the opt-in", Spec: spec(origins("https://*.co.uk"), publicSuffixWildcards()), Valid: true, Warning: suffixOptIn},

	// Rules 6 and 7: the lone "*".
	{Name: "any-origin/* alone without credentials is accepted", Spec: spec(origins("*")), Valid: true},
	{Name: "any-origin/* with another origin is rejected", Spec: spec(origins("*", "https://app.example.com")), Field: "spec.allowOrigins",
		Message: `"*" (any origin) must be the only entry: remove the other origins, or replace "*" with the origins you trust`},
	{Name: "any-origin/* with credentials is rejected", Spec: spec(origins("*"), creds()), Field: "spec.allowOrigins",
		Message: `"*" cannot be used with allowCredentials: true: a credentialed response to any origin lets every website read your users' data; list the trusted origins instead, for example "https://app.example.com"`},

	// Rule 8: credentials need https, except on loopback.
	{Name: "credentials/https origin with credentials is accepted", Spec: spec(creds()), Valid: true},
	{Name: "credentials/subdomain wildcard over https with credentials is accepted", Spec: spec(origins("https://*.example.com"), creds()), Valid: true},
	{Name: "credentials/http origin with credentials is rejected", Spec: spec(origins("https://app.example.com", "http://app.example.com"), creds()), Field: "spec.allowOrigins",
		Message: insecureFix},
	{Name: "credentials/http subdomain wildcard with credentials is rejected", Spec: spec(origins("http://*.example.com"), creds()), Field: "spec.allowOrigins", Message: insecureFix},
	{Name: "credentials/http IPv4 that is not 127.0.0.1 with credentials is rejected", Spec: spec(origins("http://192.168.0.10"), creds()), Field: "spec.allowOrigins", Message: insecureFix},
	{Name: "credentials/http 127.0.0.2 is not one of the loopback hosts and is rejected", Spec: spec(origins("http://127.0.0.2"), creds()), Field: "spec.allowOrigins", Message: insecureFix},
	{Name: "credentials/http localhost.example.com only starts like localhost and is rejected", Spec: spec(origins("http://localhost.example.com"), creds()), Field: "spec.allowOrigins", Message: insecureFix},
	{Name: "credentials/http localhost with credentials is accepted", Spec: spec(origins("http://localhost"), creds()), Valid: true},
	{Name: "credentials/http localhost with a port and credentials is accepted", Spec: spec(origins("http://localhost:3000"), creds()), Valid: true},
	{Name: "credentials/http localhost:* with credentials is accepted", Spec: spec(origins("http://localhost:*"), creds()), Valid: true},
	{Name: "credentials/http 127.0.0.1 with credentials is accepted", Spec: spec(origins("http://127.0.0.1"), creds()), Valid: true},
	{Name: "credentials/http 127.0.0.1 with a port and credentials is accepted", Spec: spec(origins("http://127.0.0.1:8080"), creds()), Valid: true},
	{Name: "credentials/http 127.0.0.1:* with credentials is accepted", Spec: spec(origins("http://127.0.0.1:*"), creds()), Valid: true},
	{Name: "credentials/http [::1] with credentials is accepted", Spec: spec(origins("http://[::1]"), creds()), Valid: true},
	{Name: "credentials/http [::1] with a port and credentials is accepted", Spec: spec(origins("http://[::1]:8080"), creds()), Valid: true},
	{Name: "credentials/http [::1]:* with credentials is accepted", Spec: spec(origins("http://[::1]:*"), creds()), Valid: true},
	{Name: "credentials/http origin with credentials is accepted with a warning under dangerouslyAllowInsecureOrigins", Spec: spec(origins("http://app.example.com"), creds(), insecureOrigins()), Valid: true, Warning: insecureOptIn},
	{Name: "credentials/the insecure opt-in warns even when nothing needs it", Spec: spec(insecureOrigins()), Valid: true, Warning: insecureOptIn},

	// Rule 9: duplicates and the origin limit.
	{Name: "origin/exact duplicate is rejected", Spec: spec(origins("https://app.example.com", "https://app.example.com")), Field: "spec.allowOrigins[1]", Message: `Duplicate value: "https://app.example.com"`},
	{Name: "origin/64 origins are accepted", Spec: spec(origins(numbered("https://app%d.example.com", 64)...)), Valid: true},
	{Name: "origin/65 origins are more than 64 and are rejected", Spec: spec(origins(numbered("https://app%d.example.com", 65)...)), Field: "spec.allowOrigins", Message: "must have at most 64 items"},

	// Methods.
	{Name: "methods/standard methods are accepted", Spec: spec(methods("GET", "PUT", "DELETE", "PATCH")), Valid: true},
	{Name: "methods/custom token PURGE is accepted", Spec: spec(methods("PURGE")), Valid: true},
	{Name: "methods/WebDAV method with credentials is accepted", Spec: spec(methods("PROPFIND"), creds()), Valid: true},
	{Name: "methods/method of 32 characters is accepted", Spec: spec(methods(strings.Repeat("M", 32))), Valid: true},
	{Name: "methods/method of 33 characters is rejected for its length", Spec: spec(methods(strings.Repeat("M", 33))), Field: "spec.allowMethods[0]", Message: "32"},
	{Name: "methods/* alone without credentials is accepted", Spec: spec(methods("*")), Valid: true},
	{Name: "methods/CONNECT is forbidden", Spec: spec(methods("CONNECT")), Field: "spec.allowMethods[0]", Message: `"CONNECT" ` + forbiddenVerb},
	{Name: "methods/lowercase trace is forbidden too", Spec: spec(methods("GET", "trace")), Field: "spec.allowMethods[1]", Message: `"trace" ` + forbiddenVerb},
	{Name: "methods/TRACK is forbidden", Spec: spec(methods("TRACK")), Field: "spec.allowMethods[0]", Message: forbiddenVerb},
	{Name: "methods/lowercase patch is accepted with a warning because methods are case-sensitive", Spec: spec(methods("patch")), Valid: true,
		Warning: `"patch" is not the standard method "PATCH": method names are case-sensitive`},
	{Name: "methods/lowercase patch warning names the entry's index", Spec: spec(methods("GET", "patch")), Valid: true, Warning: `spec.allowMethods[1]: "patch" is not the standard method "PATCH"`},
	{Name: "methods/PATCH and patch are different methods, not duplicates", Spec: spec(methods("PATCH", "patch")), Valid: true, Warning: `write "PATCH" unless the server really uses "patch"`},
	{Name: "methods/space-separated GET POST is not a token", Spec: spec(methods("GET POST")), Field: "spec.allowMethods[0]", Message: `"GET POST" ` + notMethodName},
	{Name: "methods/comma-separated GET,POST is not a token", Spec: spec(methods("GET,POST")), Field: "spec.allowMethods[0]", Message: notMethodName},
	{Name: "methods/exact duplicate is rejected", Spec: spec(methods("PUT", "PUT")), Field: "spec.allowMethods[1]", Message: `Duplicate value: "PUT"`},
	{Name: "methods/* with another method is rejected", Spec: spec(methods("*", "PUT")), Field: "spec.allowMethods",
		Message: `"*" (any method) must be the only entry: remove the other methods, or replace "*" with the methods you need`},
	{Name: "methods/* with credentials is rejected", Spec: spec(methods("*"), creds()), Field: "spec.allowMethods",
		Message: `"*" cannot be used with allowCredentials: true: browsers then read it as a method literally named "*"; list the methods instead, for example ["GET", "PUT", "DELETE"]`},

	// Request headers.
	{Name: "allowHeaders/ordinary headers are accepted", Spec: spec(allowHeaders("Content-Type", "X-Request-Id", "Authorization")), Valid: true},
	{Name: "allowHeaders/* alone without credentials is accepted", Spec: spec(allowHeaders("*")), Valid: true},
	{Name: "allowHeaders/* with Authorization is accepted because * never covers it", Spec: spec(allowHeaders("*", "Authorization")), Valid: true},
	{Name: "allowHeaders/* with lowercase authorization is accepted because names are case-insensitive", Spec: spec(allowHeaders("authorization", "*")), Valid: true},
	{Name: "allowHeaders/* with another header is rejected", Spec: spec(allowHeaders("*", "X-Request-Id")), Field: "spec.allowHeaders",
		Message: `"*" (any header) may only be combined with "Authorization", which "*" never covers: remove the other headers`},
	{Name: "allowHeaders/* with credentials is rejected", Spec: spec(allowHeaders("*"), creds()), Field: "spec.allowHeaders",
		Message: `"*" cannot be used with allowCredentials: true: browsers then read it as a header literally named "*"; list the headers instead, for example ["Content-Type", "Authorization"]`},
	{Name: "allowHeaders/forbidden Cookie is rejected", Spec: spec(allowHeaders("Cookie")), Field: "spec.allowHeaders[0]", Message: `"Cookie" ` + forbiddenReq},
	{Name: "allowHeaders/forbidden host is rejected in any case", Spec: spec(allowHeaders("X-Request-Id", "host")), Field: "spec.allowHeaders[1]", Message: `"host" ` + forbiddenReq},
	{Name: "allowHeaders/forbidden Origin is rejected", Spec: spec(allowHeaders("Origin")), Field: "spec.allowHeaders[0]", Message: forbiddenReq},
	{Name: "allowHeaders/forbidden Sec- prefix Sec-Fetch-Mode is rejected", Spec: spec(allowHeaders("Sec-Fetch-Mode")), Field: "spec.allowHeaders[0]", Message: forbiddenReq},
	{Name: "allowHeaders/forbidden Proxy- prefix Proxy-Authorization is rejected", Spec: spec(allowHeaders("Proxy-Authorization")), Field: "spec.allowHeaders[0]", Message: forbiddenReq},
	{Name: "allowHeaders/forbidden Access-Control-Request-Method is rejected", Spec: spec(allowHeaders("Access-Control-Request-Method")), Field: "spec.allowHeaders[0]", Message: forbiddenReq},
	{Name: "allowHeaders/forbidden Content-Length is rejected", Spec: spec(allowHeaders("Content-Length")), Field: "spec.allowHeaders[0]", Message: forbiddenReq},
	{Name: "allowHeaders/forbidden Connection is rejected", Spec: spec(allowHeaders("Connection")), Field: "spec.allowHeaders[0]", Message: forbiddenReq},
	{Name: "allowHeaders/forbidden Referer is rejected", Spec: spec(allowHeaders("Referer")), Field: "spec.allowHeaders[0]", Message: forbiddenReq},
	{Name: "allowHeaders/response-only Access-Control-Allow-Origin is rejected", Spec: spec(allowHeaders("Access-Control-Allow-Origin")), Field: "spec.allowHeaders[0]", Message: `"Access-Control-Allow-Origin" ` + responseOnly},
	{Name: "allowHeaders/response-only Access-Control-Max-Age is rejected", Spec: spec(allowHeaders("Access-Control-Max-Age")), Field: "spec.allowHeaders[0]", Message: responseOnly},
	{Name: "allowHeaders/response-only Access-Control-Expose-Headers is rejected", Spec: spec(allowHeaders("access-control-expose-headers")), Field: "spec.allowHeaders[0]", Message: responseOnly},
	{Name: "allowHeaders/case-insensitive duplicate X-A and x-a is rejected", Spec: spec(allowHeaders("X-A", "x-a")), Field: "spec.allowHeaders[1]", Message: `"x-a" ` + listedTwice},
	{Name: "allowHeaders/exact duplicate is rejected like the API server's set", Spec: spec(allowHeaders("X-A", "X-A")), Field: "spec.allowHeaders[1]", Message: `Duplicate value: "X-A"`},
	{Name: "allowHeaders/name with a space is not a token", Spec: spec(allowHeaders("X Request Id")), Field: "spec.allowHeaders[0]", Message: `"X Request Id" ` + notHeaderName},
	{Name: "allowHeaders/name with a colon is not a token", Spec: spec(allowHeaders("X-Request-Id:")), Field: "spec.allowHeaders[0]", Message: notHeaderName},
	{Name: "allowHeaders/name of 256 characters is accepted", Spec: spec(allowHeaders("X-" + strings.Repeat("a", 254))), Valid: true},
	{Name: "allowHeaders/name of 257 characters is rejected for its length", Spec: spec(allowHeaders("X-" + strings.Repeat("a", 255))), Field: "spec.allowHeaders[0]", Message: "256"},
	{Name: "allowHeaders/64 headers are accepted", Spec: spec(allowHeaders(numbered("X-Custom-%d", 64)...)), Valid: true},
	{Name: "allowHeaders/65 headers are more than 64 and are rejected", Spec: spec(allowHeaders(numbered("X-Custom-%d", 65)...)), Field: "spec.allowHeaders", Message: "must have at most 64 items"},

	// Response headers.
	{Name: "exposeHeaders/ordinary headers are accepted", Spec: spec(exposeHeaders("X-Request-Id", "X-Total-Count")), Valid: true},
	{Name: "exposeHeaders/* alone without credentials is accepted", Spec: spec(exposeHeaders("*")), Valid: true},
	{Name: "exposeHeaders/Set-Cookie is rejected", Spec: spec(exposeHeaders("Set-Cookie")), Field: "spec.exposeHeaders[0]", Message: `"Set-Cookie" ` + neverExposed},
	{Name: "exposeHeaders/lowercase set-cookie2 is rejected", Spec: spec(exposeHeaders("X-Request-Id", "set-cookie2")), Field: "spec.exposeHeaders[1]", Message: neverExposed},
	{Name: "exposeHeaders/safelisted Content-Type is accepted with a warning", Spec: spec(exposeHeaders("Content-Type")), Valid: true, Warning: `spec.exposeHeaders[0]: "Content-Type" ` + safelistedResp},
	{Name: "exposeHeaders/safelisted Cache-Control is accepted with a warning", Spec: spec(exposeHeaders("X-Request-Id", "cache-control")), Valid: true, Warning: `"cache-control" ` + safelistedResp},
	{Name: "exposeHeaders/Content-Length is safelisted here though forbidden in allowHeaders", Spec: spec(exposeHeaders("Content-Length")), Valid: true, Warning: safelistedResp},
	{Name: "exposeHeaders/case-insensitive duplicate is rejected", Spec: spec(exposeHeaders("X-Total-Count", "x-total-count")), Field: "spec.exposeHeaders[1]", Message: `"x-total-count" ` + listedTwice},
	{Name: "exposeHeaders/exact duplicate is rejected like the API server's set", Spec: spec(exposeHeaders("X-Total-Count", "X-Total-Count")), Field: "spec.exposeHeaders[1]", Message: `Duplicate value: "X-Total-Count"`},
	{Name: "exposeHeaders/name with a space is not a token", Spec: spec(exposeHeaders("X Total")), Field: "spec.exposeHeaders[0]", Message: `"X Total" ` + notHeaderName},
	{Name: "exposeHeaders/* with another header is rejected", Spec: spec(exposeHeaders("*", "X-Request-Id")), Field: "spec.exposeHeaders",
		Message: `"*" (every response header) must be the only entry: remove the other headers, or replace "*" with the headers pages need`},
	{Name: "exposeHeaders/* with credentials is rejected", Spec: spec(exposeHeaders("*"), creds()), Field: "spec.exposeHeaders",
		Message: `"*" cannot be used with allowCredentials: true: browsers then read it as a header literally named "*"; list the headers pages need instead, for example ["X-Request-Id"]`},
	{Name: "exposeHeaders/65 headers are more than 64 and are rejected", Spec: spec(exposeHeaders(numbered("X-Custom-%d", 65)...)), Field: "spec.exposeHeaders", Message: "must have at most 64 items"},

	// Max age.
	{Name: "verification/an interval of 10m is accepted", Spec: spec(verification("", "10m")), Valid: true},
	{Name: "verification/mode Disabled is accepted", Spec: spec(verification(kubecorsv1alpha1.VerificationDisabled, "")), Valid: true},
	{Name: "verification/an interval of 9s would flood the data plane and is rejected", Spec: spec(verification("", "9s")),
		Field: "spec.verification.interval", Message: `interval must be from 10s to 24h, for example "10m"`},
	{Name: "verification/an interval above 24h is rejected", Spec: spec(verification("", "25h")),
		Field: "spec.verification.interval", Message: `interval must be from 10s to 24h, for example "10m"`},
	{Name: "verification/an unknown mode is rejected", Spec: spec(verification("Sometimes", "")),
		Field: "spec.verification.mode", Message: `Unsupported value: "Sometimes": supported values: "Enabled", "Disabled"`},
	{Name: "maxAge/0 disables the preflight cache and is accepted", Spec: spec(maxAge(0)), Valid: true},
	{Name: "maxAge/7200 is Chromium's cap and is accepted without a warning", Spec: spec(maxAge(7200)), Valid: true},
	{Name: "maxAge/7201 is above Chromium's cap and is accepted with a warning", Spec: spec(maxAge(7201)), Valid: true, Warning: "spec.maxAge: 7201 " + aboveChromium},
	{Name: "maxAge/86400 is Firefox's cap and is accepted with a warning", Spec: spec(maxAge(86400)), Valid: true, Warning: "86400 " + aboveChromium},
	{Name: "maxAge/86401 is out of range", Spec: spec(maxAge(86401)), Field: "spec.maxAge", Message: maxAgeRange},
	{Name: "maxAge/-1 is out of range", Spec: spec(maxAge(-1)), Field: "spec.maxAge", Message: maxAgeRange},

	// Targets.
	{Name: "targets/neither targetRefs nor targetSelector is rejected", Spec: spec(targets()), Field: "spec",
		Message: "set targetRefs, targetSelector or both: a policy that targets nothing has no effect"},
	{Name: "targets/targetSelector alone is accepted", Spec: spec(targets(), selector(map[string]string{"app": "web"})), Valid: true},
	{Name: "targets/empty targetSelector selects every target and is accepted", Spec: spec(targets(), selector(nil)), Valid: true},
	{Name: "targets/targetRefs and targetSelector together are accepted", Spec: spec(selector(map[string]string{"app": "web"})), Valid: true},
	{Name: "targets/invalid label key in targetSelector is rejected", Spec: spec(targets(), selector(map[string]string{"bad key!": "web"})), Field: "spec.targetSelector.matchLabels", Message: `"bad key!"`},
	{Name: "targets/HTTPRoute target is accepted", Spec: spec(targets(route("web"))), Valid: true},
	{Name: "targets/sectionName on an HTTPRoute is accepted", Spec: spec(targets(section(route("web"), "api"))), Valid: true},
	{Name: "targets/a Gateway is accepted", Spec: spec(targets(ref(kubecorsv1alpha1.GroupGateway, kubecorsv1alpha1.KindGateway, "edge"))), Valid: true},
	{Name: "targets/sectionName on a Gateway (a listener) is accepted", Spec: spec(targets(section(ref(kubecorsv1alpha1.GroupGateway, kubecorsv1alpha1.KindGateway, "edge"), "https"))), Valid: true},
	{Name: "targets/a Gateway in group networking.k8s.io is rejected", Spec: spec(targets(ref(kubecorsv1alpha1.GroupNetworking, kubecorsv1alpha1.KindGateway, "edge"))), Field: "spec.targetRefs[0]",
		Message: `kind "Gateway" is not in group "networking.k8s.io": ` + wrongPairing},
	{Name: "targets/sectionName on an Ingress is rejected", Spec: spec(targets(section(webIngress(), "api"))), Field: "spec.targetRefs[0]",
		Message: "sectionName selects a named rule of an HTTPRoute or a listener of a Gateway; an Ingress has no sections: remove sectionName"},
	{Name: "targets/sectionName that is not a DNS name is rejected", Spec: spec(targets(section(route("web"), "Rule_1"))), Field: "spec.targetRefs[0].sectionName", Message: `"Rule_1"`},
	{Name: "targets/kind HTTPRoute in group networking.k8s.io is rejected", Spec: spec(targets(ref(kubecorsv1alpha1.GroupNetworking, kubecorsv1alpha1.KindHTTPRoute, "web"))), Field: "spec.targetRefs[0]",
		Message: `kind "HTTPRoute" is not in group "networking.k8s.io": ` + wrongPairing},
	{Name: "targets/kind Ingress in group gateway.networking.k8s.io is rejected", Spec: spec(targets(ref(kubecorsv1alpha1.GroupGateway, kubecorsv1alpha1.KindIngress, "web"))), Field: "spec.targetRefs[0]",
		Message: `kind "Ingress" is not in group "gateway.networking.k8s.io": ` + wrongPairing},
	{Name: "targets/Istio VirtualService target is accepted", Spec: spec(targets(ref(kubecorsv1alpha1.GroupIstio, kubecorsv1alpha1.KindVirtualService, "web"))), Valid: true},
	{Name: "targets/Contour HTTPProxy target is accepted", Spec: spec(targets(ref(kubecorsv1alpha1.GroupContour, kubecorsv1alpha1.KindHTTPProxy, "web"))), Valid: true},
	{Name: "targets/kind VirtualService in group projectcontour.io is rejected", Spec: spec(targets(ref(kubecorsv1alpha1.GroupContour, kubecorsv1alpha1.KindVirtualService, "web"))), Field: "spec.targetRefs[0]",
		Message: `kind "VirtualService" is not in group "projectcontour.io": ` + wrongPairing},
	{Name: "targets/kind Service is not a supported target", Spec: spec(targets(ref(kubecorsv1alpha1.GroupNetworking, "Service", "web"))), Field: "spec.targetRefs[0].kind", Message: `Unsupported value: "Service"`},
	{Name: "targets/duplicate reference is rejected", Spec: spec(targets(webIngress(), webIngress())), Field: "spec.targetRefs",
		Message: "each target may be listed once: remove the duplicate reference"},
	{Name: "targets/duplicate HTTPRoute section is rejected", Spec: spec(targets(section(route("web"), "api"), section(route("web"), "api"))), Field: "spec.targetRefs", Message: "each target may be listed once"},
	{Name: "targets/two sections of one HTTPRoute are distinct targets and are accepted", Spec: spec(targets(section(route("web"), "api"), section(route("web"), "static"))), Valid: true},
	{Name: "targets/a whole HTTPRoute and one of its sections are distinct references and are accepted", Spec: spec(targets(route("web"), section(route("web"), "api"))), Valid: true},
	{Name: "targets/an Ingress and an HTTPRoute of the same name are distinct targets and are accepted", Spec: spec(targets(webIngress(), route("web"))), Valid: true},
	{Name: "targets/16 targetRefs are accepted", Spec: spec(targets(manyRoutes(16)...)), Valid: true},
	{Name: "targets/17 targetRefs are more than 16 and are rejected", Spec: spec(targets(manyRoutes(17)...)), Field: "spec.targetRefs", Message: "must have at most 16 items"},
}
