package cli

import (
	"bytes"
	"encoding/json"
	"encoding/pem"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"k8s.io/cli-runtime/pkg/genericiooptions"
)

const (
	probePage  = "https://app.example.com"
	probeOther = "https://other.example.com"
)

// corsScenario is how one path of the test server answers: the preflight
// (OPTIONS) and the actual request, each with a status and headers.
type corsScenario struct {
	preflightStatus int
	preflight       []string
	actualStatus    int
	actual          []string
	// sleep delays every answer, to make a probe time out.
	sleep time.Duration
}

// probeScenarios reproduce, one per path, the ways servers get CORS wrong.
var probeScenarios = map[string]corsScenario{
	"/none": {actualStatus: 200, actual: []string{"Content-Type", "application/json"}},
	"/other-origin": {actualStatus: 200, actual: []string{
		"Access-Control-Allow-Origin", probeOther, "Vary", "Origin"}},
	"/preflight-404": {preflightStatus: 404, actualStatus: 200},
	"/preflight-405": {preflightStatus: 405, preflight: []string{"Allow", "GET, PUT"}, actualStatus: 200},
	"/no-allow-methods": {preflightStatus: 204, preflight: []string{
		"Access-Control-Allow-Origin", probePage, "Vary", "Origin"}},
	"/no-credentials": {actualStatus: 200, actual: []string{
		"Access-Control-Allow-Origin", probePage, "Vary", "Origin"}},
	"/wildcard": {actualStatus: 200, actual: []string{
		"Access-Control-Allow-Origin", "*", "Access-Control-Allow-Credentials", "true"}},
	"/methods": {preflightStatus: 204, preflight: []string{
		"Access-Control-Allow-Origin", probePage, "Access-Control-Allow-Methods", "GET, POST, PUT", "Vary", "Origin"}},
	"/headers": {preflightStatus: 204, preflight: []string{
		"Access-Control-Allow-Origin", probePage, "Access-Control-Allow-Methods", "GET, PUT",
		"Access-Control-Allow-Headers", "Content-Type", "Vary", "Origin"}},
	"/expose": {actualStatus: 200, actual: []string{
		"Access-Control-Allow-Origin", probePage, "Access-Control-Expose-Headers", "X-Total-Count", "Vary", "Origin",
		"X-Total-Count", "7", "X-Request-Id", "42"}},
	"/no-vary": {actualStatus: 200, actual: []string{"Access-Control-Allow-Origin", probePage}},
	"/redirect": {preflightStatus: 307, preflight: []string{
		"Location", "/v2/items", "Access-Control-Allow-Origin", probePage}},
	"/allowed": {
		preflightStatus: 204, preflight: []string{
			"Access-Control-Allow-Origin", probePage, "Access-Control-Allow-Credentials", "true",
			"Access-Control-Allow-Methods", "GET, PUT", "Access-Control-Allow-Headers", "Content-Type, X-Api-Key",
			"Access-Control-Max-Age", "600", "Vary", "Origin"},
		actualStatus: 200, actual: []string{
			"Access-Control-Allow-Origin", probePage, "Access-Control-Allow-Credentials", "true",
			"Access-Control-Expose-Headers", "X-Request-Id", "Vary", "Origin", "X-Request-Id", "42"},
	},
	"/slow": {actualStatus: 200, actual: []string{"Access-Control-Allow-Origin", "*"}, sleep: 5 * time.Second},
}

// recordedRequest is what the test server received.
type recordedRequest struct {
	Method string
	Path   string
	Header http.Header
}

// corsTestServer answers from probeScenarios and records every request.
type corsTestServer struct {
	mu       sync.Mutex
	received []recordedRequest
}

func (s *corsTestServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	s.received = append(s.received, recordedRequest{Method: r.Method, Path: r.URL.Path, Header: r.Header.Clone()})
	s.mu.Unlock()
	sc, ok := probeScenarios[r.URL.Path]
	if !ok {
		http.NotFound(w, r)
		return
	}
	if sc.sleep > 0 {
		select {
		case <-time.After(sc.sleep):
		case <-r.Context().Done():
			return
		}
	}
	status, kv := sc.actualStatus, sc.actual
	if r.Method == http.MethodOptions {
		status, kv = sc.preflightStatus, sc.preflight
	}
	if status == 0 {
		status = http.StatusMethodNotAllowed
	}
	for ; len(kv) >= 2; kv = kv[2:] {
		w.Header().Add(kv[0], kv[1])
	}
	w.WriteHeader(status)
}

// requests returns what the server received so far.
func (s *corsTestServer) requests() []recordedRequest {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]recordedRequest(nil), s.received...)
}

// ports matches the random ports of the loopback test servers.
var ports = regexp.MustCompile(`127\.0\.0\.1:[0-9]+`)

// normalizeProbe removes what changes from run to run: ports and the
// temporary directory.
func normalizeProbe(out, tempDir string) string {
	out = ports.ReplaceAllString(out, "127.0.0.1:PORT")
	if tempDir != "" {
		out = strings.ReplaceAll(out, tempDir, "TMPDIR")
	}
	return out
}

// compareGolden compares got with testdata/probe/NAME.golden, or rewrites
// it with -update.
func compareGolden(t *testing.T, name, got string) {
	t.Helper()
	checkGolden(t, filepath.Join("testdata", "probe", name+".golden"), got)
}

// closedPort returns a loopback address nothing listens on.
func closedPort(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	return addr
}

func TestProbeGolden(t *testing.T) {
	server := httptest.NewServer(&corsTestServer{})
	defer server.Close()
	tlsServer := httptest.NewTLSServer(&corsTestServer{})
	defer tlsServer.Close()
	tempDir := t.TempDir()
	caFile := filepath.Join(tempDir, "ca.pem")
	caPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: tlsServer.Certificate().Raw})
	if err := os.WriteFile(caFile, caPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	u, tlsURL := server.URL, tlsServer.URL
	tests := []struct {
		golden   string
		args     []string
		wantExit int
	}{
		// One case per diagnosis.
		{golden: "no-cors-headers", args: []string{u + "/none", "--origin", probePage}, wantExit: exitBlocked},
		{golden: "origin-mismatch", args: []string{u + "/other-origin", "--origin", probePage}, wantExit: exitBlocked},
		{golden: "preflight-404", args: []string{u + "/preflight-404", "--origin", probePage, "-X", "PUT"}, wantExit: exitBlocked},
		{golden: "preflight-405", args: []string{u + "/preflight-405", "--origin", probePage, "-X", "PUT"}, wantExit: exitBlocked},
		{golden: "preflight-without-allow-methods", args: []string{u + "/no-allow-methods", "--origin", probePage, "-X", "DELETE"}, wantExit: exitBlocked},
		{golden: "credentials-not-allowed", args: []string{u + "/no-credentials", "--origin", probePage, "--credentials"}, wantExit: exitBlocked},
		{golden: "wildcard-with-credentials", args: []string{u + "/wildcard", "--origin", probePage, "--credentials"}, wantExit: exitBlocked},
		{golden: "method-not-allowed", args: []string{u + "/methods", "--origin", probePage, "-X", "DELETE"}, wantExit: exitBlocked},
		{golden: "header-not-allowed", args: []string{u + "/headers", "--origin", probePage, "-X", "PUT", "-H", "X-Api-Key: secret"}, wantExit: exitBlocked},
		{golden: "header-not-exposed", args: []string{u + "/expose", "--origin", probePage, "--read-header", "X-Request-Id"}, wantExit: exitBlocked},
		{golden: "header-exposed", args: []string{u + "/expose", "--origin", probePage, "--read-header", "X-Total-Count", "--read-header", "Content-Type"}, wantExit: ExitOK},
		{golden: "missing-vary-origin", args: []string{u + "/no-vary", "--origin", probePage}, wantExit: ExitOK},
		{golden: "redirect", args: []string{u + "/redirect", "--origin", probePage, "-X", "PUT"}, wantExit: exitBlocked},
		// What is sent, and when.
		{golden: "allowed-send", args: []string{u + "/allowed", "--origin", probePage, "-X", "PUT", "--credentials", "--send",
			"-H", "Content-Type: application/json", "-H", "X-Api-Key: secret", "-H", "Cookie: session=1", "--read-header", "X-Request-Id"}, wantExit: ExitOK},
		{golden: "preflight-only", args: []string{u + "/allowed", "--origin", probePage, "-X", "PUT", "-H", "X-Api-Key: secret"}, wantExit: ExitOK},
		{golden: "json", args: []string{u + "/methods", "--origin", probePage, "-X", "DELETE", "-o", "json"}, wantExit: exitBlocked},
		{golden: "yaml", args: []string{u + "/no-vary", "--origin", probePage, "-o", "yaml"}, wantExit: ExitOK},
		// TLS.
		{golden: "tls-cacert", args: []string{tlsURL + "/wildcard", "--origin", probePage, "--cacert", caFile}, wantExit: ExitOK},
		{golden: "tls-insecure", args: []string{tlsURL + "/wildcard", "--origin", probePage, "--insecure-skip-tls-verify"}, wantExit: ExitOK},
		{golden: "tls-unknown-authority", args: []string{tlsURL + "/wildcard", "--origin", probePage}, wantExit: ExitUsage},
		// Errors.
		{golden: "timeout", args: []string{u + "/slow", "--origin", probePage, "--timeout", "200ms"}, wantExit: ExitUsage},
		{golden: "unreachable", args: []string{"http://" + closedPort(t) + "/", "--origin", probePage}, wantExit: ExitUsage},
		{golden: "post-needs-send", args: []string{u + "/none", "--origin", probePage, "-X", "POST"}, wantExit: ExitUsage},
		{golden: "missing-origin", args: []string{u + "/none"}, wantExit: ExitUsage},
		{golden: "bad-origin", args: []string{u + "/none", "--origin", probePage + "/"}, wantExit: ExitUsage},
		{golden: "same-origin", args: []string{u + "/none", "--origin", u}, wantExit: ExitUsage},
		{golden: "bad-url", args: []string{"ftp://files.example.com/", "--origin", probePage}, wantExit: ExitUsage},
		{golden: "bad-header", args: []string{u + "/none", "--origin", probePage, "-H", "X-Api-Key"}, wantExit: ExitUsage},
		{golden: "forbidden-method", args: []string{u + "/none", "--origin", probePage, "-X", "TRACE", "--send"}, wantExit: ExitUsage},
		{golden: "bad-output", args: []string{u + "/none", "--origin", probePage, "-o", "wide"}, wantExit: ExitUsage},
		{golden: "no-url", args: []string{"--origin", probePage}, wantExit: ExitUsage},
	}
	for _, tt := range tests {
		t.Run(tt.golden, func(t *testing.T) {
			got, code := run(t, append([]string{"probe"}, tt.args...), nil)
			if code != tt.wantExit {
				t.Errorf("exit status %d, want %d\n%s", code, tt.wantExit, got)
			}
			compareGolden(t, tt.golden, normalizeProbe(got, tempDir))
		})
	}
}

// TestProbeSendsWhatABrowserSends checks the requests on the wire: the
// preflight carries Origin and Access-Control-Request-*, never the page's
// headers; the actual request carries the page's headers but not the
// forbidden ones; redirects are not followed.
func TestProbeSendsWhatABrowserSends(t *testing.T) {
	recorder := &corsTestServer{}
	server := httptest.NewServer(recorder)
	defer server.Close()

	_, code := run(t, []string{"probe", server.URL + "/allowed", "--origin", probePage, "-X", "put", "--credentials", "--send",
		"-H", "Content-Type: application/json", "-H", "X-Api-Key: secret", "-H", "Cookie: session=1"}, nil)
	if code != ExitOK {
		t.Fatalf("exit status %d", code)
	}
	_, code = run(t, []string{"probe", server.URL + "/redirect", "--origin", probePage, "-X", "PUT", "--send"}, nil)
	if code != exitBlocked {
		t.Fatalf("exit status %d", code)
	}
	got := recorder.requests()
	summary := make([]string, 0, len(got))
	for _, r := range got {
		line := r.Method + " " + r.Path
		for _, name := range []string{"Origin", "Access-Control-Request-Method", "Access-Control-Request-Headers", "Content-Type",
			"X-Api-Key", "Cookie", "Sec-Fetch-Mode", "Sec-Fetch-Site", "Accept"} {
			if v := r.Header.Get(name); v != "" {
				line += " | " + name + ": " + v
			}
		}
		summary = append(summary, line)
	}
	want := []string{
		"OPTIONS /allowed | Origin: https://app.example.com | Access-Control-Request-Method: PUT | " +
			"Access-Control-Request-Headers: content-type,x-api-key | Sec-Fetch-Mode: cors | Sec-Fetch-Site: cross-site | Accept: */*",
		"PUT /allowed | Origin: https://app.example.com | Content-Type: application/json | X-Api-Key: secret | " +
			"Sec-Fetch-Mode: cors | Sec-Fetch-Site: cross-site | Accept: */*",
		// The redirect to /v2/items is reported, not followed.
		"OPTIONS /redirect | Origin: https://app.example.com | Access-Control-Request-Method: PUT | " +
			"Sec-Fetch-Mode: cors | Sec-Fetch-Site: cross-site | Accept: */*",
	}
	if diff := cmp.Diff(want, summary); diff != "" {
		t.Errorf("requests on the wire (-want +got):\n%s", diff)
	}
}

// TestProbeJSONIsOneDocument guards what scripts rely on: standard output
// parses as one JSON object with the outcome and the diagnosis class.
func TestProbeJSONIsOneDocument(t *testing.T) {
	server := httptest.NewServer(&corsTestServer{})
	defer server.Close()
	streams, _, out, _ := genericiooptions.NewTestIOStreams()
	cmd := NewRootCommand(streams)
	cmd.SetArgs([]string{"probe", server.URL + "/headers", "--origin", probePage, "-X", "PUT", "-H", "X-Api-Key: k", "-o", "json"})
	if code := ExitCode(cmd.Execute()); code != exitBlocked {
		t.Fatalf("exit status %d", code)
	}
	var report probeReport
	decoder := json.NewDecoder(bytes.NewReader(out.Bytes()))
	decoder.DisallowUnknownFields()
	if err := decoder.Decode(&report); err != nil {
		t.Fatalf("standard output is not one JSON report: %v\n%s", err, out)
	}
	if decoder.More() {
		t.Fatalf("standard output holds more than one JSON document:\n%s", out)
	}
	if report.Outcome != outcomeBlocked || report.Verdict.Failure == nil || report.Verdict.Failure.Class != "header-not-allowed" {
		t.Errorf("outcome %q, failure %+v; want blocked by header-not-allowed", report.Outcome, report.Verdict.Failure)
	}
}

func TestFetchSite(t *testing.T) {
	tests := []struct {
		origin, target, want string
	}{
		{"https://app.example.com", "https://api.example.com/x", "same-site"},
		{"https://app.example.com", "https://api.example.org/x", "cross-site"},
		{"http://app.example.com", "https://api.example.com/x", "cross-site"},
		{"https://a.github.io", "https://b.github.io/", "cross-site"},
		{"http://localhost:3000", "http://localhost:8080/", "same-site"},
		{"http://127.0.0.1:3000", "http://127.0.0.1:8080/", "same-site"},
		{"null", "https://api.example.com/", "cross-site"},
	}
	for _, tt := range tests {
		target, err := url.Parse(tt.target)
		if err != nil {
			t.Fatal(err)
		}
		if got := fetchSite(tt.origin, target); got != tt.want {
			t.Errorf("fetchSite(%s, %s) = %s, want %s", tt.origin, tt.target, got, tt.want)
		}
	}
}
