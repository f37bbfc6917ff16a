package cli

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/spf13/cobra"
	networkingv1 "k8s.io/api/networking/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/validation/field"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/cli-runtime/pkg/genericiooptions"
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

// Severities of audit findings, from the most to the least urgent.
const (
	severityHigh   = "high"
	severityMedium = "medium"
	severityLow    = "low"
	severityInfo   = "info"
)

// severityRank orders severities; a higher rank is more urgent.
var severityRank = map[string]int{severityInfo: 0, severityLow: 1, severityMedium: 2, severityHigh: 3}

// auditRule is one kind of finding, with its SARIF identity.
type auditRule struct {
	ID, Name, Short, Help string
}

// The rules of audit. IDs never change meaning, because CI systems
// suppress findings by rule ID.
var (
	ruleWildcardCredentials = auditRule{"KCORS001", "wildcard-with-credentials", "Any origin with credentials",
		`The target answers every origin with Access-Control-Allow-Origin: * and Access-Control-Allow-Credentials: true. Browsers refuse credentialed reads with "*", but the configuration says "any site may read my users' data": one change to an echoing data plane or a backend that reflects the Origin makes it true. List the trusted origins, or turn credentials off.`}
	ruleReflectedOrigin = auditRule{"KCORS002", "reflected-any-origin", "Any origin is echoed",
		"The target echoes an arbitrary Origin in Access-Control-Allow-Origin. With credentials, any website a user visits can read the user's responses from this target. List the trusted origins instead."}
	ruleNullOrigin = auditRule{"KCORS003", "null-origin", `The "null" origin is allowed`,
		`Any page can send Origin: null, from a sandboxed iframe or a local file, so allowing "null" allows everyone. Remove it.`}
	ruleInsecureOrigin = auditRule{"KCORS004", "insecure-origin-with-credentials", "Plain-http origin with credentials",
		"A plain-http origin may read credentialed responses; anyone on the network path between that page and its users can inject script into it. Serve the page over https and allow the https origin."}
	rulePublicSuffix = auditRule{"KCORS005", "public-suffix-wildcard", "Wildcard over a public suffix",
		`A wildcard origin over a public suffix ("https://*.github.io", "https://*.com") matches sites of unrelated owners. Name the origins, or a wildcard under a domain you own.`}
	ruleSilentFallback = auditRule{"KCORS006", "silent-fallback", "Invalid value replaced by a default",
		"The data plane rejected a written value and silently uses its default, which is often permissive (any origin, a header list with Authorization). Fix the value, or let kubecors write it."}
	ruleMaxAge = auditRule{"KCORS007", "max-age-over-browser-cap", "Preflight cache above browser caps",
		"Browsers cap the preflight cache (Chromium at 7200 seconds, Firefox at 86400); a longer max age is not honoured and hides how long a change takes to reach browsers."}
	ruleConflict = auditRule{"KCORS008", "conflicting-policies", "Several policies or writers for one target",
		"More than one CorsPolicy targets the object, or kubecors found CORS configuration another writer owns; only one configuration can apply, and which one is easy to mistake."}
	ruleUnanchoredRegex = auditRule{"KCORS009", "unanchored-origin-regex", "Origin regex not anchored",
		`An origin regular expression without "^" and "$" also matches look-alike origins such as "https://app.example.com.evil.net". Anchor it at both ends.`}
	ruleMissingVary = auditRule{"KCORS010", "missing-vary-origin", "Echoed origin without Vary: Origin",
		"The response echoes the Origin but has no Vary: Origin, so a shared cache can serve one origin's response to another."}
	ruleIneffective = auditRule{"KCORS011", "ineffective-annotations", "CORS annotations of another data plane",
		"The object carries CORS annotations of a data plane that does not serve it; they have no effect, and readers believe they do."}
	ruleAnyOrigin = auditRule{"KCORS012", "any-origin", "Any origin may read responses",
		`Access-Control-Allow-Origin: * lets every website read this target's responses (without credentials). That is right for public data only.`}
)

// auditRules lists every rule, for SARIF's rule table.
var auditRules = []auditRule{ruleWildcardCredentials, ruleReflectedOrigin, ruleNullOrigin, ruleInsecureOrigin, rulePublicSuffix,
	ruleSilentFallback, ruleMaxAge, ruleConflict, ruleUnanchoredRegex, ruleMissingVary, ruleIneffective, ruleAnyOrigin}

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
Middlewares named by Ingresses, Gateway API HTTPRoute CORS filters (when the
cluster serves them), and what kubecors itself wrote. Each configuration is
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
}

// summary is the line audit prints on standard error.
func (r *auditResult) summary() string {
	counts := map[string]int{}
	for _, f := range r.Findings {
		counts[f.Severity]++
	}
	kinds := make([]string, 0, len(r.scanned))
	for _, kind := range [][2]string{{kubecorsv1alpha1.KindIngress, "Ingresses"}, {gatewayapi.HTTPRouteKind, "HTTPRoutes"}} {
		if n, ok := r.scanned[kind[0]]; ok {
			kinds = append(kinds, plural(n, kind[0], kind[1]))
		}
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%s: %d high, %d medium, %d low, %d info; scanned %s",
		plural(len(r.Findings), "finding", "findings"), counts[severityHigh], counts[severityMedium], counts[severityLow], counts[severityInfo],
		strings.Join(kinds, " and "))
	for _, n := range r.notes {
		b.WriteString("\nnote: " + n)
	}
	return b.String()
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
	middlewares, traefikServed, err := s.listUnstructured(ctx, middlewareListGVK, "")
	if err != nil {
		if middlewares, traefikServed, err = s.listUnstructured(ctx, middlewareListGVK, namespace); err != nil {
			return nil, fmt.Errorf("cannot list Traefik Middlewares: %w", err)
		}
	}
	routes, gatewayServed, err := s.listUnstructured(ctx, httpRouteListGVK, namespace)
	if err != nil {
		return nil, fmt.Errorf("cannot list HTTPRoutes: %w", err)
	}
	r.scanned[kubecorsv1alpha1.KindIngress] = len(ingresses.Items)
	for i := range ingresses.Items {
		r.auditIngress(&ingresses.Items[i], classes.Items, middlewares, traefikServed)
	}
	if gatewayServed {
		r.scanned[gatewayapi.HTTPRouteKind] = len(routes)
		for i := range routes {
			r.auditRoute(&routes[i], middlewares)
		}
	} else {
		r.notes = append(r.notes, "the cluster does not serve Gateway API HTTPRoutes; none were scanned")
	}
	r.Findings = append(r.Findings, conflictFindings(policies.Items, ingresses.Items, routes)...)
	sortFindings(r.Findings)
	return r, nil
}

// auditIngress audits the configuration of every data plane that may serve
// an Ingress: the detected one, or each whose annotations it carries.
func (r *auditResult) auditIngress(ing *networkingv1.Ingress, classes []networkingv1.IngressClass, middlewares []unstructured.Unstructured, traefikServed bool) {
	obj := auditObject{APIVersion: ingressAPIVersion, Kind: kubecorsv1alpha1.KindIngress, Namespace: ing.Namespace, Name: ing.Name}
	managedBy := ""
	if p := ing.Annotations[policyAnnotation]; p != "" {
		managedBy = "CorsPolicy " + objectRef(ing.Namespace, p)
	}
	detection := registry.DetectIngress(ing, classes)
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
		case dp == traefik.Name:
			if !traefikServed {
				continue
			}
			chain, _ := middlewareChain(ing.Annotations[traefik.MiddlewaresAnnotation], middlewares)
			var err error
			if model, err = traefik.ParseTraefik(chain); err != nil {
				r.Findings = append(r.Findings, auditFinding{RuleID: ruleSilentFallback.ID, Rule: ruleSilentFallback.Name, Severity: severityLow,
					Object: obj, DataPlane: dp, Key: traefik.MiddlewaresAnnotation, ManagedBy: managedBy, Message: err.Error()})
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
func (r *auditResult) auditRoute(route *unstructured.Unstructured, middlewares []unstructured.Unstructured) {
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
			var chain []traefik.Middleware
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
		default:
			continue
		}
		t := auditTarget{object: obj, model: model, key: key, managedBy: managedBy, section: rule.Name}
		r.targets = append(r.targets, t)
		r.Findings = append(r.Findings, auditModel(t)...)
	}
}

// auditProbeOrigin is an origin no configuration means to allow: the
// .invalid top-level domain is reserved and never resolves.
const auditProbeOrigin = "https://kubecors-audit.invalid"

// auditModel finds the risks of one configuration by reading its effective
// settings and probing its model with the requests an attacker would send.
func auditModel(t auditTarget) []auditFinding {
	eff := t.model.Effective()
	if !eff.Enabled {
		return nil
	}
	a := &auditor{target: t, eff: eff, originKey: settingKey(eff, dataplanes.SettingAllowOrigins, t.key)}
	reflected := a.probeOrigins()
	for _, origin := range eff.AllowOrigins {
		a.findings = append(a.findings, originFindings(t, eff, origin, a.originKey)...)
	}
	a.regexes(reflected)
	a.fallbacks()
	a.maxAge()
	a.vary()
	return a.findings
}

// auditor collects the findings of one configuration.
type auditor struct {
	target    auditTarget
	eff       dataplanes.Effective
	originKey string
	findings  []auditFinding
}

func (a *auditor) add(rule auditRule, severity, key, message string) {
	a.findings = append(a.findings, auditFinding{RuleID: rule.ID, Rule: rule.Name, Severity: severity, Object: a.target.object,
		DataPlane: a.eff.DataPlane, Key: key, Message: message, ManagedBy: a.target.managedBy})
}

// probeOrigins sends a credentialed request from an origin nobody means
// to allow, and from "null", and reports whether any origin is echoed.
func (a *auditor) probeOrigins() bool {
	eff := a.eff
	credKey := settingKey(eff, dataplanes.SettingAllowCredentials, a.target.key)
	probe := probeActual(a.target.model, auditProbeOrigin)
	acao, acac := probe.Get(dataplanes.HeaderAllowOrigin), probe.Get(dataplanes.HeaderAllowCredentials) == trueValue
	reflected := acao == auditProbeOrigin
	reflectKey := a.originKey
	if len(eff.AllowOriginRegexes) > 0 && !eff.AnyOrigin {
		// An arbitrary origin can only have come through a regex.
		reflectKey = settingKey(eff, dataplanes.SettingAllowOriginRegexes, a.target.key)
	}
	switch {
	case acao == "*" && acac:
		msg := fmt.Sprintf("any origin is allowed (%s) with Access-Control-Allow-Credentials: true", describeSource(eff, dataplanes.SettingAllowOrigins))
		if credentialsDefaulted(eff) {
			msg += fmt.Sprintf("; credentials are on because %s defaults them to true (%s is not set)", eff.DataPlane, credKey)
		}
		a.add(ruleWildcardCredentials, severityHigh, a.originKey, msg)
	case acao == "*":
		a.add(ruleAnyOrigin, severityInfo, a.originKey,
			fmt.Sprintf("any origin may read responses (%s), without credentials", describeSource(eff, dataplanes.SettingAllowOrigins)))
	case reflected && acac:
		a.add(ruleReflectedOrigin, severityHigh, reflectKey, fmt.Sprintf("an arbitrary origin (%s) is echoed with Access-Control-Allow-Credentials: true: "+
			"any website can read users' responses", auditProbeOrigin))
	case reflected:
		a.add(ruleReflectedOrigin, severityMedium, reflectKey, fmt.Sprintf("an arbitrary origin (%s) is echoed: any website can read the responses", auditProbeOrigin))
	}
	// An echo of any origin includes "null": reported once, as reflection.
	if null := probeActual(a.target.model, "null"); !reflected && null.Get(dataplanes.HeaderAllowOrigin) == "null" {
		severity := severityMedium
		if null.Get(dataplanes.HeaderAllowCredentials) == trueValue {
			severity = severityHigh
		}
		a.add(ruleNullOrigin, severity, a.originKey, `the "null" origin is allowed: sandboxed iframes and local files of any site send it`)
	}
	return reflected
}

// regexes reports origin regexes that are not anchored; one that matches
// any origin is already reported as reflection.
func (a *auditor) regexes(reflected bool) {
	for _, expr := range a.eff.AllowOriginRegexes {
		anchored := strings.HasPrefix(expr, "^") && strings.HasSuffix(expr, "$")
		if anchored || reflected && regexMatches(expr, auditProbeOrigin) {
			continue
		}
		severity := severityMedium
		if a.eff.AllowCredentials {
			severity = severityHigh
		}
		a.add(ruleUnanchoredRegex, severity, settingKey(a.eff, dataplanes.SettingAllowOriginRegexes, a.target.key),
			fmt.Sprintf("origin regex %q is not anchored at both ends, so look-alike origins match it too", expr))
	}
}

// fallbacks reports values the data plane replaced or narrowed silently.
func (a *auditor) fallbacks() {
	for _, s := range a.eff.Settings {
		if s.Source == dataplanes.SourceFallback || s.Source == dataplanes.SourceNarrowed {
			a.add(ruleSilentFallback, fallbackSeverity(s), s.Key, fmt.Sprintf("%s (written %s, used %q)", s.Note, strconv.Quote(s.Written), s.Effective))
		}
	}
}

// maxAge reports a preflight cache above the browsers' caps.
func (a *auditor) maxAge() {
	eff := a.eff
	if eff.MaxAge == nil || *eff.MaxAge <= corsrules.BrowserMaxAge {
		return
	}
	severity, limit := severityInfo, "Chromium's cap of 7200"
	if *eff.MaxAge > corsrules.MaxMaxAge {
		severity, limit = severityLow, "every browser's cap (Firefox 86400, Chromium 7200)"
	}
	msg := fmt.Sprintf("Access-Control-Max-Age is %d seconds, above %s", *eff.MaxAge, limit)
	if s, ok := eff.Setting(dataplanes.SettingMaxAge); ok && s.Source == dataplanes.SourceDefault {
		msg += fmt.Sprintf(" (%s's default)", eff.DataPlane)
	}
	a.add(ruleMaxAge, severity, settingKey(eff, dataplanes.SettingMaxAge, a.target.key), msg)
}

// vary reports an echoed origin without Vary: Origin. Gateway API leaves
// Vary to the implementation, which the model cannot know.
func (a *auditor) vary() {
	if a.eff.DataPlane == gatewayapi.Name {
		return
	}
	origin := firstExactOrigin(a.eff)
	if origin == "" {
		return
	}
	if resp := probeActual(a.target.model, origin); resp.Get(dataplanes.HeaderAllowOrigin) == origin && !varyOrigin(resp) {
		a.add(ruleMissingVary, severityLow, a.originKey, fmt.Sprintf("%s is echoed without Vary: Origin (%s never sends it)", origin, a.eff.DataPlane))
	}
}

// regexMatches reports whether expr compiles and matches s.
func regexMatches(expr, s string) bool {
	re, err := regexp.Compile(expr)
	return err == nil && re.MatchString(s)
}

// originFindings checks one allowed origin for insecure schemes and
// public-suffix wildcards.
func originFindings(t auditTarget, eff dataplanes.Effective, origin, key string) []auditFinding {
	var findings []auditFinding
	add := func(rule auditRule, severity, message string) {
		findings = append(findings, auditFinding{RuleID: rule.ID, Rule: rule.Name, Severity: severity, Object: t.object,
			DataPlane: eff.DataPlane, Key: key, Message: message, ManagedBy: t.managedBy})
	}
	scheme, rest, ok := strings.Cut(strings.ToLower(origin), "://")
	if !ok {
		return nil
	}
	host := originHost(rest)
	if scheme == "http" && eff.AllowCredentials && !slices.Contains(loopbackHosts, host) {
		add(ruleInsecureOrigin, severityMedium, fmt.Sprintf("%s is a plain-http origin allowed with credentials", origin))
	}
	if suffix, wildcard := strings.CutPrefix(host, "*."); wildcard {
		if corsrules.PublicSuffixWildcard(corsrules.OriginPattern{SubdomainWildcard: true, Host: suffix}) {
			severity := severityMedium
			if eff.AllowCredentials {
				severity = severityHigh
			}
			add(rulePublicSuffix, severity, fmt.Sprintf("%s covers the public suffix %q: sites of unrelated owners match it", origin, suffix))
		}
	}
	return findings
}

// loopbackHosts are the hosts whose plain-http origins cannot be read on
// the network path (CORS-RULES.md, rule 8).
var loopbackHosts = []string{"localhost", "127.0.0.1", "[::1]"}

// originHost is the host of an origin's "host[:port]" part, brackets kept
// for IPv6.
func originHost(rest string) string {
	if strings.HasPrefix(rest, "[") {
		if i := strings.Index(rest, "]"); i >= 0 {
			return rest[:i+1]
		}
	}
	host, _, _ := strings.Cut(rest, ":")
	return host
}

// fallbackSeverity rates a silently replaced value by what the default
// allows.
func fallbackSeverity(s dataplanes.Setting) string {
	switch {
	case s.Name == dataplanes.SettingAllowOrigins && s.Effective == "*":
		return severityHigh
	case s.Name == dataplanes.SettingAllowHeaders || s.Name == dataplanes.SettingAllowCredentials && s.Effective == trueValue:
		return severityMedium
	}
	return severityLow
}

// settingKey is the key of a named setting, or fallback.
func settingKey(eff dataplanes.Effective, name, fallback string) string {
	if s, ok := eff.Setting(name); ok {
		return s.Key
	}
	return fallback
}

// describeSource says where an effective value came from, for messages.
func describeSource(eff dataplanes.Effective, name string) string {
	s, ok := eff.Setting(name)
	switch {
	case !ok:
		return "as configured"
	case s.Source == dataplanes.SourceDefault:
		return fmt.Sprintf("%s is not set, and %s's default is %q", s.Key, eff.DataPlane, s.Effective)
	case s.Source == dataplanes.SourceFallback:
		return fmt.Sprintf("%s %q fails validation, and %s falls back to %q", s.Key, s.Written, eff.DataPlane, s.Effective)
	}
	return fmt.Sprintf("%s is %q", s.Key, s.Written)
}

// probeActual sends a credentialed GET from origin to the model.
func probeActual(m dataplanes.Model, origin string) http.Header {
	resp, err := m.Actual(corscheck.Request{Origin: origin, Method: http.MethodGet, Headers: http.Header{}, Credentials: true})
	if err != nil || resp.Header == nil {
		return http.Header{}
	}
	return resp.Header
}

// varyOrigin reports whether a response varies by Origin.
func varyOrigin(h http.Header) bool {
	for _, v := range h.Values(dataplanes.HeaderVary) {
		for item := range strings.SplitSeq(v, ",") {
			if item = strings.TrimSpace(item); item == "*" || strings.EqualFold(item, "Origin") {
				return true
			}
		}
	}
	return false
}

// firstExactOrigin is the first allowed origin without a wildcard.
func firstExactOrigin(eff dataplanes.Effective) string {
	for _, o := range eff.AllowOrigins {
		if strings.Contains(o, "://") && !strings.Contains(o, "*") {
			return o
		}
	}
	return ""
}

// conflictFindings reports targets that several CorsPolicies name or
// select, and targets whose policy status says Conflicted.
func conflictFindings(policies []kubecorsv1alpha1.CorsPolicy, ingresses []networkingv1.Ingress, routes []unstructured.Unstructured) []auditFinding {
	type target struct {
		obj    auditObject
		labels map[string]string
	}
	targets := make([]target, 0, len(ingresses)+len(routes))
	for _, ing := range ingresses {
		targets = append(targets, target{auditObject{ingressAPIVersion, kubecorsv1alpha1.KindIngress, ing.Namespace, ing.Name}, ing.Labels})
	}
	for _, r := range routes {
		targets = append(targets, target{auditObject{gatewayapi.Group + "/" + gatewayapi.Version, gatewayapi.HTTPRouteKind,
			r.GetNamespace(), r.GetName()}, r.GetLabels()})
	}
	var findings []auditFinding
	flagged := map[string]bool{}
	for _, t := range targets {
		// Each policy's sections of the target: "" is the whole target.
		sections := map[string][]string{}
		for i := range policies {
			if policies[i].Namespace == t.obj.Namespace {
				if s := targetSections(&policies[i], t.obj.Kind, t.obj.Name, t.labels); len(s) > 0 {
					sections[policies[i].Name] = s
				}
			}
		}
		names := overlapping(sections)
		if len(names) < 2 {
			continue
		}
		flagged[t.obj.String()] = true
		findings = append(findings, auditFinding{RuleID: ruleConflict.ID, Rule: ruleConflict.Name, Severity: severityMedium, Object: t.obj,
			Message: fmt.Sprintf("%d CorsPolicies target it (%s); only the oldest applies", len(names), strings.Join(names, ", "))})
	}
	for _, p := range policies {
		for _, ts := range p.Status.Targets {
			c := meta.FindStatusCondition(ts.Conditions, kubecorsv1alpha1.ConditionProgrammed)
			conflicted := meta.FindStatusCondition(ts.Conditions, kubecorsv1alpha1.ConditionConflicted)
			if (c == nil || c.Reason != kubecorsv1alpha1.ReasonConflicted) && (conflicted == nil || conflicted.Status != "True") {
				continue
			}
			if c == nil || c.Reason != kubecorsv1alpha1.ReasonConflicted {
				c = conflicted
			}
			obj := auditObject{ingressAPIVersion, ts.TargetRef.Kind, p.Namespace, ts.TargetRef.Name}
			if ts.TargetRef.Kind == kubecorsv1alpha1.KindHTTPRoute {
				obj.APIVersion = gatewayapi.Group + "/" + gatewayapi.Version
			}
			if flagged[obj.String()] && strings.Contains(c.Message, corsPolicyKind) {
				continue
			}
			findings = append(findings, auditFinding{RuleID: ruleConflict.ID, Rule: ruleConflict.Name, Severity: severityMedium, Object: obj,
				Message: fmt.Sprintf("CorsPolicy %s is not programmed here (Conflicted): %s", p.Name, c.Message)})
		}
	}
	return findings
}

// targetSections lists the parts of a target a policy names: "" for the
// whole target (a reference without sectionName, or the label selector),
// or HTTPRoute rule names.
func targetSections(p *kubecorsv1alpha1.CorsPolicy, kind, name string, objLabels map[string]string) []string {
	var sections []string
	for _, ref := range p.Spec.TargetRefs {
		if ref.Kind != kind || ref.Name != name {
			continue
		}
		section := ""
		if ref.SectionName != nil {
			section = *ref.SectionName
		}
		sections = append(sections, section)
	}
	if p.Spec.TargetSelector != nil && policyTargets(&kubecorsv1alpha1.CorsPolicy{Spec: kubecorsv1alpha1.CorsPolicySpec{
		TargetSelector: p.Spec.TargetSelector}}, kind, name, objLabels) {
		sections = append(sections, "")
	}
	return sections
}

// overlapping returns, sorted, the policies whose sections overlap another
// policy's: the same rule, or the whole target and anything.
func overlapping(sections map[string][]string) []string {
	var names []string
	for a, as := range sections {
		for b, bs := range sections {
			if a == b {
				continue
			}
			overlap := slices.ContainsFunc(as, func(x string) bool {
				return x == "" || slices.Contains(bs, x) || slices.Contains(bs, "")
			})
			if overlap && !slices.Contains(names, a) {
				names = append(names, a)
			}
		}
	}
	slices.Sort(names)
	return names
}

// sortFindings orders findings by severity, then object, rule and key, so
// that output is stable.
func sortFindings(findings []auditFinding) {
	slices.SortStableFunc(findings, func(a, b auditFinding) int {
		if d := severityRank[b.Severity] - severityRank[a.Severity]; d != 0 {
			return d
		}
		for _, pair := range [][2]string{{a.Object.Namespace, b.Object.Namespace}, {a.Object.Kind, b.Object.Kind},
			{a.Object.Name, b.Object.Name}, {a.RuleID, b.RuleID}, {a.Key, b.Key}, {a.Message, b.Message}} {
			if c := strings.Compare(pair[0], pair[1]); c != 0 {
				return c
			}
		}
		return 0
	})
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

// SARIF 2.1.0 (https://docs.oasis-open.org/sarif/sarif/v2.1.0/): the
// subset code-scanning tools read.
type (
	sarifLog struct {
		Version string     `json:"version"`
		Schema  string     `json:"$schema"`
		Runs    []sarifRun `json:"runs"`
	}
	sarifRun struct {
		Tool    sarifTool     `json:"tool"`
		Results []sarifResult `json:"results"`
	}
	sarifTool struct {
		Driver sarifDriver `json:"driver"`
	}
	sarifDriver struct {
		Name           string      `json:"name"`
		InformationURI string      `json:"informationUri"`
		Rules          []sarifRule `json:"rules"`
	}
	sarifRule struct {
		ID                   string            `json:"id"`
		Name                 string            `json:"name"`
		ShortDescription     sarifText         `json:"shortDescription"`
		FullDescription      sarifText         `json:"fullDescription"`
		Help                 sarifText         `json:"help"`
		DefaultConfiguration sarifRuleConfig   `json:"defaultConfiguration"`
		Properties           map[string]string `json:"properties"`
	}
	sarifRuleConfig struct {
		Level string `json:"level"`
	}
	sarifText struct {
		Text string `json:"text"`
	}
	sarifResult struct {
		RuleID              string            `json:"ruleId"`
		RuleIndex           int               `json:"ruleIndex"`
		Level               string            `json:"level"`
		Message             sarifText         `json:"message"`
		Locations           []sarifLocation   `json:"locations"`
		PartialFingerprints map[string]string `json:"partialFingerprints"`
		Properties          map[string]string `json:"properties"`
	}
	sarifLocation struct {
		LogicalLocations []sarifLogicalLocation `json:"logicalLocations"`
	}
	sarifLogicalLocation struct {
		Name               string `json:"name"`
		FullyQualifiedName string `json:"fullyQualifiedName"`
		Kind               string `json:"kind"`
	}
)

// sarifSchema is the JSON schema URI of SARIF 2.1.0.
const sarifSchema = "https://json.schemastore.org/sarif-2.1.0.json"

// sarifLevels maps severities to SARIF levels; security-severity carries
// the finer grading GitHub code scanning shows.
var (
	sarifLevels           = map[string]string{severityHigh: "error", severityMedium: "warning", severityLow: "note", severityInfo: "note"}
	sarifSecuritySeverity = map[string]string{severityHigh: "8.0", severityMedium: "5.0", severityLow: "2.0", severityInfo: "0.0"}
	// ruleSeverity is each rule's usual severity, SARIF's default level.
	ruleSeverity = map[string]string{
		ruleWildcardCredentials.ID: severityHigh, ruleReflectedOrigin.ID: severityHigh, ruleNullOrigin.ID: severityHigh,
		ruleInsecureOrigin.ID: severityMedium, rulePublicSuffix.ID: severityHigh, ruleSilentFallback.ID: severityMedium,
		ruleMaxAge.ID: severityLow, ruleConflict.ID: severityMedium, ruleUnanchoredRegex.ID: severityMedium,
		ruleMissingVary.ID: severityLow, ruleIneffective.ID: severityInfo, ruleAnyOrigin.ID: severityInfo,
	}
)

// sarifReport writes findings as a SARIF log whose locations are the
// objects, as logical locations ("networking.k8s.io/v1/Ingress/shop/api").
func sarifReport(findings []auditFinding) sarifLog {
	run := sarifRun{Tool: sarifTool{Driver: sarifDriver{Name: "kubectl-cors", InformationURI: "https://github.com/kubecors/kubecors"}},
		Results: []sarifResult{}}
	index := map[string]int{}
	for i, rule := range auditRules {
		index[rule.ID] = i
		run.Tool.Driver.Rules = append(run.Tool.Driver.Rules, sarifRule{
			ID: rule.ID, Name: rule.Name, ShortDescription: sarifText{rule.Short}, FullDescription: sarifText{rule.Help},
			Help: sarifText{rule.Help}, DefaultConfiguration: sarifRuleConfig{Level: sarifLevels[ruleSeverity[rule.ID]]},
			Properties: map[string]string{"security-severity": sarifSecuritySeverity[ruleSeverity[rule.ID]], "tags": "security,cors"},
		})
	}
	for _, f := range findings {
		fqn := fmt.Sprintf("%s/%s/%s", f.Object.APIVersion, f.Object.Kind, objectRef(f.Object.Namespace, f.Object.Name))
		sum := sha256.Sum256([]byte(f.RuleID + "\x00" + fqn + "\x00" + f.Key + "\x00" + f.Message))
		props := map[string]string{"severity": f.Severity, "security-severity": sarifSecuritySeverity[f.Severity]}
		if f.DataPlane != "" {
			props["dataPlane"] = f.DataPlane
		}
		if f.Key != "" {
			props["key"] = f.Key
		}
		if f.ManagedBy != "" {
			props["managedBy"] = f.ManagedBy
		}
		run.Results = append(run.Results, sarifResult{
			RuleID: f.RuleID, RuleIndex: index[f.RuleID], Level: sarifLevels[f.Severity],
			Message: sarifText{fmt.Sprintf("%s: %s", f.Object, f.Message)},
			Locations: []sarifLocation{{LogicalLocations: []sarifLogicalLocation{{
				Name: objectRef(f.Object.Namespace, f.Object.Name), FullyQualifiedName: fqn, Kind: "resource",
			}}}},
			PartialFingerprints: map[string]string{"kubecorsFinding/v1": hex.EncodeToString(sum[:16])},
			Properties:          props,
		})
	}
	return sarifLog{Version: "2.1.0", Schema: sarifSchema, Runs: []sarifRun{run}}
}

// auditSuggestion is a CorsPolicy that reproduces one hand-written
// configuration safely.
type auditSuggestion struct {
	Object auditObject `json:"object"`
	// Policy is the suggested CorsPolicy.
	Policy *kubecorsv1alpha1.CorsPolicy `json:"policy"`
	// Changes say what was dropped or narrowed, and why.
	Changes []string `json:"changes"`
	// YAML is the policy as YAML, with Changes as comments.
	YAML string `json:"yaml"`
}

// suggestions writes a CorsPolicy for each hand-written configuration that
// has findings.
func (r *auditResult) suggestions() []auditSuggestion {
	withFindings := map[string]bool{}
	for _, f := range r.Findings {
		withFindings[f.Object.String()] = true
	}
	var out []auditSuggestion
	for _, t := range r.targets {
		if t.managedBy != "" || !withFindings[t.object.String()] || !t.model.Effective().Enabled {
			continue
		}
		out = append(out, suggestPolicy(t))
	}
	return out
}

// suggestPolicy writes a CorsPolicy that reproduces what browsers were
// allowed by a target's effective configuration, leaving out or narrowing
// what the CORS rules reject, and saying so.
func suggestPolicy(t auditTarget) auditSuggestion {
	eff := t.model.Effective()
	s := &policySuggester{eff: eff}
	spec := kubecorsv1alpha1.CorsPolicySpec{}
	ref := kubecorsv1alpha1.PolicyTargetReference{Group: "networking.k8s.io", Kind: t.object.Kind, Name: t.object.Name}
	if t.object.Kind == gatewayapi.HTTPRouteKind {
		ref.Group = gatewayapi.Group
		if t.section != "" {
			ref.SectionName = &t.section
		}
	}
	spec.TargetRefs = []kubecorsv1alpha1.PolicyTargetReference{ref}
	credentials := s.credentials(t.model)
	spec.AllowOrigins = s.origins(t.model, &credentials)
	spec.AllowCredentials = &credentials
	spec.AllowMethods = convertList[kubecorsv1alpha1.HTTPMethod](s.methods(credentials))
	spec.AllowHeaders = convertList[kubecorsv1alpha1.RequestHeaderName](s.headers(dataplanes.SettingAllowHeaders, eff.AllowHeaders, credentials, true))
	spec.ExposeHeaders = convertList[kubecorsv1alpha1.ResponseHeaderName](s.headers(dataplanes.SettingExposeHeaders, eff.ExposeHeaders, credentials, false))
	spec.MaxAge = s.maxAge()
	// The hand-written configuration is still there when the policy is
	// created; kubecors reports a conflict unless told to take it over.
	spec.TakeOverExistingConfiguration = true
	s.note("takeOverExistingConfiguration lets kubecors replace the hand-written configuration; review this policy before applying it")
	// Whatever the steps above missed, the rules have the last word: drop
	// each entry they reject, and say why.
	for range 3 {
		errs, _ := corsrules.ValidateSpec(&spec, specFieldPath)
		if len(errs) == 0 {
			break
		}
		for _, err := range errs {
			s.note(fmt.Sprintf("dropped to satisfy the CORS rules: %s: %s", err.Field, err.Detail))
		}
		dropInvalid(&spec, errs)
	}
	policy := &kubecorsv1alpha1.CorsPolicy{
		TypeMeta:   metav1TypeMeta(),
		ObjectMeta: metav1ObjectMeta(t.object.Namespace, t.object.Name+"-cors"),
		Spec:       spec,
	}
	var b strings.Builder
	fmt.Fprintf(&b, "# CorsPolicy reproducing the hand-written %s configuration of %s.\n", eff.DataPlane, t.object)
	for _, c := range s.changes {
		fmt.Fprintf(&b, "# - %s\n", strings.ReplaceAll(c, "\n", "\n#   "))
	}
	data, err := yamlMarshalPolicy(policy)
	if err != nil {
		fmt.Fprintf(&b, "# cannot write the policy: %v\n", err)
	}
	b.Write(data)
	return auditSuggestion{Object: t.object, Policy: policy, Changes: s.changes, YAML: b.String()}
}

// policySuggester collects the decisions of one suggestion.
type policySuggester struct {
	eff     dataplanes.Effective
	changes []string
}

func (s *policySuggester) note(change string) { s.changes = append(s.changes, change) }

// credentials is what browsers were actually allowed: credentials work
// only when the origin is echoed, never with "*".
func (s *policySuggester) credentials(m dataplanes.Model) bool {
	if !s.eff.AllowCredentials {
		return false
	}
	if probeActual(m, auditProbeOrigin).Get(dataplanes.HeaderAllowOrigin) == "*" {
		s.note(fmt.Sprintf(`allowCredentials is false: %s answers "*" with credentials, which browsers refuse, so credentialed requests never worked; `+
			`if pages need cookies, replace "*" with their origins and set allowCredentials: true`, s.eff.DataPlane))
		return false
	}
	if credentialsDefaulted(s.eff) {
		s.note(fmt.Sprintf("allowCredentials is true only because %s defaults it to true; set it to false unless pages send cookies or HTTP authentication",
			s.eff.DataPlane))
	}
	return true
}

// origins keeps the origins the rules accept.
func (s *policySuggester) origins(m dataplanes.Model, credentials *bool) []kubecorsv1alpha1.Origin {
	if probeActual(m, auditProbeOrigin).Get(dataplanes.HeaderAllowOrigin) == auditProbeOrigin {
		s.note("allowOrigins is empty: the configuration echoed any origin; list the origins of your pages")
		return nil
	}
	var out []kubecorsv1alpha1.Origin
	for _, o := range s.eff.AllowOrigins {
		if o == "*" {
			if *credentials {
				s.note(`"*" left out: it cannot be combined with credentials; list the origins of your pages`)
				continue
			}
			out = append(out, "*")
			continue
		}
		candidate := strings.ToLower(o)
		p, err := corsrules.ParseOriginPattern(candidate)
		switch {
		case err != nil:
			s.note(fmt.Sprintf("%q left out: %v", o, err))
			continue
		case corsrules.PublicSuffixWildcard(p):
			s.note(fmt.Sprintf("%q left out: it covers a public suffix, so sites of unrelated owners match it", o))
			continue
		case *credentials && p.Scheme == corsrules.SchemeHTTP && !p.IsLoopback():
			s.note(fmt.Sprintf("%q left out: a plain-http origin cannot be allowed with credentials; serve the page over https and list https://%s",
				o, strings.TrimPrefix(p.String(), "http://")))
			continue
		case p.SubdomainWildcard && s.eff.DataPlane == ingressnginx.Name:
			s.note(fmt.Sprintf(`%q: ingress-nginx matched one label in place of "*."; in a CorsPolicy it matches one or more (kubecors still renders one label for ingress-nginx)`, o))
		}
		if !slices.Contains(out, kubecorsv1alpha1.Origin(p.String())) {
			out = append(out, kubecorsv1alpha1.Origin(p.String()))
		}
	}
	for _, expr := range s.eff.AllowOriginRegexes {
		s.note(fmt.Sprintf("origin regex %q left out: a CorsPolicy lists origins and wildcards; list the origins it is meant to match", expr))
	}
	return out
}

// methods keeps the methods the rules accept.
func (s *policySuggester) methods(credentials bool) []string {
	var out []string
	if setting, ok := s.eff.Setting(dataplanes.SettingAllowMethods); ok && setting.Source != dataplanes.SourceWritten && len(s.eff.AllowMethods) > 0 {
		s.note(fmt.Sprintf("allowMethods is %s's default list; trim it to the methods pages use", s.eff.DataPlane))
	}
	for _, m := range s.eff.AllowMethods {
		if m == "*" && credentials {
			s.note(`allowMethods "*" left out: with credentials browsers read it as a method named "*"; list the methods`)
			continue
		}
		if !slices.Contains(out, m) {
			out = append(out, m)
		}
	}
	return out
}

// headers keeps the request or response header names the rules accept.
func (s *policySuggester) headers(name string, names []string, credentials, request bool) []string {
	var out, forbidden []string
	if setting, ok := s.eff.Setting(name); ok && setting.Source != dataplanes.SourceWritten && len(names) > 0 {
		s.note(fmt.Sprintf("%s is %s's default list; trim it to the headers pages use", name, s.eff.DataPlane))
	}
	for _, h := range names {
		lower := strings.ToLower(h)
		switch {
		case h == "*" && credentials:
			s.note(fmt.Sprintf(`%s "*" left out: with credentials browsers read it as a header named "*"; list the headers`, name))
		case request && (slices.Contains(forbiddenRequestHeaderNames, lower) || strings.HasPrefix(lower, "sec-") || strings.HasPrefix(lower, "proxy-")):
			forbidden = append(forbidden, h)
		case !request && (lower == "set-cookie" || lower == "set-cookie2"):
			forbidden = append(forbidden, h)
		default:
			if !slices.ContainsFunc(out, func(o string) bool { return strings.EqualFold(o, h) }) {
				out = append(out, h)
			}
		}
	}
	if len(forbidden) > 0 {
		s.note(fmt.Sprintf("%s left out of %s: browsers never let pages use them, so listing them had no effect", strings.Join(forbidden, ", "), name))
	}
	return out
}

// forbiddenRequestHeaderNames are the Fetch standard's forbidden request
// headers that data planes' default lists carry.
var forbiddenRequestHeaderNames = []string{
	"accept-charset", "accept-encoding", "connection", "content-length", "cookie", "cookie2", "date", "dnt", "expect",
	"host", "keep-alive", "origin", "referer", "set-cookie", "te", "trailer", "transfer-encoding", "upgrade", "via",
}

// maxAge caps the preflight cache at Chromium's 7200 seconds.
func (s *policySuggester) maxAge() *int32 {
	if s.eff.MaxAge == nil {
		return nil
	}
	age := *s.eff.MaxAge
	if age > corsrules.BrowserMaxAge {
		s.note(fmt.Sprintf("maxAge is 7200 instead of %d: browsers cap it (Chromium at 7200 seconds) and kubecors warns above that", age))
		age = corsrules.BrowserMaxAge
	}
	if age < 0 {
		age = 0
	}
	v := int32(age)
	return &v
}

// dropInvalid removes the list entries that validation errors name.
func dropInvalid(spec *kubecorsv1alpha1.CorsPolicySpec, errs field.ErrorList) {
	drop := map[string][]int{}
	for _, err := range errs {
		path := err.Field
		i := strings.LastIndex(path, "[")
		if i < 0 || !strings.HasSuffix(path, "]") {
			// A rule about a whole list: clear the list.
			drop[strings.TrimPrefix(path, "spec.")] = nil
			continue
		}
		n, convErr := strconv.Atoi(path[i+1 : len(path)-1])
		if convErr == nil {
			list := strings.TrimPrefix(path[:i], "spec.")
			drop[list] = append(drop[list], n)
		}
	}
	keep := func(list string, n int) bool {
		indexes, ok := drop[list]
		return !ok || indexes != nil && !slices.Contains(indexes, n)
	}
	spec.AllowOrigins = filterIndexed(spec.AllowOrigins, func(n int) bool { return keep(corscheck.FieldAllowOrigins, n) })
	spec.AllowMethods = filterIndexed(spec.AllowMethods, func(n int) bool { return keep(corscheck.FieldAllowMethods, n) })
	spec.AllowHeaders = filterIndexed(spec.AllowHeaders, func(n int) bool { return keep(corscheck.FieldAllowHeaders, n) })
	spec.ExposeHeaders = filterIndexed(spec.ExposeHeaders, func(n int) bool { return keep(corscheck.FieldExposeHeaders, n) })
}

// filterIndexed keeps the entries whose index keep accepts.
func filterIndexed[T any](list []T, keep func(int) bool) []T {
	var out []T
	for i, v := range list {
		if keep(i) {
			out = append(out, v)
		}
	}
	return out
}

// metav1TypeMeta is the TypeMeta of a CorsPolicy.
func metav1TypeMeta() metav1.TypeMeta {
	return metav1.TypeMeta{APIVersion: kubecorsv1alpha1.GroupVersion.String(), Kind: corsPolicyKind}
}

// metav1ObjectMeta names a suggested policy.
func metav1ObjectMeta(namespace, name string) metav1.ObjectMeta {
	return metav1.ObjectMeta{Namespace: namespace, Name: name}
}

// yamlMarshalPolicy writes a policy as apply-ready YAML: no status, no
// empty metadata fields.
func yamlMarshalPolicy(p *kubecorsv1alpha1.CorsPolicy) ([]byte, error) {
	spec, err := runtime.DefaultUnstructuredConverter.ToUnstructured(&p.Spec)
	if err != nil {
		return nil, err
	}
	return yaml.Marshal(map[string]any{
		"apiVersion": p.APIVersion,
		"kind":       p.Kind,
		"metadata":   map[string]any{"name": p.Name, "namespace": p.Namespace},
		"spec":       spec,
	})
}
