package policycheck

import (
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/yaml"
)

// FuzzCheck decodes arbitrary bytes as YAML, as kubectl cors check does, and
// checks the object: no panic, a valid verdict always comes with the object
// as stored, and the stored object is valid again (what the API server
// stores, it accepts back).
func FuzzCheck(f *testing.F) {
	f.Add([]byte("apiVersion: kubecors.io/v1alpha1\nkind: CorsPolicy\nmetadata: {name: web, namespace: shop}\n" +
		"spec: {targetSelector: {}, allowOrigins: [\"https://app.example.com\"], allowCredentials: true}\n"))
	f.Add([]byte("apiVersion: kubecors.io/v1alpha1\nkind: ClusterCorsPolicy\nmetadata: {name: rules}\n" +
		"spec: {mode: Audit, namespaceSelector: {matchExpressions: [{key: team, operator: Exists}]}}\n"))
	f.Add([]byte("apiVersion: kubecors.io/v1alpha1\nkind: CorsPolicy\nmetadata: {generateName: web-}\nspec: {allowOrigins: [1, null, {}]}\n"))
	f.Add([]byte("apiVersion: kubecors.io/v9\nkind: CorsPolicy\n"))
	f.Add([]byte("{\"apiVersion\": \"kubecors.io/v1alpha1\", \"kind\": \"CorsPolicy\", \"metadata\": {\"name\": \"\xff\"}}"))
	checker, err := New()
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		var content map[string]any
		if yaml.Unmarshal(data, &content) != nil || content == nil {
			return
		}
		result := checker.Check(&unstructured.Unstructured{Object: content})
		if !result.Valid() {
			return
		}
		if result.Stored == nil {
			t.Fatal("valid without the stored object")
		}
		if again := checker.Check(result.Stored.DeepCopy()); !again.Valid() {
			t.Fatalf("the stored object is refused: %v %s", again.Errors, again.Skipped)
		}
	})
}
