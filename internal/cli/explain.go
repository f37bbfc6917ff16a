package cli

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"

	"github.com/spf13/cobra"
	networkingv1 "k8s.io/api/networking/v1"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/cli-runtime/pkg/genericiooptions"

	"github.com/kubecors/kubecors/internal/corscheck"
	"github.com/kubecors/kubecors/internal/dataplanes"
	"github.com/kubecors/kubecors/internal/dataplanes/gatewayapi"
	"github.com/kubecors/kubecors/internal/dataplanes/ingressnginx"
	"github.com/kubecors/kubecors/internal/dataplanes/registry"
)

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
		Use:   "explain (ingress/NAME | httproute/NAME | virtualservice/NAME | httpproxy/NAME | -f POLICY) --origin ORIGIN [--method METHOD] [--header 'NAME: VALUE']...",
		Short: "Explain what a browser does with a cross-origin request to a target, and how to fix a block",
		Long: `Simulate a browser's CORS check against a target without sending traffic.

explain finds what governs the target: the CorsPolicy that kubecors
programmed there (the kubecors.io/policy annotation) and the configuration it
rendered, or hand-written ingress-nginx, HAProxy Ingress or Traefik
configuration, an HTTPRoute's CORS filter, an Istio VirtualService http
route's corsPolicy or a Contour HTTPProxy's. It reads that configuration the
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
	f.StringVar(&o.rule, "rule", "", "HTTPRoute rule or Istio VirtualService http route to explain, by name or index (default: the only rule, or the first with a CORS configuration)")
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
	if _, known := registry.Lookup(o.dataPlane); o.dataPlane != "" && o.dataPlane != dataplanes.PolicyDataPlane && !known {
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
