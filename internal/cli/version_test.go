package cli

import (
	"encoding/json"
	"strings"
	"testing"

	"k8s.io/cli-runtime/pkg/genericiooptions"

	"github.com/kubecors/kubecors/internal/version"
)

// execute runs the plugin's command line args in-process and returns
// standard output and the exit code main would use.
func execute(t *testing.T, args ...string) (string, string, int) {
	t.Helper()
	streams, _, out, errOut := genericiooptions.NewTestIOStreams()
	cmd := NewRootCommand(streams)
	cmd.SetArgs(args)
	err := cmd.Execute()
	if msg := ErrorMessage(err); msg != "" {
		errOut.WriteString("error: " + msg + "\n")
	}
	return out.String(), errOut.String(), ExitCode(err)
}

func TestVersionCommand(t *testing.T) {
	defer func(v, c string) { version.Version, version.Commit = v, c }(version.Version, version.Commit)
	version.Version, version.Commit = "v0.3.0", "abc1234"

	out, _, code := execute(t, "version")
	if code != ExitOK || !strings.HasPrefix(out, "kubectl-cors v0.3.0 (commit abc1234,") {
		t.Errorf("version: exit %d, output %q", code, out)
	}

	out, _, code = execute(t, "version", "-o", "json")
	var info version.Info
	if err := json.Unmarshal([]byte(out), &info); err != nil || code != ExitOK {
		t.Fatalf("version -o json: exit %d, %v: %q", code, err, out)
	}
	if info.Version != "v0.3.0" || info.Commit != "abc1234" || info.Platform == "" {
		t.Errorf("version -o json: %+v", info)
	}

	out, _, code = execute(t, "version", "-o", "yaml")
	if code != ExitOK || !strings.Contains(out, "version: v0.3.0\n") {
		t.Errorf("version -o yaml: exit %d, output %q", code, out)
	}

	_, errOut, code := execute(t, "version", "-o", "wide")
	if code != ExitUsage || !strings.Contains(errOut, `--output must be "json" or "yaml"`) {
		t.Errorf("version -o wide: exit %d, stderr %q", code, errOut)
	}
	_, errOut, code = execute(t, "version", "extra")
	if code != ExitUsage || !strings.Contains(errOut, `unknown command "extra"`) {
		t.Errorf("version extra: exit %d, stderr %q", code, errOut)
	}
}

func TestCompletionCommand(t *testing.T) {
	// Each script names the program it completes and comes from our command,
	// not cobra's default one (which would also answer "completion bash").
	for shell, want := range map[string]string{
		"bash":       "__start_kubectl-cors",
		"zsh":        "#compdef kubectl-cors",
		"fish":       "complete -c kubectl-cors",
		"powershell": "Register-ArgumentCompleter -CommandName 'kubectl-cors'",
	} {
		out, errOut, code := execute(t, "completion", shell)
		if code != ExitOK || !strings.Contains(out, want) {
			t.Errorf("completion %s: exit %d, stderr %q, output lacks %q", shell, code, errOut, want)
		}
	}
	out, _, _ := execute(t, "completion", "--help")
	if !strings.Contains(out, "kubectl_complete-cors") {
		t.Errorf("completion --help does not explain kubectl's plugin completion:\n%s", out)
	}

	_, errOut, code := execute(t, "completion", "tcsh")
	if code != ExitUsage || !strings.Contains(errOut, `invalid argument "tcsh"`) {
		t.Errorf("completion tcsh: exit %d, stderr %q", code, errOut)
	}
	_, errOut, code = execute(t, "completion")
	if code != ExitUsage || !strings.Contains(errOut, "accepts 1 arg(s), received 0") {
		t.Errorf("completion without a shell: exit %d, stderr %q", code, errOut)
	}

	// kubectl's plugin completion calls the hidden __complete command.
	out, _, code = execute(t, "__complete", "ver")
	if code != ExitOK || !strings.Contains(out, "version") {
		t.Errorf("__complete ver: exit %d, output %q", code, out)
	}
}
