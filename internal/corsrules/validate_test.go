package corsrules_test

import (
	"regexp"
	"strconv"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/util/sets"
	"k8s.io/apimachinery/pkg/util/validation/field"

	kubecorsv1alpha1 "github.com/kubecors/kubecors/api/v1alpha1"
	"github.com/kubecors/kubecors/internal/corsrules"
	"github.com/kubecors/kubecors/internal/corsrules/corsrulestest"
)

// TestValidateSpecCases runs the shared table through the Go rules, the
// answer the webhook and the offline checker give.
func TestValidateSpecCases(t *testing.T) {
	for _, tc := range corsrulestest.Cases {
		t.Run(tc.Name, func(t *testing.T) {
			spec := tc.Spec
			errs, warns := corsrules.ValidateSpec(&spec, field.NewPath("spec"))

			if tc.Valid && len(errs) > 0 {
				t.Errorf("want the spec accepted, got errors:\n%s", errorLines(errs))
			}
			if !tc.Valid {
				if !hasError(errs, tc.Field, tc.Message) {
					t.Errorf("want an error on %s containing %q, got:\n%s", tc.Field, tc.Message, errorLines(errs))
				}
			}
			switch {
			case tc.Warning != "" && !hasWarning(warns, tc.Warning):
				t.Errorf("want a warning containing %q, got %q", tc.Warning, warns)
			// A valid case without a Warning documents a clean spec: an
			// unexpected warning would train users to ignore them.
			case tc.Warning == "" && tc.Valid && len(warns) > 0:
				t.Errorf("want no warning, got %q", warns)
			}
		})
	}
}

// TestValidateCorsPolicyRootsAtSpec checks that the object-level entry point
// reports paths under "spec", as the API server does, so that the table's
// Field values hold for the webhook too.
func TestValidateCorsPolicyRootsAtSpec(t *testing.T) {
	p := &kubecorsv1alpha1.CorsPolicy{Spec: kubecorsv1alpha1.CorsPolicySpec{
		TargetRefs:   []kubecorsv1alpha1.PolicyTargetReference{{Group: kubecorsv1alpha1.GroupNetworking, Kind: kubecorsv1alpha1.KindIngress, Name: "web"}},
		AllowOrigins: []kubecorsv1alpha1.Origin{"https://app.example.com", "null"},
	}}
	errs, _ := corsrules.ValidateCorsPolicy(p)
	if !hasError(errs, "spec.allowOrigins[1]", `"null"`) {
		t.Errorf("want an error on spec.allowOrigins[1], got:\n%s", errorLines(errs))
	}
}

// quotedText finds a quoted, non-empty value in a message.
var quotedText = regexp.MustCompile(`"[^"]+"`)

// instruction finds words that tell the user what to do.
var instruction = regexp.MustCompile(`\b(write|remove|list|set|use|replace)\b`)

// TestErrorMessagesAreActionable spot-checks the rule on error messages in
// CORS-RULES.md: every rejection names the field and the offending value,
// or says what to write. An error on one entry of a list must quote that
// entry, so the user can find it in a long list; an error on a whole field
// must quote something or give an instruction.
func TestErrorMessagesAreActionable(t *testing.T) {
	for _, tc := range corsrulestest.Cases {
		if tc.Valid {
			continue
		}
		spec := tc.Spec
		errs, _ := corsrules.ValidateSpec(&spec, field.NewPath("spec"))
		for _, e := range errs {
			if e.Field != "spec" && !strings.HasPrefix(e.Field, "spec.") {
				t.Errorf("%s: error %q does not name a field under spec", tc.Name, e.Error())
			}
			if !strings.HasPrefix(e.Error(), e.Field+": ") {
				t.Errorf("%s: error %q does not start with its field", tc.Name, e.Error())
			}
			value, _ := e.BadValue.(string)
			switch {
			case e.Type == field.ErrorTypeDuplicate || e.Type == field.ErrorTypeNotSupported:
				// The API server's own wording, which quotes the value in
				// the error body; the rules reuse it so both read alike.
				if value == "" || !strings.Contains(e.ErrorBody(), strconv.Quote(value)) {
					t.Errorf("%s: error %q does not quote the offending value", tc.Name, e.Error())
				}
			case e.Type == field.ErrorTypeTooLong:
				// The API server's maxLength wording, which gives the limit
				// and, like the server, leaves out a value that long.
				if !regexp.MustCompile(`at most \d+ bytes|more than \d+ bytes`).MatchString(e.Error()) {
					t.Errorf("%s: error %q does not give the limit", tc.Name, e.Error())
				}
			case e.Type == field.ErrorTypeTooMany:
				if !strings.Contains(e.Detail, "at most") {
					t.Errorf("%s: error %q does not give the limit", tc.Name, e.Error())
				}
			case value != "" && strings.HasSuffix(e.Field, "]"):
				// The rules' own message must quote the entry, as the CEL
				// messages do, not leave it to the error body: tools that
				// show only the message (admission review, the offline
				// checker's summary) must still say which entry is wrong.
				if !strings.Contains(e.Detail, strconv.Quote(value)) {
					t.Errorf("%s: error %q does not quote the offending entry %q in its message", tc.Name, e.Error(), value)
				}
			case value != "":
				// An error on a field outside a list (a label selector):
				// field.Invalid prints the value.
			default:
				if !quotedText.MatchString(e.Detail) && !instruction.MatchString(e.Detail) {
					t.Errorf("%s: error %q neither quotes a value nor says what to write", tc.Name, e.Error())
				}
			}
		}
	}
}

// TestWarningsNameTheirField checks that every warning starts with the path
// of the field it concerns: admission warnings carry no field of their own.
func TestWarningsNameTheirField(t *testing.T) {
	fieldPrefix := regexp.MustCompile(`^spec\.[A-Za-z]+(\[\d+\])?: `)
	for _, tc := range corsrulestest.Cases {
		spec := tc.Spec
		_, warns := corsrules.ValidateSpec(&spec, field.NewPath("spec"))
		for _, w := range warns {
			if !fieldPrefix.MatchString(w) {
				t.Errorf("%s: warning %q does not start with its field", tc.Name, w)
			}
		}
	}
}

// TestCasesAreWellFormed guards the shared table itself, because two other
// suites trust it: unique names that give a reason, and an expectation that
// can fail.
func TestCasesAreWellFormed(t *testing.T) {
	if n := len(corsrulestest.Cases); n < 110 {
		t.Errorf("the table has %d cases, want at least 110", n)
	}
	names := sets.New[string]()
	for _, tc := range corsrulestest.Cases {
		if names.Has(tc.Name) {
			t.Errorf("duplicate case name %q", tc.Name)
		}
		names.Insert(tc.Name)
		area, reason, ok := strings.Cut(tc.Name, "/")
		if !ok || area == "" || len(strings.Fields(reason)) < 3 {
			t.Errorf("case name %q should be area/reason", tc.Name)
		}
		if tc.Valid && (tc.Field != "" || tc.Message != "") {
			t.Errorf("%s: a valid case expects no error, but has Field or Message", tc.Name)
		}
		if !tc.Valid && (tc.Field == "" || tc.Message == "") {
			t.Errorf("%s: an invalid case needs Field and Message", tc.Name)
		}
		if tc.Spec.AllowCredentials == nil || tc.Spec.MaxAge == nil {
			t.Errorf("%s: set allowCredentials and maxAge, which the API server would default", tc.Name)
		}
	}
}

func hasError(errs field.ErrorList, path, fragment string) bool {
	for _, e := range errs {
		if e.Field == path && strings.Contains(e.Error(), fragment) {
			return true
		}
	}
	return false
}

func hasWarning(warns corsrules.Warnings, fragment string) bool {
	for _, w := range warns {
		if strings.Contains(w, fragment) {
			return true
		}
	}
	return false
}

func errorLines(errs field.ErrorList) string {
	if len(errs) == 0 {
		return "  (none)"
	}
	var b strings.Builder
	for _, e := range errs {
		b.WriteString("  " + e.Error() + "\n")
	}
	return b.String()
}
