package verify

import (
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/time/rate"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// promise is the policy the loopback data planes are meant to carry out.
var promise = Promise{
	Origins: []string{"https://app.example.com"},
	Methods: []string{"GET", "PUT"},
	Headers: []string{"Content-Type"},
}

// dataPlane answers as a data plane configured with promise would, then
// lets a test break it: wrap changes the headers of each response.
func dataPlane(t *testing.T, wrap func(w http.ResponseWriter, r *http.Request) bool) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if wrap != nil && wrap(w, r) {
			return
		}
		origin := r.Header.Get("Origin")
		if slices.Contains(promise.Origins, origin) {
			w.Header().Set("Access-Control-Allow-Origin", origin)
			w.Header().Set("Vary", "Origin")
			if r.Method == http.MethodOptions {
				w.Header().Set("Access-Control-Allow-Methods", "GET, PUT")
				w.Header().Set("Access-Control-Allow-Headers", "Content-Type")
			}
		}
		if r.Method == http.MethodOptions {
			w.WriteHeader(http.StatusNoContent)
			return
		}
		_, _ = w.Write([]byte("ok"))
	}))
	t.Cleanup(srv.Close)
	return srv
}

// targetOf is the target that sends to srv.
func targetOf(srv *httptest.Server) Target {
	u, _ := url.Parse(srv.URL)
	return Target{Key: "default/Ingress/api", Scheme: "http", Address: u.Host, Host: "api.example.com", Path: "/items"}
}

func fastSender() *Sender {
	return NewSender(nil, Limits{PerDataPlane: rate.Inf, PerTarget: rate.Inf}, 2*time.Second)
}

func TestVerify(t *testing.T) {
	for _, tc := range []struct {
		name      string
		wrap      func(w http.ResponseWriter, r *http.Request) bool
		status    metav1.ConditionStatus
		diagnosis string
		reason    string
		broader   bool
		seen      string
	}{
		{name: "a data plane that does what the policy says is verified", status: metav1.ConditionTrue, reason: "Verified",
			seen: "Access-Control-Allow-Origin: https://app.example.com"},
		{name: "a backend adding its own Access-Control-Allow-Origin is duplicate-allow-origin",
			wrap: func(w http.ResponseWriter, r *http.Request) bool {
				if r.Method != http.MethodGet {
					return false
				}
				// The data plane's value, then the backend's own.
				if origin := r.Header.Get("Origin"); origin == "https://app.example.com" {
					w.Header().Add("Access-Control-Allow-Origin", origin)
				}
				w.Header().Add("Access-Control-Allow-Origin", "https://app.example.com")
				return true
			},
			status: metav1.ConditionFalse, diagnosis: ClassDuplicateAllowOrigin, reason: "DuplicateAllowOrigin",
			seen: "Access-Control-Allow-Origin: https://app.example.com; Access-Control-Allow-Origin: https://app.example.com"},
		{name: "a data plane allowing another origin is origin-mismatch",
			wrap: func(w http.ResponseWriter, r *http.Request) bool {
				w.Header().Set("Access-Control-Allow-Origin", "https://old.example.com")
				w.Header().Set("Access-Control-Allow-Methods", "GET, PUT")
				w.Header().Set("Access-Control-Allow-Headers", "Content-Type")
				w.WriteHeader(http.StatusNoContent)
				return true
			},
			status: metav1.ConditionFalse, diagnosis: "origin-mismatch", reason: "OriginMismatch",
			seen: "Access-Control-Allow-Origin: https://old.example.com"},
		{name: "authentication rejecting preflights is preflight-not-handled",
			wrap: func(w http.ResponseWriter, r *http.Request) bool {
				if r.Method == http.MethodOptions {
					w.WriteHeader(http.StatusUnauthorized)
					return true
				}
				return false
			},
			status: metav1.ConditionFalse, diagnosis: "preflight-not-handled", reason: "PreflightNotHandled", seen: "OPTIONS → 401"},
		{name: "a data plane echoing every origin is broader-than-policy",
			wrap: func(w http.ResponseWriter, r *http.Request) bool {
				w.Header().Set("Access-Control-Allow-Origin", r.Header.Get("Origin"))
				w.Header().Set("Vary", "Origin")
				w.Header().Set("Access-Control-Allow-Methods", "GET, PUT")
				w.Header().Set("Access-Control-Allow-Headers", "Content-Type")
				w.WriteHeader(http.StatusNoContent)
				return true
			},
			status: metav1.ConditionFalse, diagnosis: ClassBroaderThanPolicy, reason: "BroaderThanPolicy", broader: true,
			seen: "Access-Control-Allow-Origin: https://kubecors-verify.invalid"},
		{name: "a data plane matching origins by prefix is broader-than-policy",
			wrap: func(w http.ResponseWriter, r *http.Request) bool {
				if origin := r.Header.Get("Origin"); strings.HasPrefix(origin, "https://app.example.com") {
					w.Header().Set("Access-Control-Allow-Origin", origin)
					w.Header().Set("Vary", "Origin")
					w.Header().Set("Access-Control-Allow-Methods", "GET, PUT")
					w.Header().Set("Access-Control-Allow-Headers", "Content-Type")
				}
				w.WriteHeader(http.StatusNoContent)
				return true
			},
			status: metav1.ConditionFalse, diagnosis: ClassBroaderThanPolicy, reason: "BroaderThanPolicy", broader: true,
			seen: "https://app.example.com.kubecors-verify.invalid"},
		{name: "CORS headers without Access-Control-Allow-Origin for a stranger are inert, not broader",
			wrap: func(w http.ResponseWriter, r *http.Request) bool {
				if r.Header.Get("Origin") != "https://app.example.com" && r.Method == http.MethodOptions {
					w.Header().Set("Access-Control-Allow-Methods", "GET, PUT, DELETE")
					w.Header().Set("Access-Control-Allow-Credentials", "true")
					w.WriteHeader(http.StatusNoContent)
					return true
				}
				return false
			},
			status: metav1.ConditionTrue, reason: "Verified", seen: "answered as the policy promises"},
		{name: "a data plane allowing DELETE and credentials is broader-than-policy",
			wrap: func(w http.ResponseWriter, r *http.Request) bool {
				if r.Header.Get("Origin") == "https://app.example.com" && r.Method == http.MethodOptions {
					w.Header().Set("Access-Control-Allow-Origin", "https://app.example.com")
					w.Header().Set("Access-Control-Allow-Methods", "GET, PUT, DELETE")
					w.Header().Set("Access-Control-Allow-Headers", "Content-Type")
					w.Header().Set("Access-Control-Allow-Credentials", "true")
					w.WriteHeader(http.StatusNoContent)
					return true
				}
				return false
			},
			status: metav1.ConditionFalse, diagnosis: ClassBroaderThanPolicy, reason: "BroaderThanPolicy", broader: true,
			seen: "Access-Control-Allow-Methods allows DELETE"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := dataPlane(t, tc.wrap)
			res := Verify(context.Background(), fastSender(), promise, targetOf(srv))
			if res.Status != tc.status || res.Diagnosis != tc.diagnosis || res.Reason() != tc.reason || res.Broader != tc.broader {
				t.Fatalf("got %s %q (reason %s, broader %v): %s; want %s %q (reason %s, broader %v)",
					res.Status, res.Diagnosis, res.Reason(), res.Broader, res.Message, tc.status, tc.diagnosis, tc.reason, tc.broader)
			}
			if !strings.Contains(res.Message, tc.seen) {
				t.Errorf("message does not show %q: %s", tc.seen, res.Message)
			}
			if res.ObservedAt.IsZero() {
				t.Error("ObservedAt is not set")
			}
		})
	}
}

// TestVerifyUnreachableIsUnknown: a data plane that does not answer is
// neither verified nor refuted.
func TestVerifyUnreachableIsUnknown(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	_ = l.Close()
	res := Verify(context.Background(), fastSender(), promise, Target{Key: "k", Scheme: "http", Address: addr, Path: "/"})
	if res.Status != metav1.ConditionUnknown || res.Reason() != "Unreachable" || !strings.Contains(res.Message, "cannot reach "+addr) {
		t.Fatalf("got %s %s: %s; want Unknown Unreachable naming %s", res.Status, res.Reason(), res.Message, addr)
	}
}

// TestVerifyTimeoutIsUnknown: a data plane that accepts but never answers
// is Unknown once --verify-timeout passes.
func TestVerifyTimeoutIsUnknown(t *testing.T) {
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { <-release }))
	t.Cleanup(func() { close(release); srv.Close() })
	sender := NewSender(nil, Limits{PerDataPlane: rate.Inf, PerTarget: rate.Inf}, 100*time.Millisecond)
	res := Verify(context.Background(), sender, promise, targetOf(srv))
	if res.Status != metav1.ConditionUnknown || !strings.Contains(res.Message, "within 100ms (--verify-timeout)") {
		t.Fatalf("got %s: %s; want Unknown after the timeout", res.Status, res.Message)
	}
}

// TestVerifySendsOnlySafeMethodsWithoutCredentials: whatever the policy
// allows, only OPTIONS, GET and HEAD go out, with no body and nothing
// that authenticates; the Host header names the rule's host.
func TestVerifySendsOnlySafeMethodsWithoutCredentials(t *testing.T) {
	var mu sync.Mutex
	var seen []string
	srv := dataPlane(t, func(_ http.ResponseWriter, r *http.Request) bool {
		mu.Lock()
		defer mu.Unlock()
		seen = append(seen, r.Method)
		if r.ContentLength > 0 || r.Header.Get("Cookie") != "" || r.Header.Get("Authorization") != "" {
			t.Errorf("%s carried a body or credentials: %v", r.Method, r.Header)
		}
		if r.Host != "api.example.com" {
			t.Errorf("Host is %q, want the rule's host api.example.com", r.Host)
		}
		return false
	})
	p := promise
	p.Methods = []string{"DELETE", "PUT", "PATCH"}
	p.Credentials = true
	Verify(context.Background(), fastSender(), p, targetOf(srv))
	mu.Lock()
	defer mu.Unlock()
	if len(seen) == 0 {
		t.Fatal("nothing was sent")
	}
	for _, m := range seen {
		if m != http.MethodOptions && m != http.MethodGet && m != http.MethodHead {
			t.Errorf("sent %s; only OPTIONS, GET and HEAD may be sent (all: %v)", m, seen)
		}
	}
}

// countingTransport records when each request leaves the sender, which
// is what the rate limits bound (arrival times at a server on a busy
// machine add the trip's jitter).
type countingTransport struct {
	next  http.RoundTripper
	mu    sync.Mutex
	sends []time.Time
}

func (c *countingTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	c.mu.Lock()
	c.sends = append(c.sends, time.Now())
	c.mu.Unlock()
	return c.next.RoundTrip(req)
}

// TestSenderRate: nothing is sent faster than the rate, per data plane
// across targets and per target; the counting server sees every request
// the transport sent.
func TestSenderRate(t *testing.T) {
	for _, tc := range []struct {
		name      string
		limits    Limits
		targets   []string
		perSecond float64
	}{
		{name: "per data plane, across targets", limits: Limits{PerDataPlane: 4, PerTarget: rate.Inf},
			targets: []string{"a", "b", "c"}, perSecond: 4},
		{name: "per target", limits: Limits{PerDataPlane: rate.Inf, PerTarget: 4}, targets: []string{"a"}, perSecond: 4},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var arrived atomic.Int64
			srv := dataPlane(t, func(http.ResponseWriter, *http.Request) bool {
				arrived.Add(1)
				return false
			})
			transport := &countingTransport{next: http.DefaultTransport.(*http.Transport).Clone()}
			sender := NewSender(transport, tc.limits, 2*time.Second)
			var wg sync.WaitGroup
			for _, key := range tc.targets {
				target := targetOf(srv)
				target.Key = key
				wg.Go(func() { Verify(context.Background(), sender, promise, target) })
			}
			wg.Wait()
			sends := transport.sends
			if len(sends) < 5 || int64(len(sends)) != arrived.Load() {
				t.Fatalf("%d requests sent, %d arrived; want at least 5, all arriving", len(sends), arrived.Load())
			}
			slices.SortFunc(sends, func(a, b time.Time) int { return a.Compare(b) })
			// A bucket of burst 1 spaces sends 1/rate apart. The scheduling
			// between the bucket and the transport on a busy machine can
			// delay one send towards the next, never the whole run: the
			// first and last sends are at least (n-1)/rate apart, and no
			// three sends fit in one spacing (an unlimited sender puts
			// them all within milliseconds).
			spacing := time.Duration(float64(time.Second) / tc.perSecond)
			if span, want := sends[len(sends)-1].Sub(sends[0]), time.Duration(len(sends)-1)*spacing-spacing/4; span < want {
				t.Errorf("%d requests sent within %s, faster than %v per second (at least %s)", len(sends), span, tc.perSecond, want)
			}
			for i := 2; i < len(sends); i++ {
				if gap := sends[i].Sub(sends[i-2]); gap < spacing {
					t.Errorf("requests %d to %d sent within %s, faster than %v per second", i-2, i, gap, tc.perSecond)
				}
			}
		})
	}
}

// TestChecks: the request set of a policy, by its shape.
func TestChecks(t *testing.T) {
	for _, tc := range []struct {
		name string
		p    Promise
		want []string
	}{
		{name: "an exact origin and PUT: preflight and GET from it and from a stranger", p: promise,
			want: []string{"OPTIONS https://app.example.com PUT", "GET https://app.example.com GET",
				"OPTIONS https://kubecors-verify.invalid PUT", "GET https://kubecors-verify.invalid GET",
				"GET https://app.example.com.kubecors-verify.invalid GET"}},
		{name: "a wildcard origin is synthesised under it", p: Promise{Origins: []string{"https://*.example.com"}},
			want: []string{"GET https://kubecors-verify.example.com GET", "OPTIONS https://kubecors-verify.invalid PUT",
				"GET https://kubecors-verify.invalid GET", "GET https://kubecors-verify.example.com.kubecors-verify.invalid GET"}},
		{name: "any origin has no stranger to check", p: Promise{Origins: []string{"*"}, Methods: []string{"*"}},
			want: []string{"OPTIONS https://kubecors-verify.example.com PUT", "GET https://kubecors-verify.example.com GET"}},
		{name: "a port wildcard gets a port", p: Promise{Origins: []string{"http://localhost:*"}, Headers: []string{"X-Id"}},
			want: []string{"OPTIONS http://localhost:8443 GET", "GET http://localhost:8443 GET",
				"OPTIONS https://kubecors-verify.invalid GET", "GET https://kubecors-verify.invalid GET",
				"GET http://localhost.kubecors-verify.invalid:8443 GET"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cs := checks(tc.p)
			got := make([]string, 0, len(cs))
			for _, c := range cs {
				kind := "GET"
				if strings.HasPrefix(c.name, "preflight") {
					kind = "OPTIONS"
				}
				got = append(got, kind+" "+c.req.Origin+" "+c.req.Method)
			}
			if !slices.Equal(got, tc.want) {
				t.Errorf("got %q\nwant %q", got, tc.want)
			}
		})
	}
}
