package cli

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"golang.org/x/net/publicsuffix"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	"sigs.k8s.io/yaml"

	"github.com/kubecors/kubecors/internal/corscheck"
)

// Output formats of probe; outputJSON is check's.
const (
	outputTable = "table"
	outputYAML  = "yaml"
)

// Outcomes of a probe, as the JSON report and the verdict line name them.
const (
	// outcomeAllowed means the browser hands the response to the page.
	outcomeAllowed = "allowed"
	// outcomeBlocked means the browser blocks the response or a header.
	outcomeBlocked = "blocked"
	// outcomePreflightAllowed means the preflight passed and the actual
	// request was not sent, so its response is unknown.
	outcomePreflightAllowed = "preflight-allowed"
)

// exitBlocked is probe's exit status for a blocked request: the same 1 as
// an invalid policy, so that CI treats both as a failed check.
const exitBlocked = ExitInvalid

// URL schemes probe can send requests to.
const (
	schemeHTTP  = "http"
	schemeHTTPS = "https"
)

const (
	// probeUserAgent starts like a browser's, as Fetch recommends for web
	// compatibility, and says what is probing, for the server's logs.
	probeUserAgent = "Mozilla/5.0 (compatible; kubectl-cors probe)"
	// defaultProbeTimeout bounds each request of a probe.
	defaultProbeTimeout = 10 * time.Second
	// maxProbeBody is how much of a response body is read before the
	// connection is dropped; probe looks at headers only.
	maxProbeBody = 1 << 20
)

// probeOptions are the flags and streams of one run of probe.
type probeOptions struct {
	origin      string
	method      string
	headers     []string
	credentials bool
	readHeaders []string
	send        bool
	timeout     time.Duration
	insecure    bool
	caFile      string
	output      string
	streams     genericiooptions.IOStreams

	// Set by complete.
	target  *url.URL
	request corscheck.Request
	// sendActual is whether the actual request may be sent: with --send,
	// or for a GET or HEAD that needs no preflight.
	sendActual bool
}

func newProbeCommand(streams genericiooptions.IOStreams) *cobra.Command {
	o := &probeOptions{streams: streams}
	cmd := &cobra.Command{
		Use:   "probe URL --origin ORIGIN",
		Short: "Send the requests a browser would send and say whether CORS lets the page read the response",
		Long: `Probe a URL over the network the way a browser makes a cross-origin request,
and give the browser's verdict: whether a page on --origin can read the
response, and if not, which check fails and what would fix it.

probe sends the CORS preflight (OPTIONS with Origin and
Access-Control-Request-*) when the browser would send one. The actual
request is sent only with --send, because it may change data on the server;
without --send, a GET or HEAD that needs no preflight is sent anyway, and a
request that needs a preflight is judged on the preflight alone. Redirects
are never followed: a redirect is reported, because browsers fail a
preflight that redirects. probe sends no cookies and no body: --credentials
checks the headers a credentialed response needs, it does not log in.

Diagnoses: no-cors-headers, origin-mismatch, invalid-cors-header,
preflight-not-handled, redirect, credentials-not-allowed,
wildcard-with-credentials, method-not-allowed, header-not-allowed,
header-not-exposed, and the warning missing-vary-origin.

Exit status: 0 when the browser allows the request (warnings allowed), or
when the preflight passes and the actual request was not sent; 1 when it
blocks it; 2 on a usage error or when the server cannot be reached in time.`,
		Example: `  # Would a page on https://app.example.com be allowed to PUT JSON?
  kubectl cors probe https://api.example.com/items --origin https://app.example.com \
    --method PUT --header "Content-Type: application/json"

  # The same with cookies, sending the actual request too, reading a header
  kubectl cors probe https://api.example.com/items --origin https://app.example.com \
    --method PUT --credentials --send --read-header X-Request-Id

  # A server with a private CA, as JSON for a script
  kubectl cors probe https://api.internal/ --origin https://app.internal --cacert ca.pem -o json`,
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) != 1 {
				return usageError(fmt.Errorf("probe takes one URL, got %d arguments\nSee '%s --help' for usage", len(args), cmd.CommandPath()))
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := o.complete(args[0]); err != nil {
				return usageError(fmt.Errorf("%w\nSee '%s --help' for usage", err, cmd.CommandPath()))
			}
			return o.run(cmd.Context())
		},
	}
	flags := cmd.Flags()
	flags.StringVar(&o.origin, "origin", "", "Origin of the page that makes the request, e.g. https://app.example.com (required)")
	flags.StringVarP(&o.method, "method", "X", http.MethodGet, "Method of the request")
	flags.StringArrayVarP(&o.headers, "header", "H", nil, `Header the page sets, as "Name: value"; repeatable`)
	flags.BoolVar(&o.credentials, "credentials", false, `The page sends credentials (fetch's credentials: "include")`)
	flags.StringArrayVar(&o.readHeaders, "read-header", nil, "Response header the page's script reads; repeatable")
	flags.BoolVar(&o.send, "send", false, "Send the actual request too, not only the preflight")
	flags.DurationVar(&o.timeout, "timeout", defaultProbeTimeout, "Time limit of each request")
	// This shadows the root's kubeconfig flag of the same name, which is
	// about the API server; here it is about the probed server.
	flags.BoolVar(&o.insecure, "insecure-skip-tls-verify", false, "Do not verify the server's certificate (never what a browser does)")
	flags.StringVar(&o.caFile, "cacert", "", "PEM file of the CA certificates to verify the server with, instead of the system's")
	flags.StringVarP(&o.output, "output", "o", outputTable, "Output format: table, json or yaml")
	return cmd
}

// complete checks the flags and builds the request.
func (o *probeOptions) complete(rawURL string) error {
	if o.output != outputTable && o.output != outputJSON && o.output != outputYAML {
		return fmt.Errorf("unknown output format %q: use table, json or yaml", o.output)
	}
	if o.origin == "" {
		return errors.New("--origin is required: the origin of the page that makes the request, e.g. https://app.example.com")
	}
	if o.timeout <= 0 {
		return fmt.Errorf("--timeout %s: give a positive duration such as 10s", o.timeout)
	}
	target, err := url.Parse(rawURL)
	if err != nil || (target.Scheme != schemeHTTP && target.Scheme != schemeHTTPS) || target.Host == "" {
		return fmt.Errorf("%q is not an http:// or https:// URL", rawURL)
	}
	target.Fragment = ""
	o.target = target
	o.request = corscheck.Request{
		Origin:      o.origin,
		Method:      o.method,
		Headers:     http.Header{},
		Credentials: o.credentials,
		ReadHeaders: o.readHeaders,
	}
	for _, h := range o.headers {
		name, value, ok := strings.Cut(h, ":")
		name = strings.TrimSpace(name)
		if !ok || name == "" {
			return fmt.Errorf(`--header %q: write "Name: value"`, h)
		}
		o.request.Headers.Add(name, strings.TrimSpace(value))
	}
	if err := corscheck.Validate(o.request); err != nil {
		return err
	}
	if origin := originOf(target); origin == o.origin {
		return fmt.Errorf("--origin %s is the URL's own origin: browsers do not apply CORS to same-origin requests; "+
			"give the origin of the page that calls the URL", o.origin)
	}
	normalized, _ := corscheck.Normalize(o.request)
	needed, _ := corscheck.NeedsPreflight(normalized)
	o.sendActual = o.send || !needed && safeMethod(normalized.Method)
	if !needed && !o.sendActual {
		return fmt.Errorf("a %s with these headers needs no preflight, so the browser sends the %s itself; "+
			"probe sends it only with --send, because it may change data on the server", normalized.Method, normalized.Method)
	}
	return nil
}

// safeMethod reports whether probe may send the actual request without
// --send: methods that do not change anything on a server that follows
// HTTP's semantics.
func safeMethod(method string) bool {
	return method == http.MethodGet || method == http.MethodHead
}

// originOf returns the origin of u as a browser serializes it: without
// the scheme's default port.
func originOf(u *url.URL) string {
	host := strings.ToLower(u.Hostname())
	if strings.Contains(host, ":") {
		host = "[" + host + "]"
	}
	port := u.Port()
	if (u.Scheme == schemeHTTPS && port == "443") || (u.Scheme == schemeHTTP && port == "80") {
		port = ""
	}
	if port != "" {
		host += ":" + port
	}
	return u.Scheme + "://" + host
}

// run probes the server and reports. The returned error carries the exit
// code; the verdict is already printed.
func (o *probeOptions) run(ctx context.Context) error {
	client, err := o.client()
	if err != nil {
		return usageError(err)
	}
	server := &wireServer{
		ctx: ctx, client: client, target: o.target, timeout: o.timeout,
		site: fetchSite(o.origin, o.target),
		send: o.sendActual,
	}
	ex, verdict, err := corscheck.Run(server, o.request)
	if err != nil {
		return &ExitError{Code: ExitUsage, Err: err}
	}
	report := o.report(server, ex, verdict)
	var out []byte
	switch o.output {
	case outputJSON:
		out, err = json.MarshalIndent(report, "", "  ")
		out = append(out, '\n')
	case outputYAML:
		out, err = yaml.Marshal(report)
	default:
		var b strings.Builder
		printProbe(&b, report)
		out = []byte(b.String())
	}
	if err == nil {
		_, err = o.streams.Out.Write(out)
	}
	if err != nil {
		return &ExitError{Code: ExitUsage, Err: err}
	}
	if report.Outcome == outcomeBlocked {
		return &ExitError{Code: exitBlocked}
	}
	return nil
}

// client returns the HTTP client of the probe: TLS as the flags say,
// redirects never followed, each request bounded by the timeout.
func (o *probeOptions) client() (*http.Client, error) {
	tlsConfig := &tls.Config{
		MinVersion: tls.VersionTLS12,
		// Only when asked for by name, for servers under test whose
		// certificate nobody can verify.
		InsecureSkipVerify: o.insecure, //nolint:gosec // G402: set only by --insecure-skip-tls-verify.
	}
	if o.caFile != "" {
		pem, err := os.ReadFile(o.caFile)
		if err != nil {
			return nil, fmt.Errorf("--cacert: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("--cacert %s: no PEM certificate found", o.caFile)
		}
		tlsConfig.RootCAs = pool
	}
	transport := http.DefaultTransport.(*http.Transport).Clone()
	transport.TLSClientConfig = tlsConfig
	return &http.Client{
		Transport: transport,
		Timeout:   o.timeout,
		// A browser follows redirects of the actual request but checks CORS
		// again at each hop, and fails a preflight that redirects; probe
		// reports the redirect instead of hiding it.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}, nil
}

// fetchSite is the Sec-Fetch-Site a browser sends from origin to target:
// same-site when scheme and registrable domain are the same, cross-site
// otherwise. Same-origin requests never get here.
func fetchSite(origin string, target *url.URL) string {
	o, err := url.Parse(origin)
	if err != nil || o.Scheme != target.Scheme {
		return "cross-site"
	}
	if site(o.Hostname()) == site(target.Hostname()) {
		return "same-site"
	}
	return "cross-site"
}

// site is the registrable domain of host (eTLD+1), or host itself for IP
// addresses and names without a public suffix, such as localhost.
func site(host string) string {
	host = strings.ToLower(host)
	if net.ParseIP(host) != nil {
		return host
	}
	if domain, err := publicsuffix.EffectiveTLDPlusOne(host); err == nil {
		return domain
	}
	return host
}

// wireServer is corscheck's Server over the network: it sends what a
// browser sends and records it.
type wireServer struct {
	ctx     context.Context
	client  *http.Client
	target  *url.URL
	timeout time.Duration
	site    string
	send    bool

	preflightSent, actualSent http.Header
}

// Preflight sends the OPTIONS preflight.
func (s *wireServer) Preflight(req corscheck.Request) (corscheck.Response, error) {
	s.preflightSent = s.browserHeaders(corscheck.PreflightRequestHeaders(req))
	return s.do(http.MethodOptions, s.preflightSent)
}

// Actual sends the actual request, or returns corscheck.ErrNotSent when
// probe may not send it.
func (s *wireServer) Actual(req corscheck.Request) (corscheck.Response, error) {
	if !s.send {
		return corscheck.Response{}, corscheck.ErrNotSent
	}
	s.actualSent = s.browserHeaders(corscheck.ActualRequestHeaders(req))
	return s.do(req.Method, s.actualSent)
}

// browserHeaders adds to h what every browser request carries besides the
// CORS headers.
func (s *wireServer) browserHeaders(h http.Header) http.Header {
	h.Set("User-Agent", probeUserAgent)
	h.Set("Sec-Fetch-Mode", "cors")
	h.Set("Sec-Fetch-Dest", "empty")
	h.Set("Sec-Fetch-Site", s.site)
	return h
}

// do sends one request and returns the response's status and headers,
// with Location resolved against the URL so that a diagnosis can name it.
func (s *wireServer) do(method string, h http.Header) (corscheck.Response, error) {
	req, err := http.NewRequestWithContext(s.ctx, method, s.target.String(), nil)
	if err != nil {
		return corscheck.Response{}, err
	}
	req.Header = h.Clone()
	resp, err := s.client.Do(req)
	if err != nil {
		return corscheck.Response{}, s.describe(err)
	}
	defer func() { _ = resp.Body.Close() }()
	// Reading the body lets the connection be reused; its content does not
	// matter to CORS.
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, maxProbeBody))
	header := resp.Header.Clone()
	if location, err := resp.Location(); err == nil {
		header.Set("Location", location.String())
	}
	return corscheck.Response{Status: resp.StatusCode, Header: header}, nil
}

// describe turns a transport error into a sentence that says what to do.
func (s *wireServer) describe(err error) error {
	if netErr, ok := errors.AsType[net.Error](err); errors.Is(err, context.DeadlineExceeded) || ok && netErr.Timeout() {
		return fmt.Errorf("no response from %s within %s (--timeout)", s.target.Host, s.timeout)
	}
	if urlErr, ok := errors.AsType[*url.Error](err); ok {
		err = urlErr.Err
	}
	if verifyErr, ok := errors.AsType[*tls.CertificateVerificationError](err); ok {
		return fmt.Errorf("cannot verify the certificate of %s: %w; pass --cacert FILE with the CA that signed it, "+
			"or --insecure-skip-tls-verify", s.target.Host, verifyErr.Err)
	}
	return fmt.Errorf("cannot reach %s: %w", s.target.Host, err)
}

// probeReport is the outcome of a probe, as -o json and -o yaml print it
// and the table renders it.
type probeReport struct {
	URL       string            `json:"url"`
	Request   requestView       `json:"request"`
	Preflight *probeMessage     `json:"preflight,omitempty"`
	Actual    *probeMessage     `json:"actual,omitempty"`
	Outcome   string            `json:"outcome"`
	Verdict   corscheck.Verdict `json:"verdict"`
}

// requestView is the request the page makes, as the flags describe it, in
// the reports of probe and explain.
type requestView struct {
	Origin      string      `json:"origin"`
	Method      string      `json:"method"`
	Headers     http.Header `json:"headers,omitempty"`
	Credentials bool        `json:"credentials"`
	ReadHeaders []string    `json:"readHeaders,omitempty"`
}

// viewOf is the report's view of a request.
func viewOf(req corscheck.Request) requestView {
	return requestView{Origin: req.Origin, Method: req.Method, Headers: req.Headers, Credentials: req.Credentials, ReadHeaders: req.ReadHeaders}
}

// probeMessage is one request sent and the CORS-relevant part of its
// response.
type probeMessage struct {
	Method string `json:"method"`
	// Sent are all headers probe sent, apart from those Go's transport
	// adds (Host, Accept-Encoding).
	Sent   http.Header `json:"sent"`
	Status int         `json:"status"`
	// Received are the response headers that CORS looks at:
	// Access-Control-*, Vary, Location, and those the page reads.
	Received http.Header `json:"received"`
}

// report assembles what was sent and answered with the verdict.
func (o *probeOptions) report(s *wireServer, ex corscheck.Exchange, v corscheck.Verdict) probeReport {
	r := probeReport{
		URL:     o.target.String(),
		Request: viewOf(o.request),
		Verdict: v,
	}
	if len(r.Request.Headers) == 0 {
		r.Request.Headers = nil
	}
	if ex.Preflight != nil {
		r.Preflight = &probeMessage{Method: http.MethodOptions, Sent: s.preflightSent, Status: ex.Preflight.Status,
			Received: corsRelevant(ex.Preflight.Header, o.readHeaders)}
	}
	if ex.Actual != nil {
		normalized, _ := corscheck.Normalize(o.request)
		r.Actual = &probeMessage{Method: normalized.Method, Sent: s.actualSent, Status: ex.Actual.Status,
			Received: corsRelevant(ex.Actual.Header, o.readHeaders)}
	}
	switch {
	case v.Allowed:
		r.Outcome = outcomeAllowed
	case v.Incomplete:
		r.Outcome = outcomePreflightAllowed
	default:
		r.Outcome = outcomeBlocked
	}
	return r
}

// corsRelevant keeps the response headers that CORS looks at.
func corsRelevant(h http.Header, readHeaders []string) http.Header {
	out := http.Header{}
	for name, values := range h {
		lower := strings.ToLower(name)
		if strings.HasPrefix(lower, "access-control-") || lower == "vary" || lower == "location" ||
			slices.ContainsFunc(readHeaders, func(r string) bool { return strings.EqualFold(r, name) }) {
			out[name] = values
		}
	}
	return out
}

// printProbe renders the report for a person: the exchange, the checks,
// and the verdict with its fix. It prints into a builder, which cannot
// fail, so that run writes the output once and checks that write.
func printProbe(b *strings.Builder, r probeReport) {
	credentials := "without credentials"
	if r.Request.Credentials {
		credentials = `with credentials ("include")`
	}
	fmt.Fprintf(b, "Probing %s %s as a page on %s would, %s.\n", r.Request.Method, r.URL, r.Request.Origin, credentials)
	target, _ := url.Parse(r.URL)
	for _, m := range []*probeMessage{r.Preflight, r.Actual} {
		if m != nil {
			b.WriteString("\n")
			printMessage(b, target.RequestURI(), m)
		}
	}
	if r.Actual == nil {
		method := r.Request.Method
		if r.Preflight != nil {
			method = r.Preflight.Sent.Get("Access-Control-Request-Method")
		}
		reason := "the preflight failed, and the browser stops there"
		if r.Verdict.Failure == nil {
			reason = "pass --send to send it"
		}
		fmt.Fprintf(b, "\n> %s %s\n  (not sent: %s)\n", method, target.RequestURI(), reason)
	}

	b.WriteString("\n")
	rows := make([][]string, 0, 1+len(r.Verdict.Steps))
	rows = append(rows, []string{"STAGE", "CHECK", "RESULT", "DETAIL"})
	for _, s := range r.Verdict.Steps {
		rows = append(rows, []string{s.Stage, s.Check, strings.ToUpper(s.Outcome), s.Detail})
	}
	writeTable(b, "", rows)

	b.WriteString("\n")
	v := r.Verdict
	switch r.Outcome {
	case outcomeAllowed:
		b.WriteString("Allowed: the browser hands the response to the page.\n")
		if len(v.ReadableHeaders) > 0 {
			fmt.Fprintf(b, "  The page can read %s.\n", strings.Join(v.ReadableHeaders, ", "))
		}
	case outcomePreflightAllowed:
		also := "the origin"
		if r.Request.Credentials {
			also = "the origin and credentials"
		}
		fmt.Fprintf(b, "Preflight allowed. The actual request was not sent: pass --send to check its response, which must allow %s too.\n", also)
	default:
		printDiagnosis(b, "Blocked", *v.Failure)
	}
	for _, d := range v.Warnings {
		b.WriteString("\n")
		printDiagnosis(b, "Warning", d)
	}
}

// printMessage renders one request and its response, curl -v style.
func printMessage(b *strings.Builder, path string, m *probeMessage) {
	fmt.Fprintf(b, "> %s %s\n", m.Method, path)
	for _, name := range sortedNames(m.Sent) {
		switch name {
		// What every request carries; the report is about CORS.
		case "User-Agent", "Accept", "Sec-Fetch-Mode", "Sec-Fetch-Dest", "Sec-Fetch-Site":
			continue
		}
		for _, value := range m.Sent[name] {
			fmt.Fprintf(b, "> %s: %s\n", name, value)
		}
	}
	status := fmt.Sprint(m.Status)
	if text := http.StatusText(m.Status); text != "" {
		status += " " + text
	}
	fmt.Fprintf(b, "< %s\n", status)
	for _, name := range sortedNames(m.Received) {
		for _, value := range m.Received[name] {
			fmt.Fprintf(b, "< %s: %s\n", name, value)
		}
	}
}

// printDiagnosis renders a diagnosis under a heading.
func printDiagnosis(b *strings.Builder, heading string, d corscheck.Diagnosis) {
	fmt.Fprintf(b, "%s (%s): %s\n", heading, d.Class, d.Message)
	fmt.Fprintf(b, "  Fix on the server: %s\n", d.ServerFix)
	fmt.Fprintf(b, "  Fix with kubecors: %s\n", d.Fix)
}

// sortedNames returns the header names of h in a stable order: Origin and
// the Access-Control-* headers first, as they matter most, then the rest.
func sortedNames(h http.Header) []string {
	names := make([]string, 0, len(h))
	for name := range h {
		names = append(names, name)
	}
	rank := func(name string) int {
		switch {
		case name == "Origin":
			return 0
		case strings.HasPrefix(name, "Access-Control-"):
			return 1
		}
		return 2
	}
	slices.SortFunc(names, func(a, b string) int {
		if ra, rb := rank(a), rank(b); ra != rb {
			return ra - rb
		}
		return strings.Compare(a, b)
	})
	return names
}
