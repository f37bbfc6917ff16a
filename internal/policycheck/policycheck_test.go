package policycheck

import (
	"fmt"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/util/validation/field"
	"sigs.k8s.io/yaml"

	kubecorsv1alpha1 "github.com/kubecors/kubecors/api/v1alpha1"
	"github.com/kubecors/kubecors/config/crd"
)

// notChecked is the error the API server adds when schema errors stop it
// from running the CEL rules.
const notChecked = "<nil>: Invalid value: null: some validation rules were not checked because the object was invalid; correct the existing errors to complete validation"

// corsPolicy returns a CorsPolicy document named "web" with the given spec,
// written as YAML lines indented under "spec:".
func corsPolicy(spec ...string) string {
	return "apiVersion: kubecors.io/v1alpha1\nkind: CorsPolicy\nmetadata:\n  name: web\nspec:\n  " +
		strings.Join(spec, "\n  ") + "\n"
}

// someOrigin allows one origin: a policy that allows none draws the
// warnings of the data planes that would program nothing for it.
const someOrigin = "allowOrigins: [https://app.example.com]"

// ingressTarget targets one Ingress, the least a valid spec needs.
const ingressTarget = "targetRefs: [{group: networking.k8s.io, kind: Ingress, name: web}]"

func parse(t *testing.T, document string) *unstructured.Unstructured {
	t.Helper()
	obj := &unstructured.Unstructured{}
	if err := yaml.Unmarshal([]byte(document), &obj.Object); err != nil {
		t.Fatalf("parsing the test document: %v\n%s", err, document)
	}
	return obj
}

func newTestChecker(t *testing.T) *Checker {
	t.Helper()
	c, err := New()
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return c
}

func errorStrings(errs field.ErrorList) []string {
	if len(errs) == 0 {
		// nil, as the cases that expect no error leave wantErrors unset.
		return nil
	}
	s := make([]string, 0, len(errs))
	for _, err := range errs {
		s = append(s, err.Error())
	}
	return s
}

func TestCheck(t *testing.T) {
	manyOrigins := make([]string, 65)
	for i := range manyOrigins {
		manyOrigins[i] = fmt.Sprintf("https://app%d.example.com", i)
	}

	tests := []struct {
		name         string
		document     string
		wantErrors   []string
		wantWarnings []string
	}{
		{
			name:     "a valid policy is admitted without findings",
			document: corsPolicy(ingressTarget, `allowOrigins: ["https://app.example.com", "http://localhost:*"]`, "allowMethods: [GET, PUT]", "allowCredentials: true"),
		},
		{
			name: "a policy without namespace, allowCredentials or maxAge is valid once defaulted",
			document: "apiVersion: kubecors.io/v1alpha1\nkind: CorsPolicy\nmetadata: {name: web}\n" +
				"spec: {targetSelector: {}, allowOrigins: [\"https://app.example.com\"]}\n",
		},
		{
			name:     "an origin with a path breaks a CEL rule of the origin items",
			document: corsPolicy(ingressTarget, `allowOrigins: ["https://app.example.com/"]`),
			wantErrors: []string{
				`spec.allowOrigins[0]: Invalid value: "https://app.example.com/": "https://app.example.com/" must not have a path, query or fragment (not even a trailing "/"); write "https://app.example.com"`,
			},
		},
		{
			name:     "CEL errors on several fields come sorted by field, indices by value",
			document: corsPolicy(ingressTarget, "exposeHeaders: [Set-Cookie]", `allowOrigins: ["https://a.example.com/", "https://b.example.com", "https://c.example.com/", "https://d.example.com", "https://e.example.com", "https://f.example.com", "https://g.example.com", "https://h.example.com", "https://i.example.com", "https://j.example.com", "https://k.example.com/"]`),
			wantErrors: []string{
				`spec.allowOrigins[0]: Invalid value: "https://a.example.com/": "https://a.example.com/" must not have a path, query or fragment (not even a trailing "/"); write "https://a.example.com"`,
				`spec.allowOrigins[2]: Invalid value: "https://c.example.com/": "https://c.example.com/" must not have a path, query or fragment (not even a trailing "/"); write "https://c.example.com"`,
				`spec.allowOrigins[10]: Invalid value: "https://k.example.com/": "https://k.example.com/" must not have a path, query or fragment (not even a trailing "/"); write "https://k.example.com"`,
				`spec.exposeHeaders[0]: Invalid value: "Set-Cookie": "Set-Cookie" can never be exposed: browsers hide it from every script whatever the server says; remove it`,
			},
		},
		{
			name:     "any origin with credentials breaks a spec CEL rule reported at its fieldPath",
			document: corsPolicy(ingressTarget, `allowOrigins: ["*"]`, "allowCredentials: true"),
			wantErrors: []string{
				`spec.allowOrigins: Invalid value: "*" cannot be used with allowCredentials: true: a credentialed response to any origin lets every website read your users' data; list the trusted origins instead, for example "https://app.example.com"`,
			},
		},
		{
			name:     "65 origins exceed maxItems, which stops the CEL rules",
			document: corsPolicy(ingressTarget, `allowOrigins: ["`+strings.Join(manyOrigins, `", "`)+`"]`),
			wantErrors: []string{
				"spec.allowOrigins: Too many: 65: must have at most 64 items",
				notChecked,
			},
		},
		{
			name:     "a target group outside the enum is not supported, which stops the CEL rules",
			document: corsPolicy("targetRefs: [{group: apps, kind: Ingress, name: web}]", `allowOrigins: ["https://app.example.com/"]`),
			wantErrors: []string{
				`spec.targetRefs[0].group: Unsupported value: "apps": supported values: "networking.k8s.io", "gateway.networking.k8s.io", "networking.istio.io", "projectcontour.io"`,
				notChecked,
			},
		},
		{
			name:     "a misspelt field is an unknown field, named by its path",
			document: corsPolicy(ingressTarget, `allowOrigin: ["https://app.example.com"]`),
			wantErrors: []string{
				`spec.allowOrigin: Invalid value: unknown field "spec.allowOrigin"`,
			},
		},
		{
			name: "unknown fields fail decoding, before any validation",
			document: "apiVersion: kubecors.io/v1alpha1\nkind: CorsPolicy\nmetadata: {name: Web, labelz: {a: b}}\n" +
				"spec: {targetRefs: [{group: apps, kind: Ingress, name: web, port: 80}]}\n",
			wantErrors: []string{
				`metadata.labelz: Invalid value: unknown field "metadata.labelz"`,
				`spec.targetRefs[0].port: Invalid value: unknown field "spec.targetRefs[0].port"`,
			},
		},
		{
			name:     "a name that is not a DNS subdomain is invalid",
			document: strings.Replace(corsPolicy(ingressTarget), "name: web\nspec", "name: Web_Policy\nspec", 1),
			wantErrors: []string{
				`metadata.name: Invalid value: "Web_Policy": a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')`,
			},
		},
		{
			name:     "a missing name is required, which stops the CEL rules",
			document: "apiVersion: kubecors.io/v1alpha1\nkind: CorsPolicy\nmetadata: {namespace: shop}\nspec: {targetSelector: {}}\n",
			wantErrors: []string{
				"metadata.name: Required value: name or generateName is required",
				notChecked,
			},
		},
		{
			name:     "a repeated method breaks listType=set, and the CEL rules still run",
			document: corsPolicy("targetSelector: {}", "allowMethods: [PUT, PUT]", `allowOrigins: ["null"]`),
			wantErrors: []string{
				`spec.allowMethods[1]: Duplicate value: "PUT"`,
				`spec.allowOrigins[0]: Invalid value: "null": "null" is never a safe origin: any page can send it from a sandboxed iframe or a local file; list the real origins instead`,
			},
		},
		{
			name:     "a wildcard over a public suffix passes the CRD and is rejected by the webhook",
			document: corsPolicy(ingressTarget, `allowOrigins: ["https://*.github.io"]`),
			wantErrors: []string{
				`spec.allowOrigins[0]: Invalid value: "https://*.github.io": "https://*.github.io" matches every site under the public suffix "github.io", owned by unrelated parties; list your own domain instead ("https://*.yourdomain.github.io"), or set dangerouslyAllowPublicSuffixWildcards: true if you own this suffix`,
			},
		},
		{
			name:     "an IPv4 origin with leading zeros passes the CRD and is rejected by the webhook",
			document: corsPolicy(ingressTarget, `allowOrigins: ["http://127.000.0.1"]`),
			wantErrors: []string{
				`spec.allowOrigins[0]: Invalid value: "http://127.000.0.1": "http://127.000.0.1" must write its IPv4 address as four decimal numbers without leading zeros (dotted quad), the only form browsers send`,
			},
		},
		{
			name:     "a CEL failure keeps the webhook from running, so its findings do not show",
			document: corsPolicy(ingressTarget, `allowOrigins: ["https://app.example.com/", "https://*.github.io"]`, "maxAge: 7201"),
			wantErrors: []string{
				`spec.allowOrigins[0]: Invalid value: "https://app.example.com/": "https://app.example.com/" must not have a path, query or fragment (not even a trailing "/"); write "https://app.example.com"`,
			},
		},
		{
			name:     "a maxAge above Chromium's cap is valid with a warning",
			document: corsPolicy(ingressTarget, someOrigin, "maxAge: 7201"),
			wantWarnings: []string{
				"spec.maxAge: 7201 seconds is above Chromium's cap of 7200: Chromium caches preflights for 7200 seconds at most",
			},
		},
		{
			name:     "a maxAge out of range breaks the CEL rule and gets no warning",
			document: corsPolicy(ingressTarget, "maxAge: 90000"),
			wantErrors: []string{
				"spec.maxAge: Invalid value: 90000: maxAge is out of range: write whole seconds from 0 to 86400 (24 hours); browsers cap it anyway, Chromium at 7200",
			},
		},
		{
			name: "a finalizer that is not domain-qualified draws the API server's warning",
			document: "apiVersion: kubecors.io/v1alpha1\nkind: CorsPolicy\nmetadata: {name: web, finalizers: [cleanup, kubecors.io/cleanup]}\n" +
				"spec: {targetSelector: {}, allowOrigins: [https://app.example.com]}\n",
			wantWarnings: []string{
				`metadata.finalizers: "cleanup": prefer a domain-qualified finalizer name to avoid accidental conflicts with other finalizer writers`,
			},
		},
		{
			name: "status is dropped on create, as the status subresource requires, and not validated",
			document: corsPolicy(ingressTarget, someOrigin) +
				"status: {programmedTargets: \"" + strings.Repeat("9", 40) + "\"}\n",
		},
		{
			name:     "a version the CRD does not serve is an error, not a skip",
			document: strings.Replace(corsPolicy(ingressTarget), "v1alpha1", "v1beta1", 1),
			wantErrors: []string{
				`apiVersion: Unsupported value: "kubecors.io/v1beta1": supported values: "kubecors.io/v1alpha1"`,
			},
		},
	}
	c := newTestChecker(t)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := c.Check(parse(t, tt.document))
			if got.Skipped != "" {
				t.Fatalf("Skipped = %q, want the policy checked", got.Skipped)
			}
			if diff := cmp.Diff(tt.wantErrors, errorStrings(got.Errors)); diff != "" {
				t.Errorf("errors (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tt.wantWarnings, got.Warnings); diff != "" {
				t.Errorf("warnings (-want +got):\n%s", diff)
			}
			if valid := len(tt.wantErrors) == 0; got.Valid() != valid {
				t.Errorf("Valid() = %v, want %v", got.Valid(), valid)
			}
		})
	}
}

func TestCheckSkipsOtherKinds(t *testing.T) {
	tests := []struct {
		name     string
		document string
		want     string
	}{
		{
			name:     "a Deployment is named in the note",
			document: "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web}\nspec: {replicas: 1}\n",
			want:     `apps/v1 Deployment "web": not a kind kubecors checks`,
		},
		{
			name:     "a CorsPolicy of another API group is not a kubecors policy",
			document: "apiVersion: example.com/v1\nkind: CorsPolicy\nmetadata: {name: web}\n",
			want:     `example.com/v1 CorsPolicy "web": not a kind kubecors checks`,
		},
		{
			name:     "a document without apiVersion and kind is not a Kubernetes object",
			document: "replicaCount: 2\n",
			want:     "not a Kubernetes object: it has no apiVersion and kind",
		},
		{
			name:     "a List is not expanded, and the note says so",
			document: "apiVersion: v1\nkind: List\nitems: []\n",
			want:     "v1 List: the items of a List are not checked; write each object as its own YAML document",
		},
	}
	c := newTestChecker(t)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := c.Check(parse(t, tt.document))
			if got.Skipped != tt.want || len(got.Errors) > 0 || len(got.Warnings) > 0 {
				t.Errorf("Check = %+v, want only Skipped %q", got, tt.want)
			}
			if got.Valid() {
				t.Error("Valid() = true for a skipped document")
			}
		})
	}
}

// spyChecker returns a Checker whose CorsPolicy webhook records the
// objects it is called with before running the real rules.
func spyChecker(t *testing.T) (*Checker, *[]*unstructured.Unstructured) {
	t.Helper()
	var calls []*unstructured.Unstructured
	kinds := make([]servedKindVersion, len(servedKinds))
	copy(kinds, servedKinds)
	real := kinds[0].webhook
	kinds[0].webhook = func(obj *unstructured.Unstructured) (field.ErrorList, []string) {
		calls = append(calls, obj.DeepCopy())
		return real(obj)
	}
	c, err := newChecker(crd.Bases, kinds)
	if err != nil {
		t.Fatalf("newChecker: %v", err)
	}
	return c, &calls
}

func TestCheckCallsWebhookOnlyAfterCRDValidationPasses(t *testing.T) {
	c, calls := spyChecker(t)

	for _, document := range []string{
		corsPolicy(ingressTarget, `allowOrigins: ["HTTPS://APP.EXAMPLE.COM"]`),     // CEL
		corsPolicy(ingressTarget, "allowMethods: [PUT, PUT]"),                      // listType=set
		corsPolicy(ingressTarget, "maxAge: soon"),                                  // OpenAPI type
		corsPolicy(ingressTarget, "maxAgeSeconds: 5"),                              // unknown field
		strings.Replace(corsPolicy(ingressTarget), "name: web", "name: Web", 1),    // metadata
		strings.Replace(corsPolicy(ingressTarget), "v1alpha1", "v1", 1),            // version
		"apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web}\nspec: {}\n", // other kind
	} {
		if got := c.Check(parse(t, document)); got.Valid() {
			t.Errorf("Check(%s) is valid, want it rejected or skipped", document)
		}
	}
	if len(*calls) != 0 {
		t.Fatalf("webhook called %d times for objects the API server rejects or does not route to it", len(*calls))
	}

	if got := c.Check(parse(t, corsPolicy(ingressTarget))); !got.Valid() {
		t.Fatalf("Check(valid policy) = %+v", got)
	}
	if len(*calls) != 1 {
		t.Fatalf("webhook called %d times for one valid policy, want once", len(*calls))
	}
}

func TestCheckDefaultsBeforeTheWebhook(t *testing.T) {
	c, calls := spyChecker(t)
	document := "apiVersion: kubecors.io/v1alpha1\nkind: CorsPolicy\nmetadata: {name: web}\nspec: {targetSelector: {}, allowOrigins: [https://app.example.com]}\n"
	original := parse(t, document)
	if got := c.Check(original); !got.Valid() || len(got.Warnings) > 0 {
		t.Fatalf("Check = %+v, want valid without warnings", got)
	}
	if len(*calls) != 1 {
		t.Fatalf("webhook called %d times, want once", len(*calls))
	}
	seen := (*calls)[0]
	if credentials, found, _ := unstructured.NestedBool(seen.Object, "spec", "allowCredentials"); !found || credentials {
		t.Errorf("webhook saw spec.allowCredentials = %v (set: %v), want the CRD default false", credentials, found)
	}
	if maxAge, found, _ := unstructured.NestedInt64(seen.Object, "spec", "maxAge"); !found || maxAge != 5 {
		t.Errorf("webhook saw spec.maxAge = %v (set: %v), want the CRD default 5", maxAge, found)
	}
	if seen.GetNamespace() == "" {
		t.Error("webhook saw no namespace; kubectl fills in the current one")
	}
	if _, found, _ := unstructured.NestedFieldNoCopy(original.Object, "spec", "maxAge"); found {
		t.Error("Check modified its argument: spec.maxAge was defaulted in place")
	}
}

func TestCheckTyped(t *testing.T) {
	c := newTestChecker(t)
	policy := &kubecorsv1alpha1.CorsPolicy{
		ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "shop"},
		Spec: kubecorsv1alpha1.CorsPolicySpec{
			TargetRefs:   []kubecorsv1alpha1.PolicyTargetReference{{Group: kubecorsv1alpha1.GroupNetworking, Kind: kubecorsv1alpha1.KindIngress, Name: "web"}},
			AllowOrigins: []kubecorsv1alpha1.Origin{"https://app.example.com"},
		},
	}
	got, err := c.CheckCorsPolicy(policy)
	if err != nil || !got.Valid() || len(got.Warnings) > 0 {
		t.Fatalf("CheckCorsPolicy(valid) = %+v, %v; want valid without warnings", got, err)
	}
	if policy.APIVersion != "" || policy.Spec.MaxAge != nil {
		t.Error("CheckCorsPolicy modified its argument")
	}

	policy.Spec.AllowOrigins = []kubecorsv1alpha1.Origin{"https://*.github.io"}
	got, err = c.CheckCorsPolicy(policy)
	if err != nil {
		t.Fatalf("CheckCorsPolicy: %v", err)
	}
	want := []string{`spec.allowOrigins[0]: Invalid value: "https://*.github.io": "https://*.github.io" matches every site under the public suffix "github.io", owned by unrelated parties; list your own domain instead ("https://*.yourdomain.github.io"), or set dangerouslyAllowPublicSuffixWildcards: true if you own this suffix`}
	if diff := cmp.Diff(want, errorStrings(got.Errors)); diff != "" {
		t.Errorf("CheckCorsPolicy(public-suffix wildcard) errors (-want +got):\n%s", diff)
	}

	if _, err := c.CheckTyped(&corev1.ConfigMap{}); err == nil {
		t.Error("CheckTyped(ConfigMap) returned no error for a type outside the kubecors API")
	}
}
