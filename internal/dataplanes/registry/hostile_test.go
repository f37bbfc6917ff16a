package registry

import (
	"encoding/json"
	"flag"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"
	"pgregory.net/rapid"

	"github.com/kubecors/kubecors/internal/corsrules"
	"github.com/kubecors/kubecors/internal/dataplanes"
	"github.com/kubecors/kubecors/internal/dataplanes/dataplanestest"
	"github.com/kubecors/kubecors/internal/dataplanes/haproxyingress"
)

// hostileChecks is how many policies the hostile-input property draws
// unless -rapid.checks says otherwise.
const hostileChecks = "2000"

// originRegexItem is an item of HAProxy Ingress's cors-allow-origin-regex
// as kubecors writes it: dataplanes.OriginRegexp of a parsed pattern, whose
// host corsrules restricted to letters, digits, "-", "." (and an IPv6
// literal's hex digits and colons).
var originRegexItem = regexp.MustCompile(`^\^https?://(\(\?:\[a-z0-9\]\(\?:\[a-z0-9-\]\{0,61\}\[a-z0-9\]\)\?\\\.\)\+)?` +
	`(\\\[[0-9a-f:.]+\\\]|[a-z0-9-]+(\\\.[a-z0-9-]+)*)` +
	`(:[0-9]+|` + regexp.QuoteMeta(`(?::(?:[1-9][0-9]{0,3}|[1-5][0-9]{4}|6[0-4][0-9]{3}|65[0-4][0-9]{2}|655[0-2][0-9]|6553[0-5]))?`) + `)?\$$`)

// TestHostilePolicyStaysInSafeCharacters is the annotation-injection
// property: whatever a policy holds (admission bypassed, so anything), every
// annotation value an Ingress renderer writes is printable ASCII without a
// configuration metacharacter, HAProxy Ingress's origin regexes are exactly
// the regexes kubecors builds from validated hosts, and Traefik's
// Middleware is a well-formed object. The renderer defends itself; it does
// not trust the webhook.
func TestHostilePolicyStaysInSafeCharacters(t *testing.T) {
	if f := flag.Lookup("rapid.checks"); f != nil && f.Value.String() == f.DefValue {
		if err := f.Value.Set(hostileChecks); err != nil {
			t.Fatal(err)
		}
	}
	var invalid, rendered int
	rapid.Check(t, func(rt *rapid.T) {
		spec := dataplanestest.HostileSpec(rt)
		if errs, _ := corsrules.ValidateSpec(&spec, field.NewPath("spec")); len(errs) > 0 {
			invalid++
		}
		policy := dataplanes.Policy{Namespace: "shop", Name: "storefront", Spec: spec}
		for _, dp := range All() {
			if dp.RenderAttached != nil {
				c := dp.RenderAttached(policy, dataplanes.AttachTarget{Namespace: "shop", Kind: "Gateway", Name: "edge"})
				if c.Refused == "" && c.Object != nil {
					rendered++
					if problem := malformedObject(c.Object); problem != "" {
						rt.Fatalf("%s attached object %s/%s: %s", dp.Name, c.Object.GetNamespace(), c.Object.GetName(), problem)
					}
				}
			}
			if dp.Target != nil {
				change := dp.Target.Render(policy, dp.Target.Sample())
				if change.Refused == "" {
					rendered++
					obj := &unstructured.Unstructured{Object: map[string]any{"cors": change.CORS}}
					obj.SetNamespace("shop")
					obj.SetName(dataplanestest.TargetName)
					if problem := malformedObject(obj); problem != "" {
						rt.Fatalf("%s corsPolicy %v: %s", dp.Name, change.CORS, problem)
					}
				}
			}
			if dp.Ingress == nil {
				continue
			}
			c := dp.Ingress.RenderIngress(policy, dataplanes.IngressTarget{Namespace: "shop", Name: dataplanestest.TargetName})
			if c.Refused != "" {
				if len(c.Annotations) > 0 || len(c.Objects) > 0 || len(c.ListEntries) > 0 {
					rt.Fatalf("%s refused (%s) yet writes %v %v %v", dp.Name, c.Refused, c.Annotations, c.Objects, c.ListEntries)
				}
				continue
			}
			rendered++
			for key, value := range c.Annotations {
				if !slices.Contains(dp.AnnotationKeys, key) && (dp.SharedList == nil || key != dp.SharedList.RecordKey) {
					rt.Fatalf("%s writes %q, not one of its annotation keys", dp.Name, key)
				}
				if problem := unsafeValue(dp.Name, key, value); problem != "" {
					rt.Fatalf("%s annotation %s=%q: %s", dp.Name, key, value, problem)
				}
			}
			for _, entry := range c.ListEntries {
				if problem := unsafeValue(dp.Name, dp.SharedList.Key, entry); problem != "" {
					rt.Fatalf("%s list entry %q: %s", dp.Name, entry, problem)
				}
			}
			for _, obj := range c.Objects {
				if problem := malformedObject(obj); problem != "" {
					rt.Fatalf("%s object %s/%s: %s", dp.Name, obj.GetNamespace(), obj.GetName(), problem)
				}
			}
		}
	})
	// A run in which every policy was valid would prove nothing about
	// hostile input; one in which nothing rendered would check nothing.
	if invalid == 0 || rendered == 0 {
		t.Errorf("%d policies the rules reject, %d rendered configurations: the generator is not exercising the renderers", invalid, rendered)
	}
	t.Logf("%d policies the rules reject were rendered, %d configurations checked", invalid, rendered)
}

// unsafeValue says what is wrong with an annotation value, or "".
func unsafeValue(plane, key, value string) string {
	if !utf8.ValidString(value) {
		return "not UTF-8"
	}
	for _, r := range value {
		if r < 0x20 || r > 0x7e {
			return "a character outside printable ASCII"
		}
	}
	if plane == haproxyingress.Name && key == haproxyingress.AllowOriginRegex {
		for item := range strings.SplitSeq(value, " ") {
			if item != "" && !originRegexItem.MatchString(item) {
				return "an origin regex kubecors does not build from a validated host"
			}
		}
		return ""
	}
	if i := strings.IndexAny(value, dataplanestest.ConfigMetacharacters); i >= 0 {
		return "the configuration metacharacter " + string(value[i])
	}
	return ""
}

// malformedObject says what is wrong with an object kubecors creates, or
// "": a valid name and namespace, and content that survives a JSON round
// trip unchanged (no value unstructured cannot hold) without a character
// outside printable ASCII.
func malformedObject(obj *unstructured.Unstructured) string {
	if errs := validation.IsDNS1123Subdomain(obj.GetName()); len(errs) > 0 {
		return "name: " + strings.Join(errs, "; ")
	}
	if errs := validation.IsDNS1123Label(obj.GetNamespace()); len(errs) > 0 {
		return "namespace: " + strings.Join(errs, "; ")
	}
	data, err := json.Marshal(obj.Object)
	if err != nil {
		return err.Error()
	}
	var back map[string]any
	if err := json.Unmarshal(data, &back); err != nil {
		return err.Error()
	}
	if !reflect.DeepEqual(back, roundTripped(obj.Object)) {
		return "changes in a JSON round trip"
	}
	for _, r := range string(data) {
		if r < 0x20 || r > 0x7e {
			return "a character outside printable ASCII"
		}
	}
	return ""
}

// roundTripped is obj as JSON gives it back: numbers as float64.
func roundTripped(obj map[string]any) map[string]any {
	data, _ := json.Marshal(obj)
	var out map[string]any
	_ = json.Unmarshal(data, &out)
	return out
}
