package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"unicode"

	"github.com/spf13/cobra"
	networkingv1 "k8s.io/api/networking/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/validation/field"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"

	kubecorsv1alpha1 "github.com/kubecors/kubecors/api/v1alpha1"
	"github.com/kubecors/kubecors/internal/corscheck"
	"github.com/kubecors/kubecors/internal/corsrules"
	"github.com/kubecors/kubecors/internal/dataplanes"
	"github.com/kubecors/kubecors/internal/dataplanes/gatewayapi"
	"github.com/kubecors/kubecors/internal/dataplanes/ingressnginx"
	"github.com/kubecors/kubecors/internal/dataplanes/registry"
	"github.com/kubecors/kubecors/internal/dataplanes/traefik"
)

// outSARIF is audit's output format for code-scanning tools, besides the
// table, json and yaml formats of probe and check.
const outSARIF = "sarif"

// corsPolicyKind is the kind of the policies kubecors reads.
const corsPolicyKind = "CorsPolicy"

// trueValue is how annotations, and Access-Control-Allow-Credentials,
// spell true.
const trueValue = "true"

// ingressAPIVersion is the apiVersion of the Ingresses explain and audit
// read.
var ingressAPIVersion = networkingv1.SchemeGroupVersion.String()

// policyAnnotation is the annotation kubecors writes on the Ingresses and
// HTTPRoutes it configures, naming the CorsPolicy (controllers.AnnotationPolicy;
// the CLI does not import the controllers).
const policyAnnotation = "kubecors.io/policy"

// Who governs a target's CORS behaviour, as explain reports it.
const (
	governedByPolicy = corsPolicyKind
	governedByHand   = "hand-written configuration"
	governedByNone   = "nothing"
)

// explainOptions are the flags and streams of one run of explain.
type explainOptions struct {
	configFlags *genericclioptions.ConfigFlags
	streams     genericiooptions.IOStreams

	filename    string
	dataPlane   string
	rule        string
	origin      string
	method      string
	headers     []string
	credentials bool
	readHeaders []string
	output      string
}

func newExplainCommand(streams genericiooptions.IOStreams, configFlags *genericclioptions.ConfigFlags) *cobra.Command {
	o := &explainOptions{streams: streams, configFlags: configFlags}
	cmd := &cobra.Command{
		Use:   "explain (ingress/NAME | httproute/NAME | -f POLICY) --origin ORIGIN [--method METHOD] [--header 'NAME: VALUE']...",
		Short: "Explain what a browser does with a cross-origin request to a target, and how to fix a block",
		Long: `Simulate a browser's CORS check against a target without sending traffic.

explain finds what governs the target: the CorsPolicy that kubecors
programmed there (the kubecors.io/policy annotation) and the configuration it
rendered, or hand-written ingress-nginx, HAProxy Ingress or Traefik
configuration, or an HTTPRoute's CORS filter. It reads that configuration the
way the data plane reads it, defaults and silent fall-backs included (an
ingress-nginx origin list that fails validation means "*"; credentials default
to true), and walks the Fetch standard's CORS protocol: whether a preflight is
needed and why, what the preflight and the actual response carry, and the
verdict. On a block it names the first failing step and the exact change that
fixes it: a CorsPolicy field, or the annotation or field to edit.

With -f, the CorsPolicy in the file is rendered for --data-plane (default
ingress-nginx) as kubecors would render it, or, with --data-plane policy,
evaluated by its own semantics.

The backend behind a data plane is assumed not to handle CORS itself; use
"kubectl cors probe" to see what a live server answers.

Exit status: 0 when the browser allows the request, 1 when it blocks it, 2 on
a usage error or when the target cannot be read.`,
		Example: `  # Why does a credentialed PUT from the app fail?
  kubectl cors explain ingress/api -n shop --origin https://app.example.com \
    --method PUT --header 'Content-Type: application/json' --credentials

  # Can the page read X-Total-Count?
  kubectl cors explain httproute/api --origin https://app.example.com --read-header X-Total-Count

  # What would this policy do on HAProxy Ingress?
  kubectl cors explain -f policy.yaml --data-plane haproxy-ingress --origin https://app.example.com --method DELETE`,
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := o.validate(args); err != nil {
				return usageError(fmt.Errorf("%w\nSee '%s --help' for usage", err, cmd.CommandPath()))
			}
			return o.run(cmd.Context(), args)
		},
	}
	f := cmd.Flags()
	f.StringVarP(&o.filename, "filename", "f", "", `CorsPolicy file to explain instead of a cluster target ("-" for standard input)`)
	f.StringVar(&o.dataPlane, "data-plane", "", fmt.Sprintf("Data plane to simulate: %s, or %q for the policy's own semantics. "+
		"For -f the default is %s; for a cluster target it overrides detection", strings.Join(registry.RendererNames(), ", "), dataplanes.PolicyDataPlane, ingressnginx.Name))
	f.StringVar(&o.rule, "rule", "", "HTTPRoute rule to explain, by name or index (default: the only rule, or the first with a CORS filter)")
	f.StringVar(&o.origin, "origin", "", "Origin of the page making the request, e.g. https://app.example.com (required)")
	f.StringVar(&o.method, "method", http.MethodGet, "Request method")
	f.StringArrayVarP(&o.headers, "header", "H", nil, `Request header the page sets, as "Name: value"; repeatable`)
	f.BoolVar(&o.credentials, "credentials", false, `The page sends credentials (fetch(url, {credentials: "include"}))`)
	f.StringArrayVar(&o.readHeaders, "read-header", nil, "Response header the page's script reads; repeatable")
	f.StringVarP(&o.output, "output", "o", outputTable, "Output format: table, json or yaml")
	return cmd
}

// validate rejects flag combinations cobra cannot check.
func (o *explainOptions) validate(args []string) error {
	switch {
	case o.filename == "" && len(args) == 0:
		return errors.New("name a target (ingress/NAME or httproute/NAME) or a policy file with -f")
	case o.filename != "" && len(args) > 0:
		return fmt.Errorf("give either a target (%s) or -f, not both", args[0])
	case len(args) > 1:
		return fmt.Errorf("explain takes one target, got %d: %s", len(args), strings.Join(args, " "))
	case o.origin == "":
		return errors.New("--origin is required: the origin of the page, e.g. --origin https://app.example.com")
	}
	if !slices.Contains([]string{outputTable, outputJSON, outputYAML}, o.output) {
		return fmt.Errorf("unknown output format %q: use table, json or yaml", o.output)
	}
	if o.dataPlane != "" && o.dataPlane != dataplanes.PolicyDataPlane && o.dataPlane != gatewayapi.Name &&
		!slices.Contains(registry.RendererNames(), o.dataPlane) {
		return fmt.Errorf("unknown data plane %q: use one of %s, %s or %s", o.dataPlane,
			strings.Join(registry.RendererNames(), ", "), gatewayapi.Name, dataplanes.PolicyDataPlane)
	}
	if _, err := o.request(); err != nil {
		return err
	}
	return nil
}

// request builds the page's request from the flags.
func (o *explainOptions) request() (corscheck.Request, error) {
	req := corscheck.Request{Origin: o.origin, Method: o.method, Headers: http.Header{}, Credentials: o.credentials, ReadHeaders: o.readHeaders}
	for _, h := range o.headers {
		name, value, ok := strings.Cut(h, ":")
		name = strings.TrimSpace(name)
		if !ok || name == "" {
			return req, fmt.Errorf(`--header %q is not "Name: value"`, h)
		}
		// Not Add: the name stays as the page wrote it.
		req.Headers[name] = append(req.Headers[name], strings.TrimSpace(value))
	}
	if err := corscheck.Validate(req); err != nil {
		return req, err
	}
	return req, nil
}

// run resolves the target, explains the request and prints the report.
func (o *explainOptions) run(ctx context.Context, args []string) error {
	req, _ := o.request()
	var target *explainTarget
	var err error
	if o.filename != "" {
		target, err = o.fileTarget()
	} else {
		target, err = o.clusterTarget(ctx, args[0])
	}
	if err != nil {
		return &ExitError{Code: ExitUsage, Err: err}
	}
	report, err := explain(target, req)
	if err != nil {
		return &ExitError{Code: ExitUsage, Err: err}
	}
	if err := printExplainReport(o.streams.Out, o.output, report); err != nil {
		return &ExitError{Code: ExitUsage, Err: fmt.Errorf("writing the report: %w", err)}
	}
	if !report.Verdict.Allowed {
		return &ExitError{Code: ExitInvalid}
	}
	return nil
}

// explainTarget is what governs one target, and the simulation of its data
// plane.
type explainTarget struct {
	// Ref names the target for people, e.g. "Ingress shop/api".
	Ref string
	// Namespace and Name identify the target object.
	Namespace, Name string
	// Kind is "Ingress", "HTTPRoute" or "CorsPolicy" (a file).
	Kind string
	// Detection says how the data plane was found.
	Detection string
	// GovernedBy is one of the governedBy constants.
	GovernedBy string
	// Policy is the CorsPolicy that governs, when one does.
	Policy *kubecorsv1alpha1.CorsPolicy
	// PolicyRef names it, e.g. "CorsPolicy shop/api".
	PolicyRef string
	// Notes are facts the reader needs, such as annotations that have no
	// effect on the data plane that serves the target.
	Notes []string
	// model answers the browser's requests.
	model dataplanes.Model
	// rendered re-renders the policy for the target's data plane, to tell
	// narrowing from a stale configuration; nil when not possible.
	rendered func() (dataplanes.Model, []dataplanes.Narrowing, string)
	// fixer writes a change for hand-written configuration.
	fixer dataplanes.Fixer
}

// fileTarget reads a CorsPolicy from -f and simulates it on --data-plane.
func (o *explainOptions) fileTarget() (*explainTarget, error) {
	var data []byte
	var readErr error
	visitInputs([]string{o.filename}, o.streams.In, func(_ string, d []byte, err error) { data, readErr = d, err })
	if readErr != nil {
		return nil, fmt.Errorf("%s: %w", o.filename, readErr)
	}
	policy, err := decodeCorsPolicy(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", o.filename, err)
	}
	dp := o.dataPlane
	detection := "chosen with --data-plane"
	if dp == "" {
		dp, detection = ingressnginx.Name, "the default for -f; choose another with --data-plane"
	}
	return policyTarget(policy, dp, detection, fmt.Sprintf("CorsPolicy %s (file %s)", objectRef(policy.Namespace, policy.Name), o.filename))
}

// policyTarget simulates a CorsPolicy rendered for dp as kubecors would
// render it, or, for dataplanes.PolicyDataPlane, by its own semantics.
func policyTarget(policy *kubecorsv1alpha1.CorsPolicy, dp, detection, ref string) (*explainTarget, error) {
	t := &explainTarget{
		Ref: ref, Kind: corsPolicyKind, Namespace: policy.Namespace, Name: policy.Name, GovernedBy: governedByPolicy, Policy: policy,
		PolicyRef: "CorsPolicy " + objectRef(policy.Namespace, policy.Name), Detection: detection,
	}
	if errs, _ := corsrules.ValidateCorsPolicy(policy); len(errs) > 0 {
		t.Notes = append(t.Notes, "the policy is invalid and would not be accepted: "+errs.ToAggregate().Error())
	}
	if dp == dataplanes.PolicyDataPlane {
		t.model = dataplanes.ParsePolicy(policy.Spec)
		return t, nil
	}
	model, narrowed, refused, err := renderModel(policy, dp, objectRef(policy.Namespace, "target"))
	if err != nil {
		return nil, err
	}
	t.model = model
	t.rendered = func() (dataplanes.Model, []dataplanes.Narrowing, string) { return model, narrowed, refused }
	if refused != "" {
		t.Notes = append(t.Notes, "kubecors refuses to program this policy on "+dp+": "+refused)
	}
	for _, n := range narrowed {
		t.Notes = append(t.Notes, fmt.Sprintf("narrowed for %s: %s %q: %s", dp, n.Field, n.Value, n.Reason))
	}
	return t, nil
}

// decodeCorsPolicy reads the single CorsPolicy of a file.
func decodeCorsPolicy(data []byte) (*kubecorsv1alpha1.CorsPolicy, error) {
	var found []*kubecorsv1alpha1.CorsPolicy
	for _, raw := range splitDocuments(data) {
		doc := parseDocument(raw)
		if doc.err != nil {
			return nil, doc.err
		}
		content, ok := doc.content.(map[string]any)
		if !ok {
			continue
		}
		obj := &unstructured.Unstructured{Object: content}
		if obj.GetKind() != corsPolicyKind {
			continue
		}
		policy := &kubecorsv1alpha1.CorsPolicy{}
		if err := runtime.DefaultUnstructuredConverter.FromUnstructured(content, policy); err != nil {
			return nil, fmt.Errorf("not a valid CorsPolicy: %w", err)
		}
		found = append(found, policy)
	}
	switch len(found) {
	case 0:
		return nil, errors.New("no CorsPolicy in the file")
	case 1:
		if found[0].Namespace == "" {
			found[0].Namespace = metav1.NamespaceDefault
		}
		return found[0], nil
	}
	return nil, fmt.Errorf("%d CorsPolicies in the file: explain takes one", len(found))
}

// renderModel renders a policy for a data plane as kubecors would and
// reads the result back the way the data plane reads it.
func renderModel(policy *kubecorsv1alpha1.CorsPolicy, dp, ingressRef string) (dataplanes.Model, []dataplanes.Narrowing, string, error) {
	plane, ok := registry.Lookup(dp)
	if !ok || plane.Rendered == nil {
		return nil, nil, "", fmt.Errorf("kubecors has no renderer for %q; use one of %s, or %s", dp,
			strings.Join(registry.RendererNames(), ", "), dataplanes.PolicyDataPlane)
	}
	namespace, _, _ := strings.Cut(ingressRef, "/")
	return plane.Rendered(dataplanes.Policy{Namespace: policy.Namespace, Name: policy.Name, Spec: policy.Spec},
		dataplanes.IngressTarget{Namespace: namespace, Name: policy.Name})
}

// clusterSession is a connection to the cluster of the kubeconfig flags.
type clusterSession struct {
	client client.Client
	// namespace is -n, or the context's namespace.
	namespace string
	// explicitNamespace is true when -n was given.
	explicitNamespace bool
}

// newClusterSession connects with the root command's kubeconfig flags.
func newClusterSession(flags *genericclioptions.ConfigFlags) (*clusterSession, error) {
	cfg, err := flags.ToRESTConfig()
	if err != nil {
		return nil, fmt.Errorf("cannot read the kubeconfig: %w", err)
	}
	namespace, explicit, err := flags.ToRawKubeConfigLoader().Namespace()
	if err != nil {
		return nil, fmt.Errorf("cannot tell the namespace: %w", err)
	}
	scheme := runtime.NewScheme()
	if err := clientgoscheme.AddToScheme(scheme); err != nil {
		return nil, err
	}
	if err := kubecorsv1alpha1.AddToScheme(scheme); err != nil {
		return nil, err
	}
	c, err := client.New(cfg, client.Options{Scheme: scheme})
	if err != nil {
		return nil, fmt.Errorf("cannot connect to the cluster: %w", err)
	}
	return &clusterSession{client: c, namespace: namespace, explicitNamespace: explicit}, nil
}

// Kinds read as unstructured content, so that neither Traefik's nor Gateway
// API's Go module is needed.
var (
	middlewareListGVK = schema.GroupVersionKind{Group: traefik.Group, Version: traefik.Version, Kind: traefik.Kind + "List"}
	httpRouteGVK      = schema.GroupVersionKind{Group: gatewayapi.Group, Version: gatewayapi.Version, Kind: gatewayapi.HTTPRouteKind}
	httpRouteListGVK  = schema.GroupVersionKind{Group: gatewayapi.Group, Version: gatewayapi.Version, Kind: gatewayapi.HTTPRouteKind + "List"}
)

// listUnstructured lists objects of a kind in namespace ("" for all),
// reporting false when the cluster does not serve the kind at all.
func (s *clusterSession) listUnstructured(ctx context.Context, gvk schema.GroupVersionKind, namespace string) ([]unstructured.Unstructured, bool, error) {
	list := &unstructured.UnstructuredList{}
	list.SetGroupVersionKind(gvk)
	err := s.client.List(ctx, list, client.InNamespace(namespace))
	switch {
	case meta.IsNoMatchError(err) || apierrors.IsNotFound(err):
		return nil, false, nil
	case err != nil:
		return nil, false, err
	}
	return list.Items, true, nil
}

// middlewareChain resolves an Ingress's router.middlewares entries to
// Middleware objects. Entries of other providers are left out with a note.
func middlewareChain(annotation string, middlewares []unstructured.Unstructured) ([]traefik.Middleware, []string) {
	var chain []traefik.Middleware
	var notes []string
	for _, ref := range traefik.ParseMiddlewareRefs(annotation) {
		if !ref.CRD {
			notes = append(notes, fmt.Sprintf("middleware %q comes from another Traefik provider and cannot be read from the cluster; it is left out", ref.Ref))
			continue
		}
		entry := traefik.Middleware{Ref: ref.Ref}
		for i := range middlewares {
			if ref.Matches(middlewares[i].GetNamespace(), middlewares[i].GetName()) {
				entry.Object = &middlewares[i]
				break
			}
		}
		chain = append(chain, entry)
	}
	return chain, notes
}

// clusterTarget resolves ingress/NAME or httproute/NAME in the cluster.
func (o *explainOptions) clusterTarget(ctx context.Context, arg string) (*explainTarget, error) {
	kind, name, ok := strings.Cut(arg, "/")
	if !ok || name == "" {
		return nil, fmt.Errorf("target %q is not KIND/NAME: write ingress/NAME or httproute/NAME", arg)
	}
	session, err := newClusterSession(o.configFlags)
	if err != nil {
		return nil, err
	}
	switch strings.ToLower(kind) {
	case "ingress", "ingresses", "ing", "ingress.networking.k8s.io":
		return o.ingressTarget(ctx, session, name)
	case "httproute", "httproutes", "httproute.gateway.networking.k8s.io":
		return o.routeTarget(ctx, session, name)
	}
	return nil, fmt.Errorf("cannot explain a %s: name an ingress/NAME or an httproute/NAME", kind)
}

// ingressTarget finds what governs an Ingress and models its data plane.
func (o *explainOptions) ingressTarget(ctx context.Context, s *clusterSession, name string) (*explainTarget, error) {
	ing := &networkingv1.Ingress{}
	if err := s.client.Get(ctx, client.ObjectKey{Namespace: s.namespace, Name: name}, ing); err != nil {
		return nil, fmt.Errorf("cannot read Ingress %s: %w", objectRef(s.namespace, name), err)
	}
	classes := &networkingv1.IngressClassList{}
	if err := s.client.List(ctx, classes); err != nil {
		return nil, fmt.Errorf("cannot list IngressClasses: %w", err)
	}
	detection := registry.DetectIngress(ing, classes.Items)
	if o.dataPlane != "" {
		detection.DataPlane, detection.How = o.dataPlane, "chosen with --data-plane; "+detection.How
	}
	t := &explainTarget{Ref: "Ingress " + objectRef(ing.Namespace, ing.Name), Kind: kubecorsv1alpha1.KindIngress, Namespace: ing.Namespace,
		Name: ing.Name, Detection: detection.How}
	var middlewares []unstructured.Unstructured
	if detection.DataPlane == traefik.Name {
		var err error
		if middlewares, _, err = s.listUnstructured(ctx, middlewareListGVK, ""); err != nil {
			// Reading every namespace may be forbidden; the Ingress's own
			// namespace is where Middlewares usually are.
			if middlewares, _, err = s.listUnstructured(ctx, middlewareListGVK, ing.Namespace); err != nil {
				return nil, fmt.Errorf("cannot list Traefik Middlewares: %w", err)
			}
		}
	}
	model, notes, fixer, err := ingressModel(ing, detection.DataPlane, middlewares)
	if err != nil {
		return nil, err
	}
	t.model, t.fixer = model, fixer
	t.Notes = append(t.Notes, notes...)
	if err := t.findPolicy(ctx, s, ing.Annotations, ing.Labels); err != nil {
		return nil, err
	}
	if t.Policy != nil && detection.DataPlane != "" && detection.DataPlane != gatewayapi.Name {
		policy, dp := t.Policy, detection.DataPlane
		t.rendered = func() (dataplanes.Model, []dataplanes.Narrowing, string) {
			m, narrowed, refused, err := renderModel(policy, dp, objectRef(ing.Namespace, ing.Name))
			if err != nil {
				return nil, nil, ""
			}
			return m, narrowed, refused
		}
	}
	return t, nil
}

// ingressModel models an Ingress on a data plane, with notes and the
// fixer for hand-written configuration.
func ingressModel(ing *networkingv1.Ingress, dp string, middlewares []unstructured.Unstructured) (dataplanes.Model, []string, dataplanes.Fixer, error) {
	ref := objectRef(ing.Namespace, ing.Name)
	var notes []string
	if foreign := registry.ForeignCORSAnnotations(ing.Annotations, dp); len(foreign) > 0 && dp != "" {
		notes = append(notes, fmt.Sprintf("%s has no effect: the Ingress is served by %s, which ignores these annotations",
			strings.Join(foreign, ", "), dp))
	}
	if plane, ok := registry.Lookup(dp); ok && plane.ReadAnnotations != nil {
		model := plane.ReadAnnotations(ing.Annotations)
		return model, notes, plane.NewAnnotationFixer(ref, model.Effective()), nil
	}
	switch dp {
	case traefik.Name:
		chain, chainNotes := middlewareChain(ing.Annotations[traefik.MiddlewaresAnnotation], middlewares)
		notes = append(notes, chainNotes...)
		model, err := traefik.ParseTraefik(chain)
		if err != nil {
			return nil, nil, nil, fmt.Errorf("ingress %s: %w", ref, err)
		}
		return model, notes, traefik.NewFixer(chain, ref), nil
	case "":
		return dataplanes.NoCORS("unknown", "no data plane could be told for the Ingress"), notes, nil, nil
	}
	return nil, nil, nil, fmt.Errorf("data plane %q cannot serve an Ingress", dp)
}

// routeTarget finds what governs an HTTPRoute rule and models it.
func (o *explainOptions) routeTarget(ctx context.Context, s *clusterSession, name string) (*explainTarget, error) {
	route := &unstructured.Unstructured{}
	route.SetGroupVersionKind(httpRouteGVK)
	if err := s.client.Get(ctx, client.ObjectKey{Namespace: s.namespace, Name: name}, route); err != nil {
		if meta.IsNoMatchError(err) {
			return nil, errors.New("the cluster does not serve Gateway API HTTPRoutes (gateway.networking.k8s.io/v1)")
		}
		return nil, fmt.Errorf("cannot read HTTPRoute %s: %w", objectRef(s.namespace, name), err)
	}
	rules := gatewayapi.HTTPRouteRules(route)
	rule, notes, err := chooseRule(rules, o.rule)
	if err != nil {
		return nil, err
	}
	ref := objectRef(route.GetNamespace(), route.GetName())
	t := &explainTarget{Ref: fmt.Sprintf("HTTPRoute %s, %s", ref, rule.Label()), Kind: "HTTPRoute", Namespace: route.GetNamespace(),
		Name: route.GetName(), Notes: notes}
	switch {
	case rule.CORS != nil:
		t.Detection = "the rule's CORS filter (Gateway API HTTPRouteCORS)"
		t.model = gatewayapi.ParseGatewayCORS(rule.CORS, fmt.Sprintf("spec.rules[%d].filters[%d].cors", rule.Index, rule.CORSFilterIndex))
		t.fixer = gatewayapi.NewFixer(ref, rule)
	case len(rule.Middlewares) > 0:
		t.Detection = "the rule's ExtensionRef filters to Traefik Middlewares"
		middlewares, _, err := s.listUnstructured(ctx, middlewareListGVK, route.GetNamespace())
		if err != nil {
			return nil, fmt.Errorf("cannot list Traefik Middlewares: %w", err)
		}
		var chain []traefik.Middleware
		for _, mwName := range rule.Middlewares {
			entry := traefik.Middleware{Ref: objectRef(route.GetNamespace(), mwName)}
			for i := range middlewares {
				if middlewares[i].GetName() == mwName {
					entry.Object = &middlewares[i]
				}
			}
			chain = append(chain, entry)
		}
		if t.model, err = traefik.ParseTraefik(chain); err != nil {
			return nil, fmt.Errorf("HTTPRoute %s: %w", ref, err)
		}
		t.fixer = traefik.NewFixer(chain, "")
	default:
		t.Detection = "the rule has no CORS filter"
		t.model = gatewayapi.ParseGatewayCORS(nil, "")
		t.fixer = gatewayapi.NewFixer(ref, rule)
	}
	if err := t.findPolicy(ctx, s, route.GetAnnotations(), route.GetLabels()); err != nil {
		return nil, err
	}
	if t.Policy != nil && rule.CORS != nil {
		policy := t.Policy
		t.rendered = func() (dataplanes.Model, []dataplanes.Narrowing, string) {
			m, narrowed, refused, err := renderModel(policy, gatewayapi.Name, "")
			if err != nil {
				return nil, nil, ""
			}
			return m, narrowed, refused
		}
	}
	return t, nil
}

// chooseRule picks the HTTPRoute rule to explain: --rule by name or index,
// else the only rule, else the first with a CORS filter.
func chooseRule(rules []gatewayapi.RouteRule, want string) (gatewayapi.RouteRule, []string, error) {
	if len(rules) == 0 {
		return gatewayapi.RouteRule{}, nil, errors.New("the HTTPRoute has no rules")
	}
	if want != "" {
		for _, r := range rules {
			if r.Name == want || strconv.Itoa(r.Index) == want {
				return r, nil, nil
			}
		}
		return gatewayapi.RouteRule{}, nil, fmt.Errorf("the HTTPRoute has no rule %q: name one by its name or index (0 to %d)", want, len(rules)-1)
	}
	if len(rules) == 1 {
		return rules[0], nil, nil
	}
	chosen := rules[0]
	if i := slices.IndexFunc(rules, func(r gatewayapi.RouteRule) bool { return r.CORS != nil || len(r.Middlewares) > 0 }); i >= 0 {
		chosen = rules[i]
	}
	return chosen, []string{fmt.Sprintf("the route has %d rules; explaining %s (choose another with --rule)", len(rules), chosen.Label())}, nil
}

// findPolicy looks for the CorsPolicy that kubecors programmed on the
// target (the kubecors.io/policy annotation), and notes policies that
// target it without governing it.
func (t *explainTarget) findPolicy(ctx context.Context, s *clusterSession, annotations, objLabels map[string]string) error {
	policies := &kubecorsv1alpha1.CorsPolicyList{}
	err := s.client.List(ctx, policies, client.InNamespace(t.Namespace))
	if err != nil && !meta.IsNoMatchError(err) {
		return fmt.Errorf("cannot list CorsPolicies: %w", err)
	}
	name := annotations[policyAnnotation]
	for i := range policies.Items {
		p := &policies.Items[i]
		if p.Name == name {
			t.Policy, t.PolicyRef, t.GovernedBy = p, "CorsPolicy "+objectRef(p.Namespace, p.Name), governedByPolicy
			continue
		}
		if policyTargets(p, t.Kind, t.Name, objLabels) {
			t.Notes = append(t.Notes, fmt.Sprintf("CorsPolicy %s also targets this %s but does not govern it%s",
				objectRef(p.Namespace, p.Name), t.Kind, targetReason(p, t.Kind, t.Name)))
		}
	}
	switch {
	case name != "" && t.Policy == nil:
		t.Notes = append(t.Notes, fmt.Sprintf("the %s names CorsPolicy %q in %s, which does not exist any more; its configuration is left over",
			t.Kind, name, policyAnnotation))
		t.GovernedBy = governedByHand
	case t.Policy != nil:
	case t.model.Effective().Enabled:
		t.GovernedBy = governedByHand
	default:
		t.GovernedBy = governedByNone
	}
	return nil
}

// policyTargets reports whether a policy names or selects an object.
func policyTargets(p *kubecorsv1alpha1.CorsPolicy, kind, name string, objLabels map[string]string) bool {
	for _, ref := range p.Spec.TargetRefs {
		if ref.Kind == kind && ref.Name == name {
			return true
		}
	}
	if p.Spec.TargetSelector == nil {
		return false
	}
	selector, err := metav1.LabelSelectorAsSelector(p.Spec.TargetSelector)
	return err == nil && selector.Matches(labels.Set(objLabels))
}

// targetReason is the policy's status message for the target, if any.
func targetReason(p *kubecorsv1alpha1.CorsPolicy, kind, name string) string {
	if c := meta.FindStatusCondition(p.Status.Conditions, kubecorsv1alpha1.ConditionAccepted); c != nil && c.Status != metav1.ConditionTrue {
		return fmt.Sprintf(" (not accepted, %s: %s)", c.Reason, c.Message)
	}
	for _, ts := range p.Status.Targets {
		if ts.TargetRef.Kind != kind || ts.TargetRef.Name != name {
			continue
		}
		if c := meta.FindStatusCondition(ts.Conditions, kubecorsv1alpha1.ConditionProgrammed); c != nil {
			return fmt.Sprintf(" (%s: %s)", c.Reason, c.Message)
		}
	}
	return ""
}

// explainReport is the outcome of explain, printed as a table, JSON or YAML.
type explainReport struct {
	Target     string               `json:"target"`
	DataPlane  string               `json:"dataPlane"`
	Detection  string               `json:"detection,omitempty"`
	GovernedBy string               `json:"governedBy"`
	Policy     string               `json:"policy,omitempty"`
	Notes      []string             `json:"notes,omitempty"`
	Request    requestView          `json:"request"`
	Effective  dataplanes.Effective `json:"effective"`
	Preflight  *exchangeView        `json:"preflight,omitempty"`
	Actual     *exchangeView        `json:"actual,omitempty"`
	Verdict    corscheck.Verdict    `json:"verdict"`
	// Causes name the defaults and fall-backs of the data plane that
	// produced the failing response, with the setting they stand for.
	Causes []string `json:"causes,omitempty"`
	// Fix is the change that removes the block, in the terms of what
	// governs the target.
	Fix string `json:"fix,omitempty"`
	// Hints are further advice: alternatives, migration to a CorsPolicy.
	Hints []string `json:"hints,omitempty"`
}

// exchangeView is one request of the exchange and its simulated response.
type exchangeView struct {
	AnsweredBy     string      `json:"answeredBy"`
	RequestHeaders http.Header `json:"requestHeaders"`
	Status         int         `json:"status"`
	Headers        http.Header `json:"headers"`
}

// explain runs the browser's CORS check against the target's model and
// works out the fix for a block.
func explain(t *explainTarget, req corscheck.Request) (*explainReport, error) {
	ex, verdict, err := corscheck.Run(t.model, req)
	if err != nil {
		return nil, err
	}
	eff := t.model.Effective()
	r := &explainReport{
		Target: t.Ref, DataPlane: eff.DataPlane, Detection: t.Detection, GovernedBy: t.GovernedBy, Policy: t.PolicyRef,
		Notes: t.Notes, Effective: eff, Verdict: verdict,
		Request: viewOf(req),
	}
	if len(r.Request.Headers) == 0 {
		r.Request.Headers = nil
	}
	sent, _ := corscheck.Normalize(req)
	if ex.Preflight != nil {
		r.Preflight = &exchangeView{AnsweredBy: answeredBy(t.model, sent, true), RequestHeaders: corscheck.PreflightRequestHeaders(req),
			Status: ex.Preflight.Status, Headers: ex.Preflight.Header}
	}
	if ex.Actual != nil {
		r.Actual = &exchangeView{AnsweredBy: answeredBy(t.model, sent, false), RequestHeaders: corscheck.ActualRequestHeaders(req),
			Status: ex.Actual.Status, Headers: ex.Actual.Header}
	}
	r.Fix, r.Hints = t.fix(req, verdict)
	if verdict.Failure != nil {
		r.Causes = causes(eff, verdict.Failure.Class)
	}
	if verdict.Allowed && t.GovernedBy != governedByPolicy {
		// Allowed is not the same as safe: say what audit would say.
		for _, f := range auditModel(auditTarget{model: t.model}) {
			if severityRank[f.Severity] >= severityRank[severityMedium] {
				r.Hints = append(r.Hints, fmt.Sprintf("allowed, but %s (%s, %s risk; see kubectl cors audit)", f.Message, f.Rule, f.Severity))
			}
		}
	}
	return r, nil
}

// causeSettings are the settings behind each failure class.
var causeSettings = map[string][]string{
	corscheck.ClassWildcardWithCredentials: {dataplanes.SettingAllowOrigins, dataplanes.SettingAllowCredentials},
	corscheck.ClassCredentialsNotAllowed:   {dataplanes.SettingAllowCredentials},
	corscheck.ClassNoCORSHeaders:           {dataplanes.SettingEnabled, dataplanes.SettingAllowOrigins, dataplanes.SettingAllowOriginRegexes},
	corscheck.ClassOriginMismatch:          {dataplanes.SettingAllowOrigins, dataplanes.SettingAllowOriginRegexes},
	corscheck.ClassMethodNotAllowed:        {dataplanes.SettingAllowMethods},
	corscheck.ClassHeaderNotAllowed:        {dataplanes.SettingAllowHeaders},
	corscheck.ClassHeaderNotExposed:        {dataplanes.SettingExposeHeaders},
}

// causes lists the settings behind a failure that the data plane did not
// take as written: its defaults and silent fall-backs, which are what
// people do not expect.
func causes(eff dataplanes.Effective, class string) []string {
	var out []string
	for _, name := range causeSettings[class] {
		for _, s := range eff.Settings {
			if s.Name == name && s.Source != dataplanes.SourceWritten && s.Note != "" {
				out = append(out, s.Key+": "+s.Note)
			}
		}
	}
	return out
}

// answeredBy names who produced a response, for people.
func answeredBy(m dataplanes.Model, req corscheck.Request, preflight bool) string {
	dp := m.Effective().DataPlane
	if m.AnsweredBy(req, preflight) == dataplanes.ByBackend {
		return fmt.Sprintf("the backend (%s adds no CORS header; the backend is assumed not to either)", dp)
	}
	if preflight {
		return dp
	}
	return "the backend, with CORS headers from " + dp
}

// credentialsDefaulted reports whether credentials are on only because the
// data plane defaults them to true.
func credentialsDefaulted(eff dataplanes.Effective) bool {
	s, ok := eff.Setting(dataplanes.SettingAllowCredentials)
	return ok && s.Source != dataplanes.SourceWritten && s.Effective == trueValue
}

// fix works out the change that removes the first failure, in the terms of
// what governs the target, and further hints.
func (t *explainTarget) fix(req corscheck.Request, v corscheck.Verdict) (string, []string) {
	if v.Failure == nil {
		return "", nil
	}
	d := v.Failure
	switch t.GovernedBy {
	case governedByPolicy:
		return t.policyFix(req, d)
	case governedByHand:
		fix := d.Fix
		if d.Change != nil && t.fixer != nil {
			if f, ok := t.fixer.Edit(*d.Change, d, req); ok {
				fix = f
			}
		}
		hints := []string{fmt.Sprintf("this CORS configuration is hand-written; to let kubecors manage it, "+
			"\"kubectl cors audit -n %s --suggest\" prints a CorsPolicy that reproduces it safely", t.Namespace)}
		if d.Class == corscheck.ClassWildcardWithCredentials && t.fixer != nil {
			hints = append(hints, `or, if the page does not need cookies or HTTP authentication, drop credentials: "include" from the request, `+
				`or set credentials off explicitly (`+t.fixer.CredentialsOff()+`)`)
		}
		return fix, hints
	}
	// Nothing configures CORS for the target: a policy is the way to add it.
	fix := fmt.Sprintf("create a CorsPolicy in namespace %s with targetRefs naming %s %s and spec.allowOrigins: [%q]",
		t.Namespace, t.Kind, t.Name, req.Origin)
	if d.Change != nil && d.Change.Field != corscheck.FieldAllowOrigins {
		fix += ", and " + d.Change.Render(corscheck.SpecField)
	}
	return fix, []string{"server-side alternative: " + d.ServerFix}
}

// policyFix writes the fix as a change of the governing CorsPolicy, after
// telling apart a policy that forbids the request from one that allows it
// but whose data plane (or stale configuration) does not.
func (t *explainTarget) policyFix(req corscheck.Request, d *corscheck.Diagnosis) (string, []string) {
	_, policyVerdict, err := corscheck.Run(dataplanes.ParsePolicy(t.Policy.Spec), req)
	if err == nil && policyVerdict.Allowed && t.model.Effective().DataPlane != dataplanes.PolicyDataPlane {
		return t.notExpressed(req)
	}
	failure := d
	if err == nil && policyVerdict.Failure != nil {
		failure = policyVerdict.Failure
	}
	if failure.Change == nil {
		return failure.Fix + " (" + t.PolicyRef + ")", nil
	}
	fix := failure.Change.Render(func(field string) string { return corscheck.SpecField(field) + " of " + t.PolicyRef })
	var hints []string
	changed := t.Policy.Spec.DeepCopy()
	applyChange(changed, *failure.Change)
	if errs, _ := corsrules.ValidateSpec(changed, specFieldPath); len(errs) > 0 {
		hints = append(hints, "kubecors would reject the policy after that change: "+errs.ToAggregate().Error())
	}
	return fix, hints
}

// notExpressed explains a block that the policy itself does not impose:
// either the data plane cannot express the policy (narrowed or refused), or
// the configuration on the target is not what kubecors renders now.
func (t *explainTarget) notExpressed(req corscheck.Request) (string, []string) {
	dp := t.model.Effective().DataPlane
	stale := fmt.Sprintf("%s allows this request, but the configuration on %s %s is not what kubecors renders for it now: "+
		"kubecors has not programmed it (see kubectl cors status -n %s)", t.PolicyRef, t.Kind, objectRef(t.Namespace, t.Name), t.Namespace)
	if t.rendered == nil {
		return stale, nil
	}
	model, narrowed, refused := t.rendered()
	switch {
	case refused != "":
		return fmt.Sprintf("%s allows this request, but kubecors cannot program it on %s: %s", t.PolicyRef, dp, refused), nil
	case model == nil:
		return stale, nil
	}
	if _, v, err := corscheck.Run(model, req); err == nil && v.Allowed && t.Kind != corsPolicyKind {
		return stale, nil
	}
	reasons := make([]string, 0, len(narrowed))
	for _, n := range narrowed {
		reasons = append(reasons, fmt.Sprintf("%s %q: %s", n.Field, n.Value, n.Reason))
	}
	if len(reasons) == 0 {
		return fmt.Sprintf("%s allows this request, but %s answers differently from the policy's own semantics", t.PolicyRef, dp), nil
	}
	var hints []string
	if dp != traefik.Name {
		hints = append(hints, "Traefik expresses every valid CorsPolicy exactly; on "+dp+", change the policy as the fix says")
	}
	return fmt.Sprintf("%s allows this request, but %s cannot express all of it: %s", t.PolicyRef, dp, strings.Join(reasons, "; ")), hints
}

// specFieldPath is the path CorsPolicy spec errors are reported under.
var specFieldPath = field.NewPath("spec")

// applyChange applies a corscheck change to a spec, to validate the result.
func applyChange(spec *kubecorsv1alpha1.CorsPolicySpec, c corscheck.Change) {
	edit := func(list []string) []string {
		if c.Action == corscheck.ActionReplace {
			list = slices.DeleteFunc(list, func(v string) bool { return v == c.Replaces })
		}
		for _, v := range c.Values {
			if !slices.Contains(list, v) {
				list = append(list, v)
			}
		}
		return list
	}
	switch c.Field {
	case corscheck.FieldAllowOrigins:
		spec.AllowOrigins = convertList[kubecorsv1alpha1.Origin](edit(stringList(spec.AllowOrigins)))
	case corscheck.FieldAllowMethods:
		spec.AllowMethods = convertList[kubecorsv1alpha1.HTTPMethod](edit(stringList(spec.AllowMethods)))
	case corscheck.FieldAllowHeaders:
		spec.AllowHeaders = convertList[kubecorsv1alpha1.RequestHeaderName](edit(stringList(spec.AllowHeaders)))
	case corscheck.FieldExposeHeaders:
		spec.ExposeHeaders = convertList[kubecorsv1alpha1.ResponseHeaderName](edit(stringList(spec.ExposeHeaders)))
	case corscheck.FieldAllowCredentials:
		on := len(c.Values) > 0 && c.Values[0] == trueValue
		spec.AllowCredentials = &on
	}
}

// stringList converts a list of string-based API values to strings.
func stringList[T ~string](values []T) []string {
	out := make([]string, len(values))
	for i, v := range values {
		out[i] = string(v)
	}
	return out
}

// convertList converts strings to a string-based API type.
func convertList[T ~string](values []string) []T {
	out := make([]T, len(values))
	for i, v := range values {
		out[i] = T(v)
	}
	return out
}

// objectRef writes namespace/name, or name alone for cluster objects.
func objectRef(namespace, name string) string {
	if namespace == "" {
		return name
	}
	return namespace + "/" + name
}

// printExplainReport prints the report in the chosen format.
func printExplainReport(w io.Writer, format string, r *explainReport) error {
	switch format {
	case outputJSON:
		return writeJSON(w, r)
	case outputYAML:
		return writeYAML(w, r)
	}
	p := &textPrinter{w: w}
	p.field("Target", r.Target)
	p.field("Data plane", fmt.Sprintf("%s (%s)", r.DataPlane, r.Detection))
	governed := r.GovernedBy
	if r.Policy != "" {
		governed = r.Policy
	}
	p.field("Governed by", governed)
	p.field("Request", describeRequest(r.Request))
	for _, n := range r.Notes {
		p.field("Note", n)
	}
	p.line("")
	p.line("Effective configuration:")
	printSettings(p, r.Effective)
	p.linef("  Preflights: %s", r.Effective.Preflight)
	p.line("")
	if r.Verdict.PreflightNeeded {
		p.linef("Preflight: needed, because %s", strings.Join(r.Verdict.PreflightReasons, "; "))
	} else {
		p.line("Preflight: not needed")
	}
	if r.Preflight != nil {
		p.linef("  sent: OPTIONS with %s", inlineHeaders(r.Preflight.RequestHeaders, "Origin", "Access-Control-Request-Method", "Access-Control-Request-Headers"))
		printResponse(p, r.Preflight)
	}
	if r.Actual != nil {
		p.linef("Actual request: %s", r.Request.Method)
		printResponse(p, r.Actual)
	} else {
		p.linef("Actual request: not sent (the preflight failed)")
	}
	p.line("")
	p.line("Checks:")
	rows := make([][]string, 0, len(r.Verdict.Steps))
	for _, s := range r.Verdict.Steps {
		rows = append(rows, []string{s.Stage, s.Check, strings.ToUpper(s.Outcome), s.Detail})
	}
	writeTable(p, "  ", rows)
	p.line("")
	if r.Verdict.Allowed {
		p.line("Verdict: ALLOWED")
	} else {
		p.linef("Verdict: BLOCKED (%s)", r.Verdict.Failure.Class)
		p.field("  Why", r.Verdict.Failure.Message)
		for _, c := range r.Causes {
			p.field("  Because", c)
		}
		p.field("  Fix", r.Fix)
	}
	if len(r.Verdict.ReadableHeaders) > 0 {
		p.field("  Readable", strings.Join(r.Verdict.ReadableHeaders, ", "))
	}
	for _, w := range r.Verdict.Warnings {
		p.field("  Warning", w.Message)
	}
	for _, h := range r.Hints {
		p.field("  Hint", h)
	}
	return p.err
}

// describeRequest writes the page's request in one line.
func describeRequest(r requestView) string {
	parts := []string{fmt.Sprintf("%s from %s", r.Method, r.Origin)}
	if r.Credentials {
		parts = append(parts, "with credentials")
	} else {
		parts = append(parts, "without credentials")
	}
	if len(r.Headers) > 0 {
		parts = append(parts, "headers "+inlineHeaders(r.Headers))
	}
	if len(r.ReadHeaders) > 0 {
		parts = append(parts, "reads "+strings.Join(r.ReadHeaders, ", "))
	}
	return strings.Join(parts, ", ")
}

// printSettings prints the effective configuration's settings as a table.
func printSettings(p *textPrinter, e dataplanes.Effective) {
	if len(e.Settings) == 0 {
		p.line("  (no CORS configuration)")
		return
	}
	rows := [][]string{{"KEY", "WRITTEN", "EFFECTIVE", "SOURCE", "NOTE"}}
	for _, s := range e.Settings {
		written := "(absent)"
		if s.Present {
			written = displayValue(s.Written)
		}
		effective := s.Effective
		switch {
		case s.Present && s.Source == dataplanes.SourceWritten && strings.TrimSpace(s.Written) == s.Effective:
			effective = "(as written)"
		case effective == "":
			effective = "(none)"
		}
		rows = append(rows, []string{s.Key, written, effective, string(s.Source), s.Note})
	}
	writeTable(p, "  ", rows)
}

// writeTable prints rows as aligned columns, each line indented, without
// trailing spaces.
func writeTable(w io.Writer, indent string, rows [][]string) {
	var buf bytes.Buffer
	tw := tabwriter.NewWriter(&buf, 0, 0, 2, ' ', 0)
	for _, row := range rows {
		_, _ = fmt.Fprintln(tw, indent+strings.Join(row, "\t"))
	}
	_ = tw.Flush()
	for line := range strings.Lines(buf.String()) {
		_, _ = fmt.Fprintln(w, strings.TrimRight(line, " \n"))
	}
}

// displayValue quotes a written value for a table: plainly, unless it
// holds characters a reader could not see.
func displayValue(v string) string {
	if strings.ContainsFunc(v, func(r rune) bool { return r == '"' || !unicode.IsPrint(r) }) {
		return strconv.Quote(v)
	}
	return `"` + v + `"`
}

// printResponse prints who answered and the response's headers.
func printResponse(p *textPrinter, x *exchangeView) {
	p.linef("  answered by %s: %s", x.AnsweredBy, statusLine(x.Status))
	names := make([]string, 0, len(x.Headers))
	for name := range x.Headers {
		names = append(names, name)
	}
	slices.Sort(names)
	for _, name := range names {
		for _, v := range x.Headers[name] {
			p.linef("    %s: %s", name, v)
		}
	}
	if len(names) == 0 {
		p.line("    (no headers)")
	}
}

// statusLine writes a status as "204 No Content".
func statusLine(status int) string {
	return strings.TrimSpace(fmt.Sprintf("%d %s", status, http.StatusText(status)))
}

// inlineHeaders writes headers as "Name: value; Name: value", the named
// ones first in the given order, then the rest sorted.
func inlineHeaders(h http.Header, first ...string) string {
	var names []string
	for _, name := range first {
		if _, ok := h[http.CanonicalHeaderKey(name)]; ok {
			names = append(names, http.CanonicalHeaderKey(name))
		}
	}
	var rest []string
	for name := range h {
		if !slices.Contains(names, name) {
			rest = append(rest, name)
		}
	}
	slices.Sort(rest)
	names = append(names, rest...)
	parts := make([]string, 0, len(names))
	for _, name := range names {
		parts = append(parts, name+": "+strings.Join(h[name], ", "))
	}
	return strings.Join(parts, "; ")
}

// textPrinter writes lines and keeps the first error, so that printing
// code reads straight.
type textPrinter struct {
	w   io.Writer
	err error
}

func (p *textPrinter) Write(b []byte) (int, error) {
	if p.err != nil {
		return 0, p.err
	}
	n, err := p.w.Write(b)
	p.err = err
	return n, err
}

func (p *textPrinter) line(s string) { _, _ = fmt.Fprintln(p, s) }

func (p *textPrinter) linef(format string, args ...any) { _, _ = fmt.Fprintf(p, format+"\n", args...) }

// field prints "Name: value", indenting continuation lines under the value.
func (p *textPrinter) field(name, value string) {
	pad := strings.Repeat(" ", max(13-len(name)-1, 1))
	value = strings.ReplaceAll(value, "\n", "\n"+strings.Repeat(" ", len(name)+1+len(pad)))
	p.linef("%s:%s%s", name, pad, value)
}

// writeJSON writes v as indented JSON.
func writeJSON(w io.Writer, v any) error {
	encoder := json.NewEncoder(w)
	encoder.SetIndent("", "  ")
	return encoder.Encode(v)
}

// writeYAML writes v as YAML, through its JSON form.
func writeYAML(w io.Writer, v any) error {
	data, err := yaml.Marshal(v)
	if err != nil {
		return err
	}
	_, err = w.Write(data)
	return err
}
