package corsrules_test

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net/netip"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/kubecors/kubecors/internal/corsrules"
	"github.com/kubecors/kubecors/internal/corsrules/corsrulestest"
)

// tableOrigins returns every distinct allowOrigins entry of the shared
// table, valid or not: the misconfigurations people actually write are the
// best starting points for the fuzzer.
func tableOrigins() []string {
	seen := map[string]bool{}
	var out []string
	for _, tc := range corsrulestest.Cases {
		for _, o := range tc.Spec.AllowOrigins {
			if !seen[string(o)] {
				seen[string(o)] = true
				out = append(out, string(o))
			}
		}
	}
	return out
}

// requestOriginSeeds are Origin header values, honest and hostile, that the
// match fuzzer pairs with every table origin.
var requestOriginSeeds = []string{
	"https://app.example.com",
	"https://example.com",
	"https://evilexample.com",
	"https://example.com.evil.net",
	"https://a.b.example.com",
	"http://localhost:3000",
	"http://[::1]:8080",
	"http://127.0.0.1",
	"https://app.example.com:443",
	"null",
}

// suggestion finds the origin an error message tells the user to write.
var suggestion = regexp.MustCompile(`write ("(?:[^"\\]|\\.)*")`)

// FuzzParseOriginPattern checks that the parser never panics, that an
// accepted pattern is already canonical (String gives back the input and
// re-parses to the same pattern: duplicate detection relies on it), and
// that it is lowercase ASCII with nothing after the host and port.
func FuzzParseOriginPattern(f *testing.F) {
	for _, o := range tableOrigins() {
		f.Add(o)
	}
	f.Fuzz(func(t *testing.T, s string) {
		p, err := corsrules.ParseOriginPattern(s)
		if err != nil {
			var oe *corsrules.OriginError
			if !errors.As(err, &oe) || oe.Input != s {
				t.Fatalf("ParseOriginPattern(%q) error %v is not an *OriginError about the input", s, err)
			}
			// A suggestion to write the input itself would send the user
			// round in a circle.
			if m := suggestion.FindStringSubmatch(oe.Reason); m != nil {
				if fix, uerr := strconv.Unquote(m[1]); uerr == nil && fix == s {
					t.Errorf("ParseOriginPattern(%q) suggests writing the input itself: %v", s, err)
				}
			}
			return
		}
		canonical := p.String()
		if canonical != s {
			t.Errorf("ParseOriginPattern(%q) accepted a non-canonical pattern: String() = %q", s, canonical)
		}
		again, err := corsrules.ParseOriginPattern(canonical)
		if err != nil {
			t.Fatalf("String() of %q = %q does not re-parse: %v", s, canonical, err)
		}
		if again != p {
			t.Errorf("re-parsing %q gives %+v, want %+v", canonical, again, p)
		}
		if p.Any {
			return
		}
		for i := 0; i < len(canonical); i++ {
			if c := canonical[i]; c >= 0x80 || 'A' <= c && c <= 'Z' {
				t.Fatalf("pattern %q is not lowercase ASCII", canonical)
			}
		}
		_, hostport, _ := strings.Cut(canonical, "://")
		if strings.ContainsAny(hostport, "/?#@ \t\r\n") {
			t.Errorf("pattern %q has more than scheme://host[:port]", canonical)
		}
		if p.Scheme != corsrules.SchemeHTTP && p.Scheme != corsrules.SchemeHTTPS {
			t.Errorf("pattern %q has scheme %q", canonical, p.Scheme)
		}
	})
}

// FuzzMatchOrigin checks the matching invariants that keep a policy from
// allowing more than it says: no panic; nothing matches an Origin that is
// not a browser's exact serialization; a subdomain wildcard never matches
// its apex; a match implies the same scheme and a host that is the
// pattern's or under it.
func FuzzMatchOrigin(f *testing.F) {
	for _, o := range tableOrigins() {
		f.Add(o, o)
		for _, r := range requestOriginSeeds {
			f.Add(o, r)
		}
	}
	f.Fuzz(func(t *testing.T, pattern, origin string) {
		matched := corsrules.MatchOrigin(pattern, origin)

		o, oerr := corsrules.ParseRequestOrigin(origin)
		if pattern == "*" {
			// "*" is any origin, opaque ones ("null") included, as
			// browsers and every data plane read it.
			if !matched {
				t.Fatalf("MatchOrigin(%q, %q) = false; * matches every origin", pattern, origin)
			}
		} else if oerr != nil {
			if matched {
				t.Fatalf("MatchOrigin(%q, %q) matched an origin ParseRequestOrigin rejects: %v", pattern, origin, oerr)
			}
		} else if got := serialize(o); got != origin {
			t.Fatalf("ParseRequestOrigin(%q) accepted a value a browser would send as %q", origin, got)
		}

		p, perr := corsrules.ParseOriginPattern(pattern)
		if perr != nil {
			if matched {
				t.Fatalf("MatchOrigin(%q, %q) matched with an invalid pattern: %v", pattern, origin, perr)
			}
			return
		}
		if p.SubdomainWildcard {
			if apex := apexOf(p); corsrules.MatchOrigin(pattern, apex) {
				t.Errorf("subdomain wildcard %q matches its apex %q", pattern, apex)
			}
		}
		if !matched || p.Any {
			return
		}
		if p.Scheme != o.Scheme {
			t.Errorf("MatchOrigin(%q, %q) matched across schemes", pattern, origin)
		}
		switch {
		case p.SubdomainWildcard && !strings.HasSuffix(o.Host, "."+p.Host):
			t.Errorf("MatchOrigin(%q, %q) matched a host that is not under %q", pattern, origin, p.Host)
		case !p.SubdomainWildcard && o.Host != p.Host:
			t.Errorf("MatchOrigin(%q, %q) matched another host", pattern, origin)
		}
	})
}

// serialize writes a request origin the way a browser does: the default
// port left out, IPv6 in brackets.
func serialize(o corsrules.RequestOrigin) string {
	host := o.Host
	if strings.Contains(host, ":") {
		host = "[" + host + "]"
	}
	s := string(o.Scheme) + "://" + host
	if (o.Scheme == corsrules.SchemeHTTPS && o.Port != 443) || (o.Scheme == corsrules.SchemeHTTP && o.Port != 80) {
		s += ":" + strconv.Itoa(o.Port)
	}
	return s
}

// apexOf is the origin of a subdomain wildcard's own domain, on a port the
// pattern allows.
func apexOf(p corsrules.OriginPattern) string {
	s := string(p.Scheme) + "://" + p.Host
	if p.Port > 0 {
		s += ":" + strconv.Itoa(p.Port)
	}
	return s
}

// FuzzIPv6Origin checks the IPv6 serialization against the URL standard for
// any address: netip's RFC 5952 form is what browsers send, except that
// browsers never write an IPv4-mapped address with a dotted tail.
func FuzzIPv6Origin(f *testing.F) {
	f.Add(uint64(0), uint64(1))                        // ::1
	f.Add(uint64(0x20010db8<<32), uint64(1))           // 2001:db8::1
	f.Add(uint64(0), uint64(0xffff7f000001))           // ::ffff:7f00:1
	f.Add(uint64(0x0001000000000001), uint64(0x10001)) // 1::1:0:0:1:1, the first of two equal zero runs
	f.Fuzz(func(t *testing.T, hi, lo uint64) {
		var b [16]byte
		binary.BigEndian.PutUint64(b[:8], hi)
		binary.BigEndian.PutUint64(b[8:], lo)
		addr := netip.AddrFrom16(b)
		want := addr.String()
		if addr.Is4In6() {
			want = fmt.Sprintf("::ffff:%x:%x", binary.BigEndian.Uint16(b[12:14]), binary.BigEndian.Uint16(b[14:16]))
			if _, err := corsrules.ParseOriginPattern("http://[" + addr.String() + "]"); err == nil {
				t.Errorf("accepted the dotted form %q, which browsers never send", addr.String())
			}
		}
		p, err := corsrules.ParseOriginPattern("http://[" + want + "]")
		if err != nil {
			t.Fatalf("rejected the browser's form %q: %v", want, err)
		}
		if p.Host != want || p.IP != addr {
			t.Errorf("parsed %q as host %q, IP %v", want, p.Host, p.IP)
		}
		if _, err := corsrules.ParseRequestOrigin("http://[" + want + "]:8080"); err != nil {
			t.Errorf("ParseRequestOrigin rejected the browser's form %q: %v", want, err)
		}
	})
}
