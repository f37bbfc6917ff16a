package contour

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

func proxy(t *testing.T, doc string) *unstructured.Unstructured {
	t.Helper()
	obj := &unstructured.Unstructured{}
	if err := yaml.Unmarshal([]byte(doc), &obj.Object); err != nil {
		t.Fatal(err)
	}
	return obj
}

func read(t *testing.T, cors string) dataplanes.TargetSection {
	t.Helper()
	sections := ReadHTTPProxy(proxy(t, "spec:\n  virtualhost:\n    fqdn: a.example.com\n    corsPolicy: "+cors+"\n"))
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

// TestReadHandWritten reads hand-written corsPolicies with Contour's
// defaults and traps.
func TestReadHandWritten(t *testing.T) {
	wildcard := read(t, `{allowOrigin: ["*"], allowMethods: [PUT], allowCredentials: true}`)
	if !wildcard.Model.Effective().AnyOrigin || !allowed(t, wildcard.Model, "https://evil.example.org", true) {
		t.Error(`"*" with credentials: Envoy echoes any origin and allows credentialed reads`)
	}
	glob := read(t, `{allowOrigin: ["https://*.example.com"], allowMethods: [PUT]}`)
	if allowed(t, glob.Model, "https://app.example.com", false) {
		t.Error("Contour has no globs: https://*.example.com is an exact match of that literal")
	}
	if s, _ := glob.Model.Effective().Setting(dataplanes.SettingAllowOrigins); !strings.Contains(s.Note, "matched literally") {
		t.Errorf("the glob must be explained, got %q", s.Note)
	}
	regex := read(t, `{allowOrigin: ['https://.*\.example\.com'], allowMethods: [PUT]}`)
	if !allowed(t, regex.Model, "https://a.b.example.com", false) || allowed(t, regex.Model, "https://a.example.com.evil.net", false) {
		t.Error("a regex is full-matched by Envoy: any depth in front of example.com, nothing after it")
	}
	if e := regex.Model.Effective(); e.MaxAge != nil || e.AllowCredentials {
		t.Errorf("unset maxAge sends none, unset credentials none; got %+v", e)
	}
	zero := read(t, `{allowOrigin: ["https://app.example.com"], allowMethods: [GET], maxAge: "0"}`)
	if e := zero.Model.Effective(); e.MaxAge == nil || *e.MaxAge != 0 {
		t.Errorf(`maxAge "0" disables the cache, got %v`, e.MaxAge)
	}
	case1 := read(t, `{allowOrigin: ["https://APP.Example.com"], allowMethods: [PUT]}`)
	if !allowed(t, case1.Model, "https://app.example.com", false) {
		t.Error("Contour's exact origins ignore case")
	}
	for _, bad := range []string{`{allowOrigin: [], allowMethods: [GET]}`, `{allowOrigin: ["*"], allowMethods: []}`,
		`{allowOrigin: ["(("], allowMethods: [GET]}`, `{allowOrigin: ["*"], allowMethods: [GET], maxAge: "-1s"}`} {
		if s := read(t, bad); len(s.Problems) != 1 || s.Model.Effective().Enabled {
			t.Errorf("%s: want one problem and no CORS, got %q", bad, s.Problems)
		}
	}
}

func policy() dataplanes.Policy {
	return dataplanes.Policy{Namespace: "shop", Name: "shop", Spec: kubecorsv1alpha1.CorsPolicySpec{
		AllowOrigins: []kubecorsv1alpha1.Origin{"https://*.example.com"}, AllowCredentials: new(true),
	}}
}

// TestRenderRefusesNonRootProxy: an included HTTPProxy has no virtual
// host, and Contour reads no corsPolicy there.
func TestRenderRefusesNonRootProxy(t *testing.T) {
	c := Render(policy(), proxy(t, "metadata: {name: child}\nspec:\n  routes: [{services: [{name: web, port: 80}]}]\n"))
	if !strings.Contains(c.Refused, `HTTPProxy "child" is not a root proxy`) || c.CORS != nil {
		t.Fatalf("want the non-root proxy refused, got %+v", c)
	}
}

// TestApplyRemoveRestoresUserCorsPolicy: the user's corsPolicy is a
// conflict, taken over only on request, and restored byte for byte.
func TestApplyRemoveRestoresUserCorsPolicy(t *testing.T) {
	obj := proxy(t, `
metadata: {name: root}
spec:
  virtualhost:
    fqdn: a.example.com
    corsPolicy: {allowOrigin: ["*"], allowMethods: [GET], allowCredentials: true, maxAge: 10m}
  routes: [{services: [{name: web, port: 80}]}]
`)
	before, _ := json.Marshal(obj.Object)
	change := Render(policy(), obj)
	var conflict *dataplanes.TargetConflict
	if err := Apply(obj, change, false); !errors.As(err, &conflict) {
		t.Fatalf("want a conflict, got %v", err)
	}
	if err := Apply(obj, change, true); err != nil {
		t.Fatal(err)
	}
	if s := ReadHTTPProxy(obj); len(s) != 1 || s[0].Model.Effective().AnyOrigin {
		t.Fatalf("kubecors's corsPolicy is not in place: %+v", s)
	}
	if err := Remove(obj); err != nil {
		t.Fatal(err)
	}
	obj.SetAnnotations(nil)
	if after, _ := json.Marshal(obj.Object); string(after) != string(before) {
		t.Fatalf("not restored byte for byte:\n%s\nwant\n%s", after, before)
	}
}
