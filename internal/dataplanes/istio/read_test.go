package istio

import (
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/yaml"

	kubecorsv1alpha1 "github.com/kubecors/kubecors/api/v1alpha1"
	"github.com/kubecors/kubecors/internal/corscheck"
	"github.com/kubecors/kubecors/internal/dataplanes"
)

func virtualService(t *testing.T, doc string) *unstructured.Unstructured {
	t.Helper()
	obj := &unstructured.Unstructured{}
	if err := yaml.Unmarshal([]byte(doc), &obj.Object); err != nil {
		t.Fatal(err)
	}
	return obj
}

func specJSON(t *testing.T, obj *unstructured.Unstructured) string {
	t.Helper()
	raw, err := json.Marshal(obj.Object["spec"])
	if err != nil {
		t.Fatal(err)
	}
	return string(raw)
}

const userRoutes = `
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: shop, namespace: shop}
spec:
  hosts: [shop.example.com]
  http:
  - name: api
    match: [{uri: {prefix: /api}}]
    corsPolicy: {allowOrigins: [{prefix: "https://app.example.com"}], allowCredentials: true}
    route: [{destination: {host: api}}]
  - match: [{uri: {prefix: /static}}]
    route: [{destination: {host: static}}]
  - route: [{destination: {host: web}}]
    corsPolicy: {allowOrigin: ["*"]}
`

func policy() dataplanes.Policy {
	return dataplanes.Policy{Namespace: "shop", Name: "shop", Spec: kubecorsv1alpha1.CorsPolicySpec{
		AllowOrigins: []kubecorsv1alpha1.Origin{"https://app.example.com", "https://*.preview.example.com"},
		AllowMethods: []kubecorsv1alpha1.HTTPMethod{"PUT"}, AllowCredentials: new(true), MaxAge: new(int32(600)),
	}}
}

// TestApplyConflictsWithUserCorsPolicy: routes with a corsPolicy the user
// wrote are not overwritten without takeOverExistingConfiguration, and the
// object is left unchanged.
func TestApplyConflictsWithUserCorsPolicy(t *testing.T) {
	vs := virtualService(t, userRoutes)
	before := specJSON(t, vs)
	err := Apply(vs, Render(policy(), vs), false)
	var conflict *dataplanes.TargetConflict
	if !errors.As(err, &conflict) || !strings.Contains(conflict.Message, "spec.http[0].corsPolicy, spec.http[2].corsPolicy") {
		t.Fatalf("want a conflict naming both user corsPolicies, got %v", err)
	}
	if specJSON(t, vs) != before || vs.GetAnnotations()[RecordAnnotation] != "" {
		t.Fatal("a conflicting Apply changed the object")
	}
}

// TestApplyThenRemoveRestoresRoutes takes the user's corsPolicies over,
// lets the user reorder and add routes in between, and removes kubecors's
// change: every route is as the user left it, each original corsPolicy
// back, byte for byte.
func TestApplyThenRemoveRestoresRoutes(t *testing.T) {
	vs := virtualService(t, userRoutes)
	original := specJSON(t, vs)
	change := Render(policy(), vs)
	if err := Apply(vs, change, true); err != nil {
		t.Fatal(err)
	}
	for i, s := range ReadVirtualService(vs) {
		if s.Key != "spec.http["+string(rune('0'+i))+"].corsPolicy" || len(s.Problems) > 0 || s.Model.Effective().AllowOrigins[0] != "https://app.example.com" {
			t.Fatalf("route %d does not carry kubecors's corsPolicy: %+v", i, s)
		}
	}
	// Applying again (the policy reconciled once more) changes nothing.
	applied := specJSON(t, vs)
	if err := Apply(vs, change, false); err != nil || specJSON(t, vs) != applied {
		t.Fatalf("a second Apply changed the object or failed: %v", err)
	}
	// The user moves the last (unnamed) route to the front and adds one.
	routes := vs.Object["spec"].(map[string]any)["http"].([]any)
	routes = append([]any{routes[2], routes[0], routes[1]}, map[string]any{"route": []any{map[string]any{"destination": map[string]any{"host": "new"}}}})
	vs.Object["spec"].(map[string]any)["http"] = routes
	if err := Remove(vs); err != nil {
		t.Fatal(err)
	}
	want := virtualService(t, userRoutes)
	wantRoutes := want.Object["spec"].(map[string]any)["http"].([]any)
	want.Object["spec"].(map[string]any)["http"] = append([]any{wantRoutes[2], wantRoutes[0], wantRoutes[1]}, routes[3])
	if got := specJSON(t, vs); got != specJSON(t, want) {
		t.Fatalf("after Remove:\n%s\nwant\n%s\n(original %s)", got, specJSON(t, want), original)
	}
	if _, ok := vs.GetAnnotations()[RecordAnnotation]; ok {
		t.Error("the record annotation stayed")
	}
}

// TestRemoveKeepsUserEdits: a corsPolicy the user edited after kubecors
// wrote it is the user's; Remove leaves it.
func TestRemoveKeepsUserEdits(t *testing.T) {
	vs := virtualService(t, `
spec:
  http:
  - route: [{destination: {host: a}}]
  - route: [{destination: {host: b}}]
`)
	if err := Apply(vs, Render(policy(), vs), false); err != nil {
		t.Fatal(err)
	}
	routes := vs.Object["spec"].(map[string]any)["http"].([]any)
	routes[1].(map[string]any)["corsPolicy"].(map[string]any)["allowMethods"] = []any{"GET"}
	if err := Remove(vs); err != nil {
		t.Fatal(err)
	}
	if _, ok := routes[0].(map[string]any)["corsPolicy"]; ok {
		t.Error("kubecors's corsPolicy stayed on route 0")
	}
	if m := routes[1].(map[string]any)["corsPolicy"].(map[string]any)["allowMethods"]; len(m.([]any)) != 1 {
		t.Error("the user's edit of route 1 was lost")
	}
}

// TestRemoveRefusesCorruptRecord: a record kubecors cannot read stops the
// removal with a message, and nothing is changed.
func TestRemoveRefusesCorruptRecord(t *testing.T) {
	vs := virtualService(t, userRoutes)
	vs.SetAnnotations(map[string]string{RecordAnnotation: "{not json"})
	before := specJSON(t, vs)
	if err := Remove(vs); err == nil || !strings.Contains(err.Error(), "is not kubecors's record") {
		t.Fatalf("want the record refused, got %v", err)
	}
	if specJSON(t, vs) != before {
		t.Fatal("the object changed")
	}
}

func read(t *testing.T, doc string) dataplanes.TargetSection {
	t.Helper()
	sections := ReadVirtualService(virtualService(t, doc))
	if len(sections) != 1 {
		t.Fatalf("want one section, got %d", len(sections))
	}
	return sections[0]
}

func allowed(t *testing.T, m dataplanes.Model, origin string, credentials bool) bool {
	t.Helper()
	_, v, err := corscheck.Run(m, corscheck.Request{Origin: origin, Method: http.MethodPut, Headers: http.Header{}, Credentials: credentials})
	if err != nil {
		t.Fatal(err)
	}
	return v.Allowed
}

// TestReadHandWritten reads hand-written corsPolicies with Istio's traps.
func TestReadHandWritten(t *testing.T) {
	prefix := read(t, `
spec:
  http:
  - corsPolicy: {allowOrigins: [{prefix: "https://app.example.com"}], allowMethods: [PUT], allowCredentials: true}
`)
	if !allowed(t, prefix.Model, "https://app.example.com.evil.net", true) {
		t.Error("a prefix origin must let https://app.example.com.evil.net read credentialed responses, as Envoy does")
	}
	if got := prefix.Model.Effective().AllowOriginRegexes; len(got) != 1 || strings.HasSuffix(got[0], "$") {
		t.Errorf("a prefix must read as a regex anchored at the start only, got %q", got)
	}
	regex := read(t, `
spec:
  http:
  - corsPolicy: {allowOrigins: [{regex: 'https://app\.example\.com'}], allowMethods: [PUT]}
`)
	if !allowed(t, regex.Model, "https://app.example.com", false) || allowed(t, regex.Model, "https://app.example.com.evil.net", false) {
		t.Error("Envoy's safe_regex is a full match: the unanchored regex must match the origin and nothing longer")
	}
	forward := read(t, `
spec:
  http:
  - corsPolicy: {allowOrigins: [{exact: "https://app.example.com"}]}
`)
	req := corscheck.Request{Origin: "https://evil.example.org", Method: http.MethodPut, Headers: http.Header{}}
	if by := forward.Model.AnsweredBy(req, true); by != dataplanes.ByBackend {
		t.Errorf("unmatchedPreflights unset forwards preflights from other origins to the backend; answered by %s", by)
	}
	if e := forward.Model.Effective(); e.MaxAge != nil || e.AllowCredentials {
		t.Errorf("unset maxAge sends none and unset credentials sends none; got %+v", e)
	}
	any := read(t, `
spec:
  http:
  - corsPolicy: {allowOrigin: ["*"], allowMethods: [PUT], allowCredentials: true}
`)
	if !any.Model.Effective().AnyOrigin || !allowed(t, any.Model, "https://evil.example.org", true) {
		t.Error(`the deprecated allowOrigin "*" echoes any origin, with credentials`)
	}
	bad := read(t, `
spec:
  http:
  - corsPolicy: {allowOrigins: [{regex: "(("}], allowMethods: [PROPFIND], maxAge: 1500ms}
`)
	if len(bad.Problems) != 3 || bad.Model.Effective().Enabled {
		t.Errorf("want three problems and no CORS, got %q", bad.Problems)
	}
}
