package cli

import (
	"encoding/json"
	"errors"
	"fmt"

	"github.com/spf13/cobra"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	"sigs.k8s.io/yaml"

	"github.com/kubecors/kubecors/internal/version"
)

// newVersionCommand returns `kubectl cors version`: the plugin's own build,
// which a release stamps (see internal/version).
func newVersionCommand(streams genericiooptions.IOStreams) *cobra.Command {
	var output string
	cmd := &cobra.Command{
		Use:   "version",
		Short: "Print the version of the kubectl cors plugin",
		Example: `  kubectl cors version
  kubectl cors version -o json`,
		Args: cobra.NoArgs,
		RunE: func(_ *cobra.Command, _ []string) error {
			info := version.Get()
			switch output {
			case "":
				_, err := fmt.Fprintln(streams.Out, "kubectl-cors", info)
				return err
			case "json":
				b, err := json.MarshalIndent(info, "", "  ")
				if err != nil {
					return err
				}
				_, err = fmt.Fprintf(streams.Out, "%s\n", b)
				return err
			case "yaml":
				b, err := yaml.Marshal(info)
				if err != nil {
					return err
				}
				_, err = streams.Out.Write(b)
				return err
			default:
				return usageError(errors.New(`--output must be "json" or "yaml"`))
			}
		},
	}
	cmd.Flags().StringVarP(&output, "output", "o", "", `Output format: "json" or "yaml" (default: one line)`)
	return cmd
}
