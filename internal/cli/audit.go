package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/spf13/cobra"
	networkingv1 "k8s.io/api/networking/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	"sigs.k8s.io/controller-runtime/pkg/client"

	kubecorsv1alpha1 "github.com/kubecors/kubecors/api/v1alpha1"
	"github.com/kubecors/kubecors/internal/dataplanes"
	"github.com/kubecors/kubecors/internal/dataplanes/envoygateway"
	"github.com/kubecors/kubecors/internal/dataplanes/gatewayapi"
	"github.com/kubecors/kubecors/internal/dataplanes/kong"
	"github.com/kubecors/kubecors/internal/dataplanes/registry"
	"github.com/kubecors/kubecors/internal/dataplanes/traefik"
	"github.com/kubecors/kubecors/internal/resolve"
)

// auditObject identifies the object a finding is about.
type auditObject struct {
	APIVersion string `json:"apiVersion"`
	Kind       string `json:"kind"`
	Namespace  string `json:"namespace"`
	Name       string `json:"name"`
}

// String writes "Kind namespace/name".
func (o auditObject) String() string { return o.Kind + " " + objectRef(o.Namespace, o.Name) }

// auditFinding is one CORS risk found on one object.
type auditFinding struct {
	RuleID    string      `json:"ruleId"`
	Rule      string      `json:"rule"`
	Severity  string      `json:"severity"`
	Object    auditObject `json:"object"`
	DataPlane string      `json:"dataPlane,omitempty"`
	// Key is the annotation or field the finding is about, when one is.
	Key     string `json:"key,omitempty"`
	Message string `json:"message"`
	// ManagedBy names the CorsPolicy kubecors programmed the object from.
	ManagedBy string `json:"managedBy,omitempty"`
}

// auditOptions are the flags and streams of one run of audit.
type auditOptions struct {
	configFlags *genericclioptions.ConfigFlags
	streams     genericiooptions.IOStreams
	output      string
	failOn      string
	suggest     bool
}

func newAuditCommand(streams genericiooptions.IOStreams, configFlags *genericclioptions.ConfigFlags) *cobra.Command {
	o := &auditOptions{streams: streams, configFlags: configFlags}
	cmd := &cobra.Command{
		Use:   "audit [-n NAMESPACE] [-o table|json|sarif] [--fail-on SEVERITY] [--suggest]",
		Short: "Find risky CORS configuration in the cluster, hand-written or not",
		Long: `Scan Ingresses and HTTPRoutes for CORS risk, wherever it is configured:
hand-written ingress-nginx and HAProxy Ingress annotations, Traefik
Middlewares and KongPlugins named by Ingresses or HTTPRoutes, Gateway API
HTTPRoute CORS filters, Envoy Gateway SecurityPolicies, Istio
VirtualServices and Contour HTTPProxies (each when the cluster serves it),
and what kubecors itself wrote. Each configuration is
read the way its data plane reads it, defaults and silent fall-backs
included, and probed with the requests an attacker would send.

Findings have a severity (high, medium, low, info) and a rule:
  wildcard-with-credentials      any origin with credentials, including
                                 ingress-nginx's default of credentials on
  reflected-any-origin           any Origin echoed back
  null-origin                    the "null" origin allowed
  insecure-origin-with-credentials plain-http origins with credentials
  public-suffix-wildcard         wildcards such as https://*.github.io
  silent-fallback                invalid values a data plane replaces with
                                 (permissive) defaults
  max-age-over-browser-cap       preflight cache above 7200/86400 seconds
  conflicting-policies           several CorsPolicies or writers for one target
  unanchored-origin-regex        origin regexes without ^ and $
  missing-vary-origin            echoed origins without Vary: Origin
  ineffective-annotations        annotations of a data plane that does not
                                 serve the object
  any-origin                     "*" without credentials (public data only)
  route-wildcard-with-credentials  migration hazard: a route CORS filter with
                                 "*" and credentials (ingress2gateway copies
                                 ingress-nginx's defaults)
  any-depth-wildcard             migration hazard: a route CORS filter's "*."
                                 matches any depth (one label on ingress-nginx)

All namespaces are scanned unless -n is given. -o sarif writes SARIF 2.1.0
for code-scanning tools. --suggest prints, for each hand-written target with
findings, a CorsPolicy that reproduces its configuration safely.

Exit status: 0, or 1 when --fail-on is given and a finding of that severity
or above exists; 2 on a usage error or when the cluster cannot be read.`,
		Example: `  # Everything, as a table
  kubectl cors audit

  # In CI: fail on high findings, report as SARIF
  kubectl cors audit -o sarif --fail-on high > cors.sarif

  # Migrate one namespace's hand-written annotations to CorsPolicies
  kubectl cors audit -n shop --suggest`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := o.validate(); err != nil {
				return usageError(fmt.Errorf("%w\nSee '%s --help' for usage", err, cmd.CommandPath()))
			}
			return o.run(cmd.Context())
		},
	}
	cmd.Flags().StringVarP(&o.output, "output", "o", outputTable, "Output format: table, json or sarif")
	cmd.Flags().StringVar(&o.failOn, "fail-on", "", "Exit with status 1 when a finding of this severity or above exists: high, medium, low or info")
	cmd.Flags().BoolVar(&o.suggest, "suggest", false, "Print a CorsPolicy that reproduces each hand-written configuration with findings, safely")
	return cmd
}

// validate rejects flag values cobra cannot check.
func (o *auditOptions) validate() error {
	if !slices.Contains([]string{outputTable, outputJSON, outSARIF}, o.output) {
		return fmt.Errorf("unknown output format %q: use table, json or sarif", o.output)
	}
	if _, ok := severityRank[o.failOn]; o.failOn != "" && !ok {
		return fmt.Errorf("unknown severity %q for --fail-on: use high, medium, low or info", o.failOn)
	}
	if o.suggest && o.output == outSARIF {
		return errors.New("--suggest prints CorsPolicies, which SARIF cannot carry: use -o table or json")
	}
	return nil
}

// run scans, prints and sets the exit status.
func (o *auditOptions) run(ctx context.Context) error {
	session, err := newClusterSession(o.configFlags)
	if err != nil {
		return &ExitError{Code: ExitUsage, Err: err}
	}
	namespace := ""
	if session.explicitNamespace {
		namespace = session.namespace
	}
	result, err := scanCluster(ctx, session, namespace)
	if err != nil {
		return &ExitError{Code: ExitUsage, Err: err}
	}
	var suggestions []auditSuggestion
	if o.suggest {
		suggestions = result.suggestions()
	}
	if err := printAudit(o.streams.Out, o.output, result, suggestions); err != nil {
		return &ExitError{Code: ExitUsage, Err: fmt.Errorf("writing the report: %w", err)}
	}
	_, _ = fmt.Fprintln(o.streams.ErrOut, result.summary())
	if o.failOn != "" && slices.ContainsFunc(result.Findings, func(f auditFinding) bool {
		return severityRank[f.Severity] >= severityRank[o.failOn]
	}) {
		return &ExitError{Code: ExitInvalid}
	}
	return nil
}

// auditTarget is one configuration that was audited: an object, its data
// plane model, and whether kubecors wrote it.
type auditTarget struct {
	object    auditObject
	model     dataplanes.Model
	key       string
	managedBy string
	// section is the HTTPRoute rule name, for suggestions.
	section string
}

// auditResult is everything one scan found.
type auditResult struct {
	Findings []auditFinding
	targets  []auditTarget
	scanned  map[string]int
	notes    []string
	// candidates are each namespace's CorsPolicies as the controller
	// weighs them (internal/resolve).
	candidates map[string]resolve.Candidates
}

// summary is the line audit prints on standard error.
func (r *auditResult) summary() string {
	counts := map[string]int{}
	for _, f := range r.Findings {
		counts[f.Severity]++
	}
	kinds := make([]string, 0, len(r.scanned))
	targetKinds := registry.TargetKinds()
	kindNames := make([][2]string, 0, 3+len(targetKinds))
	kindNames = append(kindNames, [2]string{kubecorsv1alpha1.KindIngress, "Ingresses"}, [2]string{gatewayapi.HTTPRouteKind, "HTTPRoutes"},
		[2]string{envoygateway.Kind, "SecurityPolicies"})
	for _, dp := range targetKinds {
		kindNames = append(kindNames, [2]string{dp.Target.Kind(), dp.Target.Plural()})
	}
	for _, kind := range kindNames {
		if n, ok := r.scanned[kind[0]]; ok {
			kinds = append(kinds, plural(n, kind[0], kind[1]))
		}
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%s: %d high, %d medium, %d low, %d info; scanned %s",
		plural(len(r.Findings), "finding", "findings"), counts[severityHigh], counts[severityMedium], counts[severityLow], counts[severityInfo],
		joinAnd(kinds))
	for _, n := range r.notes {
		b.WriteString("\nnote: " + n)
	}
	return b.String()
}

// candidatesByNamespace groups policies by namespace as resolve weighs
// them.
func candidatesByNamespace(ctx context.Context, s *clusterSession, policies []kubecorsv1alpha1.CorsPolicy) (map[string]resolve.Candidates, error) {
	byNamespace := map[string][]kubecorsv1alpha1.CorsPolicy{}
	for _, p := range policies {
		byNamespace[p.Namespace] = append(byNamespace[p.Namespace], p)
	}
	out := make(map[string]resolve.Candidates, len(byNamespace))
	for ns, list := range byNamespace {
		c, err := s.candidates(ctx, ns, list)
		if err != nil {
			return nil, err
		}
		out[ns] = c
	}
	return out, nil
}

// scanCluster reads every Ingress and HTTPRoute of namespace ("" for all)
// and audits them.
func scanCluster(ctx context.Context, s *clusterSession, namespace string) (*auditResult, error) {
	r := &auditResult{scanned: map[string]int{}}
	ingresses := &networkingv1.IngressList{}
	if err := s.client.List(ctx, ingresses, client.InNamespace(namespace)); err != nil {
		return nil, fmt.Errorf("cannot list Ingresses: %w", err)
	}
	classes := &networkingv1.IngressClassList{}
	if err := s.client.List(ctx, classes); err != nil {
		return nil, fmt.Errorf("cannot list IngressClasses: %w", err)
	}
	policies := &kubecorsv1alpha1.CorsPolicyList{}
	if err := s.client.List(ctx, policies, client.InNamespace(namespace)); err != nil && !meta.IsNoMatchError(err) {
		return nil, fmt.Errorf("cannot list CorsPolicies: %w", err)
	}
	// The objects each data plane's Ingress configuration lives in, and
	// whether the cluster serves their kind at all.
	objects := map[string][]unstructured.Unstructured{}
	served := map[string]bool{}
	var err error
	for _, plane := range registry.All() {
		if objects[plane.Name], served[plane.Name], err = s.objectsOf(ctx, plane, namespace); err != nil {
			return nil, err
		}
	}
	routes, gatewayServed, err := s.listUnstructured(ctx, httpRouteListGVK, namespace)
	if err != nil {
		return nil, fmt.Errorf("cannot list HTTPRoutes: %w", err)
	}
	if r.candidates, err = candidatesByNamespace(ctx, s, policies.Items); err != nil {
		return nil, err
	}
	r.scanned[kubecorsv1alpha1.KindIngress] = len(ingresses.Items)
	for i := range ingresses.Items {
		r.auditIngress(&ingresses.Items[i], classes.Items, objects, served)
	}
	if gatewayServed {
		r.scanned[gatewayapi.HTTPRouteKind] = len(routes)
		for i := range routes {
			r.auditRoute(&routes[i], objects[traefik.Name], objects[kong.Name])
		}
	} else {
		r.notes = append(r.notes, "the cluster does not serve Gateway API HTTPRoutes; none were scanned")
	}
	securityPolicies, securityPoliciesServed, err := s.listUnstructured(ctx, securityPolicyListGVK, namespace)
	if err != nil {
		return nil, fmt.Errorf("cannot list SecurityPolicies: %w", err)
	}
	if securityPoliciesServed {
		r.scanned[envoygateway.Kind] = len(securityPolicies)
		for i := range securityPolicies {
			r.auditSecurityPolicy(&securityPolicies[i])
		}
	}
	for _, dp := range registry.TargetKinds() {
		objects, served, err := s.listUnstructured(ctx, dp.Target.GVK.GroupVersion().WithKind(dp.Target.Kind()+"List"), namespace)
		if err != nil {
			return nil, fmt.Errorf("cannot list %s: %w", dp.Target.Plural(), err)
		}
		if !served {
			continue
		}
		r.scanned[dp.Target.Kind()] = len(objects)
		for i := range objects {
			r.auditTargetKindObject(dp, &objects[i])
		}
	}
	r.Findings = append(r.Findings, conflictFindings(r.candidates, policies.Items, ingresses.Items, routes)...)
	sortFindings(r.Findings)
	return r, nil
}

// auditIngress audits the configuration of every data plane that may serve
// an Ingress: the detected one, or each whose annotations it carries.
func (r *auditResult) auditIngress(ing *networkingv1.Ingress, classes []networkingv1.IngressClass,
	objects map[string][]unstructured.Unstructured, served map[string]bool) {
	obj := auditObject{APIVersion: ingressAPIVersion, Kind: kubecorsv1alpha1.KindIngress, Namespace: ing.Namespace, Name: ing.Name}
	managedBy := ""
	if p := ing.Annotations[policyAnnotation]; p != "" {
		managedBy = "CorsPolicy " + objectRef(ing.Namespace, p)
	}
	var mappings []kubecorsv1alpha1.DataPlaneMapping
	if governing := r.candidates[ing.Namespace].Governing(resolve.ObjectOf(kubecorsv1alpha1.KindIngress, ing)); governing != nil {
		mappings = governing.Spec.DataPlaneMappings
	}
	detection := resolve.DetectIngressOrGuess(ing, classes, mappings)
	planes := []string{detection.DataPlane}
	if detection.DataPlane == "" {
		planes = registry.AnnotatedDataPlanes(ing.Annotations)
	} else if foreign := registry.ForeignCORSAnnotations(ing.Annotations, detection.DataPlane); len(foreign) > 0 {
		r.Findings = append(r.Findings, auditFinding{RuleID: ruleIneffective.ID, Rule: ruleIneffective.Name, Severity: severityInfo,
			Object: obj, DataPlane: detection.DataPlane, Key: strings.Join(foreign, ","), ManagedBy: managedBy,
			Message: fmt.Sprintf("%s has no effect: the Ingress is served by %s (%s)", strings.Join(foreign, ", "), detection.DataPlane, detection.How)})
	}
	for _, dp := range planes {
		var model dataplanes.Model
		plane, _ := registry.Lookup(dp)
		switch {
		case plane.ReadAnnotations != nil:
			model = plane.ReadAnnotations(ing.Annotations)
		case plane.ReadIngressObjects != nil:
			if !served[dp] {
				continue
			}
			var err error
			if model, _, _, err = plane.ReadIngressObjects(objectRef(ing.Namespace, ing.Name), ing.Annotations, objects[dp]); err != nil {
				r.Findings = append(r.Findings, auditFinding{RuleID: ruleSilentFallback.ID, Rule: ruleSilentFallback.Name, Severity: severityLow,
					Object: obj, DataPlane: dp, Key: strings.Join(plane.AnnotationKeys, ","), ManagedBy: managedBy, Message: err.Error()})
				continue
			}
		default:
			continue
		}
		t := auditTarget{object: obj, model: model, managedBy: managedBy}
		r.targets = append(r.targets, t)
		r.Findings = append(r.Findings, auditModel(t)...)
	}
}

// auditRoute audits every rule of an HTTPRoute that configures CORS.
func (r *auditResult) auditRoute(route *unstructured.Unstructured, middlewares, kongPlugins []unstructured.Unstructured) {
	obj := auditObject{APIVersion: gatewayapi.Group + "/" + gatewayapi.Version, Kind: gatewayapi.HTTPRouteKind,
		Namespace: route.GetNamespace(), Name: route.GetName()}
	managedBy := ""
	if p := route.GetAnnotations()[policyAnnotation]; p != "" {
		managedBy = "CorsPolicy " + objectRef(route.GetNamespace(), p)
	}
	for _, rule := range gatewayapi.HTTPRouteRules(route) {
		var model dataplanes.Model
		key := fmt.Sprintf("spec.rules[%d]", rule.Index)
		switch {
		case rule.CORS != nil:
			key = fmt.Sprintf("spec.rules[%d].filters[%d].cors", rule.Index, rule.CORSFilterIndex)
			model = gatewayapi.ParseGatewayCORS(rule.CORS, key)
		case len(rule.Middlewares) > 0:
			chain := make([]traefik.Middleware, 0, len(rule.Middlewares))
			for _, name := range rule.Middlewares {
				entry := traefik.Middleware{Ref: objectRef(route.GetNamespace(), name)}
				for i := range middlewares {
					if middlewares[i].GetNamespace() == route.GetNamespace() && middlewares[i].GetName() == name {
						entry.Object = &middlewares[i]
					}
				}
				chain = append(chain, entry)
			}
			var err error
			if model, err = traefik.ParseTraefik(chain); err != nil {
				continue
			}
		case len(rule.KongPlugins) > 0:
			key = fmt.Sprintf("spec.rules[%d] KongPlugins", rule.Index)
			var err error
			if model, err = kong.ParseKong(kongChain(rule.KongPlugins, kongPlugins)); err != nil {
				continue
			}
		default:
			continue
		}
		t := auditTarget{object: obj, model: model, key: key, managedBy: managedBy, section: rule.Name}
		r.targets = append(r.targets, t)
		r.Findings = append(r.Findings, auditModel(t)...)
		if rule.CORS != nil {
			r.Findings = append(r.Findings, migrationHazards(t)...)
		}
	}
}

// auditSecurityPolicy audits the CORS of an Envoy Gateway SecurityPolicy,
// which applies to every route of the Gateway, route or listener it
// targets that has no CORS of its own.
func (r *auditResult) auditSecurityPolicy(sp *unstructured.Unstructured) {
	if _, found, _ := unstructured.NestedMap(sp.Object, "spec", "cors"); !found {
		return
	}
	o := auditObject{APIVersion: envoygateway.Group + "/" + envoygateway.Version, Kind: envoygateway.Kind, Namespace: sp.GetNamespace(), Name: sp.GetName()}
	managedBy := ""
	if sp.GetLabels()[dataplanes.LabelManagedBy] == dataplanes.ManagedByKubecors {
		managedBy = "CorsPolicy " + objectRef(sp.GetNamespace(), sp.GetLabels()[dataplanes.LabelPolicy])
	}
	model, err := envoygateway.ReadSecurityPolicy(sp)
	if err != nil {
		r.Findings = append(r.Findings, auditFinding{RuleID: ruleSilentFallback.ID, Rule: ruleSilentFallback.Name, Severity: severityLow,
			Object: o, DataPlane: envoygateway.Name, Key: "spec.cors", ManagedBy: managedBy,
			Message: fmt.Sprintf("%s cannot read this configuration: %v", envoygateway.Name, err)})
		return
	}
	// Not a target of its own: --suggest writes policies for the routes and
	// Gateways, not for the SecurityPolicy.
	r.Findings = append(r.Findings, auditModel(auditTarget{object: o, model: model, key: "spec.cors", managedBy: managedBy})...)
}

// kongChain pairs the KongPlugin names a list or ExtensionRef filters
// write with the objects of the namespace, in order (nil when missing).
func kongChain(names []string, objects []unstructured.Unstructured) []kong.Plugin {
	plugins := make([]kong.Plugin, 0, len(names))
	for _, name := range names {
		entry := kong.Plugin{Ref: name}
		for i := range objects {
			if objects[i].GetName() == name {
				entry.Object = &objects[i]
			}
		}
		plugins = append(plugins, entry)
	}
	return plugins
}

// auditTargetKindObject audits every section of an object of a data
// plane's own target kind (each http route of an Istio VirtualService, a
// Contour root proxy's virtual host) as that data plane reads it.
func (r *auditResult) auditTargetKindObject(dp dataplanes.DataPlane, obj *unstructured.Unstructured) {
	o := auditObject{APIVersion: dp.Target.GVK.GroupVersion().String(), Kind: dp.Target.Kind(), Namespace: obj.GetNamespace(), Name: obj.GetName()}
	managedBy := ""
	if p := obj.GetAnnotations()[policyAnnotation]; p != "" {
		managedBy = "CorsPolicy " + objectRef(obj.GetNamespace(), p)
	}
	for _, section := range dp.Target.Read(obj) {
		if len(section.Problems) > 0 {
			r.Findings = append(r.Findings, auditFinding{RuleID: ruleSilentFallback.ID, Rule: ruleSilentFallback.Name, Severity: severityLow,
				Object: o, DataPlane: dp.Name, Key: section.Key, ManagedBy: managedBy,
				Message: fmt.Sprintf("%s rejects this configuration, so no CORS header is sent: %s", dp.Name, strings.Join(section.Problems, "; "))})
			continue
		}
		t := auditTarget{object: o, model: section.Model, key: section.Key, managedBy: managedBy}
		r.targets = append(r.targets, t)
		r.Findings = append(r.Findings, auditModel(t)...)
	}
}

// joinAnd joins items as "a, b and c".
func joinAnd(items []string) string {
	if len(items) < 2 {
		return strings.Join(items, "")
	}
	return strings.Join(items[:len(items)-1], ", ") + " and " + items[len(items)-1]
}

// printAudit prints the findings (and suggestions) in the chosen format.
func printAudit(w io.Writer, format string, r *auditResult, suggestions []auditSuggestion) error {
	switch format {
	case outputJSON:
		report := struct {
			Findings    []auditFinding    `json:"findings"`
			Suggestions []auditSuggestion `json:"suggestions,omitempty"`
		}{Findings: append([]auditFinding{}, r.Findings...), Suggestions: suggestions}
		return writeJSON(w, report)
	case outSARIF:
		return writeJSON(w, sarifReport(r.Findings))
	}
	p := &textPrinter{w: w}
	if len(r.Findings) == 0 {
		p.line("No CORS risk found.")
	} else {
		rows := [][]string{{"SEVERITY", "RULE", "OBJECT", "DATA PLANE", "KEY", "MESSAGE"}}
		for _, f := range r.Findings {
			dp := f.DataPlane
			if dp == "" {
				dp = "-"
			}
			if f.ManagedBy != "" {
				dp += " (" + f.ManagedBy + ")"
			}
			key := f.Key
			if key == "" {
				key = "-"
			}
			rows = append(rows, []string{f.Severity, f.Rule, f.Object.String(), dp, key, f.Message})
		}
		writeTable(p, "", rows)
	}
	for _, s := range suggestions {
		p.line("---")
		_, _ = io.WriteString(p, s.YAML)
	}
	return p.err
}
