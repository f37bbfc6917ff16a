//go:build faults

package faults

import (
	"encoding/json"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/rest"
)

// restart stops etcd and kube-apiserver and starts them again on the same
// data directory, certificates and port.
func (cp *controlPlane) restart(down time.Duration) {
	Expect(cp.env.ControlPlane.Stop()).To(Succeed())
	time.Sleep(down)
	Expect(cp.env.ControlPlane.Start()).To(Succeed())
}

// proxy is a reverse proxy in front of the API server, one per manager
// replica: it counts the replica's requests, authenticates them as the
// administrator, and injects faults when asked.
type proxy struct {
	server *http.Server
	url    string
	// fault, when set, decides for each request whether to answer it
	// with an error instead (an HTTP status, 0 for none).
	fault atomic.Pointer[func(*http.Request) int]

	mu       sync.Mutex
	requests int
	writes   map[string]int // "VERB resource[/subresource]"
	injected int
}

func (cp *controlPlane) startProxy() *proxy {
	target, err := url.Parse(cp.cfg.Host)
	Expect(err).NotTo(HaveOccurred())
	transport, err := rest.TransportFor(cp.cfg)
	Expect(err).NotTo(HaveOccurred())
	rp := httputil.NewSingleHostReverseProxy(target)
	rp.Transport = transport
	rp.FlushInterval = -1
	// While the API server restarts every request fails; the manager's
	// log says so, the suite's output need not.
	rp.ErrorLog = log.New(io.Discard, "", 0)
	p := &proxy{writes: map[string]int{}}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	Expect(err).NotTo(HaveOccurred())
	p.url = "http://" + l.Addr().String()
	p.server = &http.Server{ReadHeaderTimeout: 10 * time.Second, Handler: http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		p.mu.Lock()
		p.requests++
		if isWrite(req.Method) {
			p.writes[req.Method+" "+resourceOf(req.URL.Path)]++
		}
		p.mu.Unlock()
		if f := p.fault.Load(); f != nil {
			if code := (*f)(req); code != 0 {
				p.mu.Lock()
				p.injected++
				p.mu.Unlock()
				writeStatus(w, code)
				return
			}
		}
		rp.ServeHTTP(w, req)
	})}
	go func() { _ = p.server.Serve(l) }()
	DeferCleanup(func() { _ = p.server.Close() })
	return p
}

// counts returns the requests and the writes to resource (every write when
// empty) so far.
func (p *proxy) counts(resources ...string) (requests, writes int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for key, n := range p.writes {
		_, resource, _ := strings.Cut(key, " ")
		if len(resources) == 0 || slices.Contains(resources, resource) {
			writes += n
		}
	}
	return p.requests, writes
}

func (p *proxy) injectedCount() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.injected
}

func isWrite(method string) bool {
	switch method {
	case http.MethodGet, http.MethodHead, http.MethodOptions:
		return false
	}
	return true
}

// resourceOf returns "resource" or "resource/subresource" of an API path.
func resourceOf(path string) string {
	parts := strings.Split(strings.Trim(path, "/"), "/")
	switch {
	case len(parts) >= 2 && parts[0] == "api":
		parts = parts[2:]
	case len(parts) >= 3 && parts[0] == "apis":
		parts = parts[3:]
	default:
		return path
	}
	if len(parts) > 2 && parts[0] == "namespaces" {
		parts = parts[2:]
	}
	switch len(parts) {
	case 0:
		return ""
	case 1, 2:
		return parts[0]
	default:
		return parts[0] + "/" + parts[2]
	}
}

// writeStatus answers with a Kubernetes Status of code, as the API server
// would: a conflict, a server error or a throttle.
func writeStatus(w http.ResponseWriter, code int) {
	status := metav1.Status{TypeMeta: metav1.TypeMeta{Kind: "Status", APIVersion: "v1"}, Status: metav1.StatusFailure, Code: int32(code)} //nolint:gosec // G115: an HTTP status code.
	switch code {
	case http.StatusConflict:
		status.Reason = metav1.StatusReasonConflict
		status.Message = "Operation cannot be fulfilled: the object has been modified; please apply your changes to the latest version and try again (injected)"
	case http.StatusTooManyRequests:
		status.Reason = metav1.StatusReasonTooManyRequests
		status.Message = "too many requests (injected)"
		w.Header().Set("Retry-After", "1")
	default:
		status.Reason = metav1.StatusReasonInternalError
		status.Message = "internal error (injected)"
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(status)
}
