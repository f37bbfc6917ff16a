package registry

import (
	"fmt"
	"maps"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/yaml"

	kubecorsv1alpha1 "github.com/kubecors/kubecors/api/v1alpha1"
	"github.com/kubecors/kubecors/internal/corsrules"
	"github.com/kubecors/kubecors/internal/dataplanes"
	"github.com/kubecors/kubecors/internal/dataplanes/contour"
	"github.com/kubecors/kubecors/internal/dataplanes/dataplanestest"
	"github.com/kubecors/kubecors/internal/dataplanes/haproxyingress"
	"github.com/kubecors/kubecors/internal/dataplanes/ingressnginx"
	"github.com/kubecors/kubecors/internal/dataplanes/istio"
	"github.com/kubecors/kubecors/internal/dataplanes/traefik"
)

// exact lists the data planes that can express every valid policy, so that
// they must allow exactly what the policy allows.
var exact = map[string]bool{traefik.Name: true, contour.Name: true}

// planeNamed is the registry entry of a data plane.
func planeNamed(t *testing.T, name string) dataplanes.DataPlane {
	t.Helper()
	dp, ok := Lookup(name)
	if !ok {
		t.Fatalf("no data plane %q", name)
	}
	return dp
}

// finding is a request on which a data plane and the policy disagree.
type finding struct {
	kind     string
	spec     kubecorsv1alpha1.CorsPolicySpec
	config   any
	request  dataplanestest.Request
	exchange string
}

func (f *finding) String() string {
	spec, _ := yaml.Marshal(f.spec)
	config, _ := yaml.Marshal(f.config)
	return fmt.Sprintf("%s\nrequest: %s\nresponses: %s\npolicy spec:\n%s\nrendered:\n%s", f.kind, f.request, f.exchange, spec, config)
}

// mutation damages a rendered configuration the way a renderer bug would;
// nil leaves it as rendered.
type mutation func(kubecorsv1alpha1.CorsPolicySpec, dataplanes.IngressConfig) dataplanes.IngressConfig

// targetMutation damages the configuration rendered for a target kind (an
// Istio or Contour corsPolicy), in place.
type targetMutation func(cors map[string]any)

// rendering is one policy rendered for a data plane and read back by the
// data plane's production reader.
type rendering struct {
	// shown is what a finding prints as the rendered configuration.
	shown any
	// model is nil when the policy was refused: kubecors writes nothing.
	model    dataplanes.Model
	narrowed bool
	// problems are the rendered values the reader does not take as written.
	problems []string
}

// renderFunc renders a policy spec for one data plane.
type renderFunc func(spec kubecorsv1alpha1.CorsPolicySpec) (rendering, error)

// ingressRendering renders with the data plane's Ingress renderer and
// reads back with ReadIngress.
func ingressRendering(dp dataplanes.DataPlane, mutate mutation) renderFunc {
	return func(spec kubecorsv1alpha1.CorsPolicySpec) (rendering, error) {
		config := dp.Ingress.RenderIngress(dataplanes.Policy{Namespace: "shop", Name: "storefront", Spec: spec},
			dataplanes.IngressTarget{Namespace: "shop", Name: dataplanestest.TargetName})
		if mutate != nil {
			config = mutate(spec, config)
		}
		r := rendering{shown: dataplanestest.ToGolden(config), narrowed: len(config.Narrowed) > 0}
		if config.Refused != "" {
			return r, nil
		}
		m, err := dp.ReadIngress(config)
		if err != nil {
			return r, err
		}
		r.model, r.problems = m, notAsWritten(m)
		return r, nil
	}
}

// targetRendering renders for the data plane's target kind, on its sample
// object, applies the change and reads the object back with the kind's
// reader.
func targetRendering(dp dataplanes.DataPlane, mutate targetMutation) renderFunc {
	kind := dp.Target
	return func(spec kubecorsv1alpha1.CorsPolicySpec) (rendering, error) {
		obj := kind.Sample()
		change := kind.Render(dataplanes.Policy{Namespace: "shop", Name: "storefront", Spec: spec}, obj)
		if mutate != nil && change.CORS != nil {
			mutate(change.CORS)
		}
		r := rendering{shown: change, narrowed: len(change.Narrowed) > 0}
		if change.Refused != "" {
			return r, nil
		}
		if err := kind.Apply(obj, change, false); err != nil {
			return r, err
		}
		sections := kind.Read(obj)
		if len(sections) != 1 {
			return r, fmt.Errorf("%d sections read back, want 1", len(sections))
		}
		r.model, r.problems = sections[0].Model, append(sections[0].Problems, notAsWritten(sections[0].Model)...)
		return r, nil
	}
}

// notAsWritten lists the settings a data plane's reader does not take as
// written: a rendered value that fails the data plane's validation and
// falls back to a default, or a list it skips entries of.
func notAsWritten(m dataplanes.Model) []string {
	var problems []string
	for _, s := range m.Effective().Settings {
		if s.Source == dataplanes.SourceFallback || s.Source == dataplanes.SourceNarrowed {
			problems = append(problems, fmt.Sprintf("%s=%q: %s", s.Key, s.Written, s.Note))
		}
	}
	return problems
}

// checkNeverBroadens runs the property for one data plane: it renders
// random policies with the data plane's renderer, reads the result back
// with the data plane's production reader, and asks that model random
// browser requests. It returns the first finding: a request the data plane
// lets through and the policy does not, a request an exact data plane
// refuses and the policy allows, or a narrowing no Narrowing reports.
// mutated is true when render damages its output on purpose.
func checkNeverBroadens(t *testing.T, dp dataplanes.DataPlane, render renderFunc, mutated bool) (*finding, dataplanestest.Stats) {
	t.Helper()
	r := rand.New(rand.NewPCG(dataplanestest.PropertySeed, 1)) //nolint:gosec // G404: a fixed seed makes failures reproduce; nothing here is secret.
	var stats dataplanestest.Stats
	reported := false
	for range dataplanestest.PropertyPolicies {
		spec, ok := dataplanestest.RandomSpec(r)
		if !ok {
			stats.Skipped++
			continue
		}
		stats.Policies++
		rendered, err := render(spec)
		if err != nil {
			return &finding{kind: "the data plane rejects the configuration: " + err.Error(), spec: spec, config: rendered.shown}, stats
		}
		if !mutated && len(rendered.problems) > 0 && !reported {
			// Reported once, and the run goes on, so that the behavioural
			// finding below shows what the bad value lets through.
			reported = true
			spec, _ := yaml.Marshal(spec)
			t.Errorf("%s renders values the data plane would not take as written:\n%s\npolicy spec:\n%s",
				dp.Name, strings.Join(rendered.problems, "\n"), spec)
		}
		for range dataplanestest.RequestsPerPolicy {
			req := dataplanestest.RandomRequest(r, spec)
			stats.Requests++
			policyOK := dataplanestest.PolicyAllows(spec, req)
			planeOK := false
			exchange := "none: kubecors wrote nothing"
			// A refused policy writes nothing, so kubecors allows nothing.
			if rendered.model != nil {
				allowed, ex, err := dataplanestest.BrowserAllows(rendered.model, req)
				if err != nil {
					// corscheck models the pages of web sites: it refuses
					// requests with an extension origin, which the policy
					// side still counts.
					stats.Unaskable++
					continue
				}
				planeOK, exchange = allowed, dataplanestest.DescribeExchange(ex)
			}
			if policyOK {
				stats.PolicyAllowed++
			}
			if planeOK {
				stats.PlaneAllowed++
			}
			f := &finding{spec: spec, config: rendered.shown, request: req, exchange: exchange}
			switch {
			case planeOK && !policyOK:
				f.kind = "BROADENING: the data plane allows a request the policy does not"
				return f, stats
			case policyOK && !planeOK && exact[dp.Name]:
				f.kind = "the data plane refuses a request the policy allows, though it can express the policy"
				return f, stats
			case policyOK && !planeOK && !rendered.narrowed && rendered.model != nil:
				f.kind = "unreported narrowing: the data plane refuses a request the policy allows, and nothing says why"
				return f, stats
			case policyOK && !planeOK:
				stats.Narrowed++
			}
		}
	}
	return nil, stats
}

// TestNeverBroadens is the property of CORS-RULES.md's rendering invariant,
// for every data plane that serves Ingresses or has a target kind of its
// own, with each data plane's production reader as the oracle.
func TestNeverBroadens(t *testing.T) {
	for _, dp := range All() {
		var render renderFunc
		switch {
		case dp.Ingress != nil:
			render = ingressRendering(dp, nil)
		case dp.Target != nil:
			render = targetRendering(dp, nil)
		default:
			continue
		}
		t.Run(dp.Name, func(t *testing.T) {
			t.Parallel()
			f, stats := checkNeverBroadens(t, dp, render, false)
			if f != nil {
				t.Fatal(f)
			}
			t.Logf("%d policies (%d invalid draws skipped), %d requests (%d that corscheck cannot ask): policy allowed %d, data plane allowed %d, narrowed away %d",
				stats.Policies, stats.Skipped, stats.Requests, stats.Unaskable, stats.PolicyAllowed, stats.PlaneAllowed, stats.Narrowed)
			if stats.Policies < dataplanestest.PropertyPolicies/2 || stats.PolicyAllowed < stats.Requests/8 || stats.PlaneAllowed < stats.Requests/25 {
				t.Errorf("the run is too thin to mean anything: %+v", stats)
			}
		})
	}
}

// TestPropertyCatchesBroadening damages rendered configurations the way
// renderer bugs would and checks that the property finds each one, so a
// green TestNeverBroadens means something.
func TestPropertyCatchesBroadening(t *testing.T) {
	nginx, traefikPlane, haproxy := planeNamed(t, ingressnginx.Name), planeNamed(t, traefik.Name), planeNamed(t, haproxyingress.Name)
	cases := []struct {
		name   string
		plane  dataplanes.DataPlane
		mutate mutation
	}{
		{"ingress-nginx: wildcard written as a multi-label regex", nginx, func(_ kubecorsv1alpha1.CorsPolicySpec, c dataplanes.IngressConfig) dataplanes.IngressConfig {
			return withAnnotation(c, ingressnginx.AllowOrigin, func(v string) string {
				return mapList(v, ",", func(o string) string {
					if p, err := corsrules.ParseOriginPattern(o); err == nil && p.SubdomainWildcard {
						return "~" + dataplanes.OriginRegexp(p)
					}
					return o
				})
			})
		}},
		{"ingress-nginx: port wildcard written as is", nginx, func(spec kubecorsv1alpha1.CorsPolicySpec, c dataplanes.IngressConfig) dataplanes.IngressConfig {
			return withAnnotation(c, ingressnginx.AllowOrigin, func(v string) string {
				for _, o := range spec.AllowOrigins {
					if strings.HasSuffix(string(o), ":*") {
						v += "," + string(o)
					}
				}
				return v
			})
		}},
		{"ingress-nginx: headers wildcard written as is", nginx, func(spec kubecorsv1alpha1.CorsPolicySpec, c dataplanes.IngressConfig) dataplanes.IngressConfig {
			if slices.Contains(spec.AllowHeaders, "*") {
				return withAnnotation(c, ingressnginx.AllowHeaders, func(string) string { return "*" })
			}
			return c
		}},
		{"traefik: regex anchors dropped", traefikPlane, func(_ kubecorsv1alpha1.CorsPolicySpec, c dataplanes.IngressConfig) dataplanes.IngressConfig {
			return withTraefikRegexes(c, func(re string) string { return strings.TrimSuffix(strings.TrimPrefix(re, "^"), "$") })
		}},
		{"traefik: end anchor dropped", traefikPlane, func(_ kubecorsv1alpha1.CorsPolicySpec, c dataplanes.IngressConfig) dataplanes.IngressConfig {
			return withTraefikRegexes(c, func(re string) string { return strings.TrimSuffix(re, "$") })
		}},
		{"traefik: dot before the suffix unescaped", traefikPlane, func(_ kubecorsv1alpha1.CorsPolicySpec, c dataplanes.IngressConfig) dataplanes.IngressConfig {
			return withTraefikRegexes(c, func(re string) string { return strings.Replace(re, `\.)+`, `.)+`, 1) })
		}},
		{"haproxy-ingress: regex anchors dropped", haproxy, func(_ kubecorsv1alpha1.CorsPolicySpec, c dataplanes.IngressConfig) dataplanes.IngressConfig {
			return withAnnotation(c, haproxyingress.AllowOriginRegex, func(v string) string {
				return mapList(v, " ", func(re string) string { return strings.TrimSuffix(strings.TrimPrefix(re, "^"), "$") })
			})
		}},
		{"haproxy-ingress: wildcard written into cors-allow-origin", haproxy, func(spec kubecorsv1alpha1.CorsPolicySpec, c dataplanes.IngressConfig) dataplanes.IngressConfig {
			return withAnnotation(c, haproxyingress.AllowOrigin, func(v string) string {
				for _, o := range spec.AllowOrigins {
					if strings.Contains(string(o), "*.") {
						v += "," + string(o)
					}
				}
				return v
			})
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			f, _ := checkNeverBroadens(t, c.plane, ingressRendering(c.plane, c.mutate), true)
			if f == nil || !strings.HasPrefix(f.kind, "BROADENING") {
				t.Fatalf("the property did not catch this broadening; found: %v", f)
			}
			t.Logf("caught as intended: %s", f)
		})
	}
}

// TestPropertyCatchesTargetBroadening does the same for the target kinds:
// an Istio prefix instead of an anchored regex, dropped anchors, a
// forgotten credentials flag.
func TestPropertyCatchesTargetBroadening(t *testing.T) {
	istioPlane, contourPlane := planeNamed(t, istio.Name), planeNamed(t, contour.Name)
	cases := []struct {
		name   string
		plane  dataplanes.DataPlane
		mutate targetMutation
	}{
		{"istio: wildcard written as a prefix", istioPlane, func(cors map[string]any) {
			for _, o := range cors["allowOrigins"].([]any) {
				m := o.(map[string]any)
				if re, ok := m["regex"].(string); ok {
					delete(m, "regex")
					m["prefix"] = strings.NewReplacer("^", "", `(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+`, "", `\`, "", "$", "").Replace(re)
				}
			}
		}},
		{"istio: exact origin written as a prefix", istioPlane, func(cors map[string]any) {
			for _, o := range cors["allowOrigins"].([]any) {
				m := o.(map[string]any)
				if v, ok := m["exact"].(string); ok && v != "*" {
					delete(m, "exact")
					m["prefix"] = v
				}
			}
		}},
		{"contour: wildcard regex with an unescaped dot and no labels limit", contourPlane, func(cors map[string]any) {
			origins := cors["allowOrigin"].([]any)
			for i, o := range origins {
				if re := o.(string); strings.HasPrefix(re, "^") {
					origins[i] = strings.Replace(re, `(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+`, ".*", 1)
				}
			}
		}},
		{"contour: credentials always on", contourPlane, func(cors map[string]any) { cors["allowCredentials"] = true }},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			f, _ := checkNeverBroadens(t, c.plane, targetRendering(c.plane, c.mutate), true)
			if f == nil || !strings.HasPrefix(f.kind, "BROADENING") {
				t.Fatalf("the property did not catch this broadening; found: %v", f)
			}
			t.Logf("caught as intended: %s", f.kind)
		})
	}
}

func withAnnotation(c dataplanes.IngressConfig, key string, change func(string) string) dataplanes.IngressConfig {
	if c.Refused != "" {
		return c
	}
	annotations := maps.Clone(c.Annotations)
	annotations[key] = change(annotations[key])
	c.Annotations = annotations
	return c
}

func mapList(v, sep string, change func(string) string) string {
	if v == "" {
		return v
	}
	items := strings.Split(v, sep)
	for i, item := range items {
		items[i] = change(item)
	}
	return strings.Join(items, sep)
}

func withTraefikRegexes(c dataplanes.IngressConfig, change func(string) string) dataplanes.IngressConfig {
	m := c.Objects[0].DeepCopy()
	regexes, found, _ := unstructured.NestedStringSlice(m.Object, "spec", "headers", "accessControlAllowOriginListRegex")
	if !found {
		return c
	}
	for i, re := range regexes {
		regexes[i] = change(re)
	}
	_ = unstructured.SetNestedStringSlice(m.Object, regexes, "spec", "headers", "accessControlAllowOriginListRegex")
	c.Objects = []*unstructured.Unstructured{m}
	return c
}
