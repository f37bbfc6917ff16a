package gatewayapi

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"

	"net/http"

	"github.com/google/go-cmp/cmp"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/kubecors/kubecors/internal/corscheck"

	apiextensionsinternal "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	structuralschema "k8s.io/apiextensions-apiserver/pkg/apiserver/schema"
	"k8s.io/apiextensions-apiserver/pkg/apiserver/schema/cel"
	structuraldefaulting "k8s.io/apiextensions-apiserver/pkg/apiserver/schema/defaulting"
	structurallisttype "k8s.io/apiextensions-apiserver/pkg/apiserver/schema/listtype"
	apiservervalidation "k8s.io/apiextensions-apiserver/pkg/apiserver/validation"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/validation/field"
	celconfig "k8s.io/apiserver/pkg/apis/cel"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"
	"sigs.k8s.io/yaml"

	kubecorsv1alpha1 "github.com/kubecors/kubecors/api/v1alpha1"
	"github.com/kubecors/kubecors/internal/corsrules"
	"github.com/kubecors/kubecors/internal/dataplanes"
	"github.com/kubecors/kubecors/internal/dataplanes/dataplanestest"
	"github.com/kubecors/kubecors/internal/dataplanes/traefik"
)

// gatewayGoldenDir holds the Gateway API golden files.
var gatewayGoldenDir = dataplanestest.GoldenDir

// gatewayGolden is an HTTPRouteCORSConfig as the golden files show it.
type gatewayGolden struct {
	Filter   *gatewayv1.HTTPCORSFilter        `json:"filter,omitempty"`
	Narrowed []dataplanestest.GoldenNarrowing `json:"narrowed,omitempty"`
	Refused  string                           `json:"refused,omitempty"`
}

func toGatewayGolden(c HTTPRouteCORSConfig) gatewayGolden {
	g := gatewayGolden{Filter: c.Filter, Refused: c.Refused}
	for _, n := range c.Narrowed {
		g.Narrowed = append(g.Narrowed, dataplanestest.GoldenNarrowing(n))
	}
	return g
}

// TestGatewayAPIGolden renders every testdata/golden/*.in.yaml policy
// as a CORS filter and compares the result with *.out.yaml. Run with
// -update to rewrite the golden files after an intended change, and review
// the diff.
func TestGatewayAPIGolden(t *testing.T) {
	inputs, err := filepath.Glob(filepath.Join(gatewayGoldenDir, "*.in.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if len(inputs) == 0 {
		t.Fatalf("no golden tests in %s", gatewayGoldenDir)
	}
	for _, in := range inputs {
		t.Run(strings.TrimSuffix(filepath.Base(in), ".in.yaml"), func(t *testing.T) {
			policy, _ := dataplanestest.ReadPolicy(t, in)
			config := RenderHTTPRouteCORS(policy)
			for _, problem := range gatewayConfigProblems(t, config) {
				t.Error(problem)
			}
			dataplanestest.CompareGolden(t, in, toGatewayGolden(config))
		})
	}
}

// TestGatewayAPIGoldenCoversEveryNarrowing keeps the golden files honest:
// each kind of narrowing the renderer can report, and a refusal, appears
// in at least one of them.
func TestGatewayAPIGoldenCoversEveryNarrowing(t *testing.T) {
	kinds := map[string]string{
		"port wildcard":       "cannot express a port wildcard",
		"IPv6 literal":        "cannot express an IPv6 literal",
		"overlong origin":     "accepts origins of at most 253 characters",
		"method outside enum": "allowMethods accepts only",
		"headers wildcard":    `"*" was left out`,
		"Authorization":       "refuse Authorization",
		"maxAge 0":            "maxAge is at least 1",
		"refused: no origin":  "the policy allows no origin",
		"refused: none left":  "no origin of the policy can be written",
	}
	outputs, err := filepath.Glob(filepath.Join(gatewayGoldenDir, "*.out.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var all strings.Builder
	for _, out := range outputs {
		data, err := os.ReadFile(out)
		if err != nil {
			t.Fatal(err)
		}
		all.Write(data)
	}
	// The YAML encoder folds long strings; unfold them before searching.
	text := strings.Join(strings.Fields(all.String()), " ")
	for kind, marker := range kinds {
		if !strings.Contains(text, marker) {
			t.Errorf("no golden file in %s shows the %s narrowing (%q)", gatewayGoldenDir, kind, marker)
		}
	}
}

// gatewayConfigProblems lists what must hold for every rendered CORS
// filter, whatever the policy: a refusal writes nothing, narrowings are
// complete, credentials and max age are explicit, and the API server would
// accept the filter in an HTTPRoute of either release channel.
func gatewayConfigProblems(t *testing.T, c HTTPRouteCORSConfig) []string {
	t.Helper()
	if c.Refused != "" {
		if c.Filter != nil || len(c.Narrowed) > 0 {
			return []string{fmt.Sprintf("refused (%s) but a filter or narrowings are set: %+v %v", c.Refused, c.Filter, c.Narrowed)}
		}
		if _, ok := c.RouteFilter(); ok {
			return []string{"refused, yet RouteFilter returns a filter"}
		}
		return nil
	}
	var problems []string
	for _, n := range c.Narrowed {
		if n.Field == "" || n.Value == "" || n.Reason == "" {
			problems = append(problems, fmt.Sprintf("incomplete narrowing %+v", n))
		}
	}
	if c.Filter == nil {
		return append(problems, "neither refused nor a filter")
	}
	if c.Filter.AllowCredentials == nil || c.Filter.MaxAge == 0 {
		problems = append(problems, "allowCredentials and maxAge must be explicit, else the gateway's defaults apply")
	}
	filter, ok := c.RouteFilter()
	if !ok || filter.Type != gatewayv1.HTTPRouteFilterCORS || !reflect.DeepEqual(filter.CORS, c.Filter) {
		problems = append(problems, fmt.Sprintf("RouteFilter does not carry the filter: %+v", filter))
	}
	for _, crd := range loadGatewayCRDs(t) {
		for _, err := range crd.validateRouteFilter(filter) {
			problems = append(problems, fmt.Sprintf("the %s-channel HTTPRoute CRD rejects the filter: %v", crd.channel, err))
		}
	}
	return problems
}

// gatewayCRD validates HTTPRoutes as the API server does for the vendored
// Gateway API CRD of one release channel: defaulting, OpenAPI schema
// (patterns, enums, limits), list types and CEL rules, with the validators
// of k8s.io/apiextensions-apiserver (as internal/policycheck does for
// kubecors's own CRDs).
type gatewayCRD struct {
	channel         string
	structural      *structuralschema.Structural
	schemaValidator apiservervalidation.SchemaValidator
	celValidator    *cel.Validator
	// cors is the v1 schema of a rule filter's cors field, for the tests
	// that pin the renderer's copies of upstream limits.
	cors *apiextensionsv1.JSONSchemaProps
}

// gatewayCRDs compiles the CRDs once: compiling the HTTPRoute CEL rules
// takes far longer than checking one route.
var gatewayCRDs = sync.OnceValues(func() ([]*gatewayCRD, error) {
	var crds []*gatewayCRD
	for _, channel := range []string{"standard", "experimental"} {
		crd, err := newGatewayCRD(channel)
		if err != nil {
			return nil, err
		}
		crds = append(crds, crd)
	}
	return crds, nil
})

func loadGatewayCRDs(t *testing.T) []*gatewayCRD {
	t.Helper()
	crds, err := gatewayCRDs()
	if err != nil {
		t.Fatal(err)
	}
	return crds
}

func newGatewayCRD(channel string) (*gatewayCRD, error) {
	path := filepath.Join("..", "..", "..", "test", "crds", "gateway-api", channel, "gateway.networking.k8s.io_httproutes.yaml")
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	definition := &apiextensionsv1.CustomResourceDefinition{}
	if err := yaml.UnmarshalStrict(data, definition); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	apiextensionsv1.SetObjectDefaults_CustomResourceDefinition(definition)
	var version *apiextensionsv1.CustomResourceDefinitionVersion
	for i := range definition.Spec.Versions {
		if definition.Spec.Versions[i].Name == gatewayv1.GroupVersion.Version {
			version = &definition.Spec.Versions[i]
		}
	}
	if version == nil || version.Schema == nil || version.Schema.OpenAPIV3Schema == nil {
		return nil, fmt.Errorf("%s: no schema for version %s", path, gatewayv1.GroupVersion.Version)
	}
	internal := &apiextensionsinternal.CustomResourceValidation{}
	if err := apiextensionsv1.Convert_v1_CustomResourceValidation_To_apiextensions_CustomResourceValidation(version.Schema, internal, nil); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	structural, err := structuralschema.NewStructural(internal.OpenAPIV3Schema)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if err := structuraldefaulting.PruneDefaults(structural); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	schemaValidator, _, err := apiservervalidation.NewSchemaValidator(internal.OpenAPIV3Schema)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	cors := version.Schema.OpenAPIV3Schema.Properties["spec"].Properties["rules"].Items.Schema.
		Properties["filters"].Items.Schema.Properties["cors"]
	return &gatewayCRD{
		channel:         channel,
		structural:      structural,
		schemaValidator: schemaValidator,
		celValidator:    cel.NewValidator(structural, true, celconfig.PerCallLimit),
		cors:            &cors,
	}, nil
}

// validateRouteFilter validates an HTTPRoute whose one rule holds filter.
func (c *gatewayCRD) validateRouteFilter(filter gatewayv1.HTTPRouteFilter) field.ErrorList {
	route := &gatewayv1.HTTPRoute{
		TypeMeta:   metav1.TypeMeta{APIVersion: gatewayv1.GroupVersion.String(), Kind: "HTTPRoute"},
		ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "shop"},
		Spec: gatewayv1.HTTPRouteSpec{
			CommonRouteSpec: gatewayv1.CommonRouteSpec{ParentRefs: []gatewayv1.ParentReference{{Name: "gateway"}}},
			Rules:           []gatewayv1.HTTPRouteRule{{Filters: []gatewayv1.HTTPRouteFilter{filter}}},
		},
	}
	obj, err := runtime.DefaultUnstructuredConverter.ToUnstructured(route)
	if err != nil {
		return field.ErrorList{field.InternalError(nil, err)}
	}
	// Status is a subresource: a create or update of the route ignores it.
	delete(obj, "status")
	structuraldefaulting.Default(obj, c.structural)
	errs := apiservervalidation.ValidateCustomResource(nil, obj, c.schemaValidator)
	errs = append(errs, structurallisttype.ValidateListSetsAndMaps(nil, c.structural, obj)...)
	if len(errs) > 0 {
		// The API server, too, runs no CEL rule on a schema-invalid object.
		return errs
	}
	celErrs, _ := c.celValidator.Validate(context.Background(), nil, c.structural, obj, nil, celconfig.RuntimeCELCostBudget)
	return celErrs
}

// TestGatewayAPIUpstreamFacts pins what the renderer copies from Gateway
// API to the vendored CRDs, and checks against the real validation the
// facts the renderer relies on, so that a new pinned version that changes
// any of them fails here first.
func TestGatewayAPIUpstreamFacts(t *testing.T) {
	for _, crd := range loadGatewayCRDs(t) {
		origins, methods := crd.cors.Properties["allowOrigins"], crd.cors.Properties["allowMethods"]
		if got := origins.Items.Schema.Pattern; got != corsOriginPattern.String() {
			t.Errorf("%s: CORSOrigin pattern is %s, the renderer copies %s", crd.channel, got, corsOriginPattern)
		}
		if got := origins.Items.Schema.MaxLength; got == nil || *got != gatewayMaxOriginLength {
			t.Errorf("%s: CORSOrigin maxLength is %v, the renderer assumes %d", crd.channel, got, gatewayMaxOriginLength)
		}
		var enum []gatewayv1.HTTPMethodWithWildcard
		for _, v := range methods.Items.Schema.Enum {
			var m gatewayv1.HTTPMethodWithWildcard
			if err := yaml.Unmarshal(v.Raw, &m); err != nil {
				t.Fatal(err)
			}
			enum = append(enum, m)
		}
		if got, want := slices.Sorted(slices.Values(enum)), slices.Sorted(slices.Values(gatewayMethods.UnsortedList())); !slices.Equal(got, want) {
			t.Errorf("%s: allowMethods enum is %v, the renderer assumes %v", crd.channel, got, want)
		}
		maxAge := crd.cors.Properties["maxAge"]
		if maxAge.Minimum == nil || *maxAge.Minimum != float64(gatewayMinMaxAge) || maxAge.Default == nil || string(maxAge.Default.Raw) != "5" {
			t.Errorf("%s: maxAge minimum %v default %v, the renderer assumes minimum %d default 5", crd.channel, maxAge.Minimum, maxAge.Default, gatewayMinMaxAge)
		}
	}

	long := "https://" + strings.Repeat("a", 63) + "." + strings.Repeat("b", 63) + "." + strings.Repeat("c", 63) + "." + strings.Repeat("d", 57) + ".com"
	cases := []struct {
		name   string
		filter gatewayv1.HTTPCORSFilter
		valid  bool
	}{
		{"exact origins, methods, headers, credentials", gatewayv1.HTTPCORSFilter{
			AllowOrigins: []gatewayv1.CORSOrigin{"https://app.example.com", "https://*.example.org", "http://localhost:3000", "http://127.0.0.1:8080"},
			AllowMethods: []gatewayv1.HTTPMethodWithWildcard{"GET", "PUT", "PATCH"}, AllowHeaders: []gatewayv1.HTTPHeaderName{"X.Dotted", "x~tilde"},
			AllowCredentials: new(true), MaxAge: 86400,
		}, true},
		{"a port wildcard is rejected", gatewayv1.HTTPCORSFilter{AllowOrigins: []gatewayv1.CORSOrigin{"http://localhost:*"}}, false},
		{"an IPv6 literal is rejected", gatewayv1.HTTPCORSFilter{AllowOrigins: []gatewayv1.CORSOrigin{"http://[::1]:3000"}}, false},
		{"an origin of 254 characters is rejected", gatewayv1.HTTPCORSFilter{AllowOrigins: []gatewayv1.CORSOrigin{gatewayv1.CORSOrigin(long[:254])}}, false},
		{"an origin of 253 characters passes", gatewayv1.HTTPCORSFilter{AllowOrigins: []gatewayv1.CORSOrigin{gatewayv1.CORSOrigin(long[:253])}}, true},
		{"null is rejected", gatewayv1.HTTPCORSFilter{AllowOrigins: []gatewayv1.CORSOrigin{"null"}}, false},
		{"a path is rejected", gatewayv1.HTTPCORSFilter{AllowOrigins: []gatewayv1.CORSOrigin{"https://app.example.com/"}}, false},
		{"* alongside an origin is rejected", gatewayv1.HTTPCORSFilter{AllowOrigins: []gatewayv1.CORSOrigin{"*", "https://app.example.com"}}, false},
		{"* with credentials passes: Gateway API allows it, kubecors does not", gatewayv1.HTTPCORSFilter{
			AllowOrigins: []gatewayv1.CORSOrigin{"*"}, AllowMethods: []gatewayv1.HTTPMethodWithWildcard{"*"},
			AllowHeaders: []gatewayv1.HTTPHeaderName{"*"}, AllowCredentials: new(true),
		}, true},
		{"a custom method is rejected", gatewayv1.HTTPCORSFilter{AllowMethods: []gatewayv1.HTTPMethodWithWildcard{"PROPFIND"}}, false},
		{"a lowercase method is rejected", gatewayv1.HTTPCORSFilter{AllowMethods: []gatewayv1.HTTPMethodWithWildcard{"patch"}}, false},
		{"header * alongside Authorization is rejected", gatewayv1.HTTPCORSFilter{AllowHeaders: []gatewayv1.HTTPHeaderName{"*", "Authorization"}}, false},
		{"maxAge -1 is rejected", gatewayv1.HTTPCORSFilter{MaxAge: -1}, false},
	}
	for _, c := range cases {
		filter := gatewayv1.HTTPRouteFilter{Type: gatewayv1.HTTPRouteFilterCORS, CORS: &c.filter}
		for _, crd := range loadGatewayCRDs(t) {
			if errs := crd.validateRouteFilter(filter); (len(errs) == 0) != c.valid {
				t.Errorf("%s (%s channel): valid %v, want %v: %v", c.name, crd.channel, len(errs) == 0, c.valid, errs)
			}
		}
	}

	// maxAge is an int32 with omitempty: 0 is not sent, and the API server
	// stores its default of 5.
	data, err := yaml.Marshal(gatewayv1.HTTPCORSFilter{MaxAge: 0, AllowCredentials: new(false)})
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(data), "maxAge") || !strings.Contains(string(data), "allowCredentials: false") {
		t.Errorf("want maxAge 0 left out and allowCredentials false written, got:\n%s", data)
	}
}

// filterContent is a filter as an HTTPRoute holds it, for the reader; nil
// for no filter.
func filterContent(t *testing.T, filter *gatewayv1.HTTPCORSFilter) map[string]any {
	t.Helper()
	if filter == nil {
		return nil
	}
	content, err := runtime.DefaultUnstructuredConverter.ToUnstructured(filter)
	if err != nil {
		t.Fatal(err)
	}
	return content
}

// gatewayBrowserAllows reads a filter with the production reader
// (ReadFilter) under one reading, asks it the request as a browser carries
// it out, and says whether the browser lets the page make it. A nil filter
// is a rule without a CORS filter. askable is false for a request
// corscheck refuses to carry out (an extension origin).
func gatewayBrowserAllows(t *testing.T, filter *gatewayv1.HTTPCORSFilter, r dataplanestest.Request, reading Reading) (allowed bool, exchange string, askable bool) {
	t.Helper()
	content := filterContent(t, filter)
	allowed, ex, err := dataplanestest.BrowserAllows(ReadFilter(content, "cors", reading), r)
	if err != nil {
		return false, "", false
	}
	return allowed, dataplanestest.DescribeExchange(ex), true
}

// gatewayFinding is a request on which a rendered filter and the policy
// disagree.
type gatewayFinding struct {
	kind    string
	spec    kubecorsv1alpha1.CorsPolicySpec
	config  HTTPRouteCORSConfig
	request dataplanestest.Request
	mode    Reading
	resp    string
}

func (f *gatewayFinding) String() string {
	spec, _ := yaml.Marshal(f.spec)
	config, _ := yaml.Marshal(toGatewayGolden(f.config))
	return fmt.Sprintf("%s\nrequest: %s\n%s response: %v\npolicy spec:\n%s\nrendered:\n%s", f.kind, f.request, f.mode, f.resp, spec, config)
}

// gatewayMutation damages a rendered filter the way a renderer bug would.
type gatewayMutation func(kubecorsv1alpha1.CorsPolicySpec, HTTPRouteCORSConfig) HTTPRouteCORSConfig

// checkGatewayNeverBroadens is checkNeverBroadens for the CORS filter: the
// same random policies and requests, the Gateway API model under both of
// its readings, and the upstream CRD validation of every filter.
func checkGatewayNeverBroadens(t *testing.T, mutate gatewayMutation) (*gatewayFinding, dataplanestest.Stats) {
	t.Helper()
	r := rand.New(rand.NewPCG(dataplanestest.PropertySeed, 1)) //nolint:gosec // G404: a fixed seed makes failures reproduce; nothing here is secret.
	var stats dataplanestest.Stats
	reported := false
	standard := loadGatewayCRDs(t)[0]
	for range dataplanestest.PropertyPolicies {
		spec, ok := dataplanestest.RandomSpec(r)
		if !ok {
			stats.Skipped++
			continue
		}
		stats.Policies++
		config := RenderHTTPRouteCORS(dataplanes.Policy{Namespace: "shop", Name: "storefront", Spec: spec})
		if mutate != nil {
			config = mutate(spec, config)
		} else if filter, ok := config.RouteFilter(); ok && !reported {
			if errs := standard.validateRouteFilter(filter); len(errs) > 0 {
				reported = true
				spec, _ := yaml.Marshal(spec)
				t.Errorf("the HTTPRoute CRD rejects a rendered filter: %v\npolicy spec:\n%s", errs, spec)
			}
		}
		// A narrowing of maxAge explains no refused request.
		explained := config.Refused != "" || slices.ContainsFunc(config.Narrowed, func(n dataplanes.Narrowing) bool { return n.Field != "spec.maxAge" })
		for range dataplanestest.RequestsPerPolicy {
			req := dataplanestest.RandomRequest(r, spec)
			stats.Requests++
			policyOK := dataplanestest.PolicyAllows(spec, req)
			if policyOK {
				stats.PolicyAllowed++
			}
			anyAllows, allAllow := false, true
			for _, mode := range Readings {
				allowed, resp, askable := gatewayBrowserAllows(t, config.Filter, req, mode)
				if !askable {
					stats.Unaskable++
					break
				}
				switch {
				case allowed && !policyOK:
					return &gatewayFinding{kind: "BROADENING: the gateway allows a request the policy does not",
						spec: spec, config: config, request: req, mode: mode, resp: resp}, stats
				case !allowed && policyOK && !explained:
					return &gatewayFinding{kind: "unreported narrowing: the gateway refuses a request the policy allows, and nothing says why",
						spec: spec, config: config, request: req, mode: mode, resp: resp}, stats
				}
				anyAllows = anyAllows || allowed
				allAllow = allAllow && allowed
			}
			if anyAllows {
				stats.PlaneAllowed++
			}
			if policyOK && !allAllow {
				stats.Narrowed++
			}
		}
	}
	return nil, stats
}

// TestGatewayNeverBroadens is CORS-RULES.md's rendering invariant for the
// Gateway API CORS filter.
func TestGatewayNeverBroadens(t *testing.T) {
	t.Parallel()
	f, stats := checkGatewayNeverBroadens(t, nil)
	if f != nil {
		t.Fatal(f)
	}
	t.Logf("%d policies (%d invalid draws skipped), %d requests (%d that corscheck cannot ask): policy allowed %d, gateway allowed %d, narrowed away %d",
		stats.Policies, stats.Skipped, stats.Requests, stats.Unaskable, stats.PolicyAllowed, stats.PlaneAllowed, stats.Narrowed)
	if stats.Policies < dataplanestest.PropertyPolicies/2 || stats.PolicyAllowed < stats.Requests/8 || stats.PlaneAllowed < stats.Requests/25 || stats.Narrowed == 0 {
		t.Errorf("the run is too thin to mean anything: %+v", stats)
	}
}

// TestGatewayPropertyCatchesBroadening damages rendered filters the way
// renderer bugs would and checks that the property finds each one, so a
// green TestGatewayNeverBroadens means something.
func TestGatewayPropertyCatchesBroadening(t *testing.T) {
	withOrigins := func(c HTTPRouteCORSConfig, change func(gatewayv1.CORSOrigin) []gatewayv1.CORSOrigin) HTTPRouteCORSConfig {
		if c.Filter == nil {
			return c
		}
		f := c.Filter.DeepCopy()
		f.AllowOrigins = nil
		for _, o := range c.Filter.AllowOrigins {
			f.AllowOrigins = append(f.AllowOrigins, change(o)...)
		}
		c.Filter = f
		return c
	}
	cases := []struct {
		name   string
		mutate gatewayMutation
	}{
		{`headers "*" written without "Authorization"`, func(spec kubecorsv1alpha1.CorsPolicySpec, c HTTPRouteCORSConfig) HTTPRouteCORSConfig {
			if c.Filter != nil && slices.Equal(spec.AllowHeaders, []kubecorsv1alpha1.RequestHeaderName{"*"}) {
				c.Filter = c.Filter.DeepCopy()
				c.Filter.AllowHeaders = []gatewayv1.HTTPHeaderName{"*"}
			}
			return c
		}},
		{"https origins also written with http", func(_ kubecorsv1alpha1.CorsPolicySpec, c HTTPRouteCORSConfig) HTTPRouteCORSConfig {
			return withOrigins(c, func(o gatewayv1.CORSOrigin) []gatewayv1.CORSOrigin {
				if rest, ok := strings.CutPrefix(string(o), "https://"); ok {
					return []gatewayv1.CORSOrigin{o, gatewayv1.CORSOrigin("http://" + rest)}
				}
				return []gatewayv1.CORSOrigin{o}
			})
		}},
		{"subdomain wildcard written over the parent domain", func(_ kubecorsv1alpha1.CorsPolicySpec, c HTTPRouteCORSConfig) HTTPRouteCORSConfig {
			return withOrigins(c, func(o gatewayv1.CORSOrigin) []gatewayv1.CORSOrigin {
				scheme, host, found := strings.Cut(string(o), "://*.")
				if _, parent, ok := strings.Cut(host, "."); found && ok && strings.Contains(parent, ".") {
					return []gatewayv1.CORSOrigin{gatewayv1.CORSOrigin(scheme + "://*." + parent)}
				}
				return []gatewayv1.CORSOrigin{o}
			})
		}},
		{"credentials written as true whatever the policy says", func(_ kubecorsv1alpha1.CorsPolicySpec, c HTTPRouteCORSConfig) HTTPRouteCORSConfig {
			if c.Filter != nil {
				c.Filter = c.Filter.DeepCopy()
				c.Filter.AllowCredentials = new(true)
			}
			return c
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			f, _ := checkGatewayNeverBroadens(t, c.mutate)
			if f == nil || !strings.HasPrefix(f.kind, "BROADENING") {
				t.Fatalf("the property did not catch this broadening; found: %v", f)
			}
			t.Logf("caught as intended: %s", f)
		})
	}
}

// TestGatewayModelAgreesWithCorsrules checks the reader's origin matching
// against corsrules on the property test's vocabularies, for the patterns
// the renderer writes: the model reads Gateway API's text independently,
// and the two must agree wherever the renderer relies on "same set".
//
// The one known difference is checked too, so that it is seen again when
// either side changes: Gateway API's "*" is a greedy match of any
// characters, while corsrules matches only host names of letters, digits
// and hyphens, so a page at "https://a_b.example.com" (browsers accept "_"
// in host names) is allowed by the rendered "https://*.example.com" and by
// no policy. It stays within the domain the policy's author named; no
// Gateway API origin can leave such labels out.
func TestGatewayModelAgreesWithCorsrules(t *testing.T) {
	knownDifferences := map[string]bool{"https://a_b.example.com": true}
	requests := append(slices.Clone(dataplanestest.RequestOriginVocabulary), "https://a_b.example.com")
	for _, written := range dataplanestest.OriginVocabulary {
		p, err := corsrules.ParseOriginPattern(written)
		if err != nil {
			t.Fatal(err)
		}
		origin, reason := gatewayOrigin(dataplanes.IndexedOrigin{Written: written, OriginPattern: p})
		if reason != "" {
			continue
		}
		for _, request := range requests {
			got, want := gatewayOriginMatches(string(origin), request), corsrules.MatchOrigin(written, request)
			known := knownDifferences[request] && written == "https://*.example.com"
			if (got != want) != known {
				t.Errorf("origin %q rendered as %q: Gateway API matches %q %v, the policy %v (a known difference: %v)",
					written, origin, request, got, want, known)
			}
		}
	}
}

// TestRenderHTTPRouteMiddleware checks the Traefik ExtensionRef path (it
// lives here for the vendored HTTPRoute CRD): the Middleware holds the
// policy, as written out below and as Traefik's reader then answers a
// browser, the reference names it, and the filter passes the HTTPRoute CRD.
func TestRenderHTTPRouteMiddleware(t *testing.T) {
	policy := dataplanes.Policy{Namespace: "shop", Name: "storefront", Spec: kubecorsv1alpha1.CorsPolicySpec{
		AllowOrigins: []kubecorsv1alpha1.Origin{"https://app.example.com", "http://localhost:*", "http://[::1]:3000"},
		AllowMethods: []kubecorsv1alpha1.HTTPMethod{"PUT", "PROPFIND"},
	}}
	c := traefik.RenderHTTPRouteMiddleware(policy, "shop")
	mw := c.Middleware
	if mw.GetAPIVersion() != "traefik.io/v1alpha1" || mw.GetKind() != "Middleware" || mw.GetNamespace() != "shop" || mw.GetName() != "kubecors-storefront" ||
		mw.GetLabels()["kubecors.io/policy"] != "storefront" || mw.GetLabels()["app.kubernetes.io/managed-by"] != "kubecors" {
		t.Errorf("Middleware %s %s/%s labels %v, want traefik.io/v1alpha1 Middleware shop/kubecors-storefront labelled with the policy",
			mw.GetAPIVersion(), mw.GetNamespace(), mw.GetName(), mw.GetLabels())
	}
	headers, _, _ := unstructured.NestedMap(mw.Object, "spec", "headers")
	regexes, _ := headers["accessControlAllowOriginListRegex"].([]any)
	delete(headers, "accessControlAllowOriginListRegex")
	wantHeaders := map[string]any{"accessControlAllowCredentials": false, "accessControlAllowMethods": []any{"PUT", "PROPFIND"},
		"accessControlAllowOriginList": []any{"https://app.example.com", "http://[::1]:3000"}, "accessControlMaxAge": int64(5), "addVaryHeader": true}
	if diff := cmp.Diff(wantHeaders, headers); diff != "" || len(regexes) != 1 {
		t.Errorf("spec.headers (-want +got):\n%s\nregexes %q, want one for http://localhost:*", diff, regexes)
	}
	// The port wildcard is a regex: what it matches is checked through the
	// production reader, not its spelling.
	m, err := traefik.ParseTraefik([]traefik.Middleware{{Ref: "shop-kubecors-storefront@kubernetescrd", Object: mw}})
	if err != nil {
		t.Fatal(err)
	}
	for origin, want := range map[string]bool{"https://app.example.com": true, "http://localhost:3000": true, "http://localhost": true,
		"http://[::1]:3000": true, "http://localhost.evil.com": false, "http://localhost:3000.evil.com": false, "https://evil.example": false} {
		resp, err := m.Actual(corscheck.Request{Origin: origin, Method: "PUT", Headers: http.Header{}})
		if err != nil {
			t.Fatal(err)
		}
		if got := resp.Header.Get(dataplanes.HeaderAllowOrigin) == origin; got != want {
			t.Errorf("Origin %s: allowed %v, want %v (%v)", origin, got, want, resp.Header)
		}
	}
	if c.ExtensionRef.Group != "traefik.io" || c.ExtensionRef.Kind != "Middleware" || c.ExtensionRef.Name != "kubecors-storefront" {
		t.Errorf("ExtensionRef %+v does not name the Middleware kubecors-storefront", c.ExtensionRef)
	}
	if len(c.Narrowed) > 0 {
		t.Errorf("Traefik expresses every valid policy, yet narrowed: %v", c.Narrowed)
	}
	filter := c.RouteFilter()
	if filter.Type != gatewayv1.HTTPRouteFilterExtensionRef || filter.ExtensionRef == nil || *filter.ExtensionRef != c.ExtensionRef {
		t.Errorf("RouteFilter %+v is not an ExtensionRef to the Middleware", filter)
	}
	for _, crd := range loadGatewayCRDs(t) {
		if errs := crd.validateRouteFilter(filter); len(errs) > 0 {
			t.Errorf("the %s-channel HTTPRoute CRD rejects the ExtensionRef filter: %v", crd.channel, errs)
		}
	}
}
