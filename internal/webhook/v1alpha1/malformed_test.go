package v1alpha1

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	admissionv1 "k8s.io/api/admission/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/controller-runtime/pkg/webhook/admission"

	kubecorsv1alpha1 "github.com/kubecors/kubecors/api/v1alpha1"
)

// review is an AdmissionReview of a CorsPolicy create whose object is the
// raw JSON given.
func review(object string) string {
	return `{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{"uid":"7d1b7c0e-1c2a-4d1e-9a7e-0c1f4c2b9a11",` +
		`"kind":{"group":"kubecors.io","version":"v1alpha1","kind":"CorsPolicy"},` +
		`"resource":{"group":"kubecors.io","version":"v1alpha1","resource":"corspolicies"},` +
		`"namespace":"shop","operation":"CREATE","userInfo":{"username":"alice"},"object":` + object + `}}`
}

// TestWebhookRefusesUndecodableRequests sends the CorsPolicy webhook's HTTP
// handler what it cannot decode, as raw bytes: each is refused, with a
// status code and a message saying what was wrong, and never allowed. A
// well-formed review of a valid policy is allowed, so the refusals are the
// handler's verdicts on the input, not a handler that refuses everything.
func TestWebhookRefusesUndecodableRequests(t *testing.T) {
	scheme := runtime.NewScheme()
	if err := kubecorsv1alpha1.AddToScheme(scheme); err != nil {
		t.Fatal(err)
	}
	handler := admission.WithValidator(scheme, admission.Validator[*kubecorsv1alpha1.CorsPolicy](&CorsPolicyValidator{}))
	valid := `{"apiVersion":"kubecors.io/v1alpha1","kind":"CorsPolicy","metadata":{"name":"web","namespace":"shop"},` +
		`"spec":{"targetSelector":{},"allowOrigins":["https://app.example.com"]}}`
	for _, tc := range []struct {
		name, contentType, body string
		wantAllowed             bool
		wantCode                int32
		wantMessage             string
	}{
		{"a well-formed review of a valid policy", "application/json", review(valid), true, http.StatusOK, ""},
		{"truncated JSON", "application/json", review(valid)[:80], false, http.StatusBadRequest, "unexpected end of JSON input"},
		{"not JSON at all", "application/json", "\xff\xfe<xml/>", false, http.StatusBadRequest, "couldn't get version/kind; json parse error"},
		{"an empty body: no operation to judge", "application/json", "", false, http.StatusBadRequest, `unknown operation ""`},
		{"YAML instead of JSON", "application/yaml", "apiVersion: admission.k8s.io/v1\n", false, http.StatusBadRequest, "expected application/json"},
		{"an object whose field has the wrong type", "application/json",
			review(`{"apiVersion":"kubecors.io/v1alpha1","kind":"CorsPolicy","metadata":{"name":"web"},"spec":{"allowOrigins":5}}`),
			false, http.StatusBadRequest, "cannot unmarshal number"},
		{"an object of another kind", "application/json",
			review(`{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"web"}}`), false, http.StatusBadRequest, "ConfigMap"},
		{"a body over the size limit", "application/json", review(`{"pad":"` + strings.Repeat("a", 8<<20) + `"}`),
			false, http.StatusRequestEntityTooLarge, "request entity is too large"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rec := httptest.NewRecorder()
			req := httptest.NewRequest(http.MethodPost, "/validate-kubecors-io-v1alpha1-corspolicy", strings.NewReader(tc.body))
			req.Header.Set("Content-Type", tc.contentType)
			handler.ServeHTTP(rec, req)
			var got admissionv1.AdmissionReview
			if err := json.Unmarshal(rec.Body.Bytes(), &got); err != nil || got.Response == nil {
				t.Fatalf("the answer is no AdmissionReview (%v): %q", err, rec.Body.String())
			}
			resp := got.Response
			message := ""
			code := int32(http.StatusOK)
			if resp.Result != nil {
				message, code = resp.Result.Message, resp.Result.Code
			}
			if resp.Allowed != tc.wantAllowed || code != tc.wantCode || !strings.Contains(message, tc.wantMessage) {
				t.Errorf("allowed %v, code %d, message %q; want allowed %v, code %d, a message containing %q",
					resp.Allowed, code, message, tc.wantAllowed, tc.wantCode, tc.wantMessage)
			}
		})
	}
}
