package cli

import (
	"errors"
	"fmt"

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
		Short: "Validate CorsPolicy files offline, as the API server and the kubecors webhook would",
		Long: `Validate CorsPolicy files without a cluster.

Each CorsPolicy is checked as "kubectl apply" would have it checked: strict
decoding (unknown fields are errors), the CRD's defaults, metadata, OpenAPI
schema, list types and CEL rules, then, only if all of these pass, the rules
of the kubecors validating webhook. Documents of other kinds are skipped with
a note on standard error.

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
  helm template ./chart | kubectl cors check -f -`,
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

// run checks every document of every input and reports as it goes. The
// returned error carries the exit code; the problems are already printed.
func (o *checkOptions) run() error {
	checker, err := policycheck.New()
	if err != nil {
		return &ExitError{Code: ExitUsage, Err: err}
	}
	r := newReporter(o.output, o.streams.Out, o.streams.ErrOut)
	visitInputs(o.filenames, o.streams.In, func(name string, data []byte, err error) {
		if err != nil {
			r.inputError(name, err)
			return
		}
		checkFile(checker, r, name, data)
	})
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

// checkFile checks every document of one file.
func checkFile(checker *policycheck.Checker, r *reporter, name string, data []byte) {
	index := 0
	for _, raw := range splitDocuments(data) {
		doc := parseDocument(raw)
		if doc.err == nil && doc.content == nil {
			continue
		}
		index++
		where := location{file: name, document: index}
		if doc.err != nil {
			r.inputError(where.String(), doc.err)
			continue
		}
		content, ok := doc.content.(map[string]any)
		if !ok {
			r.skipped(where, fmt.Sprintf("not a Kubernetes object: the document is a %s, not a mapping", jsonKind(doc.content)))
			continue
		}
		obj := &unstructured.Unstructured{Object: content}
		result := checker.Check(obj)
		if result.Skipped != "" {
			r.skipped(where, result.Skipped)
			continue
		}
		r.policy(where, obj, result)
	}
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
