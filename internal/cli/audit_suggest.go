package cli

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/validation/field"
	"sigs.k8s.io/yaml"

	kubecorsv1alpha1 "github.com/kubecors/kubecors/api/v1alpha1"
	"github.com/kubecors/kubecors/internal/corscheck"
	"github.com/kubecors/kubecors/internal/corsrules"
	"github.com/kubecors/kubecors/internal/dataplanes"
	"github.com/kubecors/kubecors/internal/dataplanes/gatewayapi"
	"github.com/kubecors/kubecors/internal/dataplanes/registry"
)

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
	ref := kubecorsv1alpha1.PolicyTargetReference{Group: "networking.k8s.io", Kind: t.object.Kind, Name: t.object.Name}
	if t.object.Kind == gatewayapi.HTTPRouteKind {
		ref.Group = gatewayapi.Group
		if t.section != "" {
			ref.SectionName = &t.section
		}
	}
	if dp, ok := registry.ForTargetKind(t.object.Kind); ok {
		ref.Group = dp.Target.Group()
	}
	spec := s.spec(t.model, []kubecorsv1alpha1.PolicyTargetReference{ref})
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

// takeOverNote is the change note of takeOverExistingConfiguration.
const takeOverNote = "takeOverExistingConfiguration lets kubecors replace the hand-written configuration; review this policy before applying it"

// policySuggester collects the decisions of one suggestion.
type policySuggester struct {
	eff     dataplanes.Effective
	changes []string
	// narrowWildcards leaves out the "*." origins whose meaning on the
	// data plane is narrower than a CorsPolicy's (ingress-nginx's one
	// label), so that the policy is never wider; audit's suggestions keep
	// them with a note, migrate leaves them out unless told otherwise.
	narrowWildcards bool
	// wildcardOptIn says that the user chose to keep them, wider
	// (migrate --any-depth-wildcards).
	wildcardOptIn bool
}

func (s *policySuggester) note(change string) { s.changes = append(s.changes, change) }

// spec writes the CorsPolicy spec that reproduces the model's
// configuration for targets, safely, noting every change.
func (s *policySuggester) spec(m dataplanes.Model, targets []kubecorsv1alpha1.PolicyTargetReference) kubecorsv1alpha1.CorsPolicySpec {
	eff := s.eff
	spec := kubecorsv1alpha1.CorsPolicySpec{TargetRefs: targets}
	credentials := s.credentials(m)
	spec.AllowOrigins = s.origins(m, &credentials)
	spec.AllowCredentials = &credentials
	spec.AllowMethods = convertList[kubecorsv1alpha1.HTTPMethod](s.methods(credentials))
	spec.AllowHeaders = convertList[kubecorsv1alpha1.RequestHeaderName](s.headers(dataplanes.SettingAllowHeaders, eff.AllowHeaders, credentials, true))
	spec.ExposeHeaders = convertList[kubecorsv1alpha1.ResponseHeaderName](s.headers(dataplanes.SettingExposeHeaders, eff.ExposeHeaders, credentials, false))
	spec.MaxAge = s.maxAge()
	// The hand-written configuration is still there when the policy is
	// created; kubecors reports a conflict unless told to take it over.
	spec.TakeOverExistingConfiguration = true
	s.note(takeOverNote)
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
	return spec
}

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
		case p.SubdomainWildcard && wildcardNote(s.eff.DataPlane) != "" && s.narrowWildcards:
			s.note(fmt.Sprintf("%q left out: %s matched exactly one label in place of \"*.\" (%s), but in a CorsPolicy, as in Gateway API's CORS filter, "+
				"it matches any number of labels (%s too); list the subdomains your pages use, or run migrate with --any-depth-wildcards "+
				"if every deeper subdomain is yours too", o, s.eff.DataPlane, wildcardSample(p, "app"), wildcardSample(p, "a.b")))
			continue
		case p.SubdomainWildcard && wildcardNote(s.eff.DataPlane) != "" && s.wildcardOptIn:
			s.note(fmt.Sprintf("%q kept as --any-depth-wildcards asks: it now matches any number of labels (%s too), where %s matched one (%s)",
				o, wildcardSample(p, "a.b"), s.eff.DataPlane, wildcardSample(p, "app")))
		case p.SubdomainWildcard && wildcardNote(s.eff.DataPlane) != "":
			s.note(fmt.Sprintf("%q: %s", o, wildcardNote(s.eff.DataPlane)))
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

// wildcardSample is an origin a "*." pattern matches, with labels in place
// of the "*".
func wildcardSample(p corsrules.OriginPattern, labels string) string {
	sample := p
	sample.SubdomainWildcard = false
	sample.Host = labels + "." + p.Host
	return sample.String()
}

// wildcardNote is what a hand-written "*." means on a data plane, when that
// differs from a CorsPolicy's.
func wildcardNote(dataPlane string) string {
	plane, _ := registry.Lookup(dataPlane)
	return plane.SubdomainWildcardNote
}
