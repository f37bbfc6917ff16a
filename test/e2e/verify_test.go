//go:build e2e

package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/controller-runtime/pkg/client"

	kubecorsv1alpha1 "github.com/kubecors/kubecors/api/v1alpha1"
)

const (
	// verifyPolicyName is the policy the wire verification phases use.
	verifyPolicyName = "wire"
	// verifyInterval is the operator's --verify-interval in this suite,
	// the shortest it accepts.
	verifyInterval = 10 * time.Second
	// verifyTimeout bounds each wait for a verdict: one interval with its
	// jitter, a round of requests, and the operator's and Traefik's
	// reaction to a change.
	verifyTimeout = 60 * time.Second
)

// verifyArgs are the operator's flags of this suite: every data plane is
// Traefik's entry point on loopback, named by IngressClass ("nginx",
// "traefik") and GatewayClass ("traefik").
func verifyArgs(webPort int) []string {
	address := fmt.Sprintf("127.0.0.1:%d", webPort)
	return []string{
		"--verify-interval=" + verifyInterval.String(),
		"--verify-target-rate=10",
		"--verify-address=nginx=" + address,
		"--verify-address=traefik=" + address,
	}
}

// ownAllowOrigin wraps a backend so that, when on is set, it adds its own
// Access-Control-Allow-Origin: * as many frameworks do.
func ownAllowOrigin(next http.Handler, on *atomic.Bool) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if on.Load() {
			w.Header().Set("Access-Control-Allow-Origin", "*")
		}
		next.ServeHTTP(w, r)
	})
}

// wireVerdict is one target's Verified condition.
type wireVerdict struct {
	status, reason, message string
}

// waitVerified waits until each named target's Verified condition has the
// wanted reason for the policy's current generation, and returns the
// conditions seen.
func waitVerified(ctx context.Context, t *testing.T, c client.Client, want map[string]string) map[string]wireVerdict {
	t.Helper()
	deadline := time.Now().Add(verifyTimeout)
	p := &kubecorsv1alpha1.CorsPolicy{}
	got := map[string]wireVerdict{}
	for {
		if err := c.Get(ctx, client.ObjectKey{Namespace: ns, Name: verifyPolicyName}, p); err != nil {
			t.Fatal(err)
		}
		got = map[string]wireVerdict{}
		for _, ts := range p.Status.Targets {
			if cond := meta.FindStatusCondition(ts.Conditions, kubecorsv1alpha1.ConditionVerified); cond != nil && cond.ObservedGeneration == p.Generation {
				got[ts.TargetRef.Name] = wireVerdict{status: string(cond.Status), reason: cond.Reason, message: cond.Message}
			}
		}
		matched := true
		for name, reason := range want {
			matched = matched && got[name].reason == reason
		}
		if matched {
			return got
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			raw, _ := json.MarshalIndent(p.Status, "", "  ")
			t.Fatalf("the targets are not verified as %v within %s; status:\n%s", want, verifyTimeout, raw)
		}
		time.Sleep(500 * time.Millisecond)
	}
}

// wireRow is one line of the verification table.
type wireRow struct {
	phase, path, verified, browser string
	elapsed                        time.Duration
}

// verifyOnTheWire runs the operator's wire verification against the three
// Traefik paths and cross-checks each verdict with the browser's: as
// programmed (Verified=True), with a backend that adds its own
// Access-Control-Allow-Origin, and with a hand-edited Middleware that
// widens the origins.
func verifyOnTheWire(ctx context.Context, t *testing.T, c client.Client, browser context.Context, appOrigin, otherOrigin string, webPort int,
	backendACAO *atomic.Bool) {
	url := func(dp dataPath) string { return "http://" + dp.host + ":" + fmt.Sprint(webPort) + "/" }
	var rows []wireRow
	// crossCheck asks the browser for the verdict the wire implies.
	crossCheck := func(phase string, dp dataPath, got wireVerdict, origin string, c browserCase, want string, since time.Time) {
		verdict, detail, ok := pollVerdict(ctx, t, browser, origin, url(dp), expectation{c, want}, time.Now().Add(followTimeout))
		rows = append(rows, wireRow{phase: phase, path: dp.name, verified: got.status + " (" + got.reason + ")",
			browser: fmt.Sprintf("%s: %s (%s)", c.name, verdict, detail), elapsed: time.Since(since)})
		if !ok {
			t.Errorf("%s, %s: the operator says %s (%s) but the browser says %q for %s (%s), want %q",
				phase, dp.name, got.status, got.reason, verdict, c.name, detail, want)
		}
	}
	all := func(reason string) map[string]string {
		out := map[string]string{}
		for _, dp := range dataPaths {
			out[dp.target.Name] = reason
		}
		return out
	}

	p := &kubecorsv1alpha1.CorsPolicy{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: verifyPolicyName},
		Spec: kubecorsv1alpha1.CorsPolicySpec{
			AllowOrigins:     []kubecorsv1alpha1.Origin{kubecorsv1alpha1.Origin(appOrigin)},
			AllowMethods:     []kubecorsv1alpha1.HTTPMethod{"GET", "PUT"},
			AllowHeaders:     []kubecorsv1alpha1.RequestHeaderName{"Authorization", "Content-Type"},
			ExposeHeaders:    []kubecorsv1alpha1.ResponseHeaderName{exposedHeader},
			AllowCredentials: new(true),
			MaxAge:           new(int32(0)),
		},
	}
	for _, dp := range dataPaths {
		p.Spec.TargetRefs = append(p.Spec.TargetRefs, dp.target)
	}
	created := time.Now()
	if err := c.Create(ctx, p); err != nil {
		t.Fatalf("creating the CorsPolicy %s: %v", verifyPolicyName, err)
	}

	phase := "V1 as programmed"
	got := waitVerified(ctx, t, c, all(kubecorsv1alpha1.ReasonVerified))
	t.Logf("%s: every target Verified=True %.1fs after the policy was created (interval %s)", phase, time.Since(created).Seconds(), verifyInterval)
	for _, dp := range dataPaths {
		crossCheck(phase, dp, got[dp.target.Name], appOrigin, preflight, allowed, created)
		crossCheck(phase, dp, got[dp.target.Name], otherOrigin, otherOrigin2, blocked, created)
	}

	// Traefik sets Access-Control-Allow-Origin itself for an allowed
	// origin, replacing the backend's; for any other origin the backend's
	// "*" reaches the browser: the wire is broader than the policy.
	phase = "V2 backend adds its own Access-Control-Allow-Origin: *"
	backendACAO.Store(true)
	changed := time.Now()
	got = waitVerified(ctx, t, c, map[string]string{
		"nginx-api": kubecorsv1alpha1.ReasonBroaderThanPolicy, "traefik-api": kubecorsv1alpha1.ReasonBroaderThanPolicy,
		"gateway-api": kubecorsv1alpha1.ReasonVerified, // the netns backend does not add it
	})
	for _, dp := range dataPaths[:2] {
		if !strings.Contains(got[dp.target.Name].message, "Access-Control-Allow-Origin: *") {
			t.Errorf("%s, %s: the condition does not quote the header seen: %s", phase, dp.name, got[dp.target.Name].message)
		}
		crossCheck(phase, dp, got[dp.target.Name], otherOrigin, otherOrigin2, allowed, changed)
		crossCheck(phase, dp, got[dp.target.Name], appOrigin, simpleGET, allowed, changed)
	}
	crossCheck(phase, dataPaths[2], got["gateway-api"], otherOrigin, otherOrigin2, blocked, changed)
	backendACAO.Store(false)
	waitVerified(ctx, t, c, all(kubecorsv1alpha1.ReasonVerified))

	// The Middleware kubecors owns, widened by hand to reflect any origin
	// (the classic misconfiguration: with credentials, any site can read
	// the users' data). The Traefik Ingress and the HTTPRoute use it, the
	// nginx path does not. (Widening to "*" instead makes Traefik answer
	// "*" with credentials, which the verifier reports as
	// wildcard-with-credentials, broader-than-policy flagged too.)
	phase = "V3 Middleware widened by hand to any origin"
	mw := &unstructured.Unstructured{}
	mw.SetGroupVersionKind(schema.GroupVersionKind{Group: "traefik.io", Version: "v1alpha1", Kind: "Middleware"})
	if err := c.Get(ctx, client.ObjectKey{Namespace: ns, Name: "kubecors-" + verifyPolicyName}, mw); err != nil {
		t.Fatalf("reading the policy's Middleware: %v", err)
	}
	if err := unstructured.SetNestedStringSlice(mw.Object, []string{".*"}, "spec", "headers", "accessControlAllowOriginListRegex"); err != nil {
		t.Fatal(err)
	}
	if err := c.Update(ctx, mw, client.FieldOwner("someone-by-hand")); err != nil {
		t.Fatalf("widening the Middleware by hand: %v", err)
	}
	changed = time.Now()
	got = waitVerified(ctx, t, c, map[string]string{
		"nginx-api": kubecorsv1alpha1.ReasonVerified, "traefik-api": kubecorsv1alpha1.ReasonBroaderThanPolicy,
		"gateway-api": kubecorsv1alpha1.ReasonBroaderThanPolicy,
	})
	for _, dp := range dataPaths {
		want := allowed
		if dp.target.Name == "nginx-api" {
			want = blocked
		}
		crossCheck(phase, dp, got[dp.target.Name], otherOrigin, otherOrigin2, want, changed)
		crossCheck(phase, dp, got[dp.target.Name], otherOrigin, credentialedOther, want, changed)
	}
	final := &kubecorsv1alpha1.CorsPolicy{}
	if err := c.Get(ctx, client.ObjectKeyFromObject(p), final); err != nil {
		t.Fatal(err)
	}
	if final.Status.TargetCounts == nil || final.Status.TargetCounts.BroaderThanPolicy != 2 || final.Status.VerifiedTargets != "1/3" {
		t.Errorf("%s: counts %+v, verifiedTargets %q; want broaderThanPolicy 2 (what kubecors_targets_broader_than_policy reports) and 1/3",
			phase, final.Status.TargetCounts, final.Status.VerifiedTargets)
	}
	if err := c.Delete(ctx, final); err != nil {
		t.Fatalf("deleting the CorsPolicy %s: %v", verifyPolicyName, err)
	}

	var b strings.Builder
	for _, r := range rows {
		fmt.Fprintf(&b, "%-58s  %-52s  %-32s  %6.1fs  %s\n", r.phase, r.path, r.verified, r.elapsed.Seconds(), r.browser)
	}
	fmt.Printf("\nVerified on the wire (operator) against the browser (headless Chromium):\n%s\n", b.String())
}

// otherOrigin2 is a GET from the second origin, which the policy does not
// allow.
var otherOrigin2 = browserCase{name: "GET from the second origin", fromOther: true}

// credentialedOther is a credentialed GET from the second origin.
var credentialedOther = browserCase{name: "credentialed GET from the second origin", fromOther: true, credentials: true}
