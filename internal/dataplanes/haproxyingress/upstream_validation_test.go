package haproxyingress

import (
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// The input validation of HAProxy Ingress that every rendered value must
// pass is the one the production reader applies (read.go): a value that
// fails it is ignored and the global default applies ("*" for origins, a
// list with Authorization for headers).

// valueProblems lists every rendered HAProxy Ingress annotation value
// that HAProxy Ingress would not take as written.
func valueProblems(annotations map[string]string) []string {
	var problems []string
	fail := func(key, value, why string) {
		problems = append(problems, key+"="+strconv.Quote(value)+": "+why)
	}
	for _, key := range []string{CorsEnable, AllowOrigin, AllowOriginRegex, AllowMethods,
		AllowHeaders, ExposeHeaders, AllowCredentials, MaxAge} {
		if _, ok := annotations[key]; !ok {
			fail(key, "", "missing: HAProxy Ingress would use its global default")
		}
	}
	if v := annotations[CorsEnable]; v != "true" {
		fail(CorsEnable, v, `must be "true"`)
	}
	origins := annotations[AllowOrigin]
	for o := range strings.SplitSeq(origins, ",") {
		if o == "" || !haproxyOriginRegex.MatchString(o) {
			fail(AllowOrigin, o, `an origin fails the validator: the whole key would be ignored and "*" used`)
		}
		if o == "*" && origins != "*" {
			fail(AllowOrigin, origins, `"*" among other origins`)
		}
	}
	if regexes := annotations[AllowOriginRegex]; regexes != "" {
		for re := range strings.SplitSeq(regexes, " ") {
			if _, err := regexp.Compile(re); err != nil || re == "" || strings.ContainsAny(re, "'\"\t\n") {
				fail(AllowOriginRegex, re, "does not compile, is empty or holds a quote or whitespace")
			}
			if !strings.HasPrefix(re, "^") || !strings.HasSuffix(re, "$") {
				fail(AllowOriginRegex, re, "is not anchored at both ends")
			}
		}
	}
	if v := annotations[AllowMethods]; !haproxyMethodsRegex.MatchString(v) {
		fail(AllowMethods, v, "fails corsMethodsRegex")
	}
	if v := annotations[AllowHeaders]; !haproxyHeadersRegex.MatchString(v) {
		fail(AllowHeaders, v, "fails corsHeadersRegex")
	}
	if v := annotations[ExposeHeaders]; !haproxyHeadersRegex.MatchString(v) {
		fail(ExposeHeaders, v, "fails corsHeadersRegex")
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

// TestUpstreamValidatorsReproduced pins the regexes of read.go to the behaviour
// their upstream tests document, so a typo in the copy cannot make every
// rendered value look valid.
func TestUpstreamValidatorsReproduced(t *testing.T) {
	cases := []struct {
		name  string
		re    *regexp.Regexp
		value string
		want  bool
	}{
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
