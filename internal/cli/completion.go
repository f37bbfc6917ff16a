package cli

import (
	"fmt"

	"github.com/spf13/cobra"
	"k8s.io/cli-runtime/pkg/genericiooptions"
)

// completionShells are the shells `kubectl cors completion` writes scripts for.
var completionShells = []string{"bash", "zsh", "fish", "powershell"}

// newCompletionCommand returns `kubectl cors completion SHELL`. It replaces
// cobra's default completion command to say how completion reaches
// `kubectl cors` (kubectl's plugin completion) and not only `kubectl-cors`.
func newCompletionCommand(streams genericiooptions.IOStreams) *cobra.Command {
	return &cobra.Command{
		Use:   "completion bash|zsh|fish|powershell",
		Short: "Print a shell completion script",
		Long: `Print a shell completion script for kubectl-cors.

Typed as "kubectl-cors", completion works once the script is loaded:

  source <(kubectl-cors completion bash)        # bash
  kubectl-cors completion zsh > "${fpath[1]}/_kubectl-cors"
  kubectl-cors completion fish | source

Typed as "kubectl cors", kubectl (1.26 and later) completes plugin arguments
by running an executable named kubectl_complete-cors from the PATH. The
release archives ship one; or create it:

  printf '#!/bin/sh\nexec kubectl-cors __complete "$@"\n' > ~/bin/kubectl_complete-cors
  chmod +x ~/bin/kubectl_complete-cors`,
		Example:               "  kubectl cors completion bash > /etc/bash_completion.d/kubectl-cors",
		ValidArgs:             completionShells,
		Args:                  cobra.MatchAll(cobra.ExactArgs(1), cobra.OnlyValidArgs),
		DisableFlagsInUseLine: true,
		RunE: func(cmd *cobra.Command, args []string) error {
			root := cmd.Root()
			switch args[0] {
			case "bash":
				return root.GenBashCompletionV2(streams.Out, true)
			case "zsh":
				return root.GenZshCompletion(streams.Out)
			case "fish":
				return root.GenFishCompletion(streams.Out, true)
			case "powershell":
				return root.GenPowerShellCompletionWithDesc(streams.Out)
			}
			return usageError(fmt.Errorf("unsupported shell %q", args[0]))
		},
	}
}
