package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"
	networkingv1 "k8s.io/api/networking/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"

	"github.com/kubecors/kubecors/internal/dataplanes/gatewayapi"
)

// migrateOptions are the flags and streams of one run of migrate.
type migrateOptions struct {
	configFlags *genericclioptions.ConfigFlags
	streams     genericiooptions.IOStreams
	filenames   []string
	outputDir   string
	options     migrationOptions
}

func newMigrateCommand(streams genericiooptions.IOStreams, configFlags *genericclioptions.ConfigFlags) *cobra.Command {
	o := &migrateOptions{streams: streams, configFlags: configFlags}
	cmd := &cobra.Command{
		Use:   "migrate [-f FILENAME]... [-o DIR] [--any-depth-wildcards]",
		Short: "Move ingress-nginx CORS annotations to CorsPolicies, safely, undoing what ingress2gateway widened",
		Long: `Turn the ingress-nginx CORS annotations of Ingresses into CorsPolicies that
reproduce what ingress-nginx actually did, and take the CORS filters
ingress2gateway copied into the HTTPRoutes generated from them back out, so
that kubecors programs those routes instead.

ingress2gateway copies nginx's annotations and defaults into Gateway API's
CORS filter as they are written: credentials on unless the annotation says
false, "*" when no origin is given or nginx rejected the value, and
"https://*.example.com", which matched one label on ingress-nginx and
matches any depth on Gateway API. migrate reads each Ingress the way
ingress-nginx reads it (defaults, and the fall-back to "*" on an invalid
value, included) and writes a CorsPolicy that is never wider:
  - "*" with credentials becomes "*" without them (browsers refused the
    credentialed requests anyway);
  - a one-label "*." origin is left out (list the subdomains, or pass
    --any-depth-wildcards to accept the wider match);
  - values the CORS rules reject are left out, max age is capped at 7200 s.
Every change is listed.

The Ingresses (and HTTPRoutes) come from -f files and directories, or, with
no -f, from the cluster (all namespaces, or -n). Ingresses whose
IngressClass (from the cluster, or IngressClass documents among the files)
names another controller are left alone: their nginx annotations had no
effect. A rule of a route is tied to the Ingress whose host and path it
has; its CORS filter is removed only when it is exactly ingress2gateway's
copy of that Ingress's annotations. A filter someone changed is kept and
reported. The CorsPolicy targets the whole route when every rule of it
comes from the Ingress, else its named rules; with no route, it targets the
Ingress (taking over its annotations). A policy on routes does not take
over: kubecors never replaces a route filter it did not write, so apply the
cleaned routes with it.

The CorsPolicies and the cleaned HTTPRoutes (nothing else changed in them)
are written as YAML to standard output, or as one file each into -o DIR.
The report goes to standard error (standard output with -o): for each
route, the requests whose verdict changes between nginx as it was, the
CorsPolicy as Gateway API renders it (or the filter kept), and
ingress2gateway's copy, computed with the browser's CORS check.

Nothing is written to the cluster.

Exit status: 0, or 2 on a usage error or an input that cannot be read.`,
		Example: `  # From ingress2gateway's input and output files
  kubectl cors migrate -f ingresses.yaml -f gateway-resources.yaml > migrated.yaml

  # From the cluster, one namespace, one file per object
  kubectl cors migrate -n shop -o migrated/`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return o.run(cmd.Context())
		},
	}
	cmd.Flags().StringSliceVarP(&o.filenames, "filename", "f", nil, `Files or directories of Ingresses and HTTPRoutes ("-" for standard input); without it, the cluster is read`)
	cmd.Flags().StringVarP(&o.outputDir, "output-dir", "o", "", "Write each CorsPolicy and HTTPRoute to its own file in this directory, and the report to standard output")
	cmd.Flags().BoolVar(&o.options.anyDepthWildcards, "any-depth-wildcards", false,
		`Keep ingress-nginx's one-label "*." origins as wildcards, which then match any depth (wider than ingress-nginx)`)
	return cmd
}

// run reads, plans, writes and reports.
func (o *migrateOptions) run(ctx context.Context) error {
	in, err := o.read(ctx)
	if err != nil {
		return &ExitError{Code: ExitUsage, Err: err}
	}
	m := planMigration(in, o.options)
	docs, err := migrationDocuments(m)
	if err != nil {
		return &ExitError{Code: ExitUsage, Err: err}
	}
	report := o.streams.ErrOut
	if o.outputDir == "" {
		for i, d := range docs {
			if i > 0 {
				_, _ = io.WriteString(o.streams.Out, "---\n")
			}
			if _, err := io.WriteString(o.streams.Out, d.content); err != nil {
				return &ExitError{Code: ExitUsage, Err: fmt.Errorf("writing the output: %w", err)}
			}
		}
	} else {
		report = o.streams.Out
		if err := writeDocuments(o.outputDir, docs, report); err != nil {
			return &ExitError{Code: ExitUsage, Err: err}
		}
	}
	for _, n := range m.notes {
		_, _ = fmt.Fprintln(report, n)
	}
	if len(m.ingresses) == 0 {
		_, _ = fmt.Fprintln(report, "No Ingress served by ingress-nginx with its CORS annotations found: nothing to migrate.")
		return nil
	}
	if err := printMigrationReport(report, m); err != nil {
		return &ExitError{Code: ExitUsage, Err: fmt.Errorf("writing the report: %w", err)}
	}
	return nil
}

// read gathers the Ingresses and HTTPRoutes from the files, or the cluster.
func (o *migrateOptions) read(ctx context.Context) (migrationInput, error) {
	if len(o.filenames) == 0 {
		return o.readCluster(ctx)
	}
	namespace := "default"
	if o.configFlags.Namespace != nil && *o.configFlags.Namespace != "" {
		namespace = *o.configFlags.Namespace
	}
	var in migrationInput
	var problems []string
	visitInputs(o.filenames, o.streams.In, func(name string, data []byte, err error) {
		if err != nil {
			problems = append(problems, name+": "+err.Error())
			return
		}
		for i, doc := range splitDocuments(data) {
			parsed := parseDocument(doc)
			if parsed.err != nil {
				problems = append(problems, fmt.Sprintf("%s:%d: %v", name, i+1, parsed.err))
				continue
			}
			if content, ok := parsed.content.(map[string]any); ok {
				if err := in.add(&unstructured.Unstructured{Object: content}, namespace); err != nil {
					problems = append(problems, fmt.Sprintf("%s:%d: %v", name, i+1, err))
				}
			}
		}
	})
	if len(problems) > 0 {
		return in, errors.New(strings.Join(problems, "\n"))
	}
	return in, nil
}

// add takes an Ingress or HTTPRoute (or a List of them); other kinds are
// ignored. Objects without a namespace are in namespace.
func (in *migrationInput) add(obj *unstructured.Unstructured, namespace string) error {
	if obj.IsList() {
		return obj.EachListItem(func(item runtime.Object) error {
			u, ok := item.(*unstructured.Unstructured)
			if !ok {
				return nil
			}
			return in.add(u, namespace)
		})
	}
	if obj.GetNamespace() == "" {
		obj.SetNamespace(namespace)
	}
	gvk := obj.GroupVersionKind()
	switch {
	case gvk.Group == networkingv1.GroupName && gvk.Kind == "Ingress":
		var ing networkingv1.Ingress
		if err := runtime.DefaultUnstructuredConverter.FromUnstructured(obj.Object, &ing); err != nil {
			return fmt.Errorf("cannot read Ingress %s: %w", obj.GetName(), err)
		}
		in.ingresses = append(in.ingresses, ing)
	case gvk.Group == networkingv1.GroupName && gvk.Kind == "IngressClass":
		var class networkingv1.IngressClass
		if err := runtime.DefaultUnstructuredConverter.FromUnstructured(obj.Object, &class); err != nil {
			return fmt.Errorf("cannot read IngressClass %s: %w", obj.GetName(), err)
		}
		in.classes = append(in.classes, class)
	case gvk.Group == gatewayapi.Group && gvk.Kind == gatewayapi.HTTPRouteKind:
		in.routes = append(in.routes, *obj)
	}
	return nil
}

// readCluster lists the Ingresses and HTTPRoutes of the cluster (-n, or
// every namespace).
func (o *migrateOptions) readCluster(ctx context.Context) (migrationInput, error) {
	session, err := newClusterSession(o.configFlags)
	if err != nil {
		return migrationInput{}, err
	}
	namespace := ""
	if session.explicitNamespace {
		namespace = session.namespace
	}
	var in migrationInput
	ingresses := &networkingv1.IngressList{}
	if err := session.client.List(ctx, ingresses, client.InNamespace(namespace)); err != nil {
		return in, fmt.Errorf("cannot list Ingresses: %w", err)
	}
	in.ingresses = ingresses.Items
	classes := &networkingv1.IngressClassList{}
	if err := session.client.List(ctx, classes); err != nil {
		return in, fmt.Errorf("cannot list IngressClasses: %w", err)
	}
	in.classes = classes.Items
	if in.routes, _, err = session.listUnstructured(ctx, httpRouteListGVK, namespace); err != nil {
		return in, fmt.Errorf("cannot list HTTPRoutes: %w", err)
	}
	for i := range in.routes {
		// List items carry no kind of their own.
		in.routes[i].SetGroupVersionKind(httpRouteGVK)
	}
	return in, nil
}

// migrationDocument is one object migrate writes.
type migrationDocument struct {
	// file is its name in -o DIR.
	file    string
	content string
}

// migrationDocuments writes the CorsPolicies, then the cleaned routes, as
// YAML with a comment saying what each is.
func migrationDocuments(m *migration) ([]migrationDocument, error) {
	var docs []migrationDocument
	for _, mi := range m.ingresses {
		if mi.policy == nil {
			continue
		}
		data, err := yamlMarshalPolicy(mi.policy)
		if err != nil {
			return nil, fmt.Errorf("CorsPolicy %s: %w", mi.policy.Name, err)
		}
		var b strings.Builder
		fmt.Fprintf(&b, "# CorsPolicy reproducing what ingress-nginx did for Ingress %s.\n", objectRef(mi.ingress.Namespace, mi.ingress.Name))
		for _, c := range mi.changes {
			fmt.Fprintf(&b, "# - %s\n", strings.ReplaceAll(c, "\n", "\n#   "))
		}
		b.Write(data)
		docs = append(docs, migrationDocument{file: fmt.Sprintf("corspolicy-%s-%s.yaml", mi.policy.Namespace, mi.policy.Name), content: b.String()})
	}
	for _, r := range m.routes {
		if r.cleaned == nil {
			continue
		}
		data, err := yaml.Marshal(r.cleaned.Object)
		if err != nil {
			return nil, fmt.Errorf("HTTPRoute %s: %w", r.route.GetName(), err)
		}
		var removed []string
		for _, rule := range r.rules {
			if rule.outcome == ruleCopyRemoved {
				removed = append(removed, rule.label())
			}
		}
		content := fmt.Sprintf("# HTTPRoute %s without the CORS filter ingress2gateway copied into %s; nothing else changed.\n%s",
			objectRef(r.route.GetNamespace(), r.route.GetName()), strings.Join(removed, ", "), data)
		docs = append(docs, migrationDocument{file: fmt.Sprintf("httproute-%s-%s.yaml", r.route.GetNamespace(), r.route.GetName()), content: content})
	}
	return docs, nil
}

// writeDocuments writes each document to its file in dir, and says so.
func writeDocuments(dir string, docs []migrationDocument, report io.Writer) error {
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return fmt.Errorf("cannot create %s: %w", dir, err)
	}
	root, err := os.OpenRoot(dir)
	if err != nil {
		return fmt.Errorf("cannot open %s: %w", dir, err)
	}
	defer func() { _ = root.Close() }()
	for _, d := range docs {
		if err := root.WriteFile(d.file, []byte(d.content), 0o600); err != nil {
			return fmt.Errorf("cannot write %s: %w", filepath.Join(dir, d.file), err)
		}
		_, _ = fmt.Fprintf(report, "wrote %s\n", filepath.Join(dir, d.file))
	}
	return nil
}
