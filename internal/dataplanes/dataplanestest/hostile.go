package dataplanestest

import (
	"slices"
	"strings"

	"pgregory.net/rapid"

	kubecorsv1alpha1 "github.com/kubecors/kubecors/api/v1alpha1"
)

// ConfigMetacharacters are the characters that end a value or start a new
// statement in an nginx or HAProxy configuration file: the class of
// ingress-nginx's annotation-injection CVEs (CVE-2021-25742,
// CVE-2023-5044, CVE-2025-1097). No annotation value kubecors writes may
// carry one, except the "$", "\", "{" and "}" of the origin regexes
// HAProxy Ingress takes, which the tests check separately.
const ConfigMetacharacters = "\n\r\t\v\f\x00;{}$\"'`\\#"

// Fragments a hostile policy is built from: pieces of valid values, so
// that generated values get past a parser's first checks, and the
// characters and payloads of injection attacks.
var hostileFragments = slices.Concat(OriginVocabulary, MethodVocabulary, AllowHeaderVocabulary, []string{
	"*", "null", "\n", "\r\n", ";", "{", "}", "$", `"`, "'", "`", `\`, "#", " ", ",", ":", "/", "%0a", "\x00", "\u2028", "\xff",
	"more_set_headers \"X: y\"", "}\n location / {", "${HOST}", "$http_origin", "lua_code", "http-request set-header X y",
	`\n`, "*.", "://", "[", "]", "..", "-", "_", "é", "ü.example", strings.Repeat("a", 300),
})

// hostileString draws a value assembled from hostileFragments and arbitrary
// strings (non-UTF-8 bytes included).
func hostileString(t *rapid.T, label string) string {
	pieces := rapid.SliceOfN(rapid.OneOf(rapid.SampledFrom(hostileFragments), rapid.String(),
		rapid.StringOf(rapid.RuneFrom([]rune(ConfigMetacharacters+"azAZ09.-:/*")))), 1, 5).Draw(t, label)
	return strings.Join(pieces, "")
}

// HostileSpec draws a CorsPolicySpec as the API server would never accept
// it (admission bypassed: a webhook down with failurePolicy Ignore, an
// object restored from a backup, a direct etcd write), mixed with valid
// entries so that the rest of the policy still renders.
func HostileSpec(t *rapid.T) kubecorsv1alpha1.CorsPolicySpec {
	var spec kubecorsv1alpha1.CorsPolicySpec
	spec.TargetRefs = []kubecorsv1alpha1.PolicyTargetReference{{Group: "networking.k8s.io", Kind: "Ingress", Name: TargetName}}
	for range rapid.IntRange(0, 5).Draw(t, "origins") {
		spec.AllowOrigins = append(spec.AllowOrigins, kubecorsv1alpha1.Origin(hostileString(t, "origin")))
	}
	for range rapid.IntRange(0, 4).Draw(t, "methods") {
		spec.AllowMethods = append(spec.AllowMethods, kubecorsv1alpha1.HTTPMethod(hostileString(t, "method")))
	}
	for range rapid.IntRange(0, 4).Draw(t, "allowHeaders") {
		spec.AllowHeaders = append(spec.AllowHeaders, kubecorsv1alpha1.RequestHeaderName(hostileString(t, "allowHeader")))
	}
	for range rapid.IntRange(0, 4).Draw(t, "exposeHeaders") {
		spec.ExposeHeaders = append(spec.ExposeHeaders, kubecorsv1alpha1.ResponseHeaderName(hostileString(t, "exposeHeader")))
	}
	if rapid.Bool().Draw(t, "setCredentials") {
		spec.AllowCredentials = new(rapid.Bool().Draw(t, "credentials"))
	}
	if rapid.Bool().Draw(t, "setMaxAge") {
		spec.MaxAge = new(rapid.Int32().Draw(t, "maxAge"))
	}
	spec.DangerouslyAllowInsecureOrigins = rapid.Bool().Draw(t, "insecure")
	spec.DangerouslyAllowPublicSuffixWildcards = rapid.Bool().Draw(t, "publicSuffix")
	return spec
}
