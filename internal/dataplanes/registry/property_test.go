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
	"github.com/kubecors/kubecors/internal/dataplanes/dataplanestest"
	"github.com/kubecors/kubecors/internal/dataplanes/haproxyingress"
	"github.com/kubecors/kubecors/internal/dataplanes/ingressnginx"
	"github.com/kubecors/kubecors/internal/dataplanes/traefik"
)

// exact lists the data planes that can express every valid policy, so that
// they must allow exactly what the policy allows.
var exact = map[string]bool{traefik.Name: true}

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
	config   dataplanes.IngressConfig
	request  dataplanestest.Request
	exchange string
}

func (f *finding) String() string {
	spec, _ := yaml.Marshal(f.spec)
	config, _ := yaml.Marshal(dataplanestest.ToGolden(f.config))
	return fmt.Sprintf("%s\nrequest: %s\nresponses: %s\npolicy spec:\n%s\nrendered:\n%s", f.kind, f.request, f.exchange, spec, config)
}

// mutation damages a rendered configuration the way a renderer bug would;
// nil leaves it as rendered.
type mutation func(kubecorsv1alpha1.CorsPolicySpec, dataplanes.IngressConfig) dataplanes.IngressConfig

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
func checkNeverBroadens(t *testing.T, dp dataplanes.DataPlane, mutate mutation) (*finding, dataplanestest.Stats) {
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
		config := dp.Ingress.RenderIngress(dataplanes.Policy{Namespace: "shop", Name: "storefront", Spec: spec},
			dataplanes.IngressTarget{Namespace: "shop", Name: dataplanestest.TargetName})
		if mutate != nil {
			config = mutate(spec, config)
		}
		var model dataplanes.Model
		if config.Refused == "" {
			m, err := dp.ReadIngress(config)
			if err != nil {
				return &finding{kind: "the data plane rejects the configuration: " + err.Error(), spec: spec, config: config}, stats
			}
			model = m
			if problems := notAsWritten(m); mutate == nil && len(problems) > 0 && !reported {
				// Reported once, and the run goes on, so that the
				// behavioural finding below shows what the bad value lets
				// through.
				reported = true
				spec, _ := yaml.Marshal(spec)
				t.Errorf("%s renders values the data plane would not take as written:\n%s\npolicy spec:\n%s",
					dp.Name, strings.Join(problems, "\n"), spec)
			}
		}
		for range dataplanestest.RequestsPerPolicy {
			req := dataplanestest.RandomRequest(r, spec)
			stats.Requests++
			policyOK := dataplanestest.PolicyAllows(spec, req)
			planeOK := false
			exchange := "none: kubecors wrote nothing"
			// A refused policy writes nothing, so kubecors allows nothing.
			if model != nil {
				allowed, ex, err := dataplanestest.BrowserAllows(model, req)
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
			switch {
			case planeOK && !policyOK:
				return &finding{kind: "BROADENING: the data plane allows a request the policy does not", spec: spec, config: config, request: req, exchange: exchange}, stats
			case policyOK && !planeOK && exact[dp.Name]:
				return &finding{kind: "the data plane refuses a request the policy allows, though it can express the policy", spec: spec, config: config, request: req, exchange: exchange}, stats
			case policyOK && !planeOK && len(config.Narrowed) == 0 && config.Refused == "":
				return &finding{kind: "unreported narrowing: the data plane refuses a request the policy allows, and nothing says why", spec: spec, config: config, request: req, exchange: exchange}, stats
			case policyOK && !planeOK:
				stats.Narrowed++
			}
		}
	}
	return nil, stats
}

// TestNeverBroadens is the property of CORS-RULES.md's rendering invariant,
// for every data plane that serves Ingresses, with each data plane's
// production reader as the oracle.
func TestNeverBroadens(t *testing.T) {
	for _, dp := range All() {
		if dp.Ingress == nil {
			continue
		}
		t.Run(dp.Name, func(t *testing.T) {
			t.Parallel()
			f, stats := checkNeverBroadens(t, dp, nil)
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
			f, _ := checkNeverBroadens(t, c.plane, c.mutate)
			if f == nil || !strings.HasPrefix(f.kind, "BROADENING") {
				t.Fatalf("the property did not catch this broadening; found: %v", f)
			}
			t.Logf("caught as intended: %s", f)
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
