package render

import (
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// The input validation of ingress-nginx, copied from its source because a
// value that fails it is replaced by a permissive default ("*" for origins,
// a list with Authorization for headers). Two releases are kept, and every
// rendered value must pass both:
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
	nginxOriginValidatorMain = regexp.MustCompile(`^((((([a-z]+://)?(\*\.)?[A-Za-z0-9\-.]*(:\d+)?,?)|null)+)|\*)?$`)
	nginxOriginRegexMain     = regexp.MustCompile(`^([a-z]+://(\*\.)?[A-Za-z0-9\-.]*(:\d+)?|\*|null)?$`)
	nginxOriginValidatorV111 = regexp.MustCompile(`^((((https?://)?(\*\.)?[A-Za-z0-9\-.]*(:\d+)?,?)+)|\*)?$`)
	nginxOriginRegexV111     = regexp.MustCompile(`^(https?://(\*\.)?[A-Za-z0-9\-.]*(:\d+)?|\*)?$`)
	nginxMethodsRegex        = regexp.MustCompile(`^([A-Za-z]+,?\s?)+$`)
	nginxHeadersVariable     = regexp.MustCompile(`^[A-Za-z0-9-_, ]*$`)
	// nginxHeadersRegexLegacy is corsHeadersRegex, which releases before the
	// annotation validators used; it is stricter than HeadersVariable.
	nginxHeadersRegexLegacy = regexp.MustCompile(`^([A-Za-z0-9\-\_]+,?\s?)+$`)
	nginxExposeHeadersRegex = regexp.MustCompile(`^(([A-Za-z0-9\-\_]+|\*),?\s?)+$`)
)

// The defaults ingress-nginx falls back to (cors/main.go).
const (
	nginxDefaultMethods = "GET, PUT, POST, DELETE, PATCH, OPTIONS"
	nginxDefaultHeaders = "DNT,Keep-Alive,User-Agent,X-Requested-With,If-Modified-Since,Cache-Control,Content-Type,Range,Authorization"
)

// The input validation of HAProxy Ingress (jcmoraisjr/haproxy-ingress,
// pkg/converters/ingress/annotations/validator.go). A value that fails is
// ignored and the global default applies ("*" for origins, a list with
// Authorization for headers). cors-allow-origin is split on "," and each
// item, untrimmed, must match haproxyOriginRegex.
var (
	haproxyOriginRegex  = regexp.MustCompile(`^(https?://[A-Za-z0-9\-\.]*(:[0-9]+)?|\*)?$`)
	haproxyMethodsRegex = regexp.MustCompile(`^([A-Za-z]+,?\s?)+$`)
	haproxyHeadersRegex = regexp.MustCompile(`^([A-Za-z0-9\-\_]+,?\s?)+$`)
)

// The defaults HAProxy Ingress falls back to (docs: configuration keys, CORS).
const (
	haproxyDefaultMethods = "GET, PUT, POST, DELETE, PATCH, OPTIONS"
	haproxyDefaultHeaders = "DNT,X-CustomHeader,Keep-Alive,User-Agent,X-Requested-With,If-Modified-Since,Cache-Control,Content-Type,Authorization"
)

// nginxValueProblems lists every rendered ingress-nginx annotation value that
// ingress-nginx would not take as written.
func nginxValueProblems(annotations map[string]string) []string {
	var problems []string
	fail := func(key, value, why string) {
		problems = append(problems, key+"="+strconv.Quote(value)+": "+why)
	}
	for _, key := range []string{nginxEnableCors, nginxAllowOrigin, nginxAllowMethods, nginxAllowHeaders,
		nginxExposeHeaders, nginxAllowCredentials, nginxMaxAge} {
		if _, ok := annotations[key]; !ok {
			fail(key, "", "missing: ingress-nginx would use its default")
		}
	}
	if v := annotations[nginxEnableCors]; v != headerTrue {
		fail(nginxEnableCors, v, `must be "true"`)
	}

	origins := annotations[nginxAllowOrigin]
	squeezed := strings.ReplaceAll(origins, " ", "")
	switch {
	case origins == "":
		fail(nginxAllowOrigin, origins, `empty means "*"`)
	case !nginxOriginValidatorMain.MatchString(squeezed):
		fail(nginxAllowOrigin, origins, "fails corsOriginRegexValidator (main)")
	case !nginxOriginValidatorV111.MatchString(squeezed):
		fail(nginxAllowOrigin, origins, "fails corsOriginRegexValidator (v1.11)")
	}
	for o := range strings.SplitSeq(origins, ",") {
		o = strings.TrimSpace(o)
		if !nginxOriginRegexMain.MatchString(o) || !nginxOriginRegexV111.MatchString(o) || o == "" || o == "null" {
			fail(nginxAllowOrigin, o, "an origin fails corsOriginRegex and would be skipped")
		}
		if o == "*" && origins != "*" {
			fail(nginxAllowOrigin, origins, `"*" among other origins makes the whole list "*"`)
		}
	}

	methods := annotations[nginxAllowMethods]
	if !nginxMethodsRegex.MatchString(methods) || !nginxMethodsRegex.MatchString(strings.ReplaceAll(methods, " ", "")) {
		fail(nginxAllowMethods, methods, "fails corsMethodsRegex")
	}
	headers := annotations[nginxAllowHeaders]
	if headers == "" || !nginxHeadersVariable.MatchString(headers) || !nginxHeadersRegexLegacy.MatchString(headers) {
		fail(nginxAllowHeaders, headers, "fails HeadersVariable or corsHeadersRegex")
	}
	// An empty value is the one exception: ingress-nginx skips validation of
	// empty values and reads an empty cors-expose-headers as "none", which is
	// what it is meant to say.
	if expose := annotations[nginxExposeHeaders]; expose != "" && !nginxExposeHeadersRegex.MatchString(expose) {
		fail(nginxExposeHeaders, expose, "fails corsExposeHeadersRegex")
	}
	if v := annotations[nginxAllowCredentials]; v != headerTrue && v != "false" {
		fail(nginxAllowCredentials, v, `must be "true" or "false"`)
	}
	if v := annotations[nginxMaxAge]; !isNonNegativeInt(v) {
		fail(nginxMaxAge, v, "must be a whole number of seconds")
	}
	return problems
}

// haproxyValueProblems lists every rendered HAProxy Ingress annotation value
// that HAProxy Ingress would not take as written.
func haproxyValueProblems(annotations map[string]string) []string {
	var problems []string
	fail := func(key, value, why string) {
		problems = append(problems, key+"="+strconv.Quote(value)+": "+why)
	}
	for _, key := range []string{haproxyCorsEnable, haproxyAllowOrigin, haproxyAllowOriginRegex, haproxyAllowMethods,
		haproxyAllowHeaders, haproxyExposeHeaders, haproxyAllowCredentials, haproxyMaxAge} {
		if _, ok := annotations[key]; !ok {
			fail(key, "", "missing: HAProxy Ingress would use its global default")
		}
	}
	if v := annotations[haproxyCorsEnable]; v != headerTrue {
		fail(haproxyCorsEnable, v, `must be "true"`)
	}
	origins := annotations[haproxyAllowOrigin]
	for o := range strings.SplitSeq(origins, ",") {
		if o == "" || !haproxyOriginRegex.MatchString(o) {
			fail(haproxyAllowOrigin, o, `an origin fails the validator: the whole key would be ignored and "*" used`)
		}
		if o == "*" && origins != "*" {
			fail(haproxyAllowOrigin, origins, `"*" among other origins`)
		}
	}
	if regexes := annotations[haproxyAllowOriginRegex]; regexes != "" {
		for re := range strings.SplitSeq(regexes, " ") {
			if _, err := regexp.Compile(re); err != nil || re == "" || strings.ContainsAny(re, "'\"\t\n") {
				fail(haproxyAllowOriginRegex, re, "does not compile, is empty or holds a quote or whitespace")
			}
			if !strings.HasPrefix(re, "^") || !strings.HasSuffix(re, "$") {
				fail(haproxyAllowOriginRegex, re, "is not anchored at both ends")
			}
		}
	}
	if v := annotations[haproxyAllowMethods]; !haproxyMethodsRegex.MatchString(v) {
		fail(haproxyAllowMethods, v, "fails corsMethodsRegex")
	}
	if v := annotations[haproxyAllowHeaders]; !haproxyHeadersRegex.MatchString(v) {
		fail(haproxyAllowHeaders, v, "fails corsHeadersRegex")
	}
	if v := annotations[haproxyExposeHeaders]; !haproxyHeadersRegex.MatchString(v) {
		fail(haproxyExposeHeaders, v, "fails corsHeadersRegex")
	}
	if v := annotations[haproxyAllowCredentials]; v != headerTrue && v != "false" {
		fail(haproxyAllowCredentials, v, `must be "true" or "false"`)
	}
	if v := annotations[haproxyMaxAge]; !isNonNegativeInt(v) {
		fail(haproxyMaxAge, v, "must be a whole number of seconds")
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
		{"nginx main validator: wildcard subdomain", nginxOriginValidatorMain, "https://*.foo.bar", true},
		{"nginx main validator: several origins with ports", nginxOriginValidatorMain, "https://origin1.com,http://origin2.com:8080,null", true},
		{"nginx main validator: port wildcard is rejected", nginxOriginValidatorMain, "http://localhost:*", false},
		{"nginx main validator: IPv6 literal is rejected", nginxOriginValidatorMain, "http://[::1]:8080", false},
		{"nginx main validator: regex value is rejected", nginxOriginValidatorMain, `~^https://.*\.example\.com$`, false},
		{"nginx v1.11 validator: custom scheme is rejected", nginxOriginValidatorV111, "myprotocol://example.org", false},
		{"nginx main origin: custom scheme is accepted", nginxOriginRegexMain, "myprotocol://example.org:1199", true},
		{"nginx origin: second wildcard is rejected", nginxOriginRegexMain, "https://*.*.example.com", false},
		{"nginx methods: letters and comma-space", nginxMethodsRegex, "GET, HEAD, POST", true},
		{"nginx methods: hyphen is rejected", nginxMethodsRegex, "M-SEARCH", false},
		{"nginx methods: star is rejected", nginxMethodsRegex, "*", false},
		{"nginx headers: star is rejected", nginxHeadersVariable, "*", false},
		{"nginx headers: dot is rejected", nginxHeadersVariable, "X.Y", false},
		{"nginx expose: star is accepted", nginxExposeHeadersRegex, "*", true},
		{"haproxy origin: wildcard is rejected", haproxyOriginRegex, "https://*.example.com", false},
		{"haproxy origin: empty host is accepted", haproxyOriginRegex, "https://", true},
		{"haproxy origin: leading space is rejected", haproxyOriginRegex, " https://a.example.com", false},
		{"haproxy headers: star is rejected", haproxyHeadersRegex, "*", false},
	}
	for _, c := range cases {
		if got := c.re.MatchString(c.value); got != c.want {
			t.Errorf("%s: %q matched %v, want %v", c.name, c.value, got, c.want)
		}
	}
}
