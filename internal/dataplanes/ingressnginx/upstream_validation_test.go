package ingressnginx

import (
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// The input validation of ingress-nginx, copied from its source because a
// value that fails it is replaced by a permissive default ("*" for origins,
// a list with Authorization for headers). Two releases are kept, and every
// rendered value must pass both (current main's regexes are the ones the
// production reader in read.go applies; the older ones are kept here):
//
//   - current main (kubernetes/ingress-nginx,
//     internal/ingress/annotations/cors/main.go after #11153 "Allow any
//     protocol for cors origins" and #12402 "Allow CORS
//     Access-Control-Allow-Origin: null"; the header regex is
//     parser.HeadersVariable in internal/ingress/annotations/parser/validators.go);
//   - k8s.io/ingress-nginx@v0.0.0-20240708192948-52c50467d67d, the newest
//     version the Go module proxy serves (controller v1.11 era).
//
// The annotation validators (corsOriginRegexValidator and the others passed
// to parser.ValidateRegex(..., true)) see the value with every space
// removed; Parse then checks each comma-separated, trimmed origin against
// corsOriginRegex and the whole raw method and header values against their
// regexes.
var (
	nginxOriginValidatorV111 = regexp.MustCompile(`^((((https?://)?(\*\.)?[A-Za-z0-9\-.]*(:\d+)?,?)+)|\*)?$`)
	nginxOriginRegexV111     = regexp.MustCompile(`^(https?://(\*\.)?[A-Za-z0-9\-.]*(:\d+)?|\*)?$`)
	// nginxHeadersRegexLegacy is corsHeadersRegex, which releases before the
	// annotation validators used; it is stricter than HeadersVariable.
	nginxHeadersRegexLegacy = regexp.MustCompile(`^([A-Za-z0-9\-\_]+,?\s?)+$`)
)

// valueProblems lists every rendered ingress-nginx annotation value that
// ingress-nginx would not take as written.
func valueProblems(annotations map[string]string) []string {
	var problems []string
	fail := func(key, value, why string) {
		problems = append(problems, key+"="+strconv.Quote(value)+": "+why)
	}
	for _, key := range []string{EnableCors, AllowOrigin, AllowMethods, AllowHeaders,
		ExposeHeaders, AllowCredentials, MaxAge} {
		if _, ok := annotations[key]; !ok {
			fail(key, "", "missing: ingress-nginx would use its default")
		}
	}
	if v := annotations[EnableCors]; v != "true" {
		fail(EnableCors, v, `must be "true"`)
	}

	origins := annotations[AllowOrigin]
	squeezed := strings.ReplaceAll(origins, " ", "")
	switch {
	case origins == "":
		fail(AllowOrigin, origins, `empty means "*"`)
	case !nginxOriginValidator.MatchString(squeezed):
		fail(AllowOrigin, origins, "fails corsOriginRegexValidator (main)")
	case !nginxOriginValidatorV111.MatchString(squeezed):
		fail(AllowOrigin, origins, "fails corsOriginRegexValidator (v1.11)")
	}
	for o := range strings.SplitSeq(origins, ",") {
		o = strings.TrimSpace(o)
		if !nginxOriginEntry.MatchString(o) || !nginxOriginRegexV111.MatchString(o) || o == "" || o == "null" {
			fail(AllowOrigin, o, "an origin fails corsOriginRegex and would be skipped")
		}
		if o == "*" && origins != "*" {
			fail(AllowOrigin, origins, `"*" among other origins makes the whole list "*"`)
		}
	}

	methods := annotations[AllowMethods]
	if !nginxMethodsRegex.MatchString(methods) || !nginxMethodsRegex.MatchString(strings.ReplaceAll(methods, " ", "")) {
		fail(AllowMethods, methods, "fails corsMethodsRegex")
	}
	headers := annotations[AllowHeaders]
	if headers == "" || !nginxHeadersVariable.MatchString(headers) || !nginxHeadersRegexLegacy.MatchString(headers) {
		fail(AllowHeaders, headers, "fails HeadersVariable or corsHeadersRegex")
	}
	// An empty value is the one exception: ingress-nginx skips validation of
	// empty values and reads an empty cors-expose-headers as "none", which is
	// what it is meant to say.
	if expose := annotations[ExposeHeaders]; expose != "" && !nginxExposeHeadersRegex.MatchString(expose) {
		fail(ExposeHeaders, expose, "fails corsExposeHeadersRegex")
	}
	if v := annotations[AllowCredentials]; v != "true" && v != "false" {
		fail(AllowCredentials, v, `must be "true" or "false"`)
	}
	if v := annotations[MaxAge]; !isNonNegativeInt(v) {
		fail(MaxAge, v, "must be a whole number of seconds")
	}
	return problems
}

func isNonNegativeInt(s string) bool {
	n, err := strconv.Atoi(s)
	return err == nil && n >= 0 && strconv.Itoa(n) == s
}

// TestUpstreamValidatorsReproduced pins the copied regexes to the behaviour
// their upstream tests document, so a typo in the copy cannot make every
// rendered value look valid.
func TestUpstreamValidatorsReproduced(t *testing.T) {
	cases := []struct {
		name  string
		re    *regexp.Regexp
		value string
		want  bool
	}{
		{"nginx main validator: wildcard subdomain", nginxOriginValidator, "https://*.foo.bar", true},
		{"nginx main validator: several origins with ports", nginxOriginValidator, "https://origin1.com,http://origin2.com:8080,null", true},
		{"nginx main validator: port wildcard is rejected", nginxOriginValidator, "http://localhost:*", false},
		{"nginx main validator: IPv6 literal is rejected", nginxOriginValidator, "http://[::1]:8080", false},
		{"nginx main validator: regex value is rejected", nginxOriginValidator, `~^https://.*\.example\.com$`, false},
		{"nginx v1.11 validator: custom scheme is rejected", nginxOriginValidatorV111, "myprotocol://example.org", false},
		{"nginx main origin: custom scheme is accepted", nginxOriginEntry, "myprotocol://example.org:1199", true},
		{"nginx origin: second wildcard is rejected", nginxOriginEntry, "https://*.*.example.com", false},
		{"nginx methods: letters and comma-space", nginxMethodsRegex, "GET, HEAD, POST", true},
		{"nginx methods: hyphen is rejected", nginxMethodsRegex, "M-SEARCH", false},
		{"nginx methods: star is rejected", nginxMethodsRegex, "*", false},
		{"nginx headers: star is rejected", nginxHeadersVariable, "*", false},
		{"nginx headers: dot is rejected", nginxHeadersVariable, "X.Y", false},
		{"nginx expose: star is accepted", nginxExposeHeadersRegex, "*", true},
	}
	for _, c := range cases {
		if got := c.re.MatchString(c.value); got != c.want {
			t.Errorf("%s: %q matched %v, want %v", c.name, c.value, got, c.want)
		}
	}
}
