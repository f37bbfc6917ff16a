package corscheck_test

import (
	"errors"
	"net/http"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/kubecors/kubecors/internal/corscheck"
)

const (
	page  = "https://app.example.com"
	other = "https://other.example.com"
)

// header builds a header from name, value pairs, keeping repeated names
// as repeated fields.
func header(kv ...string) http.Header {
	h := http.Header{}
	for ; len(kv) >= 2; kv = kv[2:] {
		h.Add(kv[0], kv[1])
	}
	return h
}

// response builds a response with a status and headers.
func response(status int, kv ...string) *corscheck.Response {
	return &corscheck.Response{Status: status, Header: header(kv...)}
}

// allowing is a preflight response that allows page, every given method
// and header, and credentials, so that a case fails only where it says.
func allowing(methods, headers string) *corscheck.Response {
	return response(http.StatusNoContent,
		"Access-Control-Allow-Origin", page, "Access-Control-Allow-Credentials", "true",
		"Access-Control-Allow-Methods", methods, "Access-Control-Allow-Headers", headers, "Vary", "Origin")
}

// ok is an actual response that passes the CORS check for page, with
// credentials, and carries the extra headers kv.
func ok(kv ...string) *corscheck.Response {
	return response(http.StatusOK, append([]string{
		"Access-Control-Allow-Origin", page, "Access-Control-Allow-Credentials", "true", "Vary", "Origin",
	}, kv...)...)
}

func TestEvaluateFailures(t *testing.T) {
	get := corscheck.Request{Origin: page, Method: http.MethodGet}
	getCredentialed := corscheck.Request{Origin: page, Method: http.MethodGet, Credentials: true}
	put := corscheck.Request{Origin: page, Method: http.MethodPut}
	putWithKey := corscheck.Request{Origin: page, Method: http.MethodPut, Headers: header("X-Api-Key", "k")}
	tests := []struct {
		name      string
		req       corscheck.Request
		ex        corscheck.Exchange
		class     string
		stage     string
		message   string
		fix       string
		serverFix string
	}{
		{
			name:    "no-cors-headers: the response to a simple GET carries no Access-Control-* header",
			req:     get,
			ex:      corscheck.Exchange{Actual: response(200, "Content-Type", "application/json")},
			class:   corscheck.ClassNoCORSHeaders,
			stage:   corscheck.StageActual,
			message: "the response carries no CORS headers (no Access-Control-Allow-Origin): the server does not do CORS for this URL",
			fix:     `add "https://app.example.com" to spec.allowOrigins`,
		},
		{
			name:    "no-cors-headers: a 2xx preflight response without any CORS header",
			req:     put,
			ex:      corscheck.Exchange{Preflight: response(200, "Allow", "GET, PUT")},
			class:   corscheck.ClassNoCORSHeaders,
			stage:   corscheck.StagePreflight,
			message: "the preflight response carries no CORS headers (no Access-Control-Allow-Origin): the server does not do CORS for this URL",
			fix:     `add "https://app.example.com" to spec.allowOrigins`,
		},
		{
			name:      "origin-mismatch: another origin is allowed, and the message names it",
			req:       get,
			ex:        corscheck.Exchange{Actual: response(200, "Access-Control-Allow-Origin", other)},
			class:     corscheck.ClassOriginMismatch,
			stage:     corscheck.StageActual,
			message:   `the response allows the origin "https://other.example.com", not the page's origin https://app.example.com`,
			fix:       `add "https://app.example.com" to spec.allowOrigins`,
			serverFix: "answer with Access-Control-Allow-Origin: https://app.example.com",
		},
		{
			name:    "origin-mismatch: a trailing slash is a path, and origins have none",
			req:     get,
			ex:      corscheck.Exchange{Actual: response(200, "Access-Control-Allow-Origin", page+"/")},
			class:   corscheck.ClassOriginMismatch,
			stage:   corscheck.StageActual,
			message: `the response allows the origin "https://app.example.com/", not the page's origin https://app.example.com (origins have no path, not even a trailing /)`,
			fix:     `add "https://app.example.com" to spec.allowOrigins`,
		},
		{
			name:    "origin-mismatch: origins are compared byte for byte, so case matters",
			req:     get,
			ex:      corscheck.Exchange{Actual: response(200, "Access-Control-Allow-Origin", "https://App.example.com")},
			class:   corscheck.ClassOriginMismatch,
			stage:   corscheck.StageActual,
			message: `the response allows the origin "https://App.example.com", not the page's origin https://app.example.com (they differ in case, and browsers compare origins byte for byte)`,
			fix:     `add "https://app.example.com" to spec.allowOrigins`,
		},
		{
			name:    "origin-mismatch: null allows only opaque origins",
			req:     get,
			ex:      corscheck.Exchange{Actual: response(200, "Access-Control-Allow-Origin", "null")},
			class:   corscheck.ClassOriginMismatch,
			stage:   corscheck.StageActual,
			message: `the response allows the origin "null", not the page's origin https://app.example.com ("null" matches only sandboxed and other opaque origins)`,
			fix:     `add "https://app.example.com" to spec.allowOrigins`,
		},
		{
			name: "origin-mismatch: the preflight has other CORS headers but no Access-Control-Allow-Origin for this origin",
			req:  put,
			ex: corscheck.Exchange{Preflight: response(204,
				"Access-Control-Allow-Methods", "PUT", "Access-Control-Allow-Headers", "content-type")},
			class:   corscheck.ClassOriginMismatch,
			stage:   corscheck.StagePreflight,
			message: "the preflight response carries CORS headers but no Access-Control-Allow-Origin: the server does not allow the origin https://app.example.com",
			fix:     `add "https://app.example.com" to spec.allowOrigins`,
		},
		{
			name: "invalid-cors-header: Access-Control-Allow-Origin sent twice never matches, even with the right origin",
			req:  get,
			ex: corscheck.Exchange{Actual: response(200,
				"Access-Control-Allow-Origin", page, "Access-Control-Allow-Origin", page)},
			class: corscheck.ClassInvalidCORSHeader,
			stage: corscheck.StageActual,
			message: `the response carries Access-Control-Allow-Origin 2 times ("https://app.example.com" and "https://app.example.com"); ` +
				`browsers join them into "https://app.example.com, https://app.example.com", which is never an origin`,
			fix:       `add "https://app.example.com" to spec.allowOrigins`,
			serverFix: "send Access-Control-Allow-Origin once, with the single value https://app.example.com",
		},
		{
			name:  "invalid-cors-header: Access-Control-Allow-Origin is a list of the allowed origins",
			req:   get,
			ex:    corscheck.Exchange{Actual: response(200, "Access-Control-Allow-Origin", other+", "+page)},
			class: corscheck.ClassInvalidCORSHeader,
			stage: corscheck.StageActual,
			message: `the response has Access-Control-Allow-Origin "https://other.example.com, https://app.example.com", a list; ` +
				"browsers accept exactly one origin (or *) and compare it byte for byte with https://app.example.com",
			fix:       `add "https://app.example.com" to spec.allowOrigins`,
			serverFix: "send only the request's origin when it is allowed: Access-Control-Allow-Origin: https://app.example.com",
		},
		{
			name:  "invalid-cors-header: Access-Control-Allow-Methods separated by semicolons fails the preflight",
			req:   put,
			ex:    corscheck.Exchange{Preflight: allowing("GET;PUT", "")},
			class: corscheck.ClassInvalidCORSHeader,
			stage: corscheck.StagePreflight,
			message: `the preflight response's Access-Control-Allow-Methods "GET;PUT" is not a comma-separated list of method names ` +
				`(not a comma-separated list of tokens: "GET;PUT"), so browsers fail the preflight`,
			fix:       `add "PUT" to spec.allowMethods`,
			serverFix: "write Access-Control-Allow-Methods as a comma-separated list of method names that includes PUT",
		},
		{
			name:  "invalid-cors-header: Access-Control-Allow-Headers with a quoted name fails the preflight",
			req:   putWithKey,
			ex:    corscheck.Exchange{Preflight: allowing("PUT", `"x-api-key"`)},
			class: corscheck.ClassInvalidCORSHeader,
			stage: corscheck.StagePreflight,
			message: `the preflight response's Access-Control-Allow-Headers "\"x-api-key\"" is not a comma-separated list of header names ` +
				`(not a comma-separated list of tokens: "\"x-api-key\""), so browsers fail the preflight`,
			fix: `add "X-Api-Key" to spec.allowHeaders`,
		},
		{
			name:      "preflight-not-handled: OPTIONS gets 404 because no route serves it",
			req:       put,
			ex:        corscheck.Exchange{Preflight: response(404, "Access-Control-Allow-Origin", page)},
			class:     corscheck.ClassPreflightNotHandled,
			stage:     corscheck.StagePreflight,
			message:   "the preflight (OPTIONS) got 404 Not Found; browsers need an ok status (2xx), so the server does not handle preflights for this URL",
			fix:       "make the route answer OPTIONS preflights: a CorsPolicy targeting it has the data plane answer them",
			serverFix: "answer OPTIONS for this URL with 204 No Content and the CORS headers, before any authentication or routing that rejects it",
		},
		{
			name:    "preflight-not-handled: OPTIONS gets 405 from a backend that only knows PUT",
			req:     put,
			ex:      corscheck.Exchange{Preflight: response(405, "Allow", "PUT")},
			class:   corscheck.ClassPreflightNotHandled,
			stage:   corscheck.StagePreflight,
			message: "the preflight (OPTIONS) got 405 Method Not Allowed; browsers need an ok status (2xx), so the server does not handle preflights for this URL",
			fix:     "make the route answer OPTIONS preflights: a CorsPolicy targeting it has the data plane answer them",
		},
		{
			name:      "preflight-not-handled: the preflight response has no Access-Control-Allow-Methods for PUT",
			req:       put,
			ex:        corscheck.Exchange{Preflight: response(204, "Access-Control-Allow-Origin", page)},
			class:     corscheck.ClassPreflightNotHandled,
			stage:     corscheck.StagePreflight,
			message:   "the preflight response has no Access-Control-Allow-Methods, so it does not allow PUT",
			fix:       `add "PUT" to spec.allowMethods`,
			serverFix: "answer the preflight with Access-Control-Allow-Methods listing PUT",
		},
		{
			name: "preflight-not-handled: the preflight response has no Access-Control-Allow-Headers for the page's headers",
			req:  corscheck.Request{Origin: page, Method: http.MethodPost, Headers: header("Content-Type", "application/json", "X-Api-Key", "k")},
			ex: corscheck.Exchange{Preflight: response(204,
				"Access-Control-Allow-Origin", page, "Access-Control-Allow-Methods", "POST")},
			class:     corscheck.ClassPreflightNotHandled,
			stage:     corscheck.StagePreflight,
			message:   "the preflight response has no Access-Control-Allow-Headers, so it allows none of the headers the page sets: content-type, x-api-key",
			fix:       `add "Content-Type" and "X-Api-Key" to spec.allowHeaders`,
			serverFix: "answer the preflight with Access-Control-Allow-Headers listing content-type, x-api-key",
		},
		{
			name:      "redirect: a preflight that redirects fails",
			req:       put,
			ex:        corscheck.Exchange{Preflight: response(307, "Location", "https://api.example.com/v2/items", "Access-Control-Allow-Origin", page)},
			class:     corscheck.ClassRedirect,
			stage:     corscheck.StagePreflight,
			message:   "the preflight got 307 Temporary Redirect, a redirect to https://api.example.com/v2/items: browsers fail a preflight that redirects",
			fix:       "make the page call https://api.example.com/v2/items directly, or the route answer OPTIONS here without redirecting",
			serverFix: "answer OPTIONS at this URL with 204 No Content and the CORS headers instead of redirecting, or make the page call https://api.example.com/v2/items",
		},
		{
			name:  "redirect: a redirect of the actual request is reported, not followed",
			req:   get,
			ex:    corscheck.Exchange{Actual: response(302, "Location", "https://login.example.com/", "Access-Control-Allow-Origin", "*")},
			class: corscheck.ClassRedirect,
			stage: corscheck.StageActual,
			message: "the actual request got 302 Found, a redirect to https://login.example.com/; browsers follow it and run the CORS check again " +
				"on the next response (with Origin: null after a cross-origin redirect), which is not modelled here",
			fix: "make the page call https://login.example.com/ directly, and check that URL as well",
		},
		{
			name:      "credentials-not-allowed: a credentialed request gets no Access-Control-Allow-Credentials",
			req:       getCredentialed,
			ex:        corscheck.Exchange{Actual: response(200, "Access-Control-Allow-Origin", page, "Vary", "Origin")},
			class:     corscheck.ClassCredentialsNotAllowed,
			stage:     corscheck.StageActual,
			message:   `the request is credentialed (credentials: "include") but the response has no Access-Control-Allow-Credentials`,
			fix:       "set spec.allowCredentials to true",
			serverFix: "answer with Access-Control-Allow-Credentials: true",
		},
		{
			name: "credentials-not-allowed: only the exact value true counts, not True",
			req:  getCredentialed,
			ex: corscheck.Exchange{Actual: response(200,
				"Access-Control-Allow-Origin", page, "Access-Control-Allow-Credentials", "True", "Vary", "Origin")},
			class:   corscheck.ClassCredentialsNotAllowed,
			stage:   corscheck.StageActual,
			message: `the request is credentialed (credentials: "include") and the response has Access-Control-Allow-Credentials "True"; browsers accept only the exact value "true"`,
			fix:     "set spec.allowCredentials to true",
		},
		{
			name: "credentials-not-allowed: the preflight response needs Access-Control-Allow-Credentials too",
			req:  corscheck.Request{Origin: page, Method: http.MethodDelete, Credentials: true},
			ex: corscheck.Exchange{Preflight: response(204,
				"Access-Control-Allow-Origin", page, "Access-Control-Allow-Methods", "DELETE")},
			class:   corscheck.ClassCredentialsNotAllowed,
			stage:   corscheck.StagePreflight,
			message: `the request is credentialed (credentials: "include") but the preflight response has no Access-Control-Allow-Credentials`,
			fix:     "set spec.allowCredentials to true",
		},
		{
			name: "wildcard-with-credentials: Access-Control-Allow-Origin * fails a credentialed request, even with Allow-Credentials",
			req:  getCredentialed,
			ex: corscheck.Exchange{Actual: response(200,
				"Access-Control-Allow-Origin", "*", "Access-Control-Allow-Credentials", "true")},
			class: corscheck.ClassWildcardWithCredentials,
			stage: corscheck.StageActual,
			message: `the request is credentialed (credentials: "include") and the response has Access-Control-Allow-Origin: *, ` +
				"which browsers refuse for credentialed requests",
			fix: `replace "*" in spec.allowOrigins with "https://app.example.com"`,
			serverFix: "answer with Access-Control-Allow-Origin: https://app.example.com (the allowed origin, echoed) instead of *, " +
				"with Access-Control-Allow-Credentials: true and Vary: Origin",
		},
		{
			name:      "method-not-allowed: PUT is not in Access-Control-Allow-Methods",
			req:       put,
			ex:        corscheck.Exchange{Preflight: allowing("GET, POST", "")},
			class:     corscheck.ClassMethodNotAllowed,
			stage:     corscheck.StagePreflight,
			message:   `the preflight response's Access-Control-Allow-Methods is "GET, POST", which does not list PUT`,
			fix:       `add "PUT" to spec.allowMethods`,
			serverFix: "answer the preflight with Access-Control-Allow-Methods listing PUT",
		},
		{
			name:    "method-not-allowed: methods are case-sensitive, so patch does not allow PATCH",
			req:     corscheck.Request{Origin: page, Method: "PATCH"},
			ex:      corscheck.Exchange{Preflight: allowing("GET, patch", "")},
			class:   corscheck.ClassMethodNotAllowed,
			stage:   corscheck.StagePreflight,
			message: `the preflight response's Access-Control-Allow-Methods is "GET, patch", which does not list PATCH (methods are case-sensitive: PATCH and patch differ)`,
			fix:     `add "PATCH" to spec.allowMethods`,
		},
		{
			name:    "method-not-allowed: with credentials a * in Access-Control-Allow-Methods is a literal method name",
			req:     corscheck.Request{Origin: page, Method: http.MethodPut, Credentials: true},
			ex:      corscheck.Exchange{Preflight: allowing("*", "")},
			class:   corscheck.ClassMethodNotAllowed,
			stage:   corscheck.StagePreflight,
			message: `the preflight response's Access-Control-Allow-Methods is "*", which does not list PUT; with credentials, browsers read "*" as a method literally named "*"`,
			fix:     `replace "*" in spec.allowMethods with "PUT"`,
		},
		{
			name:      "header-not-allowed: X-Api-Key is not in Access-Control-Allow-Headers",
			req:       putWithKey,
			ex:        corscheck.Exchange{Preflight: allowing("PUT", "Content-Type")},
			class:     corscheck.ClassHeaderNotAllowed,
			stage:     corscheck.StagePreflight,
			message:   `the preflight response's Access-Control-Allow-Headers is "Content-Type", which does not list x-api-key`,
			fix:       `add "X-Api-Key" to spec.allowHeaders`,
			serverFix: "answer the preflight with Access-Control-Allow-Headers listing x-api-key",
		},
		{
			name: "header-not-allowed: * never covers Authorization, even without credentials",
			req:  corscheck.Request{Origin: page, Method: http.MethodGet, Headers: header("Authorization", "Bearer t", "X-Trace", "1")},
			ex: corscheck.Exchange{Preflight: response(204,
				"Access-Control-Allow-Origin", "*", "Access-Control-Allow-Headers", "*")},
			class:   corscheck.ClassHeaderNotAllowed,
			stage:   corscheck.StagePreflight,
			message: `the preflight response's Access-Control-Allow-Headers is "*", which does not list authorization; "*" never covers Authorization, which must be listed by name`,
			fix:     `add "Authorization" to spec.allowHeaders`,
		},
		{
			name: "header-not-allowed: with credentials a * in Access-Control-Allow-Headers is a literal header name",
			req: corscheck.Request{Origin: page, Method: http.MethodPost, Credentials: true,
				Headers: header("Content-Type", "application/json")},
			ex:      corscheck.Exchange{Preflight: allowing("POST", "*")},
			class:   corscheck.ClassHeaderNotAllowed,
			stage:   corscheck.StagePreflight,
			message: `the preflight response's Access-Control-Allow-Headers is "*", which does not list content-type; with credentials, browsers read "*" as a header literally named "*"`,
			fix:     `replace "*" in spec.allowHeaders with "Content-Type"`,
		},
		{
			name:      "header-not-exposed: the response has no Access-Control-Expose-Headers",
			req:       corscheck.Request{Origin: page, Method: http.MethodGet, Credentials: true, ReadHeaders: []string{"X-Request-Id"}},
			ex:        corscheck.Exchange{Actual: ok("X-Request-Id", "42")},
			class:     corscheck.ClassHeaderNotExposed,
			stage:     corscheck.StageRead,
			message:   "the page cannot read X-Request-Id: it is not a safelisted response header, and the response has no Access-Control-Expose-Headers",
			fix:       `add "X-Request-Id" to spec.exposeHeaders`,
			serverFix: "answer the actual request with Access-Control-Expose-Headers listing X-Request-Id",
		},
		{
			name: "header-not-exposed: Access-Control-Expose-Headers lists other headers",
			req: corscheck.Request{Origin: page, Method: http.MethodGet, Credentials: true,
				ReadHeaders: []string{"x-request-id", "ETag", "Content-Type"}},
			ex:      corscheck.Exchange{Actual: ok("Access-Control-Expose-Headers", "X-Total-Count", "ETag", `"1"`)},
			class:   corscheck.ClassHeaderNotExposed,
			stage:   corscheck.StageRead,
			message: `the page cannot read x-request-id and ETag: they are not safelisted response headers, and Access-Control-Expose-Headers is "X-Total-Count", which does not list them`,
			fix:     `add "x-request-id" and "ETag" to spec.exposeHeaders`,
		},
		{
			name:  "header-not-exposed: with credentials a * in Access-Control-Expose-Headers is a literal header name",
			req:   corscheck.Request{Origin: page, Method: http.MethodGet, Credentials: true, ReadHeaders: []string{"X-Request-Id"}},
			ex:    corscheck.Exchange{Actual: ok("Access-Control-Expose-Headers", "*", "X-Request-Id", "42")},
			class: corscheck.ClassHeaderNotExposed,
			stage: corscheck.StageRead,
			message: `the page cannot read X-Request-Id: it is not a safelisted response header, and Access-Control-Expose-Headers is "*"; ` +
				`with credentials, browsers read "*" as a header literally named "*"`,
			fix: `replace "*" in spec.exposeHeaders with "X-Request-Id"`,
		},
		{
			name:      "header-not-exposed: scripts never read Set-Cookie, whatever is exposed",
			req:       corscheck.Request{Origin: page, Method: http.MethodGet, ReadHeaders: []string{"Set-Cookie"}},
			ex:        corscheck.Exchange{Actual: response(200, "Access-Control-Allow-Origin", "*", "Access-Control-Expose-Headers", "Set-Cookie, *")},
			class:     corscheck.ClassHeaderNotExposed,
			stage:     corscheck.StageRead,
			message:   "scripts can never read Set-Cookie, exposed or not",
			fix:       "none: browsers never let scripts read Set-Cookie or Set-Cookie2; read the cookie's effect instead",
			serverFix: "none: browsers never let scripts read Set-Cookie or Set-Cookie2; read the cookie's effect instead",
		},
	}
	seen := map[string]bool{}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v := corscheck.Evaluate(tt.req, tt.ex)
			if v.Allowed || v.Incomplete {
				t.Fatalf("Allowed=%v Incomplete=%v, want a blocked verdict", v.Allowed, v.Incomplete)
			}
			if v.Failure == nil {
				t.Fatal("no Failure")
			}
			f := v.Failure
			if f.Class != tt.class || f.Stage != tt.stage {
				t.Errorf("Class, Stage = %q, %q; want %q, %q", f.Class, f.Stage, tt.class, tt.stage)
			}
			if f.Message != tt.message {
				t.Errorf("Message:\n got %s\nwant %s", f.Message, tt.message)
			}
			if f.Fix != tt.fix {
				t.Errorf("Fix:\n got %s\nwant %s", f.Fix, tt.fix)
			}
			if tt.serverFix != "" && f.ServerFix != tt.serverFix {
				t.Errorf("ServerFix:\n got %s\nwant %s", f.ServerFix, tt.serverFix)
			}
			if f.ServerFix == "" {
				t.Error("ServerFix is empty")
			}
			last := v.Steps[len(v.Steps)-1]
			if tt.stage != corscheck.StageRead && (last.Outcome != corscheck.OutcomeFail || last.Stage != tt.stage) {
				t.Errorf("last step %+v, want the failing check of stage %s", last, tt.stage)
			}
		})
		seen[tt.class] = true
	}
	for _, class := range []string{
		corscheck.ClassNoCORSHeaders, corscheck.ClassOriginMismatch, corscheck.ClassInvalidCORSHeader,
		corscheck.ClassPreflightNotHandled, corscheck.ClassRedirect, corscheck.ClassCredentialsNotAllowed,
		corscheck.ClassWildcardWithCredentials, corscheck.ClassMethodNotAllowed, corscheck.ClassHeaderNotAllowed,
		corscheck.ClassHeaderNotExposed,
	} {
		if !seen[class] {
			t.Errorf("no case of failure class %s", class)
		}
	}
}

func TestEvaluateAllowed(t *testing.T) {
	tests := []struct {
		name     string
		req      corscheck.Request
		ex       corscheck.Exchange
		readable []string
		warnings []string
	}{
		{
			name: "a simple GET without credentials passes with *",
			req:  corscheck.Request{Origin: page, Method: http.MethodGet},
			ex:   corscheck.Exchange{Actual: response(200, "Access-Control-Allow-Origin", "*")},
		},
		{
			name: "a credentialed PUT passes when everything is listed explicitly",
			req: corscheck.Request{Origin: page, Method: http.MethodPut, Credentials: true,
				Headers: header("Authorization", "Bearer t", "Content-Type", "application/json")},
			ex: corscheck.Exchange{
				Preflight: allowing("GET, PUT", "authorization, content-type"),
				Actual:    ok(),
			},
		},
		{
			name: "* allows any method and header but Authorization without credentials",
			req:  corscheck.Request{Origin: page, Method: "PURGE", Headers: header("X-Api-Key", "k")},
			ex: corscheck.Exchange{
				Preflight: response(204, "Access-Control-Allow-Origin", "*", "Access-Control-Allow-Methods", "*", "Access-Control-Allow-Headers", "*"),
				Actual:    response(200, "Access-Control-Allow-Origin", "*"),
			},
		},
		{
			name: "POST is safelisted, so it passes a preflight whose Access-Control-Allow-Methods omits it",
			req:  corscheck.Request{Origin: page, Method: http.MethodPost, Headers: header("X-Api-Key", "k")},
			ex: corscheck.Exchange{
				Preflight: response(204, "Access-Control-Allow-Origin", page, "Access-Control-Allow-Methods", "PUT", "Access-Control-Allow-Headers", "X-API-KEY"),
				Actual:    response(201, "Access-Control-Allow-Origin", page, "Vary", "Accept-Encoding, Origin"),
			},
		},
		{
			name: "exposed and safelisted response headers are readable, case-insensitively",
			req:  corscheck.Request{Origin: page, Method: http.MethodGet, ReadHeaders: []string{"x-request-id", "Content-Type", "Cache-Control"}},
			ex: corscheck.Exchange{Actual: response(200, "Access-Control-Allow-Origin", "*",
				"Access-Control-Expose-Headers", "X-Request-ID", "X-Request-Id", "42", "Content-Type", "text/plain")},
			readable: []string{"x-request-id", "Content-Type", "Cache-Control"},
		},
		{
			name: "* exposes every header without credentials",
			req:  corscheck.Request{Origin: page, Method: http.MethodGet, ReadHeaders: []string{"X-Request-Id"}},
			ex: corscheck.Exchange{Actual: response(200, "Access-Control-Allow-Origin", "*",
				"Access-Control-Expose-Headers", "*", "X-Request-Id", "42")},
			readable: []string{"X-Request-Id"},
		},
		{
			name:     "missing-vary-origin: an echoed origin without Vary: Origin passes with a warning",
			req:      corscheck.Request{Origin: page, Method: http.MethodGet},
			ex:       corscheck.Exchange{Actual: response(200, "Access-Control-Allow-Origin", page, "Vary", "Accept-Encoding")},
			warnings: []string{corscheck.ClassMissingVaryOrigin},
		},
		{
			name: "forbidden headers are dropped, so a Cookie set by the page needs no preflight",
			req:  corscheck.Request{Origin: page, Method: http.MethodGet, Headers: header("Cookie", "a=b", "Sec-Fetch-Mode", "no-cors")},
			ex:   corscheck.Exchange{Actual: response(200, "Access-Control-Allow-Origin", "*")},
		},
		{
			name: "a method fetch() uppercases (put) is checked as PUT",
			req:  corscheck.Request{Origin: page, Method: "put"},
			ex:   corscheck.Exchange{Preflight: allowing("PUT", ""), Actual: ok()},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v := corscheck.Evaluate(tt.req, tt.ex)
			if !v.Allowed || v.Failure != nil {
				t.Fatalf("blocked: %+v", v.Failure)
			}
			if diff := cmp.Diff(tt.readable, v.ReadableHeaders); diff != "" {
				t.Errorf("ReadableHeaders (-want +got):\n%s", diff)
			}
			var warnings []string
			for _, w := range v.Warnings {
				warnings = append(warnings, w.Class)
			}
			if diff := cmp.Diff(tt.warnings, warnings); diff != "" {
				t.Errorf("warnings (-want +got):\n%s", diff)
			}
		})
	}
}

func TestEvaluateMissingVaryOriginMessage(t *testing.T) {
	v := corscheck.Evaluate(corscheck.Request{Origin: page, Method: http.MethodGet},
		corscheck.Exchange{Actual: response(200, "Access-Control-Allow-Origin", page)})
	want := []corscheck.Diagnosis{{
		Class: corscheck.ClassMissingVaryOrigin,
		Stage: corscheck.StageActual,
		Message: "the response's Access-Control-Allow-Origin is the page's origin but the response has no Vary: Origin; " +
			"if the server picks the value per origin, a shared cache can serve this response to another origin (which then fails) " +
			"or another origin's response to this page",
		Fix:       "none in the policy (Vary is not a CorsPolicy field): add Vary: Origin where the response is produced",
		ServerFix: "add Vary: Origin to every response whose Access-Control-Allow-Origin depends on the request's Origin",
	}}
	if diff := cmp.Diff(want, v.Warnings); diff != "" {
		t.Errorf("warnings (-want +got):\n%s", diff)
	}
	if !v.Allowed {
		t.Error("a missing Vary: Origin blocked the request")
	}
}

func TestEvaluateIncomplete(t *testing.T) {
	tests := []struct {
		name string
		ex   corscheck.Exchange
	}{
		{name: "the preflight passed but the actual request was not sent", ex: corscheck.Exchange{Preflight: allowing("PUT", "")}},
		{name: "no preflight response though one is needed", ex: corscheck.Exchange{Actual: ok()}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v := corscheck.Evaluate(corscheck.Request{Origin: page, Method: http.MethodPut}, tt.ex)
			if v.Allowed || !v.Incomplete || v.Failure != nil {
				t.Errorf("Allowed=%v Incomplete=%v Failure=%+v, want an incomplete verdict", v.Allowed, v.Incomplete, v.Failure)
			}
			if last := v.Steps[len(v.Steps)-1]; last.Outcome != corscheck.OutcomeNote {
				t.Errorf("last step %+v, want a note that a response is missing", last)
			}
		})
	}
}

func TestChangeRender(t *testing.T) {
	annotation := func(field string) string { return "the " + field + " annotation" }
	tests := []struct {
		change corscheck.Change
		want   string
	}{
		{corscheck.Change{Action: corscheck.ActionAdd, Field: corscheck.FieldAllowOrigins, Values: []string{page}}, `add "https://app.example.com" to the allowOrigins annotation`},
		{corscheck.Change{Action: corscheck.ActionAdd, Field: corscheck.FieldAllowHeaders, Values: []string{"A", "B", "C"}}, `add "A", "B" and "C" to the allowHeaders annotation`},
		{corscheck.Change{Action: corscheck.ActionSet, Field: corscheck.FieldAllowCredentials, Values: []string{"true"}}, "set the allowCredentials annotation to true"},
		{corscheck.Change{Action: corscheck.ActionReplace, Field: corscheck.FieldAllowMethods, Values: []string{"PUT"}, Replaces: "*"}, `replace "*" in the allowMethods annotation with "PUT"`},
	}
	for _, tt := range tests {
		if got := tt.change.Render(annotation); got != tt.want {
			t.Errorf("Render(%+v) = %s, want %s", tt.change, got, tt.want)
		}
	}
}

// fakeServer answers from fixed responses and records what it was asked.
type fakeServer struct {
	preflight, actual corscheck.Response
	actualErr         error
	calls             []string
}

func (s *fakeServer) Preflight(req corscheck.Request) (corscheck.Response, error) {
	s.calls = append(s.calls, "OPTIONS")
	return s.preflight, nil
}

func (s *fakeServer) Actual(req corscheck.Request) (corscheck.Response, error) {
	s.calls = append(s.calls, req.Method)
	return s.actual, s.actualErr
}

func TestRun(t *testing.T) {
	good := *allowing("PUT", "x-api-key")
	tests := []struct {
		name       string
		req        corscheck.Request
		server     fakeServer
		wantCalls  []string
		wantClass  string
		incomplete bool
	}{
		{
			name:      "a simple request skips the preflight",
			req:       corscheck.Request{Origin: page, Method: http.MethodGet},
			server:    fakeServer{actual: *ok()},
			wantCalls: []string{"GET"},
		},
		{
			name:      "a passing preflight is followed by the actual request, normalized",
			req:       corscheck.Request{Origin: page, Method: "put", Headers: header("X-Api-Key", "k")},
			server:    fakeServer{preflight: good, actual: *ok()},
			wantCalls: []string{"OPTIONS", "PUT"},
		},
		{
			name:      "a failed preflight stops the browser before the actual request",
			req:       corscheck.Request{Origin: page, Method: http.MethodDelete},
			server:    fakeServer{preflight: good, actual: *ok()},
			wantCalls: []string{"OPTIONS"},
			wantClass: corscheck.ClassMethodNotAllowed,
		},
		{
			name:       "ErrNotSent leaves the actual request out and the verdict incomplete",
			req:        corscheck.Request{Origin: page, Method: http.MethodPut, Headers: header("X-Api-Key", "k")},
			server:     fakeServer{preflight: good, actualErr: corscheck.ErrNotSent},
			wantCalls:  []string{"OPTIONS", "PUT"},
			incomplete: true,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			server := tt.server
			_, v, err := corscheck.Run(&server, tt.req)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.wantCalls, server.calls); diff != "" {
				t.Errorf("requests (-want +got):\n%s", diff)
			}
			class := ""
			if v.Failure != nil {
				class = v.Failure.Class
			}
			if class != tt.wantClass || v.Incomplete != tt.incomplete || v.Allowed != (class == "" && !tt.incomplete) {
				t.Errorf("Allowed=%v Incomplete=%v class=%q; want class %q, incomplete %v", v.Allowed, v.Incomplete, class, tt.wantClass, tt.incomplete)
			}
		})
	}
}

func TestRunRejectsRequestsAPageCannotMake(t *testing.T) {
	for _, req := range []corscheck.Request{
		{Origin: page + "/", Method: http.MethodGet},
		{Origin: "HTTPS://APP.EXAMPLE.COM", Method: http.MethodGet},
		{Origin: page, Method: "CONNECT"},
		{Origin: page, Method: "trace"},
		{Origin: page, Method: "GET POST"},
		{Origin: page, Method: http.MethodGet, Headers: http.Header{"X Y": {"1"}}},
		{Origin: page, Method: http.MethodGet, Headers: header("X-A", "a\nb")},
		{Origin: page, Method: http.MethodGet, ReadHeaders: []string{"x:y"}},
	} {
		server := fakeServer{}
		_, _, err := corscheck.Run(&server, req)
		if !errors.Is(err, corscheck.ErrInvalidRequest) {
			t.Errorf("Run(%+v) error %v, want ErrInvalidRequest", req, err)
		}
		if len(server.calls) > 0 {
			t.Errorf("Run(%+v) sent %v", req, server.calls)
		}
	}
	if err := corscheck.Validate(corscheck.Request{Origin: "null", Method: http.MethodGet}); err != nil {
		t.Errorf(`the opaque origin "null" is rejected: %v`, err)
	}
}
