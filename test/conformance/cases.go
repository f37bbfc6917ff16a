// Package conformance holds Gateway API's conformance plan for the
// HTTPRoute CORS filter as data: the request/response pairs of the
// HTTPRouteCORS test of sigs.k8s.io/gateway-api/conformance v1.6.3, and the
// upstream files they were taken from. kubecors's render tests check the
// filters kubecors writes against it; an end-to-end suite can replay the
// pairs against a real Gateway.
//
//nolint:goconst // Upstream's table as data: each case reads on its own, as test tables do.
package conformance

import "embed"

// UpstreamDir is the directory of Upstream that holds the vendored files.
const UpstreamDir = "gateway-api-v1.6.3"

// Upstream holds the vendored upstream files, byte for byte: README.md,
// httproute-cors.yaml (the HTTPRoutes of the test) and
// httproute-cors.go.txt (the test itself). Embedding them lets tests read
// exactly the vendored copy, wherever they run from.
//
//go:embed gateway-api-v1.6.3
var Upstream embed.FS

// Request is an HTTP request the plan sends through the Gateway.
type Request struct {
	// Path selects the route rule, by PathPrefix.
	Path string
	// Method is the request method; OPTIONS with
	// Access-Control-Request-Method makes a preflight.
	Method string
	// Headers are the request headers, names spelled as upstream spells
	// them (header names are case-insensitive).
	Headers map[string]string
}

// Response is what the plan accepts in answer to a Request. Header names
// are compared case-insensitively, and several values of one header are
// joined with "," before comparing, as the upstream framework does.
type Response struct {
	// StatusCodes are the accepted status codes, normalised as the
	// upstream framework normalises them: its deprecated single StatusCode
	// is added to the list, and an empty list means 200.
	StatusCodes []int
	// Headers must be present with exactly these values.
	Headers map[string]string
	// ValidHeaderValues must be present, each with one of its values.
	ValidHeaderValues map[string][]string
	// AbsentHeaders must not be present.
	AbsentHeaders []string
	// IgnoreWhitespace makes the value comparisons ignore spaces, because
	// implementations differ in writing ", " or "," between list items.
	IgnoreWhitespace bool
}

// Case is one request/response pair of the plan.
type Case struct {
	// Name is upstream's TestCaseName.
	Name string
	// Request is what is sent.
	Request Request
	// Response is what must come back.
	Response Response
}

// HTTPRouteCORSCases are the request/response pairs of upstream's
// HTTPRouteCORS test, in upstream order, against the routes of
// httproute-cors.yaml. internal/dataplanes/gatewayapi's conformance test fails when this
// table and the vendored test disagree.
var HTTPRouteCORSCases = []Case{
	{
		Name: "CORS preflight request from an exact matching origin should be allowed",
		Request: Request{
			Path:   "/cors-1",
			Method: "OPTIONS",
			Headers: map[string]string{
				"Origin":                         "https://www.foo.com",
				"access-control-request-headers": "x-header-1, x-header-2",
				"access-control-request-method":  "GET",
			},
		},
		Response: Response{
			StatusCodes: []int{200, 204},
			ValidHeaderValues: map[string][]string{
				"access-control-allow-credentials": {"true"},
				"access-control-allow-headers":     {"x-header-1, x-header-2", "x-header-2, x-header-1"},
				"access-control-allow-methods":     {"GET, OPTIONS", "OPTIONS, GET"},
				"access-control-allow-origin":      {"https://www.foo.com"},
				"access-control-expose-headers":    {"x-header-3, x-header-4", "x-header-4, x-header-3"},
				"access-control-max-age":           {"3600"},
			},
			IgnoreWhitespace: true,
		},
	},
	{
		Name: "CORS preflight request from a wildcard matching origin should be allowed",
		Request: Request{
			Path:   "/cors-1",
			Method: "OPTIONS",
			Headers: map[string]string{
				"Origin":                         "https://www.bar.com",
				"access-control-request-headers": "x-header-1, x-header-2",
				"access-control-request-method":  "GET",
			},
		},
		Response: Response{
			StatusCodes: []int{200, 204},
			ValidHeaderValues: map[string][]string{
				"access-control-allow-credentials": {"true"},
				"access-control-allow-headers":     {"x-header-1, x-header-2", "x-header-2, x-header-1"},
				"access-control-allow-methods":     {"GET, OPTIONS", "OPTIONS, GET"},
				"access-control-allow-origin":      {"https://www.bar.com"},
				"access-control-expose-headers":    {"x-header-3, x-header-4", "x-header-4, x-header-3"},
				"access-control-max-age":           {"3600"},
			},
			IgnoreWhitespace: true,
		},
	},
	{
		Name: "CORS preflight request from a wildcard matching any number of periods left to '*' should be allowed",
		Request: Request{
			Path:   "/cors-1",
			Method: "OPTIONS",
			Headers: map[string]string{
				"Origin":                         "https://xpto.www.bar.com",
				"access-control-request-headers": "x-header-1, x-header-2",
				"access-control-request-method":  "GET",
			},
		},
		Response: Response{
			StatusCodes: []int{200, 204},
			ValidHeaderValues: map[string][]string{
				"access-control-allow-credentials": {"true"},
				"access-control-allow-headers":     {"x-header-1, x-header-2", "x-header-2, x-header-1"},
				"access-control-allow-methods":     {"GET, OPTIONS", "OPTIONS, GET"},
				"access-control-allow-origin":      {"https://xpto.www.bar.com"},
				"access-control-expose-headers":    {"x-header-3, x-header-4", "x-header-4, x-header-3"},
				"access-control-max-age":           {"3600"},
			},
			IgnoreWhitespace: true,
		},
	},
	{
		Name: "CORS preflight request from a non-matching origin should not be allowed",
		Request: Request{
			Path:   "/cors-1",
			Method: "OPTIONS",
			Headers: map[string]string{
				"Origin":                        "https://foobar.com",
				"access-control-request-method": "GET",
			},
		},
		Response: Response{
			StatusCodes:   []int{200, 204, 403},
			AbsentHeaders: []string{"access-control-allow-origin"},
		},
	},
	{
		Name: "Simple request from an exact matching origin should be allowed",
		Request: Request{
			Path:   "/cors-1",
			Method: "GET",
			Headers: map[string]string{
				"Origin":                         "https://www.foo.com",
				"access-control-request-headers": "x-header-1, x-header-2",
				"access-control-request-method":  "GET",
			},
		},
		Response: Response{
			StatusCodes: []int{200},
			Headers: map[string]string{
				"access-control-allow-origin": "https://www.foo.com",
			},
		},
	},
	{
		Name: "Simple request from a wildcard matching origin should be allowed",
		Request: Request{
			Path:   "/cors-1",
			Method: "GET",
			Headers: map[string]string{
				"Origin":                         "https://www.bar.com",
				"access-control-request-headers": "x-header-1, x-header-2",
				"access-control-request-method":  "GET",
			},
		},
		Response: Response{
			StatusCodes: []int{200},
			Headers: map[string]string{
				"access-control-allow-origin": "https://www.bar.com",
			},
		},
	},
	{
		Name: "Simple request from a non-matching origin should not be allowed",
		Request: Request{
			Path:   "/cors-1",
			Method: "GET",
			Headers: map[string]string{
				"Origin":                        "https://foobar.com",
				"access-control-request-method": "GET",
			},
		},
		Response: Response{
			StatusCodes:   []int{200},
			AbsentHeaders: []string{"access-control-allow-origin"},
		},
	},
	{
		Name: "CORS preflight request with POST method should be allowed by allowMethods with wildcard",
		Request: Request{
			Path:   "/cors-2",
			Method: "OPTIONS",
			Headers: map[string]string{
				"Origin":                        "https://www.foo.com",
				"access-control-request-method": "POST",
			},
		},
		Response: Response{
			StatusCodes: []int{200, 204},
			Headers: map[string]string{
				"access-control-allow-origin": "https://www.foo.com",
			},
			ValidHeaderValues: map[string][]string{
				"access-control-allow-methods": {"POST", "*"},
			},
			AbsentHeaders: []string{"access-control-allow-credentials"},
		},
	},
	{
		Name: "CORS preflight request should not receive " +
			"access-control-allow-credentials header without access-control-allow-credentials set to true",
		Request: Request{
			Path:   "/cors-2",
			Method: "OPTIONS",
			Headers: map[string]string{
				"Origin":                        "https://www.foo.com",
				"access-control-request-method": "POST",
			},
		},
		Response: Response{
			StatusCodes:   []int{200, 204},
			AbsentHeaders: []string{"Access-Control-Allow-Credentials"},
		},
	},
	{
		Name: "CORS preflight request from a wildcard origin should return header with '*' or with the requested Origin",
		Request: Request{
			Path:   "/cors-wildcard-origin",
			Method: "OPTIONS",
			Headers: map[string]string{
				"Origin":                        "https://foobar.com",
				"access-control-request-method": "PUT",
			},
		},
		Response: Response{
			StatusCodes: []int{200, 204},
			ValidHeaderValues: map[string][]string{
				"access-control-allow-methods": {"PUT"},
				"access-control-allow-origin":  {"https://foobar.com", "*"},
			},
			AbsentHeaders: []string{"Access-Control-Allow-Credentials"},
		},
	},
	{
		Name: "CORS preflight request from a wildcard origin containing a port " +
			"should return header with '*' or with the requested Origin",
		Request: Request{
			Path:   "/cors-wildcard-origin",
			Method: "OPTIONS",
			Headers: map[string]string{
				"Origin":                        "https://foobar.com:12345",
				"access-control-request-method": "PUT",
			},
		},
		Response: Response{
			StatusCodes: []int{200, 204},
			ValidHeaderValues: map[string][]string{
				"access-control-allow-methods": {"PUT"},
				"access-control-allow-origin":  {"https://foobar.com:12345", "*"},
			},
			AbsentHeaders: []string{"Access-Control-Allow-Credentials"},
		},
	},
	{
		Name: "Request from a wildcard origin containing a port should return header with '*' or with the requested Origin",
		Request: Request{
			Path:   "/cors-wildcard-origin",
			Method: "PUT",
			Headers: map[string]string{
				"Origin": "https://foobar.com:12345",
			},
		},
		Response: Response{
			StatusCodes: []int{200},
			ValidHeaderValues: map[string][]string{
				"access-control-allow-origin": {"https://foobar.com:12345", "*"},
			},
		},
	},
	{
		Name: "Simple request from a wildcard origin should return header with '*' or with the requested Origin",
		Request: Request{
			Path:   "/cors-wildcard-origin",
			Method: "PUT",
			Headers: map[string]string{
				"Origin": "https://foobar.com",
			},
		},
		Response: Response{
			StatusCodes: []int{200},
			ValidHeaderValues: map[string][]string{
				"access-control-allow-origin": {"https://foobar.com", "*"},
			},
			AbsentHeaders: []string{"Access-Control-Allow-Credentials"},
		},
	},
	{
		Name: "CORS preflight request requesting specific method and headers should be " +
			"allowed and always echo the origin with allowCredentials set to true",
		Request: Request{
			Path:   "/cors-wildcard-methods-headers",
			Method: "OPTIONS",
			Headers: map[string]string{
				"Origin":                         "https://other.foo.com",
				"access-control-request-headers": "x-header-1, x-header-2",
				"access-control-request-method":  "PUT",
			},
		},
		Response: Response{
			StatusCodes: []int{200, 204},
			ValidHeaderValues: map[string][]string{
				"access-control-allow-credentials": {"true"},
				"access-control-allow-headers":     {"x-header-1, x-header-2", "x-header-2, x-header-1"},
				"access-control-allow-methods":     {"PUT"},
				"access-control-allow-origin":      {"https://other.foo.com"},
			},
			IgnoreWhitespace: true,
		},
	},
	{
		Name: "CORS preflight request requesting specific method and headers " +
			"should hide access-control-allow-credentials headers with allowCredentials set to false",
		Request: Request{
			Path:   "/cors-wildcard-methods-headers-unauth",
			Method: "OPTIONS",
			Headers: map[string]string{
				"Origin":                         "https://other.foo.com",
				"access-control-request-headers": "x-header-1, x-header-2",
				"access-control-request-method":  "PUT",
			},
		},
		Response: Response{
			StatusCodes: []int{200, 204},
			ValidHeaderValues: map[string][]string{
				"access-control-allow-headers": {"x-header-1, x-header-2", "x-header-2, x-header-1", "*"},
				"access-control-allow-methods": {"PUT", "*"},
				"access-control-allow-origin":  {"https://other.foo.com", "*"},
			},
			AbsentHeaders:    []string{"access-control-allow-credentials"},
			IgnoreWhitespace: true,
		},
	},
	{
		Name: "CORS request should receive access-control-allow-credentials header with allowCredentials set to true",
		Request: Request{
			Path:   "/cors-wildcard-methods-headers",
			Method: "GET",
			Headers: map[string]string{
				"Origin": "https://other.foo.com",
			},
		},
		Response: Response{
			StatusCodes: []int{200},
			ValidHeaderValues: map[string][]string{
				"access-control-allow-credentials": {"true"},
				"access-control-allow-origin":      {"https://other.foo.com"},
			},
		},
	},
	{
		Name: "CORS request should not receive access-control-allow-credentials header without allowCredentials set to true",
		Request: Request{
			Path:   "/cors-wildcard-methods-headers-unauth",
			Method: "GET",
			Headers: map[string]string{
				"Origin": "https://other.foo.com",
			},
		},
		Response: Response{
			StatusCodes: []int{200},
			ValidHeaderValues: map[string][]string{
				"access-control-allow-origin": {"https://other.foo.com", "*"},
			},
			AbsentHeaders: []string{"access-control-allow-credentials"},
		},
	},
}
