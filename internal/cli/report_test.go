package cli

import (
	"bytes"
	"errors"
	"strings"
	"testing"

	"k8s.io/cli-runtime/pkg/genericiooptions"
)

// brokenWriter fails every write, as a closed pipe does, and counts the
// attempts.
type brokenWriter struct{ writes int }

func (w *brokenWriter) Write([]byte) (int, error) {
	w.writes++
	return 0, errors.New("broken pipe")
}

// TestCheckWriteError checks that a verdict that could not be printed does
// not pass for a clean run, and that the reporter stops writing to a broken
// stream.
func TestCheckWriteError(t *testing.T) {
	out := &brokenWriter{}
	var errOut bytes.Buffer
	streams := genericiooptions.IOStreams{In: &bytes.Buffer{}, Out: out, ErrOut: &errOut}
	cmd := NewRootCommand(streams)
	cmd.SetArgs([]string{"check", "-f", "testdata/multi.yaml"})
	err := cmd.Execute()
	if code := ExitCode(err); code != ExitUsage {
		t.Errorf("exit status %d, want %d", code, ExitUsage)
	}
	if msg, want := ErrorMessage(err), "writing the report to standard output: broken pipe"; msg != want {
		t.Errorf("error message %q, want %q", msg, want)
	}
	if out.writes != 1 {
		t.Errorf("%d writes to standard output, want 1: none after the first failed", out.writes)
	}
	if !strings.Contains(errOut.String(), "policies checked") {
		t.Errorf("standard error lacks the summary line:\n%s", errOut.String())
	}
}
