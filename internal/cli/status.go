package cli

import (
	"cmp"
	"context"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/duration"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	"sigs.k8s.io/controller-runtime/pkg/client"

	kubecorsv1alpha1 "github.com/kubecors/kubecors/api/v1alpha1"
)

// statusOptions are the flags and streams of one run of status.
type statusOptions struct {
	configFlags *genericclioptions.ConfigFlags
	streams     genericiooptions.IOStreams
	output      string
	// target, when set, asks about one target (KIND/NAME) instead.
	target string
}

func newStatusCommand(streams genericiooptions.IOStreams, configFlags *genericclioptions.ConfigFlags) *cobra.Command {
	o := &statusOptions{streams: streams, configFlags: configFlags}
	cmd := &cobra.Command{
		Use:   "status [NAME...] [-n NAMESPACE] [-o table|json|yaml] | status --target KIND/NAME [-n NAMESPACE]",
		Short: "Show CorsPolicies with their targets, data planes and conditions",
		Long: `Show a compact view of CorsPolicies: whether each is Accepted (valid and
allowed by every cluster-wide policy) and Programmed, on which targets and
data planes, and, for every target that is not programmed, why: Conflicted
with another policy or writer, an unsupported data plane, a refusal, a
missing target. Cluster-policy violations are shown with their message.

All namespaces are listed unless -n is given; NAME limits the list.
Conditions written for an older generation of the policy are marked stale.

--target ingress/NAME or httproute/NAME answers for one target, whether or
not its policy's status lists it (a policy's status lists at most 64 of
its targets): the governing policy as the controller decides it, the
competing ones, the data plane, the Programmed reason, and whether the
target carries the policy's configuration.

When kubecors verifies targets on the wire, a VERIFIED column counts the
targets whose data plane answers as the policy promises, and each listed
target shows its Verified condition and when and where it was last
verified, with the diagnosis and headers seen when it is not.`,
		Example: `  kubectl cors status
  kubectl cors status -n shop api -o yaml
  kubectl cors status -n shop --target ingress/web-4711`,
		RunE: func(cmd *cobra.Command, args []string) error {
			if !slices.Contains([]string{outputTable, outputJSON, outputYAML}, o.output) {
				return usageError(fmt.Errorf("unknown output format %q: use table, json or yaml\nSee '%s --help' for usage", o.output, cmd.CommandPath()))
			}
			return o.run(cmd.Context(), args)
		},
	}
	cmd.Flags().StringVarP(&o.output, "output", "o", outputTable, "Output format: table, json or yaml")
	cmd.Flags().StringVar(&o.target, "target", "", "Answer for one target, KIND/NAME (ingress/NAME or httproute/NAME), listed in its policy's status or not")
	return cmd
}

// run lists the policies and prints them.
func (o *statusOptions) run(ctx context.Context, names []string) error {
	session, err := newClusterSession(o.configFlags)
	if err != nil {
		return &ExitError{Code: ExitUsage, Err: err}
	}
	if o.target != "" {
		if len(names) > 0 {
			return usageError(fmt.Errorf("--target answers for one target: give no policy NAME with it"))
		}
		return o.runTarget(ctx, session, o.target)
	}
	namespace := ""
	if session.explicitNamespace {
		namespace = session.namespace
	}
	list := &kubecorsv1alpha1.CorsPolicyList{}
	if err := session.client.List(ctx, list, client.InNamespace(namespace)); err != nil {
		if meta.IsNoMatchError(err) {
			err = fmt.Errorf("the cluster does not serve CorsPolicies: is kubecors installed? (%w)", err)
		}
		return &ExitError{Code: ExitUsage, Err: err}
	}
	views := make([]policyStatusView, 0, len(list.Items))
	for i := range list.Items {
		if len(names) > 0 && !slices.Contains(names, list.Items[i].Name) {
			continue
		}
		views = append(views, statusView(&list.Items[i]))
	}
	slices.SortFunc(views, func(a, b policyStatusView) int {
		return strings.Compare(a.Namespace+"/"+a.Name, b.Namespace+"/"+b.Name)
	})
	if err := printStatus(o.streams.Out, o.output, views); err != nil {
		return &ExitError{Code: ExitUsage, Err: fmt.Errorf("writing the report: %w", err)}
	}
	return nil
}

// conditionView is a condition as status shows it.
type conditionView struct {
	Type    string `json:"type"`
	Status  string `json:"status"`
	Reason  string `json:"reason,omitempty"`
	Message string `json:"message,omitempty"`
	// Stale is true when the condition was written for an older
	// generation of the policy.
	Stale bool `json:"stale,omitempty"`
}

// targetStatusView is one target of a policy as status shows it.
type targetStatusView struct {
	Kind        string          `json:"kind"`
	Name        string          `json:"name"`
	SectionName string          `json:"sectionName,omitempty"`
	DataPlane   string          `json:"dataPlane,omitempty"`
	Controller  string          `json:"controllerName,omitempty"`
	Conditions  []conditionView `json:"conditions"`
	Message     string          `json:"message,omitempty"`
	// Verification is the last check of the target on the wire.
	Verification *kubecorsv1alpha1.TargetVerification `json:"verification,omitempty"`
}

// policyStatusView is one policy as status shows it.
type policyStatusView struct {
	Namespace  string         `json:"namespace"`
	Name       string         `json:"name"`
	Accepted   *conditionView `json:"accepted,omitempty"`
	Programmed *conditionView `json:"programmed,omitempty"`
	Summary    string         `json:"programmedTargets,omitempty"`
	// Verified is "verified/total" when kubecors verifies the policy's
	// targets on the wire.
	Verified   string             `json:"verifiedTargets,omitempty"`
	DataPlanes []string           `json:"dataPlanes"`
	Targets    []targetStatusView `json:"targets"`
	// ClusterPolicyViolation is the Accepted message when a cluster-wide
	// policy forbids this one.
	ClusterPolicyViolation string `json:"clusterPolicyViolation,omitempty"`
	// Unobserved is true when kubecors has not reconciled the policy's
	// current generation yet.
	Unobserved bool `json:"unobserved,omitempty"`
}

// statusView reads a policy's status.
func statusView(p *kubecorsv1alpha1.CorsPolicy) policyStatusView {
	v := policyStatusView{Namespace: p.Namespace, Name: p.Name, Summary: p.Status.ProgrammedTargets, Verified: p.Status.VerifiedTargets,
		DataPlanes: []string{}, Targets: []targetStatusView{}}
	view := func(c *metav1.Condition) *conditionView {
		if c == nil {
			return nil
		}
		return &conditionView{Type: c.Type, Status: string(c.Status), Reason: c.Reason, Message: c.Message, Stale: c.ObservedGeneration < p.Generation}
	}
	v.Accepted = view(meta.FindStatusCondition(p.Status.Conditions, kubecorsv1alpha1.ConditionAccepted))
	v.Programmed = view(meta.FindStatusCondition(p.Status.Conditions, kubecorsv1alpha1.ConditionProgrammed))
	v.Unobserved = v.Accepted == nil || v.Accepted.Stale
	if v.Accepted != nil && v.Accepted.Reason == kubecorsv1alpha1.ReasonClusterPolicyViolation {
		v.ClusterPolicyViolation = v.Accepted.Message
	}
	for _, t := range p.Status.Targets {
		tv := targetStatusView{Kind: t.TargetRef.Kind, Name: t.TargetRef.Name, DataPlane: t.DataPlane, Controller: t.ControllerName,
			Message: t.Message, Conditions: []conditionView{}, Verification: t.Verification}
		if t.TargetRef.SectionName != nil {
			tv.SectionName = *t.TargetRef.SectionName
		}
		for i := range t.Conditions {
			tv.Conditions = append(tv.Conditions, *view(&t.Conditions[i]))
		}
		if t.DataPlane != "" && !slices.Contains(v.DataPlanes, t.DataPlane) {
			v.DataPlanes = append(v.DataPlanes, t.DataPlane)
		}
		v.Targets = append(v.Targets, tv)
	}
	slices.Sort(v.DataPlanes)
	return v
}

// printStatus prints the policies in the chosen format.
func printStatus(w io.Writer, format string, views []policyStatusView) error {
	switch format {
	case outputJSON:
		return writeJSON(w, views)
	case outputYAML:
		return writeYAML(w, views)
	}
	p := &textPrinter{w: w}
	if len(views) == 0 {
		p.line("No CorsPolicy found.")
		return p.err
	}
	// The VERIFIED column appears once kubecors verifies some policy on
	// the wire.
	verified := slices.ContainsFunc(views, func(v policyStatusView) bool { return v.Verified != "" })
	header := []string{"NAMESPACE", "NAME", "ACCEPTED", "PROGRAMMED", "TARGETS", "DATA PLANES"}
	if verified {
		header = slices.Insert(header, 5, "VERIFIED")
	}
	rows := [][]string{header}
	for _, v := range views {
		planes := strings.Join(v.DataPlanes, ",")
		if planes == "" {
			planes = "-"
		}
		summary := v.Summary
		if summary == "" {
			summary = "-"
		}
		row := []string{v.Namespace, v.Name, shortCondition(v.Accepted), shortCondition(v.Programmed), summary, planes}
		if verified {
			row = slices.Insert(row, 5, cmp.Or(v.Verified, "-"))
		}
		rows = append(rows, row)
	}
	writeTable(p, "", rows)
	for _, v := range views {
		details := statusDetails(v)
		if len(details) == 0 {
			continue
		}
		p.line("")
		p.linef("%s:", objectRef(v.Namespace, v.Name))
		for _, d := range details {
			p.line("  " + d)
		}
	}
	return p.err
}

// shortCondition writes a condition as "True", or "False (Reason)".
func shortCondition(c *conditionView) string {
	if c == nil {
		return "Unknown (not reconciled)"
	}
	s := c.Status
	if c.Status != string(metav1.ConditionTrue) || c.Reason != c.Type {
		s += " (" + c.Reason + ")"
	}
	if c.Stale {
		s += " stale"
	}
	return s
}

// statusDetails lists what needs a person's attention in a policy: a
// rejection, a cluster-policy violation, and each target's conditions.
func statusDetails(v policyStatusView) []string {
	var out []string
	switch {
	case v.ClusterPolicyViolation != "":
		out = append(out, "cluster policy violation: "+v.ClusterPolicyViolation)
	case v.Accepted != nil && v.Accepted.Status != string(metav1.ConditionTrue):
		out = append(out, fmt.Sprintf("not accepted (%s): %s", v.Accepted.Reason, v.Accepted.Message))
	case v.Unobserved:
		out = append(out, "kubecors has not reconciled the current generation yet")
	}
	for _, t := range v.Targets {
		name := t.Kind + " " + t.Name
		if t.SectionName != "" {
			name += " (rule " + t.SectionName + ")"
		}
		var conds []string
		programmed := false
		for _, c := range t.Conditions {
			conds = append(conds, fmt.Sprintf("%s=%s (%s)", c.Type, c.Status, c.Reason))
			if c.Type == kubecorsv1alpha1.ConditionProgrammed && c.Status == string(metav1.ConditionTrue) {
				programmed = true
			}
		}
		if t.DataPlane != "" {
			name += " on " + t.DataPlane
		}
		line := fmt.Sprintf("%s: %s", name, strings.Join(conds, ", "))
		if t.Message != "" && (!programmed || strings.Contains(t.Message, "narrowed")) {
			line += ": " + t.Message
		}
		out = append(out, line)
		if w := wireLine(t); w != "" {
			out = append(out, "  "+w)
		}
	}
	return out
}

// statusNow is the clock that ages verifications; tests replace it.
var statusNow = time.Now

// wireLine says when and where a target was last verified on the wire,
// and what was seen when it was not as the policy promises.
func wireLine(t targetStatusView) string {
	w := t.Verification
	if w == nil {
		return ""
	}
	line := fmt.Sprintf("verified on the wire %s ago at %s via %s", duration.HumanDuration(statusNow().Sub(w.ObservedAt.Time)), w.URL, w.Address)
	if i := slices.IndexFunc(t.Conditions, func(c conditionView) bool {
		return c.Type == kubecorsv1alpha1.ConditionVerified && c.Status != string(metav1.ConditionTrue)
	}); i >= 0 {
		line += ": " + t.Conditions[i].Message
	}
	if w.BroaderThanPolicy {
		line += " [BROADER THAN THE POLICY: a security finding]"
	}
	return line
}
