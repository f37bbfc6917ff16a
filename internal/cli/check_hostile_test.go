package cli

import (
	"io"
	"strings"
	"testing"

	"github.com/kubecors/kubecors/internal/policycheck"
)

// policyHead is the start of a CorsPolicy document, up to its spec.
const policyHead = "apiVersion: kubecors.io/v1alpha1\nkind: CorsPolicy\nmetadata: {name: web, namespace: shop}\nspec:\n"

// aliasBomb is a "billion laughs" document: nine to the eighth values from
// a few lines of aliases.
const aliasBomb = "a: &a [x,x,x,x,x,x,x,x,x]\nb: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]\nc: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]\n" +
	"d: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]\ne: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d]\nf: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e]\n" +
	"g: &g [*f,*f,*f,*f,*f,*f,*f,*f,*f]\nh: &h [*g,*g,*g,*g,*g,*g,*g,*g,*g]\n"

// TestCheckHostileInput feeds the offline checker what an attacker or a
// broken generator produces: each input ends in a clear error for its own
// document, and nothing panics, hangs or is reported as valid.
func TestCheckHostileInput(t *testing.T) {
	checker, err := policycheck.New()
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, input, want string
	}{
		{"non-UTF-8 bytes", policyHead + "  allowOrigins: [\"https://\xff\xfe.example\"]\n", "invalid leading UTF-8 octet"},
		{"an alias bomb", aliasBomb, "excessive aliasing"},
		{"nesting past the parser's depth limit", "a: " + strings.Repeat("[", 100000), "exceeded max depth"},
		{"a broken mapping", policyHead + "  allowOrigins: [\n  : :\n", "invalid YAML: "},
		{"a list far past maxItems", policyHead + "  targetSelector: {}\n  allowOrigins: [" + strings.Repeat(`"https://a.example.com",`, 20000) + "]\n",
			"Too many: 20000: must have at most"},
		{"an origin far past maxLength", policyHead + "  targetSelector: {}\n  allowOrigins: [\"https://" + strings.Repeat("a", 100000) + ".example.com\"]\n",
			"Too long: may not be more than"},
		{"deep nesting within the limit is not a policy", strings.Repeat("[", 5000) + strings.Repeat("]", 5000), "not a mapping"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			docs := checkFile(checker, "hostile.yaml", []byte(tc.input))
			if len(docs) != 1 {
				t.Fatalf("%d documents, want 1", len(docs))
			}
			d := docs[0]
			var got string
			switch {
			case d.err != nil:
				got = d.err.Error()
			case d.result.Skipped != "":
				got = d.result.Skipped
			case len(d.result.Errors) > 0:
				got = d.result.Errors.ToAggregate().Error()
			default:
				t.Fatal("reported valid")
			}
			if !strings.Contains(got, tc.want) {
				t.Errorf("message %.300q, want one containing %q", got, tc.want)
			}
		})
	}
}

// FuzzCheckInput runs whatever bytes a file holds through kubectl cors
// check's whole path (split, parse, check, judge against the input's
// ClusterCorsPolicies, report): it must not panic, and every document
// must end as an input error, a skip or a verdict.
func FuzzCheckInput(f *testing.F) {
	f.Add([]byte(policyHead + "  targetSelector: {}\n  allowOrigins: [\"https://app.example.com\"]\n"))
	f.Add([]byte("apiVersion: kubecors.io/v1alpha1\nkind: ClusterCorsPolicy\nmetadata: {name: rules}\nspec: {mode: Enforce, rules: {forbidWildcardOrigin: true}}\n---\n" +
		policyHead + "  targetSelector: {}\n  allowOrigins: [\"*\"]\n"))
	f.Add([]byte("apiVersion: v1\nkind: Namespace\nmetadata: {name: shop, labels: {team: a}}\n"))
	f.Add([]byte(aliasBomb))
	f.Add([]byte("a: " + strings.Repeat("[", 20000)))
	f.Add([]byte("\xff\xfe\x00k\x00i\x00n\x00d"))
	f.Add([]byte("--- # c\n{\"apiVersion\": \"kubecors.io/v1alpha1\", \"kind\": \"CorsPolicy\", \"spec\": 1e400}\n"))
	checker, err := policycheck.New()
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		docs := checkFile(checker, "fuzz.yaml", data)
		for _, d := range docs {
			if d.err == nil && d.obj == nil && d.result.Skipped == "" {
				t.Fatalf("a document is neither an error, a skip nor an object: %+v", d)
			}
		}
		r := newReporter(outputJSON, io.Discard, io.Discard)
		reportDocuments(r, docs)
		if err := r.finish(); err != nil {
			t.Fatal(err)
		}
	})
}
