package corsrules_test

import (
	"errors"
	"net/netip"
	"strings"
	"testing"

	"github.com/kubecors/kubecors/internal/corsrules"
)

// TestParseOriginPatternCanonical checks that every accepted pattern is
// already in canonical form: String gives back the input byte for byte, so
// what the user wrote is what the data planes get.
func TestParseOriginPatternCanonical(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want corsrules.OriginPattern
	}{
		{"any origin", "*", corsrules.OriginPattern{Any: true}},
		{"https host", "https://app.example.com", corsrules.OriginPattern{Scheme: corsrules.SchemeHTTPS, Host: "app.example.com"}},
		{"http host with port", "http://app.example.com:8080", corsrules.OriginPattern{Scheme: corsrules.SchemeHTTP, Host: "app.example.com", Port: 8080}},
		{"port wildcard", "http://localhost:*", corsrules.OriginPattern{Scheme: corsrules.SchemeHTTP, Host: "localhost", Port: corsrules.AnyPort}},
		{"subdomain wildcard keeps the suffix as host", "https://*.example.com", corsrules.OriginPattern{Scheme: corsrules.SchemeHTTPS, Host: "example.com", SubdomainWildcard: true}},
		{"subdomain wildcard with port", "https://*.example.com:8443", corsrules.OriginPattern{Scheme: corsrules.SchemeHTTPS, Host: "example.com", SubdomainWildcard: true, Port: 8443}},
		{"IPv4", "http://127.0.0.1:3000", corsrules.OriginPattern{Scheme: corsrules.SchemeHTTP, Host: "127.0.0.1", IP: netip.MustParseAddr("127.0.0.1"), Port: 3000}},
		{"IPv6 without brackets in Host", "http://[::1]", corsrules.OriginPattern{Scheme: corsrules.SchemeHTTP, Host: "::1", IP: netip.MustParseAddr("::1")}},
		{"IPv6 with port wildcard", "http://[2001:db8::1]:*", corsrules.OriginPattern{Scheme: corsrules.SchemeHTTP, Host: "2001:db8::1", IP: netip.MustParseAddr("2001:db8::1"), Port: corsrules.AnyPort}},
		{"punycode", "https://xn--bcher-kva.example", corsrules.OriginPattern{Scheme: corsrules.SchemeHTTPS, Host: "xn--bcher-kva.example"}},
		{":443 on http is not a default port", "http://app.example.com:443", corsrules.OriginPattern{Scheme: corsrules.SchemeHTTP, Host: "app.example.com", Port: 443}},
		{"highest port", "https://app.example.com:65535", corsrules.OriginPattern{Scheme: corsrules.SchemeHTTPS, Host: "app.example.com", Port: 65535}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := corsrules.ParseOriginPattern(tt.in)
			if err != nil {
				t.Fatalf("ParseOriginPattern(%q): %v", tt.in, err)
			}
			if got != tt.want {
				t.Errorf("ParseOriginPattern(%q) = %+v, want %+v", tt.in, got, tt.want)
			}
			if s := got.String(); s != tt.in {
				t.Errorf("String() = %q, want the input %q", s, tt.in)
			}
			again, err := corsrules.ParseOriginPattern(got.String())
			if err != nil || again != got {
				t.Errorf("re-parsing %q = %+v, %v; want %+v", got.String(), again, err, got)
			}
		})
	}
}

// TestParseOriginPatternRejects checks the reason given for inputs that are
// not patterns; the shared table covers them in context, this table pins
// the parser's own error type and wording.
func TestParseOriginPatternRejects(t *testing.T) {
	tests := []struct {
		in, reason string
	}{
		{"null", "is never a safe origin"},
		{"", "must start with http:// or https://"},
		{"https://app.example.com/", `write "https://app.example.com"`},
		{"https://App.example.com", `write "https://app.example.com"`},
		{"https://app.example.com:", "has an invalid port"},
		{"https://app.example.com:+80", "has an invalid port"},
		{"https://app.example.com:-1", "has an invalid port"},
		{"https://app.example.com:443", `write "https://app.example.com"`},
		{"https://*.example.com:*", `uses "*" where it is not allowed`},
		{"https://*.", "is not a valid origin"},
		{"http://[::1]x", "is not a valid origin"},
		{"http://[1.2.3.4]", "is not a valid origin"},
		{"http://[fe80::1%eth0]", "must not have an IPv6 zone"},
		{"https://my_app.example.com", "is not a valid origin"},
		{"http://256.0.0.1", "must write its IPv4 address as four decimal numbers"},
		{"http://0x7f000001", "must write its IPv4 address as four decimal numbers"},
		{"https://[::1]", "uses https with an IP address"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			_, err := corsrules.ParseOriginPattern(tt.in)
			var oe *corsrules.OriginError
			if !errors.As(err, &oe) {
				t.Fatalf("ParseOriginPattern(%q) error = %v, want an *OriginError", tt.in, err)
			}
			if oe.Input != tt.in || !strings.Contains(err.Error(), tt.reason) {
				t.Errorf("ParseOriginPattern(%q) error = %q, want it about %q saying %q", tt.in, err, tt.in, tt.reason)
			}
		})
	}
}

// TestParseRequestOrigin checks that only the exact serialization a browser
// sends is an origin: anything else must never match a pattern, however
// close it looks.
func TestParseRequestOrigin(t *testing.T) {
	valid := []struct {
		in   string
		want corsrules.RequestOrigin
	}{
		{"https://app.example.com", corsrules.RequestOrigin{Scheme: corsrules.SchemeHTTPS, Host: "app.example.com", Port: 443}},
		{"http://app.example.com", corsrules.RequestOrigin{Scheme: corsrules.SchemeHTTP, Host: "app.example.com", Port: 80}},
		{"http://localhost:3000", corsrules.RequestOrigin{Scheme: corsrules.SchemeHTTP, Host: "localhost", Port: 3000}},
		{"http://app.example.com:443", corsrules.RequestOrigin{Scheme: corsrules.SchemeHTTP, Host: "app.example.com", Port: 443}},
		{"http://127.0.0.1:8080", corsrules.RequestOrigin{Scheme: corsrules.SchemeHTTP, Host: "127.0.0.1", Port: 8080}},
		// Browsers send https origins with IP hosts; only patterns may not name one.
		{"https://127.0.0.1", corsrules.RequestOrigin{Scheme: corsrules.SchemeHTTPS, Host: "127.0.0.1", Port: 443}},
		{"https://[::1]:8443", corsrules.RequestOrigin{Scheme: corsrules.SchemeHTTPS, Host: "::1", Port: 8443}},
		{"http://[::1]", corsrules.RequestOrigin{Scheme: corsrules.SchemeHTTP, Host: "::1", Port: 80}},
		{"http://[2001:db8::1]:8080", corsrules.RequestOrigin{Scheme: corsrules.SchemeHTTP, Host: "2001:db8::1", Port: 8080}},
		{"https://xn--bcher-kva.example", corsrules.RequestOrigin{Scheme: corsrules.SchemeHTTPS, Host: "xn--bcher-kva.example", Port: 443}},
		// What a browser sends for http://[::ffff:127.0.0.1]: the URL
		// standard serializes IPv6 in hexadecimal only.
		{"http://[::ffff:7f00:1]", corsrules.RequestOrigin{Scheme: corsrules.SchemeHTTP, Host: "::ffff:7f00:1", Port: 80}},
	}
	for _, tt := range valid {
		t.Run("accepts "+tt.in, func(t *testing.T) {
			got, err := corsrules.ParseRequestOrigin(tt.in)
			if err != nil {
				t.Fatalf("ParseRequestOrigin(%q): %v", tt.in, err)
			}
			if got != tt.want {
				t.Errorf("ParseRequestOrigin(%q) = %+v, want %+v", tt.in, got, tt.want)
			}
		})
	}

	rejected := []struct {
		in, why string
	}{
		{"null", "sent by sandboxed iframes and local files"},
		{"", "no Origin"},
		{"*", "a pattern, not an origin"},
		{"https://*.example.com", "a pattern, not an origin"},
		{"http://localhost:*", "a pattern, not an origin"},
		{"https://app.example.com/", "browsers never send a path"},
		{"https://app.example.com/api", "browsers never send a path"},
		{"https://app.example.com?x=1", "browsers never send a query"},
		{"HTTPS://app.example.com", "browsers send the scheme lowercase"},
		{"https://App.example.com", "browsers send the host lowercase"},
		// A browser leaves the default port out, so a header with it was
		// not written by a browser.
		{"https://app.example.com:443", "browsers never send the default port"},
		{"http://app.example.com:80", "browsers never send the default port"},
		{"http://127.1", "browsers send the dotted quad"},
		{"http://[0:0:0:0:0:0:0:1]", "browsers send compressed IPv6"},
		{"https://app.example.com ", "trailing whitespace"},
		{"https://user@app.example.com", "browsers never send userinfo"},
		{"app.example.com", "no scheme"},
		{"file://", "not an http(s) origin"},
		{"chrome-extension://abcdefghijklmnop", "not an http(s) origin"},
		{"https://", "no host"},
		{"https://bücher.example", "browsers send punycode"},
		// Browsers do send these two, but no pattern can allow them (https
		// with an IP host, underscores in a host), so rejecting them
		// changes no match.
		{"https://my_app.example.com", "no pattern can allow an underscore"},
	}
	for _, tt := range rejected {
		t.Run("rejects "+tt.in, func(t *testing.T) {
			got, err := corsrules.ParseRequestOrigin(tt.in)
			if !errors.Is(err, corsrules.ErrNotAnOrigin) {
				t.Errorf("ParseRequestOrigin(%q) = %+v, %v; want ErrNotAnOrigin (%s)", tt.in, got, err, tt.why)
			}
		})
	}
}

// TestMatchOrigin covers the matching attacks of PortSwigger's research and
// the port, scheme and IPv6 rules. Each pair is checked through MatchOrigin
// and through the parsed Matches, which must agree.
func TestMatchOrigin(t *testing.T) {
	tests := []struct {
		pattern, origin string
		want            bool
		why             string
	}{
		// Subdomain wildcard: one or more labels, never the apex.
		{"https://*.example.com", "https://app.example.com", true, "one label"},
		{"https://*.example.com", "https://a.b.example.com", true, "two labels"},
		{"https://*.example.com", "https://example.com", false, "never the apex"},
		{"https://*.example.com", "https://evilexample.com", false, "suffix attack: no dot before the suffix"},
		{"https://*.example.com", "https://xexample.com", false, "suffix attack: one letter in front"},
		{"https://*.example.com", "https://example.com.evil.net", false, "prefix attack"},
		{"https://*.example.com", "https://app.example.com.evil.net", false, "prefix attack with a subdomain"},
		{"https://*.example.com", "http://app.example.com", false, "scheme mismatch"},
		{"https://*.example.com", "https://app.example.com:8443", false, "no port means the default port only"},
		{"https://*.example.com", "https://app.example.co", false, "different suffix"},
		{"https://*.example.com", "https://.example.com", false, "empty label is not an origin"},
		{"https://*.example.com:8443", "https://app.example.com:8443", true, "wildcard with explicit port"},
		{"https://*.example.com:8443", "https://app.example.com", false, "explicit port excludes the default"},
		{"https://*.co.uk", "https://evil.co.uk", true, "matching does not judge public suffixes; validation rejects the pattern"},
		// Exact origins.
		{"https://example.com", "https://example.com", true, "identical"},
		{"https://example.com", "https://example.com.evil.net", false, "prefix attack"},
		{"https://example.com", "https://evilexample.com", false, "suffix attack"},
		{"https://example.com", "https://app.example.com", false, "an exact origin covers no subdomain"},
		{"https://example.com", "http://example.com", false, "scheme mismatch"},
		{"http://example.com", "https://example.com", false, "scheme mismatch the other way"},
		{"https://example.com", "https://example.com:443", false, "browsers never send the default port"},
		{"https://example.com", "https://example.com:8443", false, "different port"},
		{"https://example.com", "https://EXAMPLE.com", false, "not a browser's serialization"},
		{"https://example.com", "https://example.com/", false, "not a browser's serialization"},
		{"https://app.example.com", "https://appxexample.com", false, "unescaped-dot attack: a dot is not any character"},
		{"https://app.example.com", "https://app-example.com", false, "unescaped-dot attack with a hyphen"},
		{"https://example.com", "null", false, "null never matches"},
		// Ports.
		{"http://localhost:*", "http://localhost", true, "port wildcard includes the default port"},
		{"http://localhost:*", "http://localhost:3000", true, "port wildcard"},
		{"http://localhost:*", "http://localhost:65535", true, "port wildcard, highest port"},
		{"http://localhost:*", "https://localhost:3000", false, "port wildcard keeps the scheme"},
		{"http://localhost:*", "http://localhost.evil.net:3000", false, "port wildcard keeps the host"},
		{"http://localhost:*", "http://127.0.0.1:3000", false, "localhost is a name, not an address"},
		{"http://localhost:3000", "http://localhost:3000", true, "explicit port"},
		{"http://localhost:3000", "http://localhost:3001", false, "other port"},
		{"http://localhost:3000", "http://localhost", false, "explicit port excludes the default"},
		{"http://localhost", "http://localhost", true, "default port"},
		{"http://localhost", "http://localhost:8080", false, "no port means the default port only"},
		{"http://localhost", "http://localhost:80", false, "browsers never send the default port"},
		{"http://example.com:443", "http://example.com:443", true, ":443 is a plain port on http"},
		{"http://example.com:443", "https://example.com", false, "same port number, other scheme"},
		// IP hosts.
		{"http://127.0.0.1", "http://127.0.0.1", true, "IPv4"},
		{"http://127.0.0.1", "http://127.1", false, "legacy IPv4 form is not an origin"},
		{"http://127.0.0.1", "http://127.0.0.1.evil.net", false, "prefix attack on an IP"},
		{"http://[::1]:*", "http://[::1]:8080", true, "IPv6 with port wildcard"},
		{"http://[::1]:*", "http://[::1]", true, "IPv6 default port under the port wildcard"},
		{"http://[::1]:*", "http://[0:0:0:0:0:0:0:1]:8080", false, "uncompressed IPv6 is not an origin"},
		{"http://[::1]:*", "http://127.0.0.1:8080", false, "IPv4 loopback is another host"},
		{"http://[2001:db8::1]:8080", "http://[2001:db8::1]:8080", true, "IPv6 with port"},
		{"http://[2001:db8::1]:8080", "http://[2001:db8::2]:8080", false, "other IPv6 address"},
		// The lone "*".
		{"*", "https://anything.example", true, "any origin"},
		{"*", "http://localhost:3000", true, "any origin, any port"},
		{"*", "null", true, "* is any origin, the opaque null of sandboxed iframes included, as browsers read it"},
		{"*", "https://app.example.com/", true, "* answers every Origin value, even one no browser sends"},
		// Malformed patterns never match.
		{"https://*example.com", "https://evilexample.com", false, "invalid pattern"},
		{"https://example.com/", "https://example.com", false, "invalid pattern"},
		{"HTTPS://EXAMPLE.COM", "https://example.com", false, "invalid pattern"},
		{"null", "null", false, "null is no pattern"},
	}
	for _, tt := range tests {
		t.Run(tt.pattern+" vs "+tt.origin, func(t *testing.T) {
			if got := corsrules.MatchOrigin(tt.pattern, tt.origin); got != tt.want {
				t.Errorf("MatchOrigin(%q, %q) = %v, want %v: %s", tt.pattern, tt.origin, got, tt.want, tt.why)
			}
			p, perr := corsrules.ParseOriginPattern(tt.pattern)
			o, oerr := corsrules.ParseRequestOrigin(tt.origin)
			if perr == nil && oerr == nil && p.Matches(o) != tt.want {
				t.Errorf("%+v.Matches(%+v) = %v, want %v: %s", p, o, !tt.want, tt.want, tt.why)
			}
		})
	}
}

// TestPublicSuffixWildcard checks the Public Suffix List lookup on its own,
// private suffixes included.
func TestPublicSuffixWildcard(t *testing.T) {
	tests := []struct {
		pattern string
		want    bool
	}{
		{"https://*.com", true},
		{"https://*.co.uk", true},
		{"https://*.github.io", true},
		{"https://*.example.com", false},
		{"https://*.example.co.uk", false},
		{"https://example.com", false},
		{"https://github.io", false},
		{"*", false},
	}
	for _, tt := range tests {
		t.Run(tt.pattern, func(t *testing.T) {
			p, err := corsrules.ParseOriginPattern(tt.pattern)
			if err != nil {
				t.Fatalf("ParseOriginPattern(%q): %v", tt.pattern, err)
			}
			if got := corsrules.PublicSuffixWildcard(p); got != tt.want {
				t.Errorf("PublicSuffixWildcard(%q) = %v, want %v", tt.pattern, got, tt.want)
			}
		})
	}
}

// TestIsLoopback checks the hosts that may use plain http with credentials.
func TestIsLoopback(t *testing.T) {
	tests := []struct {
		pattern string
		want    bool
	}{
		{"http://localhost", true},
		{"http://localhost:*", true},
		{"http://127.0.0.1:8080", true},
		{"http://[::1]", true},
		{"http://127.0.0.2", false},
		{"http://localhost.example.com", false},
		{"https://*.localhost", false},
		{"*", false},
	}
	for _, tt := range tests {
		t.Run(tt.pattern, func(t *testing.T) {
			p, err := corsrules.ParseOriginPattern(tt.pattern)
			if err != nil {
				t.Fatalf("ParseOriginPattern(%q): %v", tt.pattern, err)
			}
			if got := p.IsLoopback(); got != tt.want {
				t.Errorf("IsLoopback(%q) = %v, want %v", tt.pattern, got, tt.want)
			}
		})
	}
}
