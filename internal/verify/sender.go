package verify

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"golang.org/x/time/rate"

	"github.com/kubecors/kubecors/internal/corscheck"
)

const (
	// userAgent says what is sending, for the data plane's access logs.
	userAgent = "kubecors-verify (+https://github.com/kubecors/kubecors)"
	// maxBody is how much of a response body is read before the
	// connection is dropped; only headers matter.
	maxBody = 64 << 10
)

// Limits are the rates at which a Sender sends: per data plane (address)
// and per target, each a token bucket of burst 1, so that nothing is sent
// faster than the configured rate.
type Limits struct {
	// PerDataPlane is the most requests per second to one address.
	PerDataPlane rate.Limit
	// PerTarget is the most requests per second for one target.
	PerTarget rate.Limit
}

// Sender sends the requests of checks, bounded by its Limits and Timeout.
// It is safe for concurrent use.
type Sender struct {
	client  *http.Client
	limits  Limits
	timeout time.Duration
	// Now is the clock; nil means time.Now.
	Now func() time.Time

	mu         sync.Mutex
	dataPlanes map[string]*rate.Limiter
	targets    map[string]*rate.Limiter
}

// NewSender returns a Sender that dials through transport (nil: a
// transport of its own that never follows redirects, sends no cookies and
// accepts the data plane's certificate for the target's host).
func NewSender(transport http.RoundTripper, limits Limits, timeout time.Duration) *Sender {
	if transport == nil {
		t := http.DefaultTransport.(*http.Transport).Clone()
		t.Proxy = nil
		t.TLSClientConfig = &tls.Config{
			MinVersion: tls.VersionTLS12,
			// The request is sent to the data plane's in-cluster address,
			// whose certificate is issued for public names and often by a
			// private CA. Nothing secret is sent (no cookie, no
			// Authorization, no body), and only response headers are read.
			InsecureSkipVerify: true, //nolint:gosec // G402: no credentials or body are ever sent; see above.
		}
		transport = t
	}
	return &Sender{
		client: &http.Client{
			Transport: transport,
			Timeout:   timeout,
			// A preflight that redirects fails in browsers; the redirect
			// is judged, never followed.
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		},
		limits:     limits,
		timeout:    timeout,
		dataPlanes: map[string]*rate.Limiter{},
		targets:    map[string]*rate.Limiter{},
	}
}

// now is the sender's clock.
func (s *Sender) now() time.Time {
	if s.Now != nil {
		return s.Now()
	}
	return time.Now()
}

// limiters returns the buckets of the target's address and of the target.
func (s *Sender) limiters(t Target) (*rate.Limiter, *rate.Limiter) {
	s.mu.Lock()
	defer s.mu.Unlock()
	get := func(m map[string]*rate.Limiter, key string, limit rate.Limit) *rate.Limiter {
		l, ok := m[key]
		if !ok {
			l = rate.NewLimiter(limit, 1)
			m[key] = l
		}
		return l
	}
	return get(s.dataPlanes, t.Address, s.limits.PerDataPlane), get(s.targets, t.Key, s.limits.PerTarget)
}

// Forget drops the per-target bucket of a target that is gone.
func (s *Sender) Forget(targetKey string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.targets, targetKey)
}

// send waits for both buckets, then sends one request with no body and
// no credentials, and returns the status and headers.
func (s *Sender) send(ctx context.Context, t Target, method string, h http.Header) (corscheck.Response, error) {
	if method != http.MethodOptions && method != http.MethodGet && method != http.MethodHead {
		return corscheck.Response{}, fmt.Errorf("%s: %w", method, errMethodNotSafe)
	}
	dataPlane, target := s.limiters(t)
	if err := dataPlane.Wait(ctx); err != nil {
		return corscheck.Response{}, err
	}
	if err := target.Wait(ctx); err != nil {
		return corscheck.Response{}, err
	}
	req, err := http.NewRequestWithContext(ctx, method, t.Scheme+"://"+t.Address+t.Path, http.NoBody)
	if err != nil {
		return corscheck.Response{}, err
	}
	req.Header = h.Clone()
	req.Header.Set("User-Agent", userAgent)
	req.Header.Set("Sec-Fetch-Mode", "cors")
	req.Header.Set("Sec-Fetch-Dest", "empty")
	req.Header.Set("Sec-Fetch-Site", "cross-site")
	// Whatever built h, nothing that authenticates leaves the operator.
	for _, name := range []string{"Cookie", "Authorization", "Proxy-Authorization"} {
		req.Header.Del(name)
	}
	if t.Host != "" {
		req.Host = t.Host
		if transport, ok := s.client.Transport.(*http.Transport); ok && transport.TLSClientConfig != nil && t.Scheme == "https" {
			// SNI must name the host, not the address, for the data plane
			// to pick the route's certificate and router.
			transport = transport.Clone()
			transport.TLSClientConfig.ServerName = hostOnly(t.Host)
			client := *s.client
			client.Transport = transport
			defer transport.CloseIdleConnections()
			return s.do(&client, req, t)
		}
	}
	return s.do(s.client, req, t)
}

// do sends req and reads its answer.
func (s *Sender) do(client *http.Client, req *http.Request, t Target) (corscheck.Response, error) {
	resp, err := client.Do(req)
	if err != nil {
		return corscheck.Response{}, s.explain(err, t)
	}
	defer func() { _ = resp.Body.Close() }()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, maxBody))
	header := resp.Header.Clone()
	if location, err := resp.Location(); err == nil {
		header.Set("Location", location.String())
	}
	return corscheck.Response{Status: resp.StatusCode, Header: header}, nil
}

// explain turns a transport error into a sentence.
func (s *Sender) explain(err error, t Target) error {
	if netErr, ok := errors.AsType[net.Error](err); errors.Is(err, context.DeadlineExceeded) || ok && netErr.Timeout() {
		return fmt.Errorf("no answer from %s within %s (--verify-timeout)", t.Address, s.timeout)
	}
	if urlErr, ok := errors.AsType[*url.Error](err); ok {
		err = urlErr.Err
	}
	return fmt.Errorf("cannot reach %s: %w", t.Address, err)
}

// hostOnly strips a port from a Host header value.
func hostOnly(host string) string {
	if h, _, err := net.SplitHostPort(host); err == nil {
		return h
	}
	return strings.Trim(host, "[]")
}
