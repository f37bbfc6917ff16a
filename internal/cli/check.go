package cli

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/spf13/cobra"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/cli-runtime/pkg/genericiooptions"

	"github.com/kubecors/kubecors/internal/policycheck"
)

// Output formats of check.
const (
	outputText = "text"
	outputJSON = "json"
)

// checkOptions are the flags and streams of one run of check.
type checkOptions struct {
	filenames []string
	output    string
	streams   genericiooptions.IOStreams
}

func newCheckCommand(streams genericiooptions.IOStreams) *cobra.Command {
	o := &checkOptions{streams: streams}
	cmd := &cobra.Command{
		Use:   "check -f FILENAME",
		Short: "Validate CorsPolicy and ClusterCorsPolicy files offline, as the API server and the kubecors webhook would",
		Long: `Validate CorsPolicy and ClusterCorsPolicy files without a cluster.

Each policy is checked as "kubectl apply" would have it checked: strict
decoding (unknown fields are errors), the CRD's defaults, metadata, OpenAPI
schema, list types and CEL rules, then, only if all of these pass, the rules
of the kubecors validating webhook. Documents of other kinds are skipped with
a note on standard error.

When the input holds ClusterCorsPolicies, each valid CorsPolicy is also
checked against every valid ClusterCorsPolicy that selects its namespace
(a policy without namespace is in "default"): breaking an Enforce-mode rule
is an error, breaking an Audit-mode rule a warning, each naming the
ClusterCorsPolicy and the rule. Namespace labels come from the Namespace
documents of the input, plus the kubernetes.io/metadata.name label every
namespace has; when a namespaceSelector needs labels the input does not
give, a note says that the ClusterCorsPolicy could not be evaluated for that
namespace.

Problems are printed one per line as FILE:DOCUMENT: FIELD: MESSAGE, and
warnings as FILE:DOCUMENT: warning: FIELD: MESSAGE. Documents are counted
from 1 in each file, leaving out empty ones; FILE is "-" for standard input.

With -o json, standard output is one JSON array with an entry per policy,
for CI systems; notes and the summary stay on standard error.

Exit status: 0 when every policy is valid (warnings allowed), 1 when any
policy is invalid, 2 on a usage error or an input that cannot be read or
parsed.`,
		Example: `  # Check one file
  kubectl cors check -f policy.yaml

  # Check every .yaml, .yml and .json file under a directory, for CI
  kubectl cors check -f deploy/ -o json

  # Check what a template renders
  helm template ./chart | kubectl cors check -f -

  # Check policies against the cluster-wide rules, as admission would
  kubectl cors check -f policies/ -f cluster-rules/`,
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) > 0 {
				// cobra would call the file an unknown command.
				return usageError(fmt.Errorf("check takes its inputs from -f, not as arguments: kubectl cors check -f %s\nSee '%s --help' for usage", args[0], cmd.CommandPath()))
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := o.validate(); err != nil {
				return usageError(fmt.Errorf("%w\nSee '%s --help' for usage", err, cmd.CommandPath()))
			}
			return o.run()
		},
	}
	cmd.Flags().StringArrayVarP(&o.filenames, "filename", "f", nil,
		`File, directory or "-" (standard input) to check; repeatable. Directories are searched recursively for .yaml, .yml and .json files.`)
	cmd.Flags().StringVarP(&o.output, "output", "o", outputText, "Output format, text or json")
	return cmd
}

// validate rejects flag values that cobra cannot check by itself.
func (o *checkOptions) validate() error {
	if len(o.filenames) == 0 {
		return errors.New(`nothing to check: name a file, a directory or "-" (standard input) with -f`)
	}
	if o.output != outputText && o.output != outputJSON {
		return fmt.Errorf("unknown output format %q: use text or json", o.output)
	}
	stdin := 0
	for _, name := range o.filenames {
		if name == stdinName {
			stdin++
		}
	}
	if stdin > 1 {
		return errors.New(`"-f -" (standard input) can be given once`)
	}
	return nil
}

// run checks every document of every input, then judges the valid
// CorsPolicies against the ClusterCorsPolicies of the input, and reports.
// Reporting waits for the whole input, because a ClusterCorsPolicy may
// come after the policies it applies to (-f policies/ -f cluster-rules/);
// the order of the report is still the order of the input. The returned
// error carries the exit code; the problems are already printed.
func (o *checkOptions) run() error {
	checker, err := policycheck.New()
	if err != nil {
		return &ExitError{Code: ExitUsage, Err: err}
	}
	var docs []checkedDocument
	visitInputs(o.filenames, o.streams.In, func(name string, data []byte, err error) {
		if err != nil {
			docs = append(docs, checkedDocument{input: name, err: err})
			return
		}
		docs = append(docs, checkFile(checker, name, data)...)
	})
	r := newReporter(o.output, o.streams.Out, o.streams.ErrOut)
	reportDocuments(r, docs)
	if err := r.finish(); err != nil {
		return &ExitError{Code: ExitUsage, Err: err}
	}
	switch {
	case r.counts.inputErrors > 0:
		return &ExitError{Code: ExitUsage}
	case r.counts.invalid > 0:
		return &ExitError{Code: ExitInvalid}
	}
	return nil
}

// checkedDocument is one document of the input, or one input that could
// not be read, with what check found.
type checkedDocument struct {
	// input names what could not be read or parsed (a file or FILE:DOC)
	// when err is set.
	input string
	err   error

	where  location
	obj    *unstructured.Unstructured
	result policycheck.Result
}

// checkFile checks every document of one file on its own.
func checkFile(checker *policycheck.Checker, name string, data []byte) []checkedDocument {
	var docs []checkedDocument
	index := 0
	for _, raw := range splitDocuments(data) {
		doc := parseDocument(raw)
		if doc.err == nil && doc.content == nil {
			continue
		}
		index++
		where := location{file: name, document: index}
		if doc.err != nil {
			docs = append(docs, checkedDocument{input: where.String(), err: doc.err})
			continue
		}
		content, ok := doc.content.(map[string]any)
		if !ok {
			docs = append(docs, checkedDocument{where: where, result: policycheck.Result{
				Skipped: fmt.Sprintf("not a Kubernetes object: the document is a %s, not a mapping", jsonKind(doc.content)),
			}})
			continue
		}
		obj := &unstructured.Unstructured{Object: content}
		docs = append(docs, checkedDocument{where: where, obj: obj, result: checker.Check(obj)})
	}
	return docs
}

// reportDocuments reports every document in input order. When the input
// holds ClusterCorsPolicies, each valid CorsPolicy is also judged against
// those that select its namespace, as the kubecors webhook would judge it:
// Enforce-mode breaches are errors, Audit-mode ones warnings.
func reportDocuments(r *reporter, docs []checkedDocument) {
	cluster := clusterOf(r, docs)
	// Each ClusterCorsPolicy that cannot be evaluated for a namespace is
	// noted once, at the first policy of that namespace.
	type pair struct{ clusterCorsPolicy, namespace string }
	noted := map[pair]bool{}
	for _, doc := range docs {
		switch {
		case doc.err != nil:
			r.inputError(doc.input, doc.err)
		case doc.result.Skipped != "":
			reason := doc.result.Skipped
			if doc.obj != nil && policycheck.IsNamespace(doc.obj) && cluster.HasClusterCorsPolicies() {
				reason += "; its labels are used to select ClusterCorsPolicies"
			}
			r.skipped(doc.where, reason)
		case policycheck.IsCorsPolicy(doc.obj) && doc.result.Valid() && cluster.HasClusterCorsPolicies():
			verdict, err := cluster.Evaluate(doc.result.Stored)
			if err != nil {
				r.inputError(doc.where.String(), err)
				continue
			}
			result := doc.result
			result.Errors = append(result.Errors, verdict.Errors...)
			result.Warnings = append(slices.Clip(result.Warnings), verdict.Warnings...)
			r.policy(doc.where, doc.obj, result)
			for _, u := range verdict.Unevaluated {
				key := pair{u.ClusterCorsPolicy, u.Namespace}
				if !noted[key] {
					noted[key] = true
					r.unevaluated(doc.where, u)
				}
			}
		default:
			r.policy(doc.where, doc.obj, doc.result)
		}
	}
}

// clusterOf gathers what the input says about the cluster: the valid
// ClusterCorsPolicies (an invalid one would not exist in a cluster, and is
// reported on its own) and the labels of the Namespace documents.
func clusterOf(r *reporter, docs []checkedDocument) *policycheck.Cluster {
	cluster := &policycheck.Cluster{}
	for _, doc := range docs {
		switch {
		case doc.obj == nil:
		case policycheck.IsNamespace(doc.obj):
			cluster.AddNamespace(doc.obj)
		case policycheck.IsClusterCorsPolicy(doc.obj) && doc.result.Valid():
			if err := cluster.AddClusterCorsPolicy(doc.result.Stored); err != nil {
				// A valid object that does not decode is a defect of
				// kubecors; the verdict cannot be trusted.
				r.inputError(doc.where.String(), err)
			}
		}
	}
	return cluster
}

// unevaluated notes that a ClusterCorsPolicy could not be evaluated for a
// namespace. It is a note, not an error: the input lacks what the cluster
// knows, and guessing either way would be wrong.
func (r *reporter) unevaluated(where location, u policycheck.Unevaluated) {
	r.errOut.printf("%s: note: ClusterCorsPolicy %q could not be evaluated for namespace %q: its namespaceSelector needs the label %s, which the input does not give; add the Namespace %q document to the input to check against it\n",
		where, u.ClusterCorsPolicy, u.Namespace, strings.Join(u.Labels, ", "), u.Namespace)
}

// jsonKind names the JSON type of a decoded value, for the note on a
// document that is not an object.
func jsonKind(v any) string {
	switch v.(type) {
	case []any:
		return "list"
	case string:
		return "string"
	case bool:
		return "boolean"
	default:
		return "number"
	}
}

// location is where a document is: its file and its index in the file.
type location struct {
	file     string
	document int
}

// String renders the location as FILE:DOCUMENT, the prefix of every line
// about the document.
func (l location) String() string {
	return fmt.Sprintf("%s:%d", l.file, l.document)
}
