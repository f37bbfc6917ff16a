// Command kubectl-cors is the kubectl plugin of kubecors: installed on the
// PATH under this name, it runs as `kubectl cors`.
package main

import (
	"fmt"
	"os"

	"k8s.io/cli-runtime/pkg/genericiooptions"

	"github.com/kubecors/kubecors/internal/cli"
)

func main() {
	streams := genericiooptions.IOStreams{In: os.Stdin, Out: os.Stdout, ErrOut: os.Stderr}
	err := cli.NewRootCommand(streams).Execute()
	if msg := cli.ErrorMessage(err); msg != "" {
		fmt.Fprintln(os.Stderr, "error: "+msg)
	}
	os.Exit(cli.ExitCode(err))
}
