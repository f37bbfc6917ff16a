package cli

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"k8s.io/apimachinery/pkg/util/validation/field"
	"k8s.io/cli-runtime/pkg/genericiooptions"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata from the current output")

// run executes the command line args as main would, with stdin as standard
// input, and renders what a terminal would show: the exit status, standard
// output, and standard error with main's error line at the end.
func run(t *testing.T, args []string, stdin []byte) (string, int) {
	t.Helper()
	streams, in, out, errOut := genericiooptions.NewTestIOStreams()
	in.Write(stdin)
	cmd := NewRootCommand(streams)
	cmd.SetArgs(args)
	err := cmd.Execute()
	if msg := ErrorMessage(err); msg != "" {
		fmt.Fprintln(errOut, "error: "+msg)
	}
	code := ExitCode(err)
	var b strings.Builder
	fmt.Fprintf(&b, "$ kubectl cors %s\nexit status: %d\n--- stdout\n%s--- stderr\n%s", strings.Join(args, " "), code, out, errOut)
	return b.String(), code
}

func TestCheckGolden(t *testing.T) {
	tests := []struct {
		golden   string
		args     []string
		stdin    string
		wantExit int
	}{
		{golden: "valid", args: []string{"check", "-f", "testdata/valid.yaml"}, wantExit: ExitOK},
		{golden: "warnings-only", args: []string{"check", "-f", "testdata/tree/nested/c.json"}, wantExit: ExitOK},
		{golden: "multi", args: []string{"check", "-f", "testdata/multi.yaml"}, wantExit: ExitInvalid},
		{golden: "multi-json", args: []string{"check", "-f", "testdata/multi.yaml", "-o", "json"}, wantExit: ExitInvalid},
		{golden: "webhook", args: []string{"check", "-f", "testdata/webhook.yaml"}, wantExit: ExitInvalid},
		{golden: "tree", args: []string{"check", "-f", "testdata/tree"}, wantExit: ExitInvalid},
		{golden: "stdin", args: []string{"check", "-f", "-"}, stdin: "testdata/stdin.yaml", wantExit: ExitInvalid},
		{golden: "stdin-and-file", args: []string{"check", "-f", "testdata/valid.yaml", "--filename=-"}, stdin: "testdata/webhook.yaml", wantExit: ExitInvalid},
		{golden: "missing-file", args: []string{"check", "-f", "testdata/missing.yaml", "-f", "testdata/multi.yaml"}, wantExit: ExitUsage},
		{golden: "broken-yaml", args: []string{"check", "-f", "testdata/broken.yaml"}, wantExit: ExitUsage},
		{golden: "no-filename", args: []string{"check"}, wantExit: ExitUsage},
		{golden: "unknown-output", args: []string{"check", "-f", "testdata/valid.yaml", "-o", "yaml"}, wantExit: ExitUsage},
		{golden: "unknown-flag", args: []string{"check", "--recursive", "-f", "testdata/valid.yaml"}, wantExit: ExitUsage},
		{golden: "stray-argument", args: []string{"check", "testdata/valid.yaml"}, wantExit: ExitUsage},
		{golden: "cluster/valid", args: []string{"check", "-f", "testdata/cluster/valid.yaml"}, wantExit: ExitOK},
		{golden: "cluster/invalid", args: []string{"check", "-f", "testdata/cluster/invalid.yaml"}, wantExit: ExitInvalid},
		{golden: "cluster/enforce-and-audit", args: []string{"check", "-f", "testdata/cluster/policies/", "-f", "testdata/cluster/cluster-rules/"}, wantExit: ExitInvalid},
		{golden: "cluster/enforce-and-audit-json", args: []string{"check", "-f", "testdata/cluster/policies/", "-f", "testdata/cluster/cluster-rules/", "-o", "json"}, wantExit: ExitInvalid},
		{golden: "cluster/audit-only", args: []string{"check", "-f", "testdata/cluster/policies/shop.yaml", "-f", "testdata/cluster/cluster-rules/audit.yaml"}, wantExit: ExitOK},
		{golden: "cluster/namespace-labels", args: []string{"check", "-f", "testdata/cluster/namespace-labels.yaml"}, wantExit: ExitInvalid},
		{golden: "cluster/unknown-labels", args: []string{"check", "-f", "testdata/cluster/unknown-labels.yaml"}, wantExit: ExitOK},
		{golden: "cluster/unknown-labels-json", args: []string{"check", "-f", "testdata/cluster/unknown-labels.yaml", "-o", "json"}, wantExit: ExitOK},
	}
	for _, tt := range tests {
		t.Run(tt.golden, func(t *testing.T) {
			var stdin []byte
			if tt.stdin != "" {
				var err error
				if stdin, err = os.ReadFile(tt.stdin); err != nil {
					t.Fatal(err)
				}
			}
			got, code := run(t, tt.args, stdin)
			if code != tt.wantExit {
				t.Errorf("exit status %d, want %d", code, tt.wantExit)
			}
			checkGolden(t, filepath.Join("testdata", tt.golden+".golden"), got)
		})
	}
}

// TestCheckJSONIsOneDocument guards what CI systems rely on beyond the
// golden text: standard output parses as one JSON array, with the verdict
// of every policy and nothing else.
func TestCheckJSONIsOneDocument(t *testing.T) {
	streams, _, out, _ := genericiooptions.NewTestIOStreams()
	cmd := NewRootCommand(streams)
	cmd.SetArgs([]string{"check", "-o", "json", "-f", "testdata/multi.yaml", "-f", "testdata/missing.yaml"})
	_ = cmd.Execute()
	var reports []policyReport
	decoder := json.NewDecoder(bytes.NewReader(out.Bytes()))
	decoder.DisallowUnknownFields()
	if err := decoder.Decode(&reports); err != nil {
		t.Fatalf("standard output is not a JSON array of reports: %v\n%s", err, out)
	}
	if decoder.More() {
		t.Fatalf("standard output holds more than one JSON document:\n%s", out)
	}
	verdicts := make([]string, 0, len(reports))
	for _, r := range reports {
		verdicts = append(verdicts, fmt.Sprintf("%d %s valid=%v errors=%d warnings=%d", r.Document, r.Name, r.Valid, len(r.Errors), len(r.Warnings)))
	}
	want := []string{"1 storefront valid=true errors=0 warnings=0", "2 api valid=false errors=3 warnings=0", "4 docs valid=true errors=0 warnings=2"}
	if diff := cmp.Diff(want, verdicts); diff != "" {
		t.Errorf("verdicts (-want +got):\n%s", diff)
	}
}

func TestHumanMessage(t *testing.T) {
	path := field.NewPath("spec", "allowOrigins")
	tests := []struct {
		name string
		err  *field.Error
		want string
	}{
		{
			name: "a detail that quotes the value is the whole message",
			err:  field.Invalid(path.Index(0), "https://a/", `"https://a/" must not have a path`),
			want: `"https://a/" must not have a path`,
		},
		{
			name: "a detail without the value keeps the value in front",
			err:  field.Invalid(field.NewPath("metadata", "name"), "Web", "a lowercase RFC 1123 subdomain must consist of ..."),
			want: `Invalid value: "Web": a lowercase RFC 1123 subdomain must consist of ...`,
		},
		{
			name: "an error about a whole list or object has only its detail",
			err:  field.Invalid(path, field.OmitValueType{}, `"*" must be the only entry`),
			want: `"*" must be the only entry`,
		},
		{
			name: "an empty value means the rules had none to show",
			err:  field.Invalid(path, "", "plain-http origins cannot be used with credentials"),
			want: "plain-http origins cannot be used with credentials",
		},
		{
			name: "a number in the detail counts as naming the value",
			err:  field.Invalid(field.NewPath("spec", "maxAge"), int64(90000), "maxAge 90000 is out of range"),
			want: "maxAge 90000 is out of range",
		},
		{
			name: "a number only inside another number does not",
			err:  field.Invalid(field.NewPath("spec", "maxAge"), int64(5), "must be from 0 to 86400"),
			want: "Invalid value: 5: must be from 0 to 86400",
		},
		{
			name: "required keeps its body",
			err:  field.Required(field.NewPath("spec"), ""),
			want: "Required value",
		},
		{
			name: "duplicate keeps its body",
			err:  field.Duplicate(field.NewPath("spec", "allowMethods").Index(1), "PUT"),
			want: `Duplicate value: "PUT"`,
		},
		{
			name: "not supported keeps its body",
			err:  field.NotSupported(field.NewPath("spec", "targetRefs").Index(0).Child("kind"), "Service", []string{"Ingress", "HTTPRoute"}),
			want: `Unsupported value: "Service": supported values: "Ingress", "HTTPRoute"`,
		},
		{
			name: "too many keeps its body",
			err:  field.TooMany(path, 65, 64),
			want: "Too many: 65: must have at most 64 items",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := humanMessage(tt.err); got != tt.want {
				t.Errorf("humanMessage = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestSplitDocuments(t *testing.T) {
	input := "# comment\n---\na: 1\n--- # second\nb: 2\n---x: not a separator\n---\n"
	docs := splitDocuments([]byte(input))
	got := make([]string, 0, len(docs))
	for _, doc := range docs {
		got = append(got, fmt.Sprintf("%d:%q", doc.firstLine, doc.data))
	}
	want := []string{`1:"# comment\n"`, `3:"a: 1\n"`, `5:"b: 2\n---x: not a separator\n"`, `8:""`}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("splitDocuments (-want +got):\n%s", diff)
	}
}
