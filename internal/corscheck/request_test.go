package corscheck_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/kubecors/kubecors/internal/corscheck"
)

func TestNeedsPreflight(t *testing.T) {
	tests := []struct {
		name    string
		method  string
		headers http.Header
		reasons []string
	}{
		{name: "GET without headers is simple", method: "GET"},
		{name: "HEAD is safelisted", method: "HEAD"},
		{name: "POST with a form Content-Type is simple", method: "POST", headers: header("Content-Type", "application/x-www-form-urlencoded")},
		{name: "POST with multipart/form-data and a boundary is simple", method: "POST", headers: header("Content-Type", "multipart/form-data; boundary=x")},
		{name: "text/plain with a charset and odd case is simple", method: "POST", headers: header("Content-Type", "Text/Plain ; charset=UTF-8")},
		{name: "a lowercase post is normalized to POST", method: "post"},
		{name: "Accept, Accept-Language and Content-Language with ordinary values are simple", method: "GET",
			headers: header("Accept", "application/json, text/*;q=0.5", "Accept-Language", "en-US,en;q=0.9", "Content-Language", "de-DE")},
		{name: "a Range with a start is simple", method: "GET", headers: header("Range", "bytes=0-499")},
		{name: "an open-ended Range is simple", method: "GET", headers: header("Range", "bytes=500-")},
		{name: "forbidden headers are dropped before anything is decided", method: "GET", headers: header("Cookie", "a=b", "Proxy-Authorization", "x", "Sec-Foo", "1")},
		{name: "a value of exactly 128 bytes is still safelisted", method: "GET", headers: header("Accept", strings.Repeat("a", 128))},
		{name: "PUT is not safelisted", method: "PUT", reasons: []string{"the method PUT is not GET, HEAD or POST"}},
		{name: "patch is not normalized, and neither PATCH nor patch is safelisted", method: "patch", reasons: []string{"the method patch is not GET, HEAD or POST"}},
		{name: "a custom header is never safelisted", method: "GET", headers: header("X-Api-Key", "k"),
			reasons: []string{"the header X-Api-Key is not CORS-safelisted"}},
		{name: "Authorization is never safelisted", method: "GET", headers: header("Authorization", "Bearer t"),
			reasons: []string{"the header Authorization is not CORS-safelisted"}},
		{name: "Content-Type application/json needs a preflight", method: "POST", headers: header("Content-Type", "application/json"),
			reasons: []string{"Content-Type application/json is not application/x-www-form-urlencoded, multipart/form-data or text/plain"}},
		{name: "a Content-Type that is not a MIME type needs a preflight", method: "POST", headers: header("Content-Type", "text"),
			reasons: []string{`Content-Type "text" is not a MIME type`}},
		{name: "a safelisted Content-Type with an unsafe byte in a parameter needs a preflight", method: "POST",
			headers: header("Content-Type", `text/plain; charset="utf-8"`),
			reasons: []string{`the value of Content-Type contains "\"", which Fetch counts as unsafe`}},
		{name: "a value over 128 bytes needs a preflight", method: "GET", headers: header("Accept", strings.Repeat("a", 129)),
			reasons: []string{"the value of Accept is 129 bytes long, more than the 128 a safelisted header may have"}},
		{name: "Accept with a CORS-unsafe byte needs a preflight", method: "GET", headers: header("Accept", "text/html{"),
			reasons: []string{`the value of Accept contains "{", which Fetch counts as unsafe`}},
		{name: "Accept with a control byte needs a preflight", method: "GET", headers: header("Accept", "a\x01b"),
			reasons: []string{"the value of Accept contains the byte 0x01, which Fetch counts as unsafe"}},
		{name: "Accept with a tab is safelisted, as tab is not unsafe", method: "GET", headers: header("Accept", "a\tb")},
		{name: "Content-Language with a byte outside its alphabet needs a preflight", method: "GET", headers: header("Content-Language", "en_US"),
			reasons: []string{`the value of Content-Language contains "_"; only letters, digits, space and *,-.;= are safelisted`}},
		{name: "a suffix Range is not safelisted", method: "GET", headers: header("Range", "bytes=-500"),
			reasons: []string{`Range "bytes=-500" is not a single byte range with a start (bytes=START- or bytes=START-END)`}},
		{name: "a Range ending before its start is not safelisted", method: "GET", headers: header("Range", "bytes=10-9"),
			reasons: []string{`Range "bytes=10-9" is not a single byte range with a start (bytes=START- or bytes=START-END)`}},
		{name: "several ranges are not safelisted", method: "GET", headers: header("Range", "bytes=0-1,5-6"),
			reasons: []string{`Range "bytes=0-1,5-6" is not a single byte range with a start (bytes=START- or bytes=START-END)`}},
		{name: "a Range in another unit is not safelisted", method: "GET", headers: header("Range", "items=0-1"),
			reasons: []string{`Range "items=0-1" is not a single byte range with a start (bytes=START- or bytes=START-END)`}},
		{name: "safelisted values adding up to more than 1024 bytes need a preflight", method: "GET",
			headers: header("Accept", strings.Repeat("a", 128), "Accept", strings.Repeat("b", 128), "Accept", strings.Repeat("c", 128),
				"Accept", strings.Repeat("d", 128), "Accept-Language", strings.Repeat("e", 128), "Accept-Language", strings.Repeat("f", 128),
				"Content-Language", strings.Repeat("g", 128), "Content-Language", strings.Repeat("h", 128), "Content-Language", "i"),
			reasons: []string{"the values of the safelisted headers add up to 1025 bytes, more than the 1024 Fetch allows"}},
		{name: "safelisted values adding up to exactly 1024 bytes need no preflight", method: "GET",
			headers: header("Accept", strings.Repeat("a", 128), "Accept", strings.Repeat("b", 128), "Accept", strings.Repeat("c", 128),
				"Accept", strings.Repeat("d", 128), "Accept-Language", strings.Repeat("e", 128), "Accept-Language", strings.Repeat("f", 128),
				"Content-Language", strings.Repeat("g", 128), "Content-Language", strings.Repeat("h", 128))},
		{name: "an X-HTTP-Method-Override naming a forbidden method is forbidden, so dropped", method: "GET",
			headers: header("X-HTTP-Method-Override", "GET, trace")},
		{name: "an X-HTTP-Method-Override naming an ordinary method is an ordinary header", method: "GET",
			headers: header("X-HTTP-Method-Override", "PUT"),
			reasons: []string{"the header X-Http-Method-Override is not CORS-safelisted"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			needed, reasons := corscheck.NeedsPreflight(corscheck.Request{Origin: page, Method: tt.method, Headers: tt.headers})
			if needed != (len(tt.reasons) > 0) {
				t.Errorf("needed = %v, want %v", needed, len(tt.reasons) > 0)
			}
			if diff := cmp.Diff(tt.reasons, reasons); diff != "" {
				t.Errorf("reasons (-want +got):\n%s", diff)
			}
		})
	}
}

func TestPreflightRequestHeaders(t *testing.T) {
	req := corscheck.Request{
		Origin: page,
		Method: "put",
		Headers: header(
			"X-Trace", "1", "Content-Type", "application/json", "authorization", "Bearer t",
			"Accept", "*/*", "Cookie", "a=b", "Content-Language", "en"),
		Credentials: true,
	}
	want := http.Header{
		"Accept":                         {"*/*"},
		"Origin":                         {page},
		"Access-Control-Request-Method":  {"PUT"},
		"Access-Control-Request-Headers": {"authorization,content-type,x-trace"},
	}
	if diff := cmp.Diff(want, corscheck.PreflightRequestHeaders(req)); diff != "" {
		t.Errorf("preflight headers (-want +got):\n%s", diff)
	}
	simple := corscheck.PreflightRequestHeaders(corscheck.Request{Origin: page, Method: "DELETE"})
	if _, ok := simple["Access-Control-Request-Headers"]; ok {
		t.Errorf("Access-Control-Request-Headers sent without unsafe headers: %v", simple)
	}
}

func TestActualRequestHeaders(t *testing.T) {
	req := corscheck.Request{Origin: page, Method: "POST", Headers: header("X-Trace", " 1 ", "Cookie", "a=b", "Origin", "https://evil.example")}
	want := http.Header{
		"Accept":  {"*/*"},
		"Origin":  {page},
		"X-Trace": {"1"},
	}
	if diff := cmp.Diff(want, corscheck.ActualRequestHeaders(req)); diff != "" {
		t.Errorf("actual headers (-want +got):\n%s", diff)
	}
}

func TestNormalizeNotesDroppedHeaders(t *testing.T) {
	got, notes := corscheck.Normalize(corscheck.Request{Origin: page, Method: "delete", Headers: header("Cookie", "a=b", "Cookie", "c=d", "X-A", "1")})
	if got.Method != "DELETE" {
		t.Errorf("method %q, want DELETE", got.Method)
	}
	want := []string{"Cookie is a forbidden request header: the browser ignores the page's value and never sends it"}
	if diff := cmp.Diff(want, notes); diff != "" {
		t.Errorf("notes (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(http.Header{"X-A": {"1"}}, got.Headers); diff != "" {
		t.Errorf("headers (-want +got):\n%s", diff)
	}
}
