package render

import (
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	kubecorsv1alpha1 "github.com/kubecors/kubecors/api/v1alpha1"
	"github.com/kubecors/kubecors/internal/corsrules"
)

// corsRequest is what a page asks a browser to send cross-origin.
type corsRequest struct {
	// Origin is the page's serialized origin, as the browser sends it.
	Origin string
	// Method is the request method.
	Method string
	// Headers are the CORS-unsafe request headers the page sets.
	Headers []string
	// Credentials is true for credentials mode "include".
	Credentials bool
}

func (r corsRequest) String() string {
	return fmt.Sprintf("Origin: %s, method %s, headers %v, credentials %v", r.Origin, r.Method, r.Headers, r.Credentials)
}

// corsResponse holds the CORS response headers a data plane sends (to the
// preflight and to the actual request: the three data planes send the same
// set to both); an absent header has no key.
type corsResponse map[string]string

const (
	// headerTrue is the only value of Access-Control-Allow-Credentials that
	// browsers accept, and how the annotations spell true.
	headerTrue = "true"

	acao = "Access-Control-Allow-Origin"
	acac = "Access-Control-Allow-Credentials"
	acam = "Access-Control-Allow-Methods"
	acah = "Access-Control-Allow-Headers"
)

func isSafelistedMethod(m string) bool { return slices.Contains(safelistedMethods, m) }

func needsPreflight(r corsRequest) bool { return !isSafelistedMethod(r.Method) || len(r.Headers) > 0 }

// headerListValues splits a header value into its comma-separated items,
// trimmed, as the Fetch standard's "get, decode, and split" does.
func headerListValues(v string) []string {
	var items []string
	for item := range strings.SplitSeq(v, ",") {
		items = append(items, strings.Trim(item, " \t"))
	}
	return items
}

// browserAllows decides, as the Fetch standard's CORS check and CORS-preflight
// fetch do, whether a browser lets the page make the request and read the
// response.
func browserAllows(resp corsResponse, r corsRequest) bool {
	origin, ok := resp[acao]
	switch {
	case !ok:
		return false
	case origin == "*" && !r.Credentials:
	case origin != r.Origin:
		return false
	case r.Credentials && resp[acac] != headerTrue:
		return false
	}
	if !needsPreflight(r) {
		return true
	}
	methods := headerListValues(resp[acam])
	if !slices.Contains(methods, r.Method) && !isSafelistedMethod(r.Method) &&
		(r.Credentials || !slices.Contains(methods, "*")) {
		return false
	}
	allowed := headerListValues(resp[acah])
	for _, name := range r.Headers {
		listed := slices.ContainsFunc(allowed, func(a string) bool { return strings.EqualFold(a, name) })
		if listed {
			continue
		}
		// "*" never covers Authorization, and means "*" literally with
		// credentials.
		if strings.EqualFold(name, "Authorization") || r.Credentials || !slices.Contains(allowed, "*") {
			return false
		}
	}
	return true
}

// policyAllows decides whether the policy allows the request: corsrules
// matching for the origin, exact (case-sensitive) membership for methods,
// case-insensitive membership for headers, and "*" as CORS-RULES.md defines
// it.
//
// The lone "*" matches every Origin value, "null" and extension origins
// included: that is what Access-Control-Allow-Origin: * means to a browser,
// and no data plane can write a "*" that leaves some origins out. (corsrules
// matches "*" only against origins that ParseRequestOrigin accepts.)
func policyAllows(spec kubecorsv1alpha1.CorsPolicySpec, r corsRequest) bool {
	o, err := corsrules.ParseRequestOrigin(r.Origin)
	matched := false
	for _, written := range spec.AllowOrigins {
		p, perr := corsrules.ParseOriginPattern(string(written))
		if perr == nil && (p.Any || err == nil && p.Matches(o)) {
			matched = true
			break
		}
	}
	if !matched || (r.Credentials && !credentials(spec)) {
		return false
	}
	if !needsPreflight(r) {
		return true
	}
	methods := methodNames(spec)
	if !isSafelistedMethod(r.Method) && !slices.Contains(methods, r.Method) &&
		(r.Credentials || !slices.Contains(methods, "*")) {
		return false
	}
	headers := allowHeaderNames(spec)
	for _, name := range r.Headers {
		if slices.ContainsFunc(headers, func(h string) bool { return strings.EqualFold(h, name) }) {
			continue
		}
		if strings.EqualFold(name, "Authorization") || r.Credentials || !slices.Contains(headers, "*") {
			return false
		}
	}
	return true
}

// nginxResponse is the response ingress-nginx sends for the request, given
// the annotations: its annotation validation and Parse
// (internal/ingress/annotations/cors/main.go, current main) with their
// fallbacks, then the nginx.tmpl CORS block with buildCorsOriginRegex
// (internal/ingress/controller/template/template.go).
func nginxResponse(annotations map[string]string, r corsRequest) (corsResponse, error) {
	if v, err := strconv.ParseBool(annotations[nginxEnableCors]); err != nil || !v {
		return corsResponse{}, nil
	}
	origins := nginxParsedOrigins(annotations)
	methods := nginxParsedValue(annotations, nginxAllowMethods, nginxMethodsRegex, nginxDefaultMethods)
	headers := nginxParsedValue(annotations, nginxAllowHeaders, nginxHeadersVariable, nginxDefaultHeaders)
	creds, err := strconv.ParseBool(annotations[nginxAllowCredentials])
	if err != nil {
		creds = true
	}
	// {{ if $cors.CorsAllowOrigin }}: with no origin left, $cors is never set
	// and nginx adds no CORS header at all.
	if len(origins) == 0 {
		return corsResponse{}, nil
	}
	resp := corsResponse{acam: methods, acah: headers}
	if creds {
		resp[acac] = headerTrue
	}
	if len(origins) == 1 && origins[0] == "*" {
		resp[acao] = "*"
		return resp, nil
	}
	parts := make([]string, len(origins))
	for i, o := range origins {
		quoted := regexp.QuoteMeta(o)
		parts[i] = "(" + strings.Replace(quoted, `\*`, `[A-Za-z0-9\-]+`, 1) + ")"
	}
	// if ($http_origin ~* ((o1)|(o2))$ ): case-insensitive, unanchored start.
	re, err := compileCached("(?i)(" + strings.Join(parts, "|") + ")$")
	if err != nil {
		return nil, fmt.Errorf("nginx origin regex: %w", err)
	}
	if !re.MatchString(r.Origin) {
		return corsResponse{}, nil
	}
	resp[acao] = r.Origin
	return resp, nil
}

// nginxParsedOrigins follows ingress-nginx from the annotation to
// Config.CorsAllowOrigin.
func nginxParsedOrigins(annotations map[string]string) []string {
	value, ok := annotations[nginxAllowOrigin]
	if !ok || strings.TrimSpace(value) == "" ||
		!nginxOriginValidatorMain.MatchString(strings.ReplaceAll(value, " ", "")) {
		return []string{"*"}
	}
	origins := []string{}
	for o := range strings.SplitSeq(value, ",") {
		o = strings.TrimSpace(o)
		switch {
		case o == "":
		case o == "*":
			return []string{"*"}
		case nginxOriginRegexMain.MatchString(o):
			origins = append(origins, o)
		}
	}
	return origins
}

// nginxParsedValue follows ingress-nginx for methods and headers: an absent,
// empty or invalid value is replaced by the default.
func nginxParsedValue(annotations map[string]string, key string, valid *regexp.Regexp, fallback string) string {
	value, ok := annotations[key]
	value = strings.TrimSpace(value)
	if !ok || value == "" || !valid.MatchString(strings.ReplaceAll(value, " ", "")) || !valid.MatchString(value) {
		return fallback
	}
	return value
}

// traefikResponse is the response a Traefik v3.6 headers Middleware sends
// for the request (pkg/middlewares/headers/header.go: processCorsHeaders,
// PostRequestModifyResponseHeaders and isOriginAllowed).
func traefikResponse(objects []*unstructured.Unstructured, r corsRequest) (corsResponse, error) {
	if len(objects) != 1 {
		return nil, fmt.Errorf("want one Middleware, got %d objects", len(objects))
	}
	headers, found, err := unstructured.NestedMap(objects[0].Object, "spec", "headers")
	if err != nil || !found {
		return nil, fmt.Errorf("spec.headers: found %v, %w", found, err)
	}
	list := func(key string) []string {
		values, _, _ := unstructured.NestedStringSlice(headers, key)
		return values
	}
	resp := corsResponse{}
	if creds, _, _ := unstructured.NestedBool(headers, "accessControlAllowCredentials"); creds {
		resp[acac] = headerTrue
	}
	if v := strings.Join(list("accessControlAllowHeaders"), ","); v != "" {
		resp[acah] = v
	}
	if v := strings.Join(list("accessControlAllowMethods"), ","); v != "" {
		resp[acam] = v
	}
	for _, item := range list("accessControlAllowOriginList") {
		if item == "*" || item == r.Origin {
			resp[acao] = item
			return resp, nil
		}
	}
	for _, expr := range list("accessControlAllowOriginListRegex") {
		// NewHeader fails on a regex that does not compile: the router
		// then has no middleware at all, which is a render bug too.
		re, err := compileCached(expr)
		if err != nil {
			return nil, fmt.Errorf("accessControlAllowOriginListRegex %q: %w", expr, err)
		}
		if re.MatchString(r.Origin) {
			resp[acao] = r.Origin
			return resp, nil
		}
	}
	return resp, nil
}

// haproxyResponse is the response HAProxy Ingress sends for the request: the
// validators with their fallback to defaults (validator.go, mapper.go), the
// converter (backend.go buildBackendCors) and the haproxy.tmpl CORS block as
// pkg/haproxy/instance_test.go shows it: echo the Origin when it is in the
// list (-m str) or matches a regex (-m reg), else answer with the first item.
func haproxyResponse(annotations map[string]string, r corsRequest) (corsResponse, error) {
	get := func(key string, valid func(string) bool, fallback string) string {
		if v, ok := annotations[key]; ok && valid(v) {
			return v
		}
		return fallback
	}
	enabled, _ := strconv.ParseBool(get(haproxyCorsEnable, isBool, "false"))
	if !enabled {
		return corsResponse{}, nil
	}
	list := strings.Split(get(haproxyAllowOrigin, func(v string) bool {
		for o := range strings.SplitSeq(v, ",") {
			if !haproxyOriginRegex.MatchString(o) {
				return false
			}
		}
		return true
	}, "*"), ",")
	var regexes []*regexp.Regexp
	if v := annotations[haproxyAllowOriginRegex]; v != "" {
		for expr := range strings.SplitSeq(v, " ") {
			re, err := compileCached(expr)
			if err != nil {
				// The key is ignored as a whole ("ignoring invalid cors
				// origin regex").
				regexes = nil
				break
			}
			regexes = append(regexes, re)
		}
	}
	creds, _ := strconv.ParseBool(get(haproxyAllowCredentials, isBool, "true"))
	resp := corsResponse{
		acam: get(haproxyAllowMethods, haproxyMethodsRegex.MatchString, haproxyDefaultMethods),
		acah: get(haproxyAllowHeaders, haproxyHeadersRegex.MatchString, haproxyDefaultHeaders),
	}
	if creds {
		resp[acac] = headerTrue
	}
	matched := slices.Contains(list, r.Origin) ||
		slices.ContainsFunc(regexes, func(re *regexp.Regexp) bool { return re.MatchString(r.Origin) })
	if matched {
		resp[acao] = r.Origin
	} else {
		resp[acao] = list[0]
	}
	return resp, nil
}

func isBool(v string) bool {
	_, err := strconv.ParseBool(v)
	return err == nil
}

// compiledRegexps caches the regular expressions the models compile: the
// property test evaluates the same few thousand expressions many times.
var compiledRegexps sync.Map

func compileCached(expr string) (*regexp.Regexp, error) {
	if re, ok := compiledRegexps.Load(expr); ok {
		return re.(*regexp.Regexp), nil
	}
	re, err := regexp.Compile(expr)
	if err != nil {
		return nil, err
	}
	compiledRegexps.Store(expr, re)
	return re, nil
}
