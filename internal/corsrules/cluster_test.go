package corsrules_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/validation/field"

	kubecorsv1alpha1 "github.com/kubecors/kubecors/api/v1alpha1"
	"github.com/kubecors/kubecors/internal/corsrules"
)

func mustParse(t testing.TB, s string) corsrules.OriginPattern {
	t.Helper()
	p, err := corsrules.ParseOriginPattern(s)
	if err != nil {
		t.Fatalf("ParseOriginPattern(%q): %v", s, err)
	}
	return p
}

// TestOriginWithin covers the containment rules one by one: scheme, port
// and host sets, wildcards on either side, and the lone "*".
func TestOriginWithin(t *testing.T) {
	tests := []struct {
		name         string
		inner, outer string
		want         bool
	}{
		// Hosts, exact outer: only the same host.
		{"an exact origin is within itself", "https://app.example.com", "https://app.example.com", true},
		{"another exact host is not within an exact origin", "https://api.example.com", "https://app.example.com", false},
		{"a subdomain is not within an exact origin", "https://a.app.example.com", "https://app.example.com", false},
		{"a wildcard is not within the exact origin of its suffix", "https://*.example.com", "https://example.com", false},
		// Hosts, wildcard outer: strictly under the suffix.
		{"one label under the suffix is within the wildcard", "https://app.example.com", "https://*.example.com", true},
		{"several labels under the suffix are within the wildcard", "https://a.b.example.com", "https://*.example.com", true},
		{"the apex is not within its own wildcard", "https://example.com", "https://*.example.com", false},
		{"a host sharing only the text of the suffix is not within it", "https://evilexample.com", "https://*.example.com", false},
		{"a host with the suffix in front is not within it", "https://example.com.evil.net", "https://*.example.com", false},
		{"a narrower wildcard is within a wider one", "https://*.a.example.com", "https://*.example.com", true},
		{"a much narrower wildcard is within a wider one", "https://*.b.a.example.com", "https://*.example.com", true},
		{"a wildcard is within itself", "https://*.example.com", "https://*.example.com", true},
		{"a wider wildcard is not within a narrower one", "https://*.example.com", "https://*.a.example.com", false},
		{"a sibling wildcard is not within another", "https://*.b.example.com", "https://*.a.example.com", false},
		{"a wildcard over a textual suffix is not within it", "https://*.evilexample.com", "https://*.example.com", false},
		// Schemes.
		{"plain http is not within an https pattern", "http://app.example.com", "https://*.example.com", false},
		{"https is not within a plain-http pattern", "https://localhost", "http://localhost:*", false},
		// Ports.
		{"an explicit port is within the port wildcard", "http://localhost:3000", "http://localhost:*", true},
		{"the default port is within the port wildcard", "http://localhost", "http://localhost:*", true},
		{"the port wildcard is within itself", "http://localhost:*", "http://localhost:*", true},
		{"the port wildcard is not within one port", "http://localhost:*", "http://localhost:3000", false},
		{"the port wildcard is not within the default port", "http://localhost:*", "http://localhost", false},
		{"an explicit port is not within the default port", "https://app.example.com:8443", "https://*.example.com", false},
		{"the default port is not within an explicit port", "https://app.example.com", "https://*.example.com:8443", false},
		{"an explicit port is within the same explicit port", "https://app.example.com:8443", "https://*.example.com:8443", true},
		{"another explicit port is not within an explicit port", "http://localhost:3000", "http://localhost:3001", false},
		// IP hosts: equal addresses only.
		{"an IP origin is within the same IP with any port", "http://127.0.0.1:8080", "http://127.0.0.1:*", true},
		{"an IP origin is not within localhost", "http://127.0.0.1:8080", "http://localhost:*", false},
		{"another IPv4 address is not within an IP pattern", "http://127.0.0.2", "http://127.0.0.1", false},
		{"an IPv6 origin is within the same address", "http://[::1]:8080", "http://[::1]:*", true},
		// The lone "*".
		{"every pattern is within any origin", "https://*.example.com", "*", true},
		{"any origin is within any origin", "*", "*", true},
		{"any origin is not within a wildcard", "*", "https://*.example.com", false},
		{"any origin is not within a port wildcard", "*", "http://localhost:*", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			inner, outer := mustParse(t, tt.inner), mustParse(t, tt.outer)
			if got := corsrules.OriginWithin(inner, outer); got != tt.want {
				t.Errorf("OriginWithin(%s, %s) = %v, want %v", tt.inner, tt.outer, got, tt.want)
			}
		})
	}
}

// samplePatterns are every valid pattern built from hosts chosen to sit
// inside, beside and above one another, with each scheme and port form.
func samplePatterns(t testing.TB) []corsrules.OriginPattern {
	t.Helper()
	hosts := []string{
		"example.com", "a.example.com", "b.a.example.com", "b.example.com",
		"evilexample.com", "example.org", "localhost", "app.localhost",
		"127.0.0.1", "10.0.0.1", "[::1]",
	}
	ports := []string{"", ":*", ":3000", ":8443"}
	patterns := []corsrules.OriginPattern{mustParse(t, "*")}
	for _, scheme := range []string{"http", "https"} {
		for _, host := range hosts {
			for _, wildcard := range []string{"", "*."} {
				for _, port := range ports {
					// Combinations the rules reject (a wildcard with a port
					// wildcard, https with an IP) are not patterns.
					if p, err := corsrules.ParseOriginPattern(scheme + "://" + wildcard + host + port); err == nil {
						patterns = append(patterns, p)
					}
				}
			}
		}
	}
	return patterns
}

// sampleOrigins returns concrete origins derived from the patterns: each
// pattern's own hosts and ports, one and two labels under a wildcard's
// suffix, and near misses (the suffix itself, a host sharing only its text,
// a subdomain of an exact host, the other scheme, other ports). Among them
// is, for any two patterns a and b with a not within b, an origin a
// matches and b does not; TestOriginWithinAgainstSamples shows it.
func sampleOrigins(patterns ...corsrules.OriginPattern) []corsrules.RequestOrigin {
	hosts := map[string]bool{"unrelated.example.net": true}
	ports := map[int]bool{1: true, 65535: true}
	for _, p := range patterns {
		if p.Any {
			continue
		}
		hosts[p.Host] = true
		if p.Port > 0 {
			ports[p.Port] = true
		}
		if p.IP.IsValid() {
			continue
		}
		// "x." is one label under a wildcard's suffix, or a subdomain
		// an exact pattern must not match; "a.b." is two labels.
		hosts["x."+p.Host] = true
		hosts["a.b."+p.Host] = true
		hosts["evil"+p.Host] = true
	}
	var origins []corsrules.RequestOrigin
	for _, scheme := range []corsrules.Scheme{corsrules.SchemeHTTP, corsrules.SchemeHTTPS} {
		schemePorts := map[int]bool{80: scheme == corsrules.SchemeHTTP, 443: scheme == corsrules.SchemeHTTPS}
		for port := range ports {
			schemePorts[port] = true
		}
		for host := range hosts {
			for port, ok := range schemePorts {
				if ok {
					origins = append(origins, corsrules.RequestOrigin{Scheme: scheme, Host: host, Port: port})
				}
			}
		}
	}
	return origins
}

// matches reads "*" as MatchOrigin does: every origin.
func matches(p corsrules.OriginPattern, o corsrules.RequestOrigin) bool {
	return p.Any || p.Matches(o)
}

// checkWithinAgainstSamples checks OriginWithin(a, b) against the sampled
// origins of both patterns: when it says yes, no sample of a may escape b;
// when it says no, some sample of a must escape b, the witness that the
// answer is right.
func checkWithinAgainstSamples(t *testing.T, a, b corsrules.OriginPattern) {
	t.Helper()
	within := corsrules.OriginWithin(a, b)
	var witness *corsrules.RequestOrigin
	for _, o := range sampleOrigins(a, b) {
		if matches(a, o) && !matches(b, o) {
			witness = &o
			break
		}
	}
	switch {
	case within && witness != nil:
		t.Errorf("OriginWithin(%s, %s) = true, but %s://%s:%d matches the first and not the second", a, b, witness.Scheme, witness.Host, witness.Port)
	case !within && witness == nil:
		t.Errorf("OriginWithin(%s, %s) = false, but no sampled origin of the first escapes the second", a, b)
	}
}

// TestOriginWithinAgainstSamples is the property test of OriginWithin:
// on every pair of sample patterns, containment agrees with Matches on
// concrete origins in both directions.
func TestOriginWithinAgainstSamples(t *testing.T) {
	patterns := samplePatterns(t)
	if len(patterns) < 80 {
		t.Fatalf("only %d sample patterns; the property needs a wide pool", len(patterns))
	}
	pairs, within := 0, 0
	for _, a := range patterns {
		for _, b := range patterns {
			checkWithinAgainstSamples(t, a, b)
			pairs++
			if corsrules.OriginWithin(a, b) {
				within++
			}
		}
	}
	// Guards the pool: a property that holds because nothing is within
	// anything proves little.
	if within < len(patterns) || within == pairs {
		t.Errorf("%d of %d pairs within each other: the pool does not exercise both answers", within, pairs)
	}
}

// TestOriginWithinIsAnOrder checks what containment of sets implies:
// every pattern is within itself, and containment is transitive.
func TestOriginWithinIsAnOrder(t *testing.T) {
	patterns := samplePatterns(t)
	for _, a := range patterns {
		if !corsrules.OriginWithin(a, a) {
			t.Errorf("%s is not within itself", a)
		}
		for _, b := range patterns {
			if !corsrules.OriginWithin(a, b) {
				continue
			}
			for _, c := range patterns {
				if corsrules.OriginWithin(b, c) && !corsrules.OriginWithin(a, c) {
					t.Errorf("%s within %s within %s, but not within %s", a, b, c, c)
				}
			}
		}
	}
}

// FuzzOriginWithin runs the property of TestOriginWithinAgainstSamples on
// any two strings that parse as patterns.
func FuzzOriginWithin(f *testing.F) {
	for _, seed := range [][2]string{
		{"https://*.a.example.com", "https://*.example.com"},
		{"https://example.com", "https://*.example.com"},
		{"http://localhost:3000", "http://localhost:*"},
		{"*", "https://*.example.com"},
		{"http://[::1]:8080", "http://[::1]:*"},
	} {
		f.Add(seed[0], seed[1])
	}
	f.Fuzz(func(t *testing.T, inner, outer string) {
		a, errA := corsrules.ParseOriginPattern(inner)
		b, errB := corsrules.ParseOriginPattern(outer)
		if errA != nil || errB != nil {
			return
		}
		checkWithinAgainstSamples(t, a, b)
	})
}

// rules builds a ClusterCorsRules; ccr is short because every case has one.
type ccr = kubecorsv1alpha1.ClusterCorsRules

// policy builds a CorsPolicySpec with the fields the cases vary.
func policy(opts ...func(*kubecorsv1alpha1.CorsPolicySpec)) kubecorsv1alpha1.CorsPolicySpec {
	spec := kubecorsv1alpha1.CorsPolicySpec{MaxAge: new(int32(5)), AllowCredentials: new(false)}
	for _, opt := range opts {
		opt(&spec)
	}
	return spec
}

func withOrigins(origins ...string) func(*kubecorsv1alpha1.CorsPolicySpec) {
	return func(s *kubecorsv1alpha1.CorsPolicySpec) {
		for _, o := range origins {
			s.AllowOrigins = append(s.AllowOrigins, kubecorsv1alpha1.Origin(o))
		}
	}
}

func withHeaders(headers ...string) func(*kubecorsv1alpha1.CorsPolicySpec) {
	return func(s *kubecorsv1alpha1.CorsPolicySpec) {
		for _, h := range headers {
			s.AllowHeaders = append(s.AllowHeaders, kubecorsv1alpha1.RequestHeaderName(h))
		}
	}
}

func withMethods(methods ...string) func(*kubecorsv1alpha1.CorsPolicySpec) {
	return func(s *kubecorsv1alpha1.CorsPolicySpec) {
		for _, m := range methods {
			s.AllowMethods = append(s.AllowMethods, kubecorsv1alpha1.HTTPMethod(m))
		}
	}
}

func withCredentials(s *kubecorsv1alpha1.CorsPolicySpec) { s.AllowCredentials = new(true) }

func withMaxAge(seconds *int32) func(*kubecorsv1alpha1.CorsPolicySpec) {
	return func(s *kubecorsv1alpha1.CorsPolicySpec) { s.MaxAge = seconds }
}

func withInsecureOptIn(s *kubecorsv1alpha1.CorsPolicySpec) { s.DangerouslyAllowInsecureOrigins = true }

func withPublicSuffixOptIn(s *kubecorsv1alpha1.CorsPolicySpec) {
	s.DangerouslyAllowPublicSuffixWildcards = true
}

func originList(origins ...string) []kubecorsv1alpha1.Origin {
	out := make([]kubecorsv1alpha1.Origin, 0, len(origins))
	for _, o := range origins {
		out = append(out, kubecorsv1alpha1.Origin(o))
	}
	return out
}

// violation is an expected Violation: Rule and Field exactly, and a
// fragment of the Message.
type violation struct {
	rule, field, message string
}

// TestEvaluateClusterRules covers each rule: what breaks it, what does
// not, where the violation points, and what its message says to do.
func TestEvaluateClusterRules(t *testing.T) {
	const (
		origins  = corsrules.RuleAllowedOrigins
		creds    = corsrules.RuleForbidCredentials
		https    = corsrules.RuleRequireHTTPS
		loopback = corsrules.RuleForbidLoopback
		maxAge   = corsrules.RuleMaxMaxAge
		headers  = corsrules.RuleForbiddenRequestHeaders
		methods  = corsrules.RuleForbiddenMethods
		optIns   = corsrules.RuleForbidOptIns
	)
	corp := originList("https://*.example.com", "http://localhost:*")
	tests := []struct {
		name  string
		rules ccr
		spec  kubecorsv1alpha1.CorsPolicySpec
		want  []violation
	}{
		// No rules.
		{
			name: "empty rules/a permissive policy breaks nothing",
			spec: policy(withOrigins("*"), withHeaders("*"), withMethods("*"), withMaxAge(new(int32(86400))), withInsecureOptIn),
		},
		// allowedOrigins.
		{
			name:  "allowedOrigins/an exact origin under the allowed wildcard is within it",
			rules: ccr{AllowedOrigins: corp},
			spec:  policy(withOrigins("https://app.example.com")),
		},
		{
			name:  "allowedOrigins/a narrower wildcard is within a wider one",
			rules: ccr{AllowedOrigins: corp},
			spec:  policy(withOrigins("https://*.a.example.com")),
		},
		{
			name:  "allowedOrigins/a wider wildcard is outside a narrower one",
			rules: ccr{AllowedOrigins: originList("https://*.a.example.com")},
			spec:  policy(withOrigins("https://*.example.com")),
			want:  []violation{{origins, "spec.allowOrigins[0]", `"https://*.example.com" is outside the allowed origins https://*.a.example.com; use an origin within them`}},
		},
		{
			name:  "allowedOrigins/the apex is outside its own wildcard",
			rules: ccr{AllowedOrigins: corp},
			spec:  policy(withOrigins("https://example.com")),
			want:  []violation{{origins, "spec.allowOrigins[0]", `"https://example.com" is outside`}},
		},
		{
			name:  "allowedOrigins/a host that only ends with the suffix text is outside",
			rules: ccr{AllowedOrigins: corp},
			spec:  policy(withOrigins("https://evilexample.com")),
			want:  []violation{{origins, "spec.allowOrigins[0]", `"https://evilexample.com"`}},
		},
		{
			name:  "allowedOrigins/plain http is outside an https pattern",
			rules: ccr{AllowedOrigins: corp},
			spec:  policy(withOrigins("http://app.example.com")),
			want:  []violation{{origins, "spec.allowOrigins[0]", `"http://app.example.com"`}},
		},
		{
			name:  "allowedOrigins/an explicit port is outside a pattern without one",
			rules: ccr{AllowedOrigins: corp},
			spec:  policy(withOrigins("https://app.example.com:8443")),
			want:  []violation{{origins, "spec.allowOrigins[0]", `"https://app.example.com:8443"`}},
		},
		{
			name:  "allowedOrigins/a port of localhost is within the allowed port wildcard",
			rules: ccr{AllowedOrigins: corp},
			spec:  policy(withOrigins("http://localhost:3000", "http://localhost")),
		},
		{
			name:  "allowedOrigins/a port wildcard is outside a single allowed port",
			rules: ccr{AllowedOrigins: originList("http://localhost:3000")},
			spec:  policy(withOrigins("http://localhost:*")),
			want:  []violation{{origins, "spec.allowOrigins[0]", `"http://localhost:*" is outside`}},
		},
		{
			name:  "allowedOrigins/an IP origin is outside localhost",
			rules: ccr{AllowedOrigins: corp},
			spec:  policy(withOrigins("http://127.0.0.1:3000")),
			want:  []violation{{origins, "spec.allowOrigins[0]", `"http://127.0.0.1:3000"`}},
		},
		{
			name:  "allowedOrigins/any origin is outside every pattern but any",
			rules: ccr{AllowedOrigins: corp},
			spec:  policy(withOrigins("*")),
			want:  []violation{{origins, "spec.allowOrigins[0]", `"*" (any origin) is outside the allowed origins https://*.example.com, http://localhost:*; list origins within them instead`}},
		},
		{
			name:  "allowedOrigins/any origin is within an allowed any",
			rules: ccr{AllowedOrigins: originList("*")},
			spec:  policy(withOrigins("*")),
		},
		{
			name:  "allowedOrigins/each origin outside is reported at its own index",
			rules: ccr{AllowedOrigins: corp},
			spec:  policy(withOrigins("https://app.example.com", "https://evil.com", "http://localhost:8080", "https://example.org")),
			want: []violation{
				{origins, "spec.allowOrigins[1]", `"https://evil.com" is outside the allowed origins https://*.example.com, http://localhost:*; use an origin within them`},
				{origins, "spec.allowOrigins[3]", `"https://example.org"`},
			},
		},
		{
			name:  "allowedOrigins/a policy without origins breaks nothing",
			rules: ccr{AllowedOrigins: corp},
			spec:  policy(),
		},
		{
			name:  "allowedOrigins/an allowed entry that does not parse allows nothing",
			rules: ccr{AllowedOrigins: originList("https://app.example.com/")},
			spec:  policy(withOrigins("https://app.example.com")),
			want:  []violation{{origins, "spec.allowOrigins[0]", "https://app.example.com/;"}},
		},
		{
			name:  "allowedOrigins/a policy origin that does not parse is left to validation",
			rules: ccr{AllowedOrigins: corp},
			spec:  policy(withOrigins("https://evil.com/")),
		},
		// forbidCredentials.
		{
			name:  "forbidCredentials/credentials allowed break it",
			rules: ccr{ForbidCredentials: true},
			spec:  policy(withOrigins("https://app.example.com"), withCredentials),
			want:  []violation{{creds, "spec.allowCredentials", "allowCredentials: true is forbidden; write allowCredentials: false"}},
		},
		{
			name:  "forbidCredentials/credentials false keep it",
			rules: ccr{ForbidCredentials: true},
			spec:  policy(withOrigins("https://app.example.com")),
		},
		{
			name:  "forbidCredentials/credentials unset keep it",
			rules: ccr{ForbidCredentials: true},
			spec:  kubecorsv1alpha1.CorsPolicySpec{AllowOrigins: originList("https://app.example.com")},
		},
		// requireHTTPS.
		{
			name:  "requireHTTPS/a plain-http origin breaks it and is told its https spelling",
			rules: ccr{RequireHTTPS: true},
			spec:  policy(withOrigins("https://a.example.com", "http://app.example.com")),
			want:  []violation{{https, "spec.allowOrigins[1]", `"http://app.example.com" uses plain http, which is forbidden; write "https://app.example.com"`}},
		},
		{
			name:  "requireHTTPS/the suggestion keeps an explicit port",
			rules: ccr{RequireHTTPS: true},
			spec:  policy(withOrigins("http://app.example.com:8080")),
			want:  []violation{{https, "spec.allowOrigins[0]", `write "https://app.example.com:8080"`}},
		},
		{
			name:  "requireHTTPS/a plain-http wildcard breaks it",
			rules: ccr{RequireHTTPS: true},
			spec:  policy(withOrigins("http://*.example.com")),
			want:  []violation{{https, "spec.allowOrigins[0]", `write "https://*.example.com"`}},
		},
		{
			name:  "requireHTTPS/a plain-http IP origin is told to use a host name, since https IP origins are rejected",
			rules: ccr{RequireHTTPS: true},
			spec:  policy(withOrigins("http://10.0.0.1")),
			want:  []violation{{https, "spec.allowOrigins[0]", "host name its certificate is issued for"}},
		},
		{
			name:  "requireHTTPS/loopback origins over plain http are exempt",
			rules: ccr{RequireHTTPS: true},
			spec:  policy(withOrigins("http://localhost", "http://localhost:*", "http://127.0.0.1:8080", "http://[::1]:3000")),
		},
		{
			name:  "requireHTTPS/a name under localhost is not one of the exempt loopback hosts",
			rules: ccr{RequireHTTPS: true},
			spec:  policy(withOrigins("http://app.localhost")),
			want:  []violation{{https, "spec.allowOrigins[0]", `"http://app.localhost" uses plain http`}},
		},
		{
			name:  "requireHTTPS/https origins keep it",
			rules: ccr{RequireHTTPS: true},
			spec:  policy(withOrigins("https://*.example.com", "https://example.com:8443")),
		},
		{
			name:  "requireHTTPS/any origin includes plain-http ones",
			rules: ccr{RequireHTTPS: true},
			spec:  policy(withOrigins("*")),
			want:  []violation{{https, "spec.allowOrigins[0]", `"*" (any origin) includes plain-http origins, which are forbidden; list https origins instead`}},
		},
		{
			name:  "requireHTTPS/loopback is not exempt when forbidLoopback is also set",
			rules: ccr{RequireHTTPS: true, ForbidLoopback: true},
			spec:  policy(withOrigins("http://localhost:3000")),
			want: []violation{
				{https, "spec.allowOrigins[0]", "not exempt because forbidLoopback is set; remove it"},
				{loopback, "spec.allowOrigins[0]", `"http://localhost:3000" is a loopback origin`},
			},
		},
		// forbidLoopback.
		{
			name:  "forbidLoopback/localhost over https breaks it too",
			rules: ccr{ForbidLoopback: true},
			spec:  policy(withOrigins("https://localhost")),
			want:  []violation{{loopback, "spec.allowOrigins[0]", `"https://localhost" is a loopback origin, a page running on the visitor's own machine, which is forbidden; remove it`}},
		},
		{
			name:  "forbidLoopback/every loopback spelling breaks it, each at its index",
			rules: ccr{ForbidLoopback: true},
			spec:  policy(withOrigins("https://app.example.com", "http://localhost:*", "http://127.0.0.2", "http://[::1]:8080")),
			want: []violation{
				{loopback, "spec.allowOrigins[1]", `"http://localhost:*"`},
				{loopback, "spec.allowOrigins[2]", `"http://127.0.0.2"`},
				{loopback, "spec.allowOrigins[3]", `"http://[::1]:8080"`},
			},
		},
		{
			name:  "forbidLoopback/names under localhost resolve to loopback in browsers",
			rules: ccr{ForbidLoopback: true},
			spec:  policy(withOrigins("https://*.localhost", "http://app.localhost:3000")),
			want: []violation{
				{loopback, "spec.allowOrigins[0]", `"https://*.localhost"`},
				{loopback, "spec.allowOrigins[1]", `"http://app.localhost:3000"`},
			},
		},
		{
			name:  "forbidLoopback/a host merely containing localhost keeps it",
			rules: ccr{ForbidLoopback: true},
			spec:  policy(withOrigins("https://localhost.example.com", "http://10.0.0.1")),
		},
		{
			name:  "forbidLoopback/any origin includes loopback ones",
			rules: ccr{ForbidLoopback: true},
			spec:  policy(withOrigins("*")),
			want:  []violation{{loopback, "spec.allowOrigins[0]", `"*" (any origin) includes loopback origins`}},
		},
		// maxMaxAge.
		{
			name:  "maxMaxAge/a larger maxAge breaks it and is told the limit",
			rules: ccr{MaxMaxAge: new(int32(600))},
			spec:  policy(withMaxAge(new(int32(7200)))),
			want:  []violation{{maxAge, "spec.maxAge", "maxAge 7200 is above the largest allowed, 600 seconds; write maxAge: 600 or less"}},
		},
		{
			name:  "maxMaxAge/a maxAge equal to the limit keeps it",
			rules: ccr{MaxMaxAge: new(int32(600))},
			spec:  policy(withMaxAge(new(int32(600)))),
		},
		{
			name:  "maxMaxAge/an unset maxAge is the default 5 seconds, above a limit of 3",
			rules: ccr{MaxMaxAge: new(int32(3))},
			spec:  policy(withMaxAge(nil)),
			want:  []violation{{maxAge, "spec.maxAge", "maxAge is unset and defaults to 5 seconds, above the largest allowed, 3; write maxAge: 3 or less"}},
		},
		{
			name:  "maxMaxAge/an unset maxAge keeps a limit of 5",
			rules: ccr{MaxMaxAge: new(int32(5))},
			spec:  policy(withMaxAge(nil)),
		},
		{
			name:  "maxMaxAge/a limit of 0 admits a maxAge of 0",
			rules: ccr{MaxMaxAge: new(int32(0))},
			spec:  policy(withMaxAge(new(int32(0)))),
		},
		// forbiddenRequestHeaders.
		{
			name:  "forbiddenRequestHeaders/a listed forbidden header breaks it at its index",
			rules: ccr{ForbiddenRequestHeaders: []kubecorsv1alpha1.RequestHeaderName{"X-Debug"}},
			spec:  policy(withHeaders("Content-Type", "X-Debug")),
			want:  []violation{{headers, "spec.allowHeaders[1]", `"X-Debug" is a header this cluster policy forbids; remove it`}},
		},
		{
			name:  "forbiddenRequestHeaders/names are compared ignoring case",
			rules: ccr{ForbiddenRequestHeaders: []kubecorsv1alpha1.RequestHeaderName{"X-Debug"}},
			spec:  policy(withHeaders("x-debug")),
			want:  []violation{{headers, "spec.allowHeaders[0]", `"x-debug" is a header this cluster policy forbids (as "X-Debug"`}},
		},
		{
			name:  "forbiddenRequestHeaders/any header names the forbidden headers it would allow",
			rules: ccr{ForbiddenRequestHeaders: []kubecorsv1alpha1.RequestHeaderName{"X-Debug", "X-Internal"}},
			spec:  policy(withHeaders("*")),
			want:  []violation{{headers, "spec.allowHeaders[0]", `"*" (any header) would allow X-Debug, X-Internal, which this cluster policy forbids; list the headers pages need instead`}},
		},
		{
			name:  "forbiddenRequestHeaders/any header never covers Authorization, so forbidding only it keeps the rule",
			rules: ccr{ForbiddenRequestHeaders: []kubecorsv1alpha1.RequestHeaderName{"Authorization"}},
			spec:  policy(withHeaders("*")),
		},
		{
			name:  "forbiddenRequestHeaders/any header with Authorization listed breaks a forbidden Authorization on that entry",
			rules: ccr{ForbiddenRequestHeaders: []kubecorsv1alpha1.RequestHeaderName{"Authorization"}},
			spec:  policy(withHeaders("*", "Authorization")),
			want:  []violation{{headers, "spec.allowHeaders[1]", `"Authorization" is a header this cluster policy forbids`}},
		},
		{
			name:  "forbiddenRequestHeaders/any header names the forbidden headers but Authorization",
			rules: ccr{ForbiddenRequestHeaders: []kubecorsv1alpha1.RequestHeaderName{"authorization", "X-Debug"}},
			spec:  policy(withHeaders("*")),
			want:  []violation{{headers, "spec.allowHeaders[0]", "would allow X-Debug, which"}},
		},
		{
			name:  "forbiddenRequestHeaders/a forbidden wildcard forbids any header",
			rules: ccr{ForbiddenRequestHeaders: []kubecorsv1alpha1.RequestHeaderName{"*"}},
			spec:  policy(withHeaders("*")),
			want:  []violation{{headers, "spec.allowHeaders[0]", `"*" (any header) is forbidden by this cluster policy`}},
		},
		{
			name:  "forbiddenRequestHeaders/a forbidden wildcard leaves named headers alone",
			rules: ccr{ForbiddenRequestHeaders: []kubecorsv1alpha1.RequestHeaderName{"*"}},
			spec:  policy(withHeaders("X-Request-Id", "Authorization")),
		},
		// forbiddenMethods.
		{
			name:  "forbiddenMethods/a listed forbidden method breaks it at its index",
			rules: ccr{ForbiddenMethods: []kubecorsv1alpha1.HTTPMethod{"DELETE"}},
			spec:  policy(withMethods("PUT", "DELETE")),
			want:  []violation{{methods, "spec.allowMethods[1]", `"DELETE" is a method this cluster policy forbids; remove it`}},
		},
		{
			name:  "forbiddenMethods/methods are compared exactly, as they are case-sensitive",
			rules: ccr{ForbiddenMethods: []kubecorsv1alpha1.HTTPMethod{"DELETE"}},
			spec:  policy(withMethods("delete")),
		},
		{
			name:  "forbiddenMethods/any method names the forbidden methods it would allow",
			rules: ccr{ForbiddenMethods: []kubecorsv1alpha1.HTTPMethod{"DELETE", "PATCH"}},
			spec:  policy(withMethods("*")),
			want:  []violation{{methods, "spec.allowMethods[0]", `"*" (any method) would allow DELETE, PATCH, which this cluster policy forbids; list the methods pages need instead`}},
		},
		{
			name:  "forbiddenMethods/a forbidden wildcard forbids any method only",
			rules: ccr{ForbiddenMethods: []kubecorsv1alpha1.HTTPMethod{"*"}},
			spec:  policy(withMethods("*")),
			want:  []violation{{methods, "spec.allowMethods[0]", `"*" (any method) is forbidden by this cluster policy`}},
		},
		{
			name:  "forbiddenMethods/methods not listed keep it",
			rules: ccr{ForbiddenMethods: []kubecorsv1alpha1.HTTPMethod{"DELETE", "*"}},
			spec:  policy(withMethods("GET", "PUT")),
		},
		// forbidOptIns.
		{
			name:  "forbidOptIns/the insecure-origins opt-in breaks it",
			rules: ccr{ForbidOptIns: true},
			spec:  policy(withInsecureOptIn),
			want:  []violation{{optIns, "spec.dangerouslyAllowInsecureOrigins", "dangerouslyAllowInsecureOrigins: true is forbidden; remove it"}},
		},
		{
			name:  "forbidOptIns/the public-suffix opt-in breaks it",
			rules: ccr{ForbidOptIns: true},
			spec:  policy(withPublicSuffixOptIn),
			want:  []violation{{optIns, "spec.dangerouslyAllowPublicSuffixWildcards", "dangerouslyAllowPublicSuffixWildcards: true is forbidden; remove it"}},
		},
		{
			name:  "forbidOptIns/both opt-ins are two violations",
			rules: ccr{ForbidOptIns: true},
			spec:  policy(withInsecureOptIn, withPublicSuffixOptIn),
			want: []violation{
				{optIns, "spec.dangerouslyAllowInsecureOrigins", "is forbidden"},
				{optIns, "spec.dangerouslyAllowPublicSuffixWildcards", "is forbidden"},
			},
		},
		{
			name:  "forbidOptIns/opt-ins are allowed when the rule is off",
			rules: ccr{RequireHTTPS: true},
			spec:  policy(withOrigins("https://app.example.com"), withInsecureOptIn, withPublicSuffixOptIn),
		},
		// Several rules.
		{
			name: "combined/violations come in the order of the rules",
			rules: ccr{
				AllowedOrigins: corp, ForbidCredentials: true, RequireHTTPS: true, ForbidLoopback: true,
				MaxMaxAge: new(int32(60)), ForbiddenRequestHeaders: []kubecorsv1alpha1.RequestHeaderName{"X-Debug"},
				ForbiddenMethods: []kubecorsv1alpha1.HTTPMethod{"DELETE"}, ForbidOptIns: true,
			},
			spec: policy(withOrigins("http://evil.com"), withCredentials, withMaxAge(new(int32(600))),
				withHeaders("X-Debug"), withMethods("DELETE"), withInsecureOptIn),
			want: []violation{
				{origins, "spec.allowOrigins[0]", `"http://evil.com" is outside`},
				{creds, "spec.allowCredentials", "forbidden"},
				{https, "spec.allowOrigins[0]", `write "https://evil.com"`},
				{maxAge, "spec.maxAge", "600"},
				{headers, "spec.allowHeaders[0]", `"X-Debug"`},
				{methods, "spec.allowMethods[0]", `"DELETE"`},
				{optIns, "spec.dangerouslyAllowInsecureOrigins", "forbidden"},
			},
		},
		{
			name: "combined/a policy within every rule breaks none",
			rules: ccr{
				AllowedOrigins: corp, ForbidCredentials: true, RequireHTTPS: true,
				MaxMaxAge: new(int32(600)), ForbiddenRequestHeaders: []kubecorsv1alpha1.RequestHeaderName{"X-Debug"},
				ForbiddenMethods: []kubecorsv1alpha1.HTTPMethod{"DELETE"}, ForbidOptIns: true,
			},
			spec: policy(withOrigins("https://app.example.com", "http://localhost:3000"), withMaxAge(new(int32(600))),
				withHeaders("Content-Type"), withMethods("PUT")),
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := corsrules.EvaluateClusterRules(&tt.rules, &tt.spec)
			if len(got) != len(tt.want) {
				t.Fatalf("got %d violations, want %d:\n%s", len(got), len(tt.want), violationLines(got))
			}
			for i, want := range tt.want {
				g := got[i]
				if g.Rule != want.rule || g.Field != want.field || !strings.Contains(g.Message, want.message) {
					t.Errorf("violation %d = %s %s: %q\nwant %s %s: message containing %q", i, g.Rule, g.Field, g.Message, want.rule, want.field, want.message)
				}
			}
		})
	}
}

// TestViolationMessagesAreActionable holds every violation to the rule on
// messages in CORS-RULES.md: name the value and say what to do.
func TestViolationMessagesAreActionable(t *testing.T) {
	rules := ccr{
		AllowedOrigins: originList("https://*.example.com"), ForbidCredentials: true, RequireHTTPS: true, ForbidLoopback: true,
		MaxMaxAge: new(int32(3)), ForbiddenRequestHeaders: []kubecorsv1alpha1.RequestHeaderName{"X-Debug"},
		ForbiddenMethods: []kubecorsv1alpha1.HTTPMethod{"DELETE"}, ForbidOptIns: true,
	}
	for _, spec := range []kubecorsv1alpha1.CorsPolicySpec{
		policy(withOrigins("http://evil.com", "http://localhost", "http://10.0.0.1"), withCredentials, withMaxAge(nil),
			withHeaders("x-debug"), withMethods("DELETE"), withInsecureOptIn, withPublicSuffixOptIn),
		policy(withOrigins("*"), withHeaders("*"), withMethods("*"), withMaxAge(new(int32(60)))),
	} {
		for _, v := range corsrules.EvaluateClusterRules(&rules, &spec) {
			if !quotedText.MatchString(v.Message) && !strings.Contains(v.Message, ": true") && !strings.Contains(v.Message, "maxAge") {
				t.Errorf("%s %s: %q names no value", v.Rule, v.Field, v.Message)
			}
			if !instruction.MatchString(v.Message) {
				t.Errorf("%s %s: %q does not say what to do", v.Rule, v.Field, v.Message)
			}
			if !strings.HasPrefix(v.Field, "spec.") || !strings.HasPrefix(v.Rule, "rules.") {
				t.Errorf("%s %s: want a rule under rules. and a field under spec.", v.Rule, v.Field)
			}
		}
	}
}

func violationLines(vs []corsrules.Violation) string {
	var b strings.Builder
	for _, v := range vs {
		fmt.Fprintf(&b, "  %s %s: %s\n", v.Rule, v.Field, v.Message)
	}
	return b.String()
}

// TestValidateClusterCorsPolicy covers the ClusterCorsPolicy's own rules:
// its origin patterns, header and method names follow the CorsPolicy rules,
// and its selector is a valid label selector.
func TestValidateClusterCorsPolicy(t *testing.T) {
	tests := []struct {
		name         string
		spec         kubecorsv1alpha1.ClusterCorsPolicySpec
		wantErrors   []string
		wantWarnings []string
	}{
		{
			name: "valid/every rule set to a sensible value",
			spec: kubecorsv1alpha1.ClusterCorsPolicySpec{
				NamespaceSelector: &metav1.LabelSelector{MatchLabels: map[string]string{"env": "prod"}},
				Mode:              kubecorsv1alpha1.ModeEnforce,
				Rules: ccr{
					AllowedOrigins: originList("https://*.corp.example.com", "http://localhost:*"), ForbidCredentials: true,
					RequireHTTPS: true, MaxMaxAge: new(int32(600)), ForbiddenRequestHeaders: []kubecorsv1alpha1.RequestHeaderName{"X-Debug", "*"},
					ForbiddenMethods: []kubecorsv1alpha1.HTTPMethod{"DELETE", "*"}, ForbidOptIns: true,
				},
			},
		},
		{
			name: "valid/empty rules and no selector",
			spec: kubecorsv1alpha1.ClusterCorsPolicySpec{},
		},
		{
			name: "valid/any origin on its own",
			spec: kubecorsv1alpha1.ClusterCorsPolicySpec{Rules: ccr{AllowedOrigins: originList("*")}},
		},
		{
			name:       "allowedOrigins/an origin with a path is rejected with the CorsPolicy message",
			spec:       kubecorsv1alpha1.ClusterCorsPolicySpec{Rules: ccr{AllowedOrigins: originList("https://*.example.com", "https://app.example.com/")}},
			wantErrors: []string{`spec.rules.allowedOrigins[1]: Invalid value: "https://app.example.com/": "https://app.example.com/" must not have a path, query or fragment (not even a trailing "/"); write "https://app.example.com"`},
		},
		{
			name:       "allowedOrigins/a wildcard over a public suffix is rejected without an opt-in",
			spec:       kubecorsv1alpha1.ClusterCorsPolicySpec{Rules: ccr{AllowedOrigins: originList("https://*.github.io")}},
			wantErrors: []string{`spec.rules.allowedOrigins[0]: Invalid value: "https://*.github.io": "https://*.github.io" matches every site under the public suffix "github.io", owned by unrelated parties; list your own domain instead ("https://*.yourdomain.github.io")`},
		},
		{
			name:       "allowedOrigins/null is never an origin",
			spec:       kubecorsv1alpha1.ClusterCorsPolicySpec{Rules: ccr{AllowedOrigins: originList("null")}},
			wantErrors: []string{`spec.rules.allowedOrigins[0]: Invalid value: "null": "null" is never a safe origin: any page can send it from a sandboxed iframe or a local file; list the real origins instead`},
		},
		{
			name:       "allowedOrigins/any origin must be the only entry",
			spec:       kubecorsv1alpha1.ClusterCorsPolicySpec{Rules: ccr{AllowedOrigins: originList("*", "https://app.example.com")}},
			wantErrors: []string{`spec.rules.allowedOrigins: Invalid value: "": "*" (any origin) must be the only entry: remove the other origins, or replace "*" with the origins you trust`},
		},
		{
			name:       "allowedOrigins/duplicates are rejected",
			spec:       kubecorsv1alpha1.ClusterCorsPolicySpec{Rules: ccr{AllowedOrigins: originList("https://app.example.com", "https://app.example.com")}},
			wantErrors: []string{`spec.rules.allowedOrigins[1]: Duplicate value: "https://app.example.com"`},
		},
		{
			name:         "allowedOrigins/a pattern within another draws a warning naming the wider one",
			spec:         kubecorsv1alpha1.ClusterCorsPolicySpec{Rules: ccr{AllowedOrigins: originList("https://*.a.example.com", "https://*.example.com")}},
			wantWarnings: []string{`spec.rules.allowedOrigins[0]: "https://*.a.example.com" is within "https://*.example.com" already; remove it`},
		},
		{
			name:       "forbiddenRequestHeaders/a name that is not a token is rejected",
			spec:       kubecorsv1alpha1.ClusterCorsPolicySpec{Rules: ccr{ForbiddenRequestHeaders: []kubecorsv1alpha1.RequestHeaderName{"X Debug"}}},
			wantErrors: []string{`spec.rules.forbiddenRequestHeaders[0]: Invalid value: "X Debug": "X Debug" is not a header name: use letters, digits or one of !#$%&*+-.^_|~, for example "X-Request-Id"`},
		},
		{
			name:       "forbiddenRequestHeaders/a header browsers forbid pages to send is rejected as in a CorsPolicy",
			spec:       kubecorsv1alpha1.ClusterCorsPolicySpec{Rules: ccr{ForbiddenRequestHeaders: []kubecorsv1alpha1.RequestHeaderName{"Cookie"}}},
			wantErrors: []string{`spec.rules.forbiddenRequestHeaders[0]: Invalid value: "Cookie": "Cookie" is a forbidden request header: browsers set it themselves and never let a page send it, so allowing it has no effect; remove it`},
		},
		{
			name:       "forbiddenRequestHeaders/names differing only in case are duplicates",
			spec:       kubecorsv1alpha1.ClusterCorsPolicySpec{Rules: ccr{ForbiddenRequestHeaders: []kubecorsv1alpha1.RequestHeaderName{"X-Debug", "x-debug"}}},
			wantErrors: []string{`spec.rules.forbiddenRequestHeaders[1]: Invalid value: "x-debug": "x-debug" is listed twice: header names are case-insensitive; remove one`},
		},
		{
			name:       "forbiddenMethods/a name that is not a token is rejected",
			spec:       kubecorsv1alpha1.ClusterCorsPolicySpec{Rules: ccr{ForbiddenMethods: []kubecorsv1alpha1.HTTPMethod{"DE LETE"}}},
			wantErrors: []string{`spec.rules.forbiddenMethods[0]: Invalid value: "DE LETE": "DE LETE" is not an HTTP method name: use letters, digits or one of !#$%&*+-.^_|~, for example "PUT"`},
		},
		{
			name:       "forbiddenMethods/a method browsers never send is rejected as in a CorsPolicy",
			spec:       kubecorsv1alpha1.ClusterCorsPolicySpec{Rules: ccr{ForbiddenMethods: []kubecorsv1alpha1.HTTPMethod{"TRACE"}}},
			wantErrors: []string{`spec.rules.forbiddenMethods[0]: Invalid value: "TRACE": "TRACE" is a forbidden method: browsers never send CONNECT, TRACE or TRACK cross-origin; remove it`},
		},
		{
			name:       "forbiddenMethods/duplicates are rejected",
			spec:       kubecorsv1alpha1.ClusterCorsPolicySpec{Rules: ccr{ForbiddenMethods: []kubecorsv1alpha1.HTTPMethod{"PUT", "PUT"}}},
			wantErrors: []string{`spec.rules.forbiddenMethods[1]: Duplicate value: "PUT"`},
		},
		{
			name:         "forbiddenMethods/a lowercase standard method forbids only that spelling",
			spec:         kubecorsv1alpha1.ClusterCorsPolicySpec{Rules: ccr{ForbiddenMethods: []kubecorsv1alpha1.HTTPMethod{"delete"}}},
			wantWarnings: []string{`spec.rules.forbiddenMethods[0]: "delete" is not the standard method "DELETE": method names are case-sensitive, so this forbids only "delete"; write "DELETE" to forbid the method browsers send`},
		},
		{
			name:         "forbiddenMethods/a safelisted method works unlisted, so forbidding it draws a warning",
			spec:         kubecorsv1alpha1.ClusterCorsPolicySpec{Rules: ccr{ForbiddenMethods: []kubecorsv1alpha1.HTTPMethod{"POST"}}},
			wantWarnings: []string{`spec.rules.forbiddenMethods[0]: "POST" is a CORS-safelisted method that browsers allow cross-origin whether a policy lists it or not, so forbidding it only keeps policies from listing it`},
		},
		{
			name:       "maxMaxAge/out of range is rejected",
			spec:       kubecorsv1alpha1.ClusterCorsPolicySpec{Rules: ccr{MaxMaxAge: new(int32(90000))}},
			wantErrors: []string{"spec.rules.maxMaxAge: Invalid value: 90000: maxMaxAge is out of range: write whole seconds from 0 to 86400 (24 hours)"},
		},
		{
			name:         "maxMaxAge/below the default maxAge every policy without maxAge breaks it",
			spec:         kubecorsv1alpha1.ClusterCorsPolicySpec{Rules: ccr{MaxMaxAge: new(int32(3))}},
			wantWarnings: []string{"spec.rules.maxMaxAge: 3 is below the default maxAge of 5 seconds, so every policy that leaves maxAge unset breaks this rule"},
		},
		{
			name: "namespaceSelector/an invalid operator is rejected",
			spec: kubecorsv1alpha1.ClusterCorsPolicySpec{NamespaceSelector: &metav1.LabelSelector{MatchExpressions: []metav1.LabelSelectorRequirement{
				{Key: "env", Operator: "Has"},
			}}},
			wantErrors: []string{`spec.namespaceSelector.matchExpressions[0].operator: Invalid value: "Has": not a valid selector operator`},
		},
		{
			name:       "namespaceSelector/an invalid label key is rejected",
			spec:       kubecorsv1alpha1.ClusterCorsPolicySpec{NamespaceSelector: &metav1.LabelSelector{MatchLabels: map[string]string{"-env": "prod"}}},
			wantErrors: []string{`spec.namespaceSelector.matchLabels: Invalid value: "-env": name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')`},
		},
		{
			name:       "mode/anything but Enforce and Audit is not supported",
			spec:       kubecorsv1alpha1.ClusterCorsPolicySpec{Mode: "Warn"},
			wantErrors: []string{`spec.mode: Unsupported value: "Warn": supported values: "Enforce", "Audit"`},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := &kubecorsv1alpha1.ClusterCorsPolicy{Spec: tt.spec}
			errs, warns := corsrules.ValidateClusterCorsPolicy(p)
			if diff := cmp.Diff(tt.wantErrors, errorStrings(errs)); diff != "" {
				t.Errorf("errors (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tt.wantWarnings, []string(warns)); diff != "" {
				t.Errorf("warnings (-want +got):\n%s", diff)
			}
		})
	}
}

func errorStrings(errs field.ErrorList) []string {
	if len(errs) == 0 {
		return nil
	}
	out := make([]string, 0, len(errs))
	for _, e := range errs {
		out = append(out, e.Error())
	}
	return out
}

func TestValidateClusterCorsPolicyDefaultPolicy(t *testing.T) {
	for _, tc := range []struct {
		name    string
		policy  kubecorsv1alpha1.CorsPolicySpec
		wantErr string
	}{
		{"a default selecting by label is valid", kubecorsv1alpha1.CorsPolicySpec{
			TargetSelector: &metav1.LabelSelector{MatchLabels: map[string]string{"cors": "default"}},
			AllowOrigins:   []kubecorsv1alpha1.Origin{"https://app.example.com"}}, ""},
		{"a default naming targets cannot apply across namespaces", kubecorsv1alpha1.CorsPolicySpec{
			TargetRefs:   []kubecorsv1alpha1.PolicyTargetReference{{Group: "networking.k8s.io", Kind: "Ingress", Name: "web"}},
			AllowOrigins: []kubecorsv1alpha1.Origin{"https://app.example.com"}}, "spec.defaultPolicy: Invalid value: \"\": a defaultPolicy applies by label"},
		{"a default follows the CorsPolicy rules", kubecorsv1alpha1.CorsPolicySpec{
			TargetSelector:   &metav1.LabelSelector{},
			AllowOrigins:     []kubecorsv1alpha1.Origin{"*"},
			AllowCredentials: new(true)}, `spec.defaultPolicy.allowOrigins: Invalid value: "": "*" cannot be used with allowCredentials: true`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := &kubecorsv1alpha1.ClusterCorsPolicy{Spec: kubecorsv1alpha1.ClusterCorsPolicySpec{DefaultPolicy: &tc.policy}}
			errs, _ := corsrules.ValidateClusterCorsPolicy(p)
			switch {
			case tc.wantErr == "" && len(errs) > 0:
				t.Fatalf("unexpected errors: %v", errs)
			case tc.wantErr != "" && len(errs) == 0:
				// ToAggregate of an empty list is nil: report, do not panic
				// and abort the package's other tests.
				t.Fatalf("no error, want one containing %q", tc.wantErr)
			case tc.wantErr != "" && !strings.Contains(errs.ToAggregate().Error(), tc.wantErr):
				t.Fatalf("errors %v do not contain %q", errs, tc.wantErr)
			}
		})
	}
}
