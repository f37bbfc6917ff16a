//go:build faults

package faults

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"text/tabwriter"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	coordinationv1 "k8s.io/api/coordination/v1"
	networkingv1 "k8s.io/api/networking/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
	"k8s.io/client-go/util/retry"
	"sigs.k8s.io/controller-runtime/pkg/client"

	kubecorsv1alpha1 "github.com/kubecors/kubecors/api/v1alpha1"
)

// The suite's size: FAULTS_SHORT=1 is CI's mode.
var (
	short       = os.Getenv("FAULTS_SHORT") != ""
	seed        = faultsSeed()
	fullTargets = sizeFor(500, 100)
	killRounds  = sizeFor(20, 5)
	// steadyPhase is how long the error scenario watches a converged
	// state for writes.
	steadyPhase = time.Duration(sizeFor(20, 10)) * time.Second
)

func sizeFor(full, short int) int {
	if os.Getenv("FAULTS_SHORT") != "" {
		return short
	}
	return full
}

func faultsSeed() uint64 {
	if s := os.Getenv("FAULTS_SEED"); s != "" {
		n, err := strconv.ParseUint(s, 10, 64)
		if err != nil {
			panic(fmt.Sprintf("FAULTS_SEED=%q: %v", s, err))
		}
		return n
	}
	return uint64(time.Now().UnixNano() % 1_000_000)
}

// scenarioResult is one line of the summary table.
type scenarioResult struct {
	name                  string
	rounds, targets       int
	lost, orphaned, stale int
	awaitingGC            int
	duration              time.Duration
	measured              string
}

var (
	resultsMu sync.Mutex
	results   []scenarioResult
)

func record(name string, rounds int, v verdict, started time.Time, measured string) {
	resultsMu.Lock()
	defer resultsMu.Unlock()
	results = append(results, scenarioResult{
		name: name, rounds: rounds, targets: v.targets, lost: v.lost, orphaned: v.orphaned, stale: v.stale,
		awaitingGC: v.awaitingGC, duration: time.Since(started).Round(time.Second), measured: measured,
	})
	GinkgoWriter.Printf("%s: %d rounds, %s\n", name, rounds, v)
}

func printSeed() {
	mode := "full"
	if short {
		mode = "short (FAULTS_SHORT=1)"
	}
	fmt.Printf("faults: seed %d, mode %s: rerun with FAULTS_SEED=%d\n", seed, mode, seed)
}

var _ = ReportAfterSuite("fault summary", func(r Report) {
	if len(results) == 0 {
		return
	}
	var b strings.Builder
	fmt.Fprintf(&b, "\nFault suite summary (seed %d, %s mode)\n", seed, map[bool]string{true: "short", false: "full"}[short])
	tw := tabwriter.NewWriter(&b, 0, 0, 2, ' ', 0)
	_, _ = fmt.Fprintln(tw, "scenario\trounds\ttargets\tlost\torphaned\tstale\tawaiting GC\ttime\tmeasured")
	for _, s := range results {
		_, _ = fmt.Fprintf(tw, "%s\t%d\t%d\t%d\t%d\t%d\t%d\t%s\t%s\n", s.name, s.rounds, s.targets, s.lost, s.orphaned, s.stale, s.awaitingGC, s.duration, s.measured)
	}
	_ = tw.Flush()
	fmt.Print(b.String())
	if path := os.Getenv("FAULTS_REPORT"); path != "" {
		_ = os.WriteFile(path, []byte(b.String()), 0o600)
	}
})

// newWorkload starts a control plane and creates a workload on it; the
// manager it returns the kubeconfig for goes through a counting proxy.
func newWorkload(ctx context.Context, targets, groups int, offset uint64) (*workload, *proxy, string) {
	cp := startControlPlane(controlPlaneOptions{})
	px := cp.startProxy()
	kubeconfig := cp.kubeconfig("manager", px.url, &clientcmdapi.AuthInfo{})
	//nolint:gosec // G404: a seeded, reproducible workload, not a secret.
	w := &workload{cp: cp, namespace: "shop", targets: targets, groups: groups, rng: rand.New(rand.NewPCG(seed, offset))}
	w.create(ctx)
	return w, px, kubeconfig
}

// converge waits until the namespace matches its final policies, or
// convergeTimeout, and returns the last verdict.
func converge(ctx context.Context, w *workload) verdict {
	deadline := time.Now().Add(convergeTimeout)
	for {
		v := w.check(ctx)
		if v.clean() || time.Now().After(deadline) {
			return v
		}
		time.Sleep(time.Second)
	}
}

// jitter returns a duration between lo and hi drawn from the workload's
// generator.
func (w *workload) jitter(lo, hi time.Duration) time.Duration {
	return lo + time.Duration(w.rng.Int64N(int64(hi-lo)))
}

const convergeTimeout = 3 * time.Minute

var _ = ReportBeforeSuite(func(Report) { printSeed() })

var _ = Describe("Faults", Label("faults"), func() {
	It("SIGKILL at random moments during convergence while policies change: every target ends with the final policy's configuration", func(ctx SpecContext) {
		started := time.Now()
		w, _, kubeconfig := newWorkload(ctx, fullTargets, 5, 1)
		for round := range killRounds {
			w.change(ctx)
			m := w.cp.startManager(managerOptions{name: fmt.Sprintf("kill-%02d", round), kubeconfig: kubeconfig})
			time.Sleep(w.jitter(500*time.Millisecond, 3*time.Second))
			w.change(ctx)
			time.Sleep(w.jitter(100*time.Millisecond, 2*time.Second))
			m.kill()
		}
		m := w.cp.startManager(managerOptions{name: "final", kubeconfig: kubeconfig})
		v := converge(ctx, w)
		m.stop()
		record("SIGKILL during convergence", killRounds, v, started, fmt.Sprintf("%d kills", killRounds))
		Expect(v.clean()).To(BeTrue(), v.String())
	})

	It("deletions and relabelling while the manager is down: cleanup completes on restart", func(ctx SpecContext) {
		started := time.Now()
		w, _, kubeconfig := newWorkload(ctx, fullTargets/2, 4, 2)
		m := w.cp.startManager(managerOptions{name: "before", kubeconfig: kubeconfig})
		Expect(converge(ctx, w).clean()).To(BeTrue())
		m.kill()
		// Down: one policy deleted (it stays, terminating, behind its
		// finalizer), a tenth of the targets deleted, another tenth
		// relabelled out of every selector.
		Expect(w.cp.c.Delete(ctx, &kubecorsv1alpha1.CorsPolicy{ObjectMeta: metav1.ObjectMeta{Namespace: w.namespace, Name: policyName(0)}})).To(Succeed())
		perm := w.rng.Perm(w.targets)
		tenth := w.targets / 10
		for _, i := range perm[:tenth] {
			Expect(w.cp.c.Delete(ctx, &networkingv1.Ingress{ObjectMeta: metav1.ObjectMeta{Namespace: w.namespace, Name: targetName(i)}})).To(Succeed())
		}
		for _, i := range perm[tenth : 2*tenth] {
			w.relabel(ctx, i, w.groups)
		}
		m = w.cp.startManager(managerOptions{name: "after", kubeconfig: kubeconfig})
		v := converge(ctx, w)
		Eventually(func() error {
			return w.cp.c.Get(ctx, client.ObjectKey{Namespace: w.namespace, Name: policyName(0)}, &kubecorsv1alpha1.CorsPolicy{})
		}).WithTimeout(time.Minute).Should(Satisfy(apierrors.IsNotFound), "the deleted policy's finalizer is removed")
		m.stop()
		record("changes while the manager is down", 1, v, started, fmt.Sprintf("1 policy and %d targets deleted, %d relabelled", tenth, tenth))
		Expect(v.clean()).To(BeTrue(), v.String())
	})

	It("the API server restarted mid-run (etcd and kube-apiserver on the same data): the operator recovers by itself", func(ctx SpecContext) {
		started := time.Now()
		w, _, kubeconfig := newWorkload(ctx, fullTargets/2, 4, 3)
		m := w.cp.startManager(managerOptions{name: "survivor", kubeconfig: kubeconfig})
		Expect(converge(ctx, w).clean()).To(BeTrue())
		w.change(ctx)
		time.Sleep(w.jitter(200*time.Millisecond, time.Second))
		w.cp.restart(5 * time.Second)
		w.change(ctx)
		v := converge(ctx, w)
		Expect(m.running()).To(BeTrue(), "the manager exited when the API server went away")
		pid := m.cmd.Process.Pid
		m.stop()
		record("API server restart", 1, v, started, fmt.Sprintf("manager pid %d never restarted", pid))
		Expect(v.clean()).To(BeTrue(), v.String())
	})

	It("transient errors and write conflicts: bounded retries, nothing lost, no hot loop", func(ctx SpecContext) {
		started := time.Now()
		w, px, kubeconfig := newWorkload(ctx, fullTargets/2, 4, 4)
		// One write in five fails: a conflict, a server error or a throttle.
		var mu sync.Mutex
		faultRNG := rand.New(rand.NewPCG(seed, 40)) //nolint:gosec // G404: seeded, reproducible faults.
		fault := func(req *http.Request) int {
			if !isWrite(req.Method) || strings.Contains(req.URL.Path, "/leases/") {
				return 0
			}
			mu.Lock()
			defer mu.Unlock()
			if faultRNG.IntN(5) != 0 {
				return 0
			}
			return []int{http.StatusConflict, http.StatusInternalServerError, http.StatusTooManyRequests}[faultRNG.IntN(3)]
		}
		px.fault.Store(&fault)
		// A second writer bumps the targets' resourceVersions all along.
		stopBumping := make(chan struct{})
		bumps := 0
		go func() {
			defer GinkgoRecover()
			for n := 0; ; n++ {
				select {
				case <-stopBumping:
					return
				case <-time.After(100 * time.Millisecond):
				}
				ing := &networkingv1.Ingress{ObjectMeta: metav1.ObjectMeta{Namespace: w.namespace, Name: targetName(n % w.targets)}}
				patch := client.RawPatch("application/merge-patch+json", fmt.Appendf(nil, `{"metadata":{"labels":{"example.com/bump":"%d"}}}`, n))
				if w.cp.c.Patch(ctx, ing, patch) == nil {
					bumps++
				}
			}
		}()
		// Verification off: this scenario counts the write path's retries.
		// With it on, each bump of a target starts a verification pass,
		// whose status write (a new observedAt) this count would include
		// (50 in the short mode's steady state): a known cost, reported in
		// the README's "Verified on the wire", not a retry loop.
		m := w.cp.startManager(managerOptions{name: "faulty", kubeconfig: kubeconfig, extraArgs: []string{"--verify=false"}})
		w.change(ctx)
		v := converge(ctx, w)
		convergeRequests, convergeWrites := px.counts()
		// Steady state, faults and bumps still on: nothing is left to do,
		// so (almost) nothing is written, however often the targets change.
		_, before := px.counts(managedResources...)
		time.Sleep(steadyPhase)
		_, after := px.counts(managedResources...)
		close(stopBumping)
		steady := after - before
		m.stop()
		measured := fmt.Sprintf("%d requests, %d writes (%d failed by injection) to converge %d targets under %d bumps; %d writes in %s steady state",
			convergeRequests, convergeWrites, px.injectedCount(), w.targets, bumps, steady, steadyPhase)
		record("transient errors and conflicts", 1, v, started, measured)
		Expect(v.clean()).To(BeTrue(), v.String())
		Expect(steady).To(BeNumerically("<=", 10), "a hot loop: %d writes with nothing to do", steady)
		Expect(convergeWrites).To(BeNumerically("<", 20*w.targets), "retries are not bounded")
	})

	It("admission refusing writes to some targets: the others are programmed, the refused are reported and recover when the refusal is lifted", func(ctx SpecContext) {
		started := time.Now()
		w, _, kubeconfig := newWorkload(ctx, fullTargets/5, 2, 5)
		// A tenth of the targets frozen by a ValidatingAdmissionPolicy, and
		// one more behind a webhook that never answers in time.
		frozen := w.targets / 10
		for i := range frozen {
			Expect(w.cp.c.Patch(ctx, &networkingv1.Ingress{ObjectMeta: metav1.ObjectMeta{Namespace: w.namespace, Name: targetName(i)}},
				client.RawPatch("application/merge-patch+json", []byte(`{"metadata":{"labels":{"freeze":"on"}}}`)))).To(Succeed())
		}
		hanging := targetName(frozen)
		Expect(w.cp.c.Patch(ctx, &networkingv1.Ingress{ObjectMeta: metav1.ObjectMeta{Namespace: w.namespace, Name: hanging}},
			client.RawPatch("application/merge-patch+json", []byte(`{"metadata":{"labels":{"slow":"on"}}}`)))).To(Succeed())
		lift := freeze(ctx, w.cp)
		liftSlow := slowWebhook(ctx, w.cp)
		m := w.cp.startManager(managerOptions{name: "refused", kubeconfig: kubeconfig})
		// Everything else converges; the refused ones miss exactly their
		// own configuration, and the policies say why.
		var v verdict
		Eventually(func() int {
			v = w.check(ctx)
			return v.lost
		}).WithTimeout(convergeTimeout).WithPolling(time.Second).Should(Equal(frozen + 1))
		Expect(v.stale+v.orphaned).To(BeZero(), v.String())
		Eventually(func() []string { return refusals(ctx, w) }).WithTimeout(time.Minute).Should(And(
			ContainElement(ContainSubstring(freezeMessage)), ContainElement(ContainSubstring("context deadline exceeded"))))
		lift()
		liftSlow()
		liftedAt := time.Now()
		v = converge(ctx, w)
		recovered := time.Since(liftedAt).Round(time.Second)
		m.stop()
		record("admission refuses some targets", 1, v, started, fmt.Sprintf("%d refused by a policy, 1 by a webhook timing out; recovered %s after lifting", frozen, recovered))
		Expect(v.clean()).To(BeTrue(), v.String())
	})

	It("a GitOps tool re-applying targets every few seconds: writes per minute stay bounded and the state converges", func(ctx SpecContext) {
		started := time.Now()
		w, px, kubeconfig := newWorkload(ctx, fullTargets/5, 2, 6)
		m := w.cp.startManager(managerOptions{name: "gitops", kubeconfig: kubeconfig})
		Expect(converge(ctx, w).clean()).To(BeTrue())
		// The tool replaces (PUT) five targets with its manifest, which
		// knows nothing of kubecors's annotations, every 3 seconds.
		period, duration := 3*time.Second, time.Duration(sizeFor(120, 20))*time.Second
		_, before := px.counts("ingresses")
		applies := 0
		for end := time.Now().Add(duration); time.Now().Before(end); time.Sleep(period) {
			for i := range 5 {
				desired := w.ingress(i, i%w.groups)
				current := &networkingv1.Ingress{}
				Expect(w.cp.c.Get(ctx, client.ObjectKeyFromObject(desired), current)).To(Succeed())
				desired.ResourceVersion = current.ResourceVersion
				if w.cp.c.Update(ctx, desired) == nil {
					applies++
				}
			}
		}
		_, after := px.counts("ingresses")
		v := converge(ctx, w)
		m.stop()
		minutes := duration.Minutes()
		writesPerMinute, appliesPerMinute := float64(after-before)/minutes, float64(applies)/minutes
		record("GitOps re-applies targets", applies, v, started,
			fmt.Sprintf("%.0f re-applies/min answered by %.0f kubecors writes/min", appliesPerMinute, writesPerMinute))
		Expect(v.clean()).To(BeTrue(), v.String())
		// One write puts back what each re-apply removed; anything more
		// than a few per re-apply is a fight.
		Expect(writesPerMinute).To(BeNumerically("<=", 2*appliesPerMinute+10))
	})

	It("two replicas with leader election: only the leader writes; killing it hands over within the lease duration", func(ctx SpecContext) {
		started := time.Now()
		w, _, _ := newWorkload(ctx, fullTargets/5, 2, 7)
		w.cp.ensureNamespace(ctx, operatorNamespace)
		replicas := map[string]*managerProcess{}
		proxies := map[string]*proxy{}
		for _, name := range []string{"replica-a", "replica-b"} {
			proxies[name] = w.cp.startProxy()
			replicas[name] = w.cp.startManager(managerOptions{name: name, leaderElect: true,
				kubeconfig: w.cp.kubeconfig(name, proxies[name].url, &clientcmdapi.AuthInfo{})})
		}
		Expect(converge(ctx, w).clean()).To(BeTrue())
		leader := leaseHolder(ctx, w.cp)
		Expect(leader).NotTo(BeEmpty())
		// The lease names a host and a random id, not the replica: the
		// leader is the replica whose proxy saw writes.
		_, writesA := proxies["replica-a"].counts(managedResources...)
		_, writesB := proxies["replica-b"].counts(managedResources...)
		leaderName, follower := "replica-a", "replica-b"
		if writesB > writesA {
			leaderName, follower = follower, leaderName
		}
		_, followerWrites := proxies[follower].counts(managedResources...)
		_, leaderWrites := proxies[leaderName].counts(managedResources...)
		Expect(followerWrites).To(BeZero(), "the follower wrote")
		Expect(leaderWrites).To(BeNumerically(">", 0))

		replicas[leaderName].kill()
		killed := time.Now()
		w.change(ctx)
		Eventually(func() string { return leaseHolder(ctx, w.cp) }).WithTimeout(time.Minute).ShouldNot(Equal(leader))
		handover := time.Since(killed)
		v := converge(ctx, w)
		replicas[follower].stop()
		_, followerWrites = proxies[follower].counts(managedResources...)
		record("leader election, leader killed", 1, v, started,
			fmt.Sprintf("follower wrote 0 while leading was the other's, %d after; handover %s (lease 15 s)", followerWrites, handover.Round(100*time.Millisecond)))
		Expect(v.clean()).To(BeTrue(), v.String())
		// controller-runtime's defaults: a 15 s lease, retried every 2 s.
		Expect(handover).To(BeNumerically("<=", 17*time.Second+time.Second))
	})

	It("the webhook down: CorsPolicy writes are refused with a clear message, cleanup and finalizer removal go on", func(ctx SpecContext) {
		started := time.Now()
		w, _, kubeconfig := newWorkload(ctx, 20, 2, 8)
		w.cp.ensureNamespace(ctx, operatorNamespace)
		webhookPort := freePort()
		installWebhook(ctx, w.cp, webhookPort)
		m := w.cp.startManager(managerOptions{name: "with-webhook", kubeconfig: kubeconfig, webhooks: true, webhookPort: webhookPort})
		m.waitReady()
		Expect(converge(ctx, w).clean()).To(BeTrue())
		// The webhook becomes unreachable while the manager runs (a network
		// policy, a Service without endpoints): point it at a closed port.
		deadPort := freePort()
		// The manager writes the configuration too (its CA bundle).
		Expect(retry.RetryOnConflict(retry.DefaultRetry, func() error {
			vwc := &admissionregistrationv1.ValidatingWebhookConfiguration{}
			if err := w.cp.c.Get(ctx, client.ObjectKey{Name: webhookConfigName}, vwc); err != nil {
				return err
			}
			for i := range vwc.Webhooks {
				url := strings.Replace(*vwc.Webhooks[i].ClientConfig.URL, fmt.Sprintf(":%d/", webhookPort), fmt.Sprintf(":%d/", deadPort), 1)
				vwc.Webhooks[i].ClientConfig.URL = &url
			}
			return w.cp.c.Update(ctx, vwc)
		})).To(Succeed())
		err := w.cp.c.Create(ctx, w.policy(w.groups))
		Expect(err).To(MatchError(And(ContainSubstring(`failed calling webhook "vcorspolicy-v1alpha1.kubecors.io"`), ContainSubstring("connection refused"))))
		refusal := err.Error()
		// Deleting a policy: kubecors cleans its targets and removes its
		// finalizer although the webhook that validates CorsPolicy updates
		// is down.
		Expect(w.cp.c.Delete(ctx, &kubecorsv1alpha1.CorsPolicy{ObjectMeta: metav1.ObjectMeta{Namespace: w.namespace, Name: policyName(0)}})).To(Succeed())
		Eventually(func() error {
			return w.cp.c.Get(ctx, client.ObjectKey{Namespace: w.namespace, Name: policyName(0)}, &kubecorsv1alpha1.CorsPolicy{})
		}).WithTimeout(time.Minute).Should(Satisfy(apierrors.IsNotFound), "the finalizer is removed with the webhook down")
		v := converge(ctx, w)
		m.stop()
		record("webhook down", 1, v, started, "create refused: "+shorten(refusal, 90)+"; deletion completed")
		Expect(v.clean()).To(BeTrue(), v.String())
	})
})

// managedResources are what the manager writes for policies (leases and
// events aside).
var managedResources = []string{"ingresses", "corspolicies", "corspolicies/status", "corspolicies/finalizers", "middlewares"}

func shorten(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "..."
}

// leaseHolder returns the holder of the manager's leader-election Lease.
func leaseHolder(ctx context.Context, cp *controlPlane) string {
	lease := &coordinationv1.Lease{}
	if err := cp.c.Get(ctx, client.ObjectKey{Namespace: operatorNamespace, Name: "kubecors.kubecors.io"}, lease); err != nil || lease.Spec.HolderIdentity == nil {
		return ""
	}
	return *lease.Spec.HolderIdentity
}

// refusals lists the messages of the policies' targets that were not
// programmed because a write was refused or failed.
func refusals(ctx context.Context, w *workload) []string {
	policies := &kubecorsv1alpha1.CorsPolicyList{}
	Expect(w.cp.c.List(ctx, policies, client.InNamespace(w.namespace))).To(Succeed())
	var out []string
	for _, p := range policies.Items {
		for _, t := range p.Status.Targets {
			if c := meta.FindStatusCondition(t.Conditions, kubecorsv1alpha1.ConditionProgrammed); c != nil &&
				(c.Reason == kubecorsv1alpha1.ReasonWriteRefused || c.Reason == kubecorsv1alpha1.ReasonWriteFailed) {
				out = append(out, c.Message)
			}
		}
	}
	return out
}

const freezeMessage = "change freeze: Ingress writes are refused until the release is out"

// freeze refuses every update of the Ingresses labelled freeze=on with a
// ValidatingAdmissionPolicy, and returns the function that lifts it.
func freeze(ctx context.Context, cp *controlPlane) func() {
	vap := &admissionregistrationv1.ValidatingAdmissionPolicy{
		ObjectMeta: metav1.ObjectMeta{Name: "freeze"},
		Spec: admissionregistrationv1.ValidatingAdmissionPolicySpec{
			FailurePolicy: new(admissionregistrationv1.Fail),
			MatchConstraints: &admissionregistrationv1.MatchResources{ResourceRules: []admissionregistrationv1.NamedRuleWithOperations{{
				RuleWithOperations: admissionregistrationv1.RuleWithOperations{
					Operations: []admissionregistrationv1.OperationType{admissionregistrationv1.Update},
					Rule:       admissionregistrationv1.Rule{APIGroups: []string{"networking.k8s.io"}, APIVersions: []string{"v1"}, Resources: []string{"ingresses"}},
				},
			}}},
			Validations: []admissionregistrationv1.Validation{{Expression: "false", Message: freezeMessage}},
		},
	}
	binding := &admissionregistrationv1.ValidatingAdmissionPolicyBinding{
		ObjectMeta: metav1.ObjectMeta{Name: "freeze"},
		Spec: admissionregistrationv1.ValidatingAdmissionPolicyBindingSpec{
			PolicyName:        vap.Name,
			ValidationActions: []admissionregistrationv1.ValidationAction{admissionregistrationv1.Deny},
			MatchResources:    &admissionregistrationv1.MatchResources{ObjectSelector: &metav1.LabelSelector{MatchLabels: map[string]string{"freeze": "on"}}},
		},
	}
	Expect(cp.c.Create(ctx, vap)).To(Succeed())
	Expect(cp.c.Create(ctx, binding)).To(Succeed())
	// The API server's policy informer takes a moment to see the binding.
	time.Sleep(2 * time.Second)
	return func() {
		Expect(cp.c.Delete(ctx, binding)).To(Succeed())
		Expect(cp.c.Delete(ctx, vap)).To(Succeed())
	}
}

// slowWebhook registers a validating webhook for Ingresses labelled
// slow=on that accepts connections and never answers: the API server gives
// up after its 1 s timeout and, under failurePolicy Fail, refuses the write.
func slowWebhook(ctx context.Context, cp *controlPlane) func() {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	Expect(err).NotTo(HaveOccurred())
	go func() {
		for {
			conn, err := l.Accept()
			if err != nil {
				return
			}
			go func() { time.Sleep(30 * time.Second); _ = conn.Close() }()
		}
	}()
	url := "https://" + l.Addr().String() + "/validate"
	vwc := &admissionregistrationv1.ValidatingWebhookConfiguration{
		ObjectMeta: metav1.ObjectMeta{Name: "slow"},
		Webhooks: []admissionregistrationv1.ValidatingWebhook{{
			Name: "slow.example.com", ClientConfig: admissionregistrationv1.WebhookClientConfig{URL: &url},
			Rules: []admissionregistrationv1.RuleWithOperations{{
				Operations: []admissionregistrationv1.OperationType{admissionregistrationv1.Update},
				Rule:       admissionregistrationv1.Rule{APIGroups: []string{"networking.k8s.io"}, APIVersions: []string{"v1"}, Resources: []string{"ingresses"}},
			}},
			ObjectSelector:          &metav1.LabelSelector{MatchLabels: map[string]string{"slow": "on"}},
			FailurePolicy:           new(admissionregistrationv1.Fail),
			SideEffects:             new(admissionregistrationv1.SideEffectClassNone),
			TimeoutSeconds:          new(int32(1)),
			AdmissionReviewVersions: []string{"v1"},
		}},
	}
	Expect(cp.c.Create(ctx, vwc)).To(Succeed())
	return func() {
		Expect(cp.c.Delete(ctx, vwc)).To(Succeed())
		_ = l.Close()
	}
}
