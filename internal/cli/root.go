// Package cli is the command tree of kubectl-cors, the kubectl plugin of
// kubecors (`kubectl cors ...`). Commands write to the IOStreams they are
// given and report their outcome as an error carrying the exit code, so
// that main alone ends the process and tests can run commands in-process.
package cli

import (
	"fmt"

	"github.com/spf13/cobra"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/cli-runtime/pkg/genericiooptions"
)

// NewRootCommand returns the kubectl-cors command with its subcommands,
// writing to streams.
func NewRootCommand(streams genericiooptions.IOStreams) *cobra.Command {
	root := &cobra.Command{
		Use:   "kubectl-cors",
		Short: "Check and inspect kubecors CORS policies",
		Long: `kubectl cors works with kubecors CorsPolicy objects.

Use "kubectl cors check -f FILE" to validate policy files offline, with the
verdict the API server and the kubecors webhook would give.`,
		Annotations: map[string]string{
			// Help and errors then say "kubectl cors", the way users run it.
			cobra.CommandDisplayNameAnnotation: "kubectl cors",
		},
		// main prints errors once, with the right exit code; cobra's own
		// printing would duplicate them and bury them under usage text.
		SilenceErrors: true,
		SilenceUsage:  true,
	}
	root.SetIn(streams.In)
	root.SetOut(streams.Out)
	root.SetErr(streams.ErrOut)
	root.SetFlagErrorFunc(flagError)

	// The cluster flags are on the root so that every subcommand that
	// talks to a cluster reads the same kubeconfig, context and namespace,
	// as kubectl's own commands do. check works offline and ignores them.
	configFlags := genericclioptions.NewConfigFlags(true)
	configFlags.AddFlags(root.PersistentFlags())

	root.AddCommand(newCheckCommand(streams))
	root.AddCommand(newProbeCommand(streams))
	root.AddCommand(newExplainCommand(streams, configFlags))
	root.AddCommand(newAuditCommand(streams, configFlags))
	root.AddCommand(newStatusCommand(streams, configFlags))
	root.AddCommand(newMigrateCommand(streams, configFlags))
	root.AddCommand(newVersionCommand(streams), newCompletionCommand(streams))
	return root
}

// flagError marks a flag parsing error as a usage error and points to the
// help, as kubectl does.
func flagError(cmd *cobra.Command, err error) error {
	return usageError(fmt.Errorf("%w\nSee '%s --help' for usage", err, cmd.CommandPath()))
}
