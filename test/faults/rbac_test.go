package faults

import (
	"bufio"
	"context"
	"crypto/tls"
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
	"k8s.io/client-go/util/retry"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"
	"sigs.k8s.io/yaml"

	kubecorsv1alpha1 "github.com/kubecors/kubecors/api/v1alpha1"
	"github.com/kubecors/kubecors/controllers"
	"github.com/kubecors/kubecors/internal/cli"
	"github.com/kubecors/kubecors/internal/dataplanes/envoygateway"
	"github.com/kubecors/kubecors/internal/dataplanes/kong"
	"github.com/kubecors/kubecors/internal/dataplanes/traefik"
)

const (
	// managerSA is the ServiceAccount config/rbac binds its roles to.
	managerSA   = "controller-manager"
	managerUser = "system:serviceaccount:" + operatorNamespace + ":" + managerSA
	// readerUser is the user kubectl cors runs as under its read-only
	// ClusterRole.
	readerUser = "cors-reader"
	appNS      = "shop"
)

// grant is one verb on one resource ("group/resource[/subresource]"), in
// a namespace or, when namespace is empty, cluster-wide.
type grant struct {
	verb, resource, namespace string
}

func (g grant) String() string {
	if g.namespace == "" {
		return g.verb + " " + g.resource
	}
	return g.verb + " " + g.resource + " in " + g.namespace
}

// decodeRBAC reads the ClusterRoles and Roles of YAML files.
func decodeRBAC(paths ...string) (clusterRoles []rbacv1.ClusterRole, roles []rbacv1.Role) {
	for _, path := range paths {
		raw, err := os.ReadFile(path)
		Expect(err).NotTo(HaveOccurred())
		for doc := range strings.SplitSeq(string(raw), "\n---") {
			var typeMeta metav1.TypeMeta
			Expect(yaml.Unmarshal([]byte(doc), &typeMeta)).To(Succeed())
			switch typeMeta.Kind {
			case "ClusterRole":
				var cr rbacv1.ClusterRole
				Expect(yaml.UnmarshalStrict([]byte(doc), &cr)).To(Succeed())
				clusterRoles = append(clusterRoles, cr)
			case "Role":
				var r rbacv1.Role
				Expect(yaml.UnmarshalStrict([]byte(doc), &r)).To(Succeed())
				roles = append(roles, r)
			}
		}
	}
	return clusterRoles, roles
}

// grants expands rules into single grants, failing on wildcards.
func grants(rules []rbacv1.PolicyRule, namespace string) []grant {
	var out []grant
	for _, rule := range rules {
		Expect(rule.Verbs).NotTo(ContainElement("*"), "a wildcard verb in %v", rule)
		Expect(rule.Resources).NotTo(ContainElement("*"), "a wildcard resource in %v", rule)
		Expect(rule.APIGroups).NotTo(ContainElement("*"), "a wildcard API group in %v", rule)
		for _, url := range rule.NonResourceURLs {
			for _, verb := range rule.Verbs {
				out = append(out, grant{verb: verb, resource: url})
			}
		}
		for _, group := range rule.APIGroups {
			for _, resource := range rule.Resources {
				for _, verb := range rule.Verbs {
					out = append(out, grant{verb: verb, resource: group + "/" + resource, namespace: namespace})
				}
			}
		}
	}
	return out
}

// auditEvent is what the audit log records of a request, as far as the
// check needs it.
type auditEvent struct {
	Verb       string `json:"verb"`
	RequestURI string `json:"requestURI"`
	User       struct {
		Username string `json:"username"`
	} `json:"user"`
	ObjectRef *struct {
		Resource    string `json:"resource"`
		Subresource string `json:"subresource"`
		Namespace   string `json:"namespace"`
		APIGroup    string `json:"apiGroup"`
	} `json:"objectRef"`
	ResponseStatus *struct {
		Code int `json:"code"`
	} `json:"responseStatus"`
	Stage string `json:"stage"`
}

// audited reads, from the audit log, the requests user made: the grants
// they used, and those the API server refused.
func (cp *controlPlane) audited(user string) (used map[grant]int, forbidden []string) {
	f, err := os.Open(cp.auditLog)
	Expect(err).NotTo(HaveOccurred())
	defer func() { _ = f.Close() }()
	used = map[grant]int{}
	scanner := bufio.NewScanner(f)
	scanner.Buffer(make([]byte, 1<<20), 1<<24)
	for scanner.Scan() {
		var e auditEvent
		Expect(json.Unmarshal(scanner.Bytes(), &e)).To(Succeed())
		if e.User.Username != user || e.Stage != "ResponseComplete" {
			continue
		}
		g := grant{verb: e.Verb, resource: e.RequestURI}
		if r := e.ObjectRef; r != nil {
			g.resource, g.namespace = r.APIGroup+"/"+r.Resource, r.Namespace
			if r.Subresource != "" {
				g.resource += "/" + r.Subresource
			}
		} else if u, _, _ := strings.Cut(e.RequestURI, "?"); u != "" {
			g.resource = u
		}
		if e.ResponseStatus != nil && e.ResponseStatus.Code == http.StatusForbidden {
			forbidden = append(forbidden, g.String())
			continue
		}
		used[g]++
		// client-go's informers list with a watch that streams the
		// initial state (WatchList): the list right is what it stands
		// for, and what an API server without WatchList gets instead.
		if e.Verb == "watch" && strings.Contains(e.RequestURI, "sendInitialEvents=true") {
			used[grant{verb: "list", resource: g.resource, namespace: g.namespace}]++
		}
	}
	Expect(scanner.Err()).NotTo(HaveOccurred())
	return used, forbidden
}

// unused lists the granted rights no request used: a cluster-wide grant is
// used by a request of any namespace, a namespaced one by a request in its
// namespace.
func unused(granted []grant, used map[grant]int) []string {
	var out []string
	for _, g := range granted {
		found := false
		for u := range used {
			if u.verb == g.verb && u.resource == g.resource && (g.namespace == "" || g.namespace == u.namespace) {
				found = true
				break
			}
		}
		if !found {
			out = append(out, g.String())
		}
	}
	sort.Strings(out)
	return slices.Compact(out)
}

var _ = Describe("Least privilege", Ordered, Label("rbac"), func() {
	var (
		cp          *controlPlane
		managerRole []grant
		readerRole  []grant
	)

	BeforeAll(func(ctx SpecContext) {
		cp = startControlPlane(controlPlaneOptions{auditUsers: []string{managerUser, readerUser}, ownerReferencesEnforced: true})
		cp.ensureNamespace(ctx, operatorNamespace)
		cp.ensureNamespace(ctx, appNS)
		installDataPlaneCRDs(cp)
		rbacDir := filepath.Join(repoRoot, "config", "rbac")
		clusterRoles, roles := decodeRBAC(
			filepath.Join(rbacDir, "role.yaml"), filepath.Join(rbacDir, "leader_election_role.yaml"), filepath.Join(rbacDir, "metrics_auth_role.yaml"))
		sa := &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Namespace: operatorNamespace, Name: managerSA}}
		Expect(cp.c.Create(ctx, sa)).To(Succeed())
		subject := []rbacv1.Subject{{Kind: rbacv1.ServiceAccountKind, Namespace: operatorNamespace, Name: managerSA}}
		for _, cr := range clusterRoles {
			Expect(cr.Rules).NotTo(ContainElement(HaveField("Resources", ContainElement("secrets"))),
				"ClusterRole %s grants Secrets cluster-wide", cr.Name)
			Expect(cp.c.Create(ctx, &cr)).To(Succeed())
			Expect(cp.c.Create(ctx, &rbacv1.ClusterRoleBinding{
				ObjectMeta: metav1.ObjectMeta{Name: cr.Name}, Subjects: subject,
				RoleRef: rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: cr.Name},
			})).To(Succeed())
			managerRole = append(managerRole, grants(cr.Rules, "")...)
		}
		for _, r := range roles {
			// kustomize sets the namespace of config/default; the Role of
			// role.yaml names it already.
			r.Namespace = operatorNamespace
			Expect(cp.c.Create(ctx, &r)).To(Succeed())
			Expect(cp.c.Create(ctx, &rbacv1.RoleBinding{
				ObjectMeta: metav1.ObjectMeta{Namespace: operatorNamespace, Name: r.Name}, Subjects: subject,
				RoleRef: rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "Role", Name: r.Name},
			})).To(Succeed())
			managerRole = append(managerRole, grants(r.Rules, operatorNamespace)...)
		}

		readerRoles, _ := decodeRBAC(filepath.Join(rbacDir, "kubectl_cors_reader_role.yaml"))
		Expect(readerRoles).To(HaveLen(1))
		reader := readerRoles[0]
		for _, rule := range reader.Rules {
			Expect(rule.Verbs).To(HaveEach(BeElementOf("get", "list", "watch")), "kubectl cors's role must be read-only: %v", rule)
		}
		Expect(cp.c.Create(ctx, &reader)).To(Succeed())
		Expect(cp.c.Create(ctx, &rbacv1.ClusterRoleBinding{
			ObjectMeta: metav1.ObjectMeta{Name: reader.Name}, Subjects: []rbacv1.Subject{{Kind: rbacv1.UserKind, Name: readerUser}},
			RoleRef: rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: reader.Name},
		})).To(Succeed())
		readerRole = grants(reader.Rules, "")
	})

	It("runs the manager under the generated RBAC through every path, and every granted right is used", func(ctx SpecContext) {
		webhookPort := freePort()
		installWebhook(ctx, cp, webhookPort)
		token := serviceAccountToken(ctx, cp, operatorNamespace, managerSA)
		kubeconfig := cp.kubeconfig("manager-sa", cp.cfg.Host, &clientcmdapi.AuthInfo{Token: token})
		metricsPort := freePort()
		m := cp.startManager(managerOptions{
			name: "least-privilege", kubeconfig: kubeconfig, webhooks: true, webhookPort: webhookPort,
			leaderElect: true, metricsPort: metricsPort,
		})
		m.waitReady()

		By("the Gateway API CRDs, installed after the manager started, switch its Gateway API side on")
		installGatewayAPI(cp)
		paths := createEveryPath(ctx, cp)
		for _, p := range paths {
			Eventually(programmed(ctx, cp, appNS, p.policy), 60*time.Second).Should(BeTrue(), func() string {
				policy := &kubecorsv1alpha1.CorsPolicy{}
				_ = cp.c.Get(ctx, client.ObjectKey{Namespace: appNS, Name: p.policy}, policy)
				return fmt.Sprintf("CorsPolicy %s (%s) is Programmed; its status: %+v", p.policy, p.what, policy.Status)
			})
		}
		Eventually(func() error {
			return cp.c.Get(ctx, client.ObjectKey{Namespace: appNS, Name: "kubecors-default-baseline"}, &kubecorsv1alpha1.CorsPolicy{})
		}, 30*time.Second).Should(Succeed(), "the ClusterCorsPolicy's default CorsPolicy is created")

		By("the webhook, served with the certificate the manager issued, refuses what only it can")
		invalid := &kubecorsv1alpha1.CorsPolicy{}
		raw, err := os.ReadFile(filepath.Join(repoRoot, "config", "samples", "invalid", "kubecors_v1alpha1_corspolicy_public_suffix.yaml"))
		Expect(err).NotTo(HaveOccurred())
		Expect(yaml.UnmarshalStrict(raw, invalid)).To(Succeed())
		invalid.Namespace = appNS
		Expect(cp.c.Create(ctx, invalid)).To(MatchError(ContainSubstring(`admission webhook "vcorspolicy-v1alpha1.kubecors.io" denied the request`)))

		By("the secure metrics endpoint authenticates and authorizes its caller")
		scrapeMetrics(ctx, cp, metricsPort)

		By("the ClusterCorsPolicy's default policy follows its changes")
		origins := []kubecorsv1alpha1.Origin{"https://admin.example.com"}
		// The manager writes the ClusterCorsPolicy's status.
		Expect(retry.RetryOnConflict(retry.DefaultRetry, func() error {
			ccp := &kubecorsv1alpha1.ClusterCorsPolicy{}
			if err := cp.c.Get(ctx, client.ObjectKey{Name: "baseline"}, ccp); err != nil {
				return err
			}
			ccp.Spec.DefaultPolicy.AllowOrigins = origins
			return cp.c.Update(ctx, ccp)
		})).To(Succeed())
		Eventually(func() []kubecorsv1alpha1.Origin {
			p := &kubecorsv1alpha1.CorsPolicy{}
			_ = cp.c.Get(ctx, client.ObjectKey{Namespace: appNS, Name: "kubecors-default-baseline"}, p)
			return p.Spec.AllowOrigins
		}, 30*time.Second).Should(Equal(origins))

		By("cleanup: deleting the policies and the ClusterCorsPolicy removes everything kubecors wrote")
		for _, p := range paths {
			if p.policy != "kubecors-default-baseline" { // the ClusterCorsPolicy's to delete
				Expect(cp.c.Delete(ctx, &kubecorsv1alpha1.CorsPolicy{ObjectMeta: metav1.ObjectMeta{Namespace: appNS, Name: p.policy}})).To(Succeed())
			}
		}
		Expect(cp.c.Delete(ctx, &kubecorsv1alpha1.ClusterCorsPolicy{ObjectMeta: metav1.ObjectMeta{Name: "baseline"}})).To(Succeed())
		Eventually(func() []string {
			policies := &kubecorsv1alpha1.CorsPolicyList{}
			Expect(cp.c.List(ctx, policies)).To(Succeed())
			names := make([]string, 0, len(policies.Items))
			for _, p := range policies.Items {
				names = append(names, p.Namespace+"/"+p.Name)
			}
			return names
		}, 60*time.Second).Should(BeEmpty(), func() string {
			log := m.logText()
			return "every CorsPolicy is cleaned up and its finalizer removed; the manager's log ends:\n" + log[max(0, len(log)-6000):]
		})
		Eventually(func() []string {
			ingresses := &networkingv1.IngressList{}
			Expect(cp.c.List(ctx, ingresses, client.InNamespace(appNS))).To(Succeed())
			var left []string
			for _, ing := range ingresses.Items {
				for k := range ing.Annotations {
					if k != ownerAnnotation && (k != traefik.MiddlewaresAnnotation || ing.Annotations[k] != userMiddleware) {
						left = append(left, ing.Name+": "+k)
					}
				}
			}
			return left
		}, 30*time.Second).Should(BeEmpty(), "no annotation of kubecors's is left")
		Eventually(func() []string {
			var left []string
			for _, gvk := range []schema.GroupVersionKind{
				{Group: kong.Group, Version: kong.Version, Kind: kong.Kind + "List"}, envoygateway.GVK.GroupVersion().WithKind(envoygateway.Kind + "List"),
			} {
				list := &unstructured.UnstructuredList{}
				list.SetGroupVersionKind(gvk)
				Expect(cp.c.List(ctx, list, client.InNamespace(appNS))).To(Succeed())
				for _, obj := range list.Items {
					left = append(left, obj.GetKind()+" "+obj.GetName())
				}
			}
			for _, gvk := range []schema.GroupVersionKind{virtualServiceGVK, httpProxyGVK} {
				list := &unstructured.UnstructuredList{}
				list.SetGroupVersionKind(gvk.GroupVersion().WithKind(gvk.Kind + "List"))
				Expect(cp.c.List(ctx, list, client.InNamespace(appNS))).To(Succeed())
				for _, obj := range list.Items {
					if raw, _ := json.Marshal(obj.Object["spec"]); strings.Contains(string(raw), "corsPolicy") || len(obj.GetAnnotations()) > 0 {
						left = append(left, obj.GetKind()+" "+obj.GetName()+": "+string(raw))
					}
				}
			}
			return left
		}, 30*time.Second).Should(BeEmpty(), "no KongPlugin or SecurityPolicy is left, and the VirtualServices and HTTPProxies are restored")
		m.stop()
		// With the manager gone, its webhook would refuse every policy.
		Expect(cp.c.Delete(ctx, &admissionregistrationv1.ValidatingWebhookConfiguration{ObjectMeta: metav1.ObjectMeta{Name: webhookConfigName}})).To(Succeed())

		used, forbidden := cp.audited(managerUser)
		Expect(forbidden).To(BeEmpty(), "the API server refused the manager these requests under the generated RBAC")
		Expect(m.logText()).NotTo(ContainSubstring("forbidden"), "the manager logged a refusal")
		notUsed := slices.DeleteFunc(unused(managerRole, used), func(g string) bool { _, ok := neededUnrequested[g]; return ok })
		GinkgoWriter.Printf("manager: %d distinct requests used %d of %d granted rights\n", len(used), len(managerRole)-len(notUsed), len(managerRole))
		Expect(notUsed).To(BeEmpty(), "granted rights that no path used: remove them from the markers (or say why they stay)")
	})

	It("runs kubectl cors status, audit and explain under its read-only ClusterRole, and every granted right is used", func(ctx SpecContext) {
		// The paths of the previous spec were cleaned up: programme a
		// fresh set, as an administrator, for the plugin to read.
		user, err := cp.env.ControlPlane.AddUser(envtest.User{Name: readerUser}, nil)
		Expect(err).NotTo(HaveOccurred())
		raw, err := user.KubeConfig()
		Expect(err).NotTo(HaveOccurred())
		kubeconfig := filepath.Join(cp.dir, "reader.kubeconfig")
		Expect(os.WriteFile(kubeconfig, raw, 0o600)).To(Succeed())
		installGatewayAPI(cp)
		readerPaths := createEveryPath(ctx, cp)

		commands := [][]string{
			{"status"},
			{"status", "-n", appNS, "-o", "json"},
			{"audit"},
			{"audit", "-n", appNS, "-o", "json"},
		}
		for _, p := range readerPaths {
			commands = append(commands, []string{"status", "-n", appNS, p.policy})
			if p.target != "" {
				commands = append(commands, []string{"status", "-n", appNS, "--target", p.target})
			}
			// explain answers for a route, not for a whole Gateway.
			if p.target != "" && !strings.HasPrefix(p.target, "gateway/") {
				commands = append(commands, []string{"explain", p.target, "-n", appNS, "--origin", "https://app.example.com"})
			}
		}
		for _, args := range commands {
			streams, _, stdout, stderr := genericiooptions.NewTestIOStreams()
			cmd := cli.NewRootCommand(streams)
			cmd.SetArgs(append(args, "--kubeconfig", kubeconfig))
			err := cmd.Execute()
			// 1 is a verdict (a blocked request, a finding); an error that
			// is not, a refusal included, is 2.
			Expect(cli.ExitCode(err)).To(BeNumerically("<", cli.ExitUsage), "kubectl cors %v: %v\n%s%s", args, err, stdout, stderr)
			Expect(stderr.String()).NotTo(ContainSubstring("forbidden"), "kubectl cors %v", args)
		}
		used, forbidden := cp.audited(readerUser)
		Expect(forbidden).To(BeEmpty(), "the API server refused kubectl cors these requests under its ClusterRole")
		notUsed := unused(readerRole, used)
		GinkgoWriter.Printf("kubectl cors: %d distinct requests used %d of %d granted rights\n", len(used), len(readerRole)-len(notUsed), len(readerRole))
		Expect(notUsed).To(BeEmpty(), "granted rights kubectl cors never used")
	})
})

// neededUnrequested are the rights the manager needs that are no request
// of its own, or that only a repetition this test does not wait for makes:
// each with the reason it stays.
var neededUnrequested = map[string]string{
	// The OwnerReferencesPermissionEnforcement admission plugin (on in
	// this control plane, and in OpenShift) checks it when kubecors sets
	// blockOwnerDeletion on a Middleware owned by a policy: not a request.
	"update kubecors.io/corspolicies/finalizers": "owner references with blockOwnerDeletion",
	// A server-side apply that creates the object is authorized as
	// create; the audit log records the request as a patch.
	"create traefik.io/middlewares":                 "server-side apply creating a Middleware",
	"create configuration.konghq.com/kongplugins":   "server-side apply creating a KongPlugin",
	"create gateway.envoyproxy.io/securitypolicies": "server-side apply creating a SecurityPolicy",
	// The event recorders patch an Event that repeats (its count, or its
	// series) instead of creating another one.
	"patch events.k8s.io/events":            "a repeated Event's series",
	"patch /events in " + operatorNamespace: "a repeated leader-election Event's count",
}

// path is one way the operator programmes a target.
type path struct {
	what, policy string
	// target is the "kind/name" kubectl cors explains.
	target string
}

// createEveryPath creates, in appNS, one target and policy per data plane
// and kind: an Ingress of each Ingress data plane (Traefik's with its
// Middleware, Kong's with its KongPlugin), an HTTPRoute of the standard
// Gateway API and one of Traefik's, Kong's and Envoy Gateway's Gateways (a
// Middleware or KongPlugin through an ExtensionRef, a SecurityPolicy), a
// policy on Envoy Gateway's Gateway, an Istio VirtualService, a Contour
// root HTTPProxy, and a ClusterCorsPolicy with a default policy for a
// selected target. Names are fresh each call.
func createEveryPath(ctx context.Context, cp *controlPlane) []path {
	suffix := fmt.Sprintf("%d", time.Now().UnixNano()%100000)
	ns := &corev1.Namespace{}
	Expect(cp.c.Get(ctx, client.ObjectKey{Name: appNS}, ns)).To(Succeed())
	if ns.Labels["env"] != "prod" {
		patch := client.MergeFrom(ns.DeepCopy())
		ns.Labels["env"] = "prod"
		Expect(cp.c.Patch(ctx, ns, patch)).To(Succeed())
	}
	// The Traefik targets' own middleware (userMiddleware).
	auth := &unstructured.Unstructured{}
	auth.SetGroupVersionKind(middlewareGVK)
	auth.SetNamespace(appNS)
	auth.SetName("auth")
	auth.Object["spec"] = map[string]any{"basicAuth": map[string]any{"secret": "users"}}
	Expect(client.IgnoreAlreadyExists(cp.c.Create(ctx, auth))).To(Succeed())
	paths := make([]path, 0, 12)
	ingressClasses := map[string]string{"kong": kong.Controller}
	maps.Copy(ingressClasses, classes)
	for i, class := range []string{"nginx", "haproxy", "traefik", "kong"} {
		if err := cp.c.Create(ctx, &networkingv1.IngressClass{ObjectMeta: metav1.ObjectMeta{Name: class}, Spec: networkingv1.IngressClassSpec{Controller: ingressClasses[class]}}); err != nil {
			Expect(apierrors.IsAlreadyExists(err)).To(BeTrue())
		}
		ing := targetIngress(appNS, map[string]int{"nginx": 2, "haproxy": 1, "traefik": 0, "kong": 2}[class], 0)
		ing.Name, ing.Spec.IngressClassName = class+"-"+suffix, &class
		ing.Labels = map[string]string{"path": "ingress"}
		Expect(cp.c.Create(ctx, ing)).To(Succeed())
		name := fmt.Sprintf("ingress-%s-%s", class, suffix)
		Expect(cp.c.Create(ctx, singlePolicy(name, kubecorsv1alpha1.PolicyTargetReference{
			Group: networkingv1.GroupName, Kind: kubecorsv1alpha1.KindIngress, Name: ing.Name,
		}))).To(Succeed())
		paths = append(paths, path{what: "Ingress on " + class, policy: name, target: "ingress/" + ing.Name})
		_ = i
	}
	for _, gw := range []struct {
		class, controller string
		features          []gatewayv1.FeatureName
	}{
		{"standard", "example.com/gateway", []gatewayv1.FeatureName{"HTTPRoute", "HTTPRouteCORS"}},
		{"traefik", traefik.GatewayController, []gatewayv1.FeatureName{"HTTPRoute"}},
		{"kong", kong.GatewayController, []gatewayv1.FeatureName{"HTTPRoute"}},
		{"envoy", envoygateway.GatewayController, []gatewayv1.FeatureName{"HTTPRoute"}},
	} {
		class := &gatewayv1.GatewayClass{ObjectMeta: metav1.ObjectMeta{Name: gw.class}, Spec: gatewayv1.GatewayClassSpec{ControllerName: gatewayv1.GatewayController(gw.controller)}}
		if err := cp.c.Create(ctx, class); err != nil {
			Expect(apierrors.IsAlreadyExists(err)).To(BeTrue())
		} else {
			// What the implementation would report: the standard one
			// supports the CORS filter.
			for _, f := range gw.features {
				class.Status.SupportedFeatures = append(class.Status.SupportedFeatures, gatewayv1.SupportedFeature{Name: f})
			}
			Expect(cp.c.Status().Update(ctx, class)).To(Succeed())
		}
		gateway := &gatewayv1.Gateway{ObjectMeta: metav1.ObjectMeta{Namespace: appNS, Name: gw.class}, Spec: gatewayv1.GatewaySpec{
			GatewayClassName: gatewayv1.ObjectName(gw.class), Listeners: []gatewayv1.Listener{{Name: "http", Port: 80, Protocol: gatewayv1.HTTPProtocolType}},
		}}
		if err := cp.c.Create(ctx, gateway); err != nil {
			Expect(apierrors.IsAlreadyExists(err)).To(BeTrue())
		}
		route := &gatewayv1.HTTPRoute{ObjectMeta: metav1.ObjectMeta{Namespace: appNS, Name: "route-" + gw.class + "-" + suffix}, Spec: gatewayv1.HTTPRouteSpec{
			CommonRouteSpec: gatewayv1.CommonRouteSpec{ParentRefs: []gatewayv1.ParentReference{{Name: gatewayv1.ObjectName(gw.class)}}},
			Rules:           []gatewayv1.HTTPRouteRule{{Matches: []gatewayv1.HTTPRouteMatch{{Path: &gatewayv1.HTTPPathMatch{Type: new(gatewayv1.PathMatchPathPrefix), Value: new("/api")}}}}},
		}}
		Expect(cp.c.Create(ctx, route)).To(Succeed())
		name := fmt.Sprintf("route-%s-%s", gw.class, suffix)
		Expect(cp.c.Create(ctx, singlePolicy(name, kubecorsv1alpha1.PolicyTargetReference{
			Group: kubecorsv1alpha1.GroupGateway, Kind: kubecorsv1alpha1.KindHTTPRoute, Name: route.Name,
		}))).To(Succeed())
		paths = append(paths, path{what: "HTTPRoute of a " + gw.class + " Gateway", policy: name, target: "httproute/" + route.Name})
	}
	// Envoy Gateway's SecurityPolicy on the whole Gateway.
	name := "gateway-envoy-" + suffix
	Expect(cp.c.Create(ctx, singlePolicy(name, kubecorsv1alpha1.PolicyTargetReference{
		Group: kubecorsv1alpha1.GroupGateway, Kind: kubecorsv1alpha1.KindGateway, Name: "envoy",
	}))).To(Succeed())
	paths = append(paths, path{what: "Gateway of Envoy Gateway", policy: name, target: "gateway/envoy"})
	// An Istio VirtualService with an http route and a Contour root
	// HTTPProxy.
	for _, t := range []struct {
		gvk         schema.GroupVersionKind
		group, kind string
		spec        map[string]any
	}{
		{virtualServiceGVK, kubecorsv1alpha1.GroupIstio, kubecorsv1alpha1.KindVirtualService, map[string]any{
			"hosts": []any{"shop.example.com"},
			"http":  []any{map[string]any{"route": []any{map[string]any{"destination": map[string]any{"host": "web"}}}}},
		}},
		{httpProxyGVK, kubecorsv1alpha1.GroupContour, kubecorsv1alpha1.KindHTTPProxy, map[string]any{
			"virtualhost": map[string]any{"fqdn": "shop-" + suffix + ".example.com"},
			"routes":      []any{map[string]any{"services": []any{map[string]any{"name": "web", "port": int64(80)}}}},
		}},
	} {
		obj := &unstructured.Unstructured{Object: map[string]any{"spec": t.spec}}
		obj.SetGroupVersionKind(t.gvk)
		obj.SetNamespace(appNS)
		obj.SetName(strings.ToLower(t.kind) + "-" + suffix)
		Expect(cp.c.Create(ctx, obj)).To(Succeed())
		name := obj.GetName()
		Expect(cp.c.Create(ctx, singlePolicy(name, kubecorsv1alpha1.PolicyTargetReference{Group: t.group, Kind: t.kind, Name: obj.GetName()}))).To(Succeed())
		paths = append(paths, path{what: t.kind, policy: name, target: strings.ToLower(t.kind) + "/" + obj.GetName()})
	}
	// A ClusterCorsPolicy with rules and a default policy for the
	// namespace's Ingresses labelled path=default.
	defaulted := targetIngress(appNS, 2, 0)
	defaulted.Name, defaulted.Labels = "defaulted-"+suffix, map[string]string{"path": "default"}
	Expect(cp.c.Create(ctx, defaulted)).To(Succeed())
	ccp := &kubecorsv1alpha1.ClusterCorsPolicy{ObjectMeta: metav1.ObjectMeta{Name: "baseline"}, Spec: kubecorsv1alpha1.ClusterCorsPolicySpec{
		NamespaceSelector: &metav1.LabelSelector{MatchLabels: map[string]string{"env": "prod"}},
		Rules:             kubecorsv1alpha1.ClusterCorsRules{AllowedOrigins: []kubecorsv1alpha1.Origin{"https://*.example.com"}},
		DefaultPolicy: &kubecorsv1alpha1.CorsPolicySpec{
			TargetSelector: &metav1.LabelSelector{MatchLabels: map[string]string{"path": "default"}},
			AllowOrigins:   []kubecorsv1alpha1.Origin{"https://app.example.com"},
		},
	}}
	if err := cp.c.Create(ctx, ccp); err != nil {
		Expect(apierrors.IsAlreadyExists(err)).To(BeTrue())
	}
	paths = append(paths, path{what: "ClusterCorsPolicy default", policy: "kubecors-default-baseline", target: "ingress/" + defaulted.Name})
	return paths
}

// The kinds of the other data planes' CRDs, read as unstructured content.
var (
	virtualServiceGVK = schema.GroupVersionKind{Group: kubecorsv1alpha1.GroupIstio, Version: "v1", Kind: kubecorsv1alpha1.KindVirtualService}
	httpProxyGVK      = schema.GroupVersionKind{Group: kubecorsv1alpha1.GroupContour, Version: "v1", Kind: kubecorsv1alpha1.KindHTTPProxy}
)

// installDataPlaneCRDs installs the CRDs of Kong, Envoy Gateway, Istio and
// Contour: the manager watches Istio's and Contour's kinds only when they
// are served when it starts.
func installDataPlaneCRDs(cp *controlPlane) {
	dirs := make([]string, 0, 4)
	for _, d := range []string{"kong", "envoy-gateway", "istio", "contour"} {
		dirs = append(dirs, filepath.Join(repoRoot, "test", "crds", d))
	}
	_, err := envtest.InstallCRDs(cp.cfg, envtest.CRDInstallOptions{Paths: dirs, ErrorIfPathMissing: true})
	Expect(err).NotTo(HaveOccurred())
}

// installGatewayAPI installs (or leaves as they are) the Gateway API CRDs.
func installGatewayAPI(cp *controlPlane) {
	_, err := envtest.InstallCRDs(cp.cfg, envtest.CRDInstallOptions{
		Paths: []string{filepath.Join(repoRoot, "test", "crds", "gateway-api", "standard")}, ErrorIfPathMissing: true,
	})
	Expect(err).NotTo(HaveOccurred())
}

func singlePolicy(name string, ref kubecorsv1alpha1.PolicyTargetReference) *kubecorsv1alpha1.CorsPolicy {
	return &kubecorsv1alpha1.CorsPolicy{
		ObjectMeta: metav1.ObjectMeta{Namespace: appNS, Name: name},
		Spec: kubecorsv1alpha1.CorsPolicySpec{
			TargetRefs:   []kubecorsv1alpha1.PolicyTargetReference{ref},
			AllowOrigins: []kubecorsv1alpha1.Origin{"https://app.example.com"},
			AllowMethods: []kubecorsv1alpha1.HTTPMethod{"GET", "PUT"},
		},
	}
}

func programmed(ctx context.Context, cp *controlPlane, namespace, name string) func() bool {
	return func() bool {
		p := &kubecorsv1alpha1.CorsPolicy{}
		return cp.c.Get(ctx, client.ObjectKey{Namespace: namespace, Name: name}, p) == nil &&
			meta.IsStatusConditionTrue(p.Status.Conditions, kubecorsv1alpha1.ConditionProgrammed)
	}
}

// installWebhook creates the ValidatingWebhookConfiguration of
// config/webhook, pointed at the manager on loopback; the manager injects
// its CA.
func installWebhook(ctx context.Context, cp *controlPlane, port int) {
	raw, err := os.ReadFile(filepath.Join(repoRoot, "config", "webhook", "manifests.yaml"))
	Expect(err).NotTo(HaveOccurred())
	vwc := &admissionregistrationv1.ValidatingWebhookConfiguration{}
	Expect(yaml.UnmarshalStrict([]byte(strings.TrimPrefix(string(raw), "---\n")), vwc)).To(Succeed())
	vwc.Name = webhookConfigName
	for i := range vwc.Webhooks {
		w := &vwc.Webhooks[i]
		url := fmt.Sprintf("https://localhost:%d%s", port, *w.ClientConfig.Service.Path)
		w.ClientConfig = admissionregistrationv1.WebhookClientConfig{URL: &url}
	}
	Expect(cp.c.Create(ctx, vwc)).To(Succeed())
}

// serviceAccountToken asks the TokenRequest API for a token, the kind
// kubelet projects into a pod. It is never logged.
func serviceAccountToken(ctx context.Context, cp *controlPlane, namespace, sa string) string {
	expiry := int64(3600)
	tr, err := cp.clientset.CoreV1().ServiceAccounts(namespace).CreateToken(ctx, sa, &authenticationv1.TokenRequest{
		Spec: authenticationv1.TokenRequestSpec{ExpirationSeconds: &expiry},
	}, metav1.CreateOptions{})
	Expect(err).NotTo(HaveOccurred())
	return tr.Status.Token
}

// scrapeMetrics reads the secure metrics endpoint as a scraper bound to
// config/rbac's metrics-reader: the manager reviews the token
// (TokenReview) and the caller's access (SubjectAccessReview).
func scrapeMetrics(ctx context.Context, cp *controlPlane, port int) {
	clusterRoles, _ := decodeRBAC(filepath.Join(repoRoot, "config", "rbac", "metrics_reader_role.yaml"))
	Expect(clusterRoles).To(HaveLen(1))
	reader := clusterRoles[0]
	Expect(cp.c.Create(ctx, &reader)).To(Succeed())
	sa := &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Namespace: operatorNamespace, Name: "prometheus"}}
	Expect(cp.c.Create(ctx, sa)).To(Succeed())
	Expect(cp.c.Create(ctx, &rbacv1.ClusterRoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: "prometheus-metrics-reader"},
		Subjects:   []rbacv1.Subject{{Kind: rbacv1.ServiceAccountKind, Namespace: operatorNamespace, Name: sa.Name}},
		RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: reader.Name},
	})).To(Succeed())
	token := serviceAccountToken(ctx, cp, operatorNamespace, sa.Name)
	// The endpoint's certificate is self-signed by the manager.
	httpClient := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}} //nolint:gosec // G402: a local self-signed test endpoint.
	Eventually(func() int {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, fmt.Sprintf("https://127.0.0.1:%d/metrics", port), nil)
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := httpClient.Do(req)
		if err != nil {
			return 0
		}
		_ = resp.Body.Close()
		return resp.StatusCode
	}, 30*time.Second).Should(Equal(http.StatusOK))
}

var _ = controllers.AnnotationPolicy
