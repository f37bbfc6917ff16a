//go:build e2e

package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"text/tabwriter"
	"time"

	"github.com/chromedp/chromedp"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	networkingv1 "k8s.io/api/networking/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"sigs.k8s.io/controller-runtime/pkg/client"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"

	kubecorsv1alpha1 "github.com/kubecors/kubecors/api/v1alpha1"
)

const (
	ns         = "default"
	policyName = "browser"
	// Response headers of the backend: policies expose the first only.
	exposedHeader = "X-Request-Id"
	hiddenHeader  = "X-Secret"
	// How long the browser's verdict may take to follow a policy change.
	followTimeout = 45 * time.Second
	// How long the first programming (operator and Traefik) may take.
	programTimeout = 90 * time.Second
)

// dataPath is one way a request reaches the backend through Traefik.
type dataPath struct {
	name string
	host string
	// target is how the policy names the Ingress or HTTPRoute.
	target kubecorsv1alpha1.PolicyTargetReference
}

var dataPaths = []dataPath{
	{
		name:   "ingress-nginx annotations (Traefik kubernetesIngressNGINX)",
		host:   "nginx.api.localhost",
		target: kubecorsv1alpha1.PolicyTargetReference{Group: kubecorsv1alpha1.GroupNetworking, Kind: kubecorsv1alpha1.KindIngress, Name: "nginx-api"},
	},
	{
		name:   "Traefik Middleware (Ingress router.middlewares)",
		host:   "traefik.api.localhost",
		target: kubecorsv1alpha1.PolicyTargetReference{Group: kubecorsv1alpha1.GroupNetworking, Kind: kubecorsv1alpha1.KindIngress, Name: "traefik-api"},
	},
	{
		name:   "HTTPRoute ExtensionRef (Traefik Gateway)",
		host:   "gateway.api.localhost",
		target: kubecorsv1alpha1.PolicyTargetReference{Group: kubecorsv1alpha1.GroupGateway, Kind: kubecorsv1alpha1.KindHTTPRoute, Name: "gateway-api"},
	},
}

// browserCase is one fetch() a page makes.
type browserCase struct {
	name string
	// fromOther makes the page the second origin, which the first policy
	// does not allow.
	fromOther   bool
	method      string
	headers     map[string]string
	body        string
	credentials bool
	// readHeaders reports which response headers the page could read.
	readHeaders bool
}

var (
	simpleGET = browserCase{name: "simple GET"}
	preflight = browserCase{name: "preflighted PUT (Authorization, Content-Type: application/json)", method: "PUT",
		headers: map[string]string{"Authorization": "Bearer e2e", "Content-Type": "application/json"}, body: `{"a":1}`}
	credentialed = browserCase{name: "credentialed GET (credentials: include)", credentials: true}
	otherOrigin  = browserCase{name: "GET from the second origin", fromOther: true}
	readHeaders  = browserCase{name: "GET reading X-Request-Id (exposed) and X-Secret (not)", readHeaders: true}
)

// phase is one state of the policy and the verdicts it must produce.
type phase struct {
	name   string
	apply  func(ctx context.Context, t *testing.T) // changes the policy
	checks []expectation
}

type expectation struct {
	c    browserCase
	want string
}

const (
	allowed = "allowed"
	blocked = "blocked"
)

func exposedVerdict(readable bool) string {
	if readable {
		return "allowed; " + exposedHeader + " readable, " + hiddenHeader + " hidden"
	}
	return "allowed; " + exposedHeader + " hidden, " + hiddenHeader + " hidden"
}

// row is one line of the final table.
type row struct {
	phase, path, request, expected, verdict, detail string
	elapsed                                         time.Duration
	ok                                              bool
}

func TestBrowserCORS(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 25*time.Minute)
	defer cancel()
	root := repoRoot(t)
	work := t.TempDir()

	// The data plane's pieces: a backend on loopback (reached by the
	// Ingress paths through an ExternalName Service "localhost") and the
	// same backend in a network namespace (reached by the Gateway path
	// through an EndpointSlice).
	localListener, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	// The loopback backend can add its own Access-Control-Allow-Origin
	// (the wire verification phases switch it on).
	var backendACAO atomic.Bool
	serve(t, localListener, ownAllowOrigin(backend("loopback"), &backendACAO))
	localPort := localListener.Addr().(*net.TCPAddr).Port
	host := createTestHost(t)
	const nsPort = 8080
	nsListener, err := host.listen(nsPort)
	if err != nil {
		t.Fatalf("listening in network namespace %s: %v", host.netns, err)
	}
	serve(t, nsListener, backend("netns"))
	t.Logf("backends: 127.0.0.1:%d and %s:%d (network namespace %s)", localPort, host.nsIP, nsPort, host.netns)

	// The page: two loopback origins of one server. kubecors accepts
	// plain-http loopback origins with credentials.
	pageListener, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	pagePort := pageListener.Addr().(*net.TCPAddr).Port
	serve(t, pageListener, http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		_, _ = fmt.Fprint(w, "<!doctype html><title>kubecors e2e</title><p>kubecors e2e page</p>")
	}))
	appOrigin := fmt.Sprintf("http://localhost:%d", pagePort)
	otherOriginURL := fmt.Sprintf("http://127.0.0.1:%d", pagePort)

	cp := startControlPlane(t, root, work)
	c := cp.client
	managerBin := buildManager(t, root, work)
	webhookPort := freePort(t)
	installWebhook(ctx, t, c, root, webhookPort)
	webPort := freePort(t)
	manager := startManager(ctx, t, cp, managerBin, work, webhookPort, verifyArgs(webPort)...)

	traefikAddr := fmt.Sprintf("127.0.0.1:%d", webPort)
	createRouting(ctx, t, c, localPort, host.nsIP, nsPort, webPort)
	traefik := startTraefik(ctx, t, cp, work, webPort)
	dumpOnFailure := func() {
		if t.Failed() {
			manager.dumpLog(t, 40)
			traefik.dumpLog(t, 80)
		}
	}
	defer dumpOnFailure()

	// Every path must route to its backend before any CORS is asserted, so
	// that a blocked verdict can only come from CORS.
	for _, p := range dataPaths {
		waitRouted(ctx, t, traefikAddr, p)
	}

	browser := startBrowser(ctx, t, work)

	policyV1 := func(ctx context.Context, t *testing.T) {
		p := &kubecorsv1alpha1.CorsPolicy{
			ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: policyName},
			Spec: kubecorsv1alpha1.CorsPolicySpec{
				AllowOrigins:     []kubecorsv1alpha1.Origin{kubecorsv1alpha1.Origin(appOrigin)},
				AllowMethods:     []kubecorsv1alpha1.HTTPMethod{"GET", "PUT"},
				AllowHeaders:     []kubecorsv1alpha1.RequestHeaderName{"Authorization", "Content-Type"},
				ExposeHeaders:    []kubecorsv1alpha1.ResponseHeaderName{exposedHeader},
				AllowCredentials: new(true),
				// No preflight caching, so that the browser sees changes at once.
				MaxAge: new(int32(0)),
			},
		}
		for _, dp := range dataPaths {
			p.Spec.TargetRefs = append(p.Spec.TargetRefs, dp.target)
		}
		if err := c.Create(ctx, p); err != nil {
			t.Fatalf("creating the CorsPolicy: %v", err)
		}
		waitProgrammed(ctx, t, c)
	}
	policyV2 := func(ctx context.Context, t *testing.T) {
		p := &kubecorsv1alpha1.CorsPolicy{}
		if err := c.Get(ctx, client.ObjectKey{Namespace: ns, Name: policyName}, p); err != nil {
			t.Fatal(err)
		}
		p.Spec.AllowOrigins = append(p.Spec.AllowOrigins, kubecorsv1alpha1.Origin(otherOriginURL))
		p.Spec.AllowCredentials = new(false)
		if err := c.Update(ctx, p); err != nil {
			t.Fatalf("updating the CorsPolicy: %v", err)
		}
	}
	deletePolicy := func(ctx context.Context, t *testing.T) {
		p := &kubecorsv1alpha1.CorsPolicy{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: policyName}}
		if err := c.Delete(ctx, p); err != nil {
			t.Fatalf("deleting the CorsPolicy: %v", err)
		}
	}

	phases := []phase{
		{name: "1 no policy", apply: func(context.Context, *testing.T) {}, checks: []expectation{
			{simpleGET, blocked}, {preflight, blocked},
		}},
		{name: "2 policy", apply: policyV1, checks: []expectation{
			{simpleGET, allowed}, {preflight, allowed}, {credentialed, allowed},
			{otherOrigin, blocked}, {readHeaders, exposedVerdict(true)},
		}},
		{name: "3 origin added, credentials removed", apply: policyV2, checks: []expectation{
			{otherOrigin, allowed}, {credentialed, blocked},
			{simpleGET, allowed}, {preflight, allowed}, {readHeaders, exposedVerdict(true)},
		}},
		{name: "4 policy deleted", apply: deletePolicy, checks: []expectation{
			{simpleGET, blocked}, {preflight, blocked}, {otherOrigin, blocked}, {credentialed, blocked},
		}},
	}

	var rows []row
	for _, ph := range phases {
		ph.apply(ctx, t)
		changed := time.Now()
		for _, dp := range dataPaths {
			for _, e := range ph.checks {
				origin := appOrigin
				if e.c.fromOther {
					origin = otherOriginURL
				}
				r := row{phase: ph.name, path: dp.name, request: e.c.name, expected: e.want}
				timeout := followTimeout
				if ph.name[0] == '2' {
					timeout = programTimeout
				}
				r.verdict, r.detail, r.ok = pollVerdict(ctx, t, browser, origin, "http://"+dp.host+":"+fmt.Sprint(webPort)+"/", e, changed.Add(timeout))
				r.elapsed = time.Since(changed)
				rows = append(rows, r)
				if !r.ok {
					t.Errorf("%s, %s, %s: the browser says %q (%s), want %q", ph.name, dp.name, e.c.name, r.verdict, r.detail, e.want)
				}
			}
			// A blocked verdict must come from CORS, not from a broken route.
			if code, body, _, err := plainGet(ctx, traefikAddr, dp.host, appOrigin); err != nil || code != http.StatusOK {
				t.Errorf("%s, %s: the route itself fails (status %d, %q, %v)", ph.name, dp.name, code, body, err)
			}
		}
	}

	printTable(t, rows)
	conformanceReplay(ctx, t, c, traefikAddr, webPort, host.nsIP, nsPort)
	verifyOnTheWire(ctx, t, c, browser, appOrigin, otherOriginURL, webPort, &backendACAO)
}

// createRouting creates what Traefik serves: the classes, the Services
// and EndpointSlice for the two backends, two Ingresses and a Gateway with
// an HTTPRoute, all routed by host name.
func createRouting(ctx context.Context, t *testing.T, c client.Client, localPort int, nsIP string, nsPort, webPort int) {
	t.Helper()
	prefix := networkingv1.PathTypePrefix
	ingress := func(name, class, host string) *networkingv1.Ingress {
		return &networkingv1.Ingress{
			ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
			Spec: networkingv1.IngressSpec{
				IngressClassName: new(class),
				Rules: []networkingv1.IngressRule{{
					Host: host,
					IngressRuleValue: networkingv1.IngressRuleValue{HTTP: &networkingv1.HTTPIngressRuleValue{
						Paths: []networkingv1.HTTPIngressPath{{
							Path: "/", PathType: &prefix,
							Backend: networkingv1.IngressBackend{Service: &networkingv1.IngressServiceBackend{
								Name: "backend-loopback", Port: networkingv1.ServiceBackendPort{Number: int32(localPort)},
							}},
						}},
					}},
				}},
			},
		}
	}
	pathPrefix := gatewayv1.PathMatchPathPrefix
	objects := []client.Object{
		&networkingv1.IngressClass{ObjectMeta: metav1.ObjectMeta{Name: "nginx"}, Spec: networkingv1.IngressClassSpec{Controller: "k8s.io/ingress-nginx"}},
		&networkingv1.IngressClass{ObjectMeta: metav1.ObjectMeta{Name: "traefik"}, Spec: networkingv1.IngressClassSpec{Controller: "traefik.io/ingress-controller"}},
		// Ingress paths: the loopback backend through ExternalName "localhost".
		&corev1.Service{
			ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "backend-loopback"},
			Spec: corev1.ServiceSpec{Type: corev1.ServiceTypeExternalName, ExternalName: "localhost",
				Ports: []corev1.ServicePort{{Name: "http", Port: int32(localPort), TargetPort: intstr.FromInt(localPort)}}},
		},
		ingress("nginx-api", "nginx", "nginx.api.localhost"),
		ingress("traefik-api", "traefik", "traefik.api.localhost"),
		// Gateway path: the backend in the network namespace, through an
		// ordinary selector-less Service and its EndpointSlice.
		&corev1.Service{
			ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "backend-netns"},
			Spec:       corev1.ServiceSpec{Ports: []corev1.ServicePort{{Name: "http", Port: int32(nsPort), TargetPort: intstr.FromInt(nsPort)}}},
		},
		&discoveryv1.EndpointSlice{
			ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "backend-netns-1",
				Labels: map[string]string{discoveryv1.LabelServiceName: "backend-netns"}},
			AddressType: discoveryv1.AddressTypeIPv4,
			Endpoints:   []discoveryv1.Endpoint{{Addresses: []string{nsIP}, Conditions: discoveryv1.EndpointConditions{Ready: new(true)}}},
			Ports:       []discoveryv1.EndpointPort{{Name: new("http"), Port: new(int32(nsPort)), Protocol: new(corev1.ProtocolTCP)}},
		},
		&gatewayv1.GatewayClass{ObjectMeta: metav1.ObjectMeta{Name: "traefik"},
			Spec: gatewayv1.GatewayClassSpec{ControllerName: "traefik.io/gateway-controller"}},
		&gatewayv1.Gateway{
			ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "traefik"},
			Spec: gatewayv1.GatewaySpec{GatewayClassName: "traefik", Listeners: []gatewayv1.Listener{{
				// Traefik binds a listener to the entry point with its port.
				Name: "web", Port: gatewayv1.PortNumber(webPort), Protocol: gatewayv1.HTTPProtocolType,
			}}},
		},
		&gatewayv1.HTTPRoute{
			ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "gateway-api"},
			Spec: gatewayv1.HTTPRouteSpec{
				CommonRouteSpec: gatewayv1.CommonRouteSpec{ParentRefs: []gatewayv1.ParentReference{{Name: "traefik"}}},
				Hostnames:       []gatewayv1.Hostname{"gateway.api.localhost"},
				Rules: []gatewayv1.HTTPRouteRule{{
					Matches: []gatewayv1.HTTPRouteMatch{{Path: &gatewayv1.HTTPPathMatch{Type: &pathPrefix, Value: new("/")}}},
					BackendRefs: []gatewayv1.HTTPBackendRef{{BackendRef: gatewayv1.BackendRef{BackendObjectReference: gatewayv1.BackendObjectReference{
						Name: "backend-netns", Port: new(gatewayv1.PortNumber(nsPort)),
					}}}},
				}},
			},
		},
	}
	for _, o := range objects {
		if err := c.Create(ctx, o); err != nil {
			t.Fatalf("creating %T %s: %v", o, o.GetName(), err)
		}
	}
}

// waitRouted waits until Traefik routes a host to its backend.
func waitRouted(ctx context.Context, t *testing.T, traefikAddr string, p dataPath) {
	t.Helper()
	deadline := time.Now().Add(programTimeout)
	var last string
	for time.Now().Before(deadline) {
		code, body, _, err := plainGet(ctx, traefikAddr, p.host, "")
		if err == nil && code == http.StatusOK && strings.HasPrefix(body, "backend ") {
			t.Logf("%s routed: %s", p.host, body)
			return
		}
		last = fmt.Sprintf("status %d, body %q, error %v", code, body, err)
		time.Sleep(500 * time.Millisecond)
	}
	t.Fatalf("Traefik does not route %s (%s) within %s: %s", p.host, p.name, programTimeout, last)
}

// waitProgrammed waits until the operator reports the policy Programmed.
func waitProgrammed(ctx context.Context, t *testing.T, c client.Client) {
	t.Helper()
	deadline := time.Now().Add(programTimeout)
	p := &kubecorsv1alpha1.CorsPolicy{}
	for time.Now().Before(deadline) {
		if err := c.Get(ctx, client.ObjectKey{Namespace: ns, Name: policyName}, p); err != nil && !apierrors.IsNotFound(err) {
			t.Fatal(err)
		}
		if cond := meta.FindStatusCondition(p.Status.Conditions, kubecorsv1alpha1.ConditionProgrammed); cond != nil &&
			cond.Status == metav1.ConditionTrue && cond.ObservedGeneration == p.Generation {
			for _, ts := range p.Status.Targets {
				t.Logf("target %s/%s: data plane %q, controller %q: %s", ts.TargetRef.Kind, ts.TargetRef.Name, ts.DataPlane, ts.ControllerName, ts.Message)
			}
			return
		}
		time.Sleep(300 * time.Millisecond)
	}
	raw, _ := json.MarshalIndent(p.Status, "", "  ")
	t.Fatalf("the policy is not Programmed within %s; status:\n%s", programTimeout, raw)
}

// startBrowser starts Debian's headless Chromium with a fresh profile and
// returns a context for its first tab.
func startBrowser(ctx context.Context, t *testing.T, work string) context.Context {
	t.Helper()
	bin := os.Getenv("CHROMIUM_BIN")
	if bin == "" {
		bin = "/usr/bin/chromium"
	}
	if _, err := exec.LookPath(bin); err != nil {
		t.Fatalf("no Chromium at %s (make test-e2e installs Debian's chromium): %v", bin, err)
	}
	profile := filepath.Join(work, "chromium-profile")
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(ctx,
		chromedp.ExecPath(bin),
		chromedp.UserDataDir(profile),
		chromedp.Flag("headless", true),
		chromedp.Flag("no-sandbox", true),
		chromedp.Flag("disable-gpu", true),
		chromedp.Flag("no-first-run", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-quic", true),
	)
	browserCtx, cancelBrowser := chromedp.NewContext(allocCtx)
	t.Cleanup(func() {
		cancelBrowser()
		cancelAlloc()
	})
	if err := chromedp.Do(browserCtx); err != nil {
		t.Fatalf("starting Chromium: %v", err)
	}
	return browserCtx
}

// fetchResult is what the page's fetch() reported.
type fetchResult struct {
	OK      bool              `json:"ok"`
	Status  int               `json:"status"`
	Error   string            `json:"error"`
	Headers map[string]string `json:"headers"`
}

// browserFetch loads the page from an origin and makes one fetch() call
// from it.
func browserFetch(ctx context.Context, origin, url string, c browserCase) (fetchResult, error) {
	var res fetchResult
	init := map[string]any{"cache": "no-store", "mode": "cors"}
	if c.method != "" {
		init["method"] = c.method
	}
	if len(c.headers) > 0 {
		init["headers"] = c.headers
	}
	if c.body != "" {
		init["body"] = c.body
	}
	if c.credentials {
		init["credentials"] = "include"
	}
	initJSON, _ := json.Marshal(init)
	urlJSON, _ := json.Marshal(url)
	script := fmt.Sprintf(`(async () => {
  try {
    const r = await fetch(%s, %s);
    await r.text();
    const headers = {};
    for (const n of [%q, %q]) { const v = r.headers.get(n); if (v !== null) headers[n] = v; }
    return {ok: true, status: r.status, headers};
  } catch (e) {
    return {ok: false, error: String(e)};
  }
})()`, urlJSON, initJSON, exposedHeader, hiddenHeader)
	tctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	if err := chromedp.Do(tctx, chromedp.Navigate(origin+"/")); err != nil {
		return res, err
	}
	location, err := chromedp.Run(tctx, chromedp.Location())
	if err != nil {
		return res, err
	}
	if !strings.HasPrefix(location, origin) {
		return res, fmt.Errorf("the page is at %s, not %s", location, origin)
	}
	res, err = chromedp.Run(tctx, chromedp.Evaluate[fetchResult](script, chromedp.EvalAwaitPromise))
	return res, err
}

// verdictOf writes the browser's result as the table shows it.
func verdictOf(c browserCase, r fetchResult) (string, string) {
	if !r.OK {
		return blocked, r.Error
	}
	detail := fmt.Sprintf("status %d", r.Status)
	if !c.readHeaders {
		return allowed, detail
	}
	state := func(name string) string {
		if _, ok := r.Headers[name]; ok {
			return "readable"
		}
		return "hidden"
	}
	return fmt.Sprintf("allowed; %s %s, %s %s", exposedHeader, state(exposedHeader), hiddenHeader, state(hiddenHeader)), detail
}

// pollVerdict repeats a browser case until its verdict is the expected one
// or the deadline passes, and returns the last verdict.
func pollVerdict(ctx context.Context, t *testing.T, browser context.Context, origin, url string, e expectation, deadline time.Time) (string, string, bool) {
	t.Helper()
	var verdict, detail string
	for {
		res, err := browserFetch(browser, origin, url, e.c)
		if err != nil {
			verdict, detail = "error", err.Error()
		} else {
			verdict, detail = verdictOf(e.c, res)
		}
		if verdict == e.want {
			return verdict, detail, true
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			return verdict, detail, false
		}
		time.Sleep(500 * time.Millisecond)
	}
}

func printTable(t *testing.T, rows []row) {
	var b strings.Builder
	w := tabwriter.NewWriter(&b, 0, 0, 2, ' ', 0)
	_, _ = fmt.Fprintln(w, "PHASE\tPATH\tREQUEST\tEXPECTED\tBROWSER VERDICT\tAFTER\tDETAIL\t")
	passed, failed := 0, 0
	for _, r := range rows {
		mark := "ok"
		if !r.ok {
			mark = "MISMATCH"
			failed++
		} else {
			passed++
		}
		_, _ = fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s [%s]\t%.1fs\t%s\t\n", r.phase, r.path, r.request, r.expected, r.verdict, mark, r.elapsed.Seconds(), r.detail)
	}
	_ = w.Flush()
	fmt.Printf("\nBrowser verdicts (headless Chromium, fetch() from http://localhost:PAGE; second origin http://127.0.0.1:PAGE):\n%s%d cases: %d match the policy, %d do not\n\n", b.String(), len(rows), passed, failed)
}
