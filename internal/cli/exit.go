package cli

import (
	"errors"
	"fmt"
)

// Exit codes of kubectl-cors, which scripts and CI pipelines branch on.
const (
	// ExitOK means every policy checked is valid; warnings are allowed.
	ExitOK = 0
	// ExitInvalid means at least one policy would be rejected.
	ExitInvalid = 1
	// ExitUsage means the command line was wrong, an input could not be
	// read or parsed, or something else kept the check from completing, so
	// that its verdict cannot be trusted.
	ExitUsage = 2
)

// ExitError ends a command with a chosen exit code. Err is the message for
// main to print; it is nil when the command has already reported to its
// streams, as check does for every problem it finds.
type ExitError struct {
	Code int
	Err  error
}

// Error returns Err's message, or the exit status when there is none.
func (e *ExitError) Error() string {
	if e.Err == nil {
		return fmt.Sprintf("exit status %d", e.Code)
	}
	return e.Err.Error()
}

// Unwrap returns Err, so that errors.Is and errors.As see through the code.
func (e *ExitError) Unwrap() error {
	return e.Err
}

// usageError wraps err as a usage error.
func usageError(err error) error {
	return &ExitError{Code: ExitUsage, Err: err}
}

// ExitCode returns the process exit code for err, the result of the root
// command's Execute. Errors without a code come from cobra itself (an
// unknown command or flag, a missing required flag) and are usage errors.
func ExitCode(err error) int {
	if err == nil {
		return ExitOK
	}
	if exit, ok := errors.AsType[*ExitError](err); ok {
		return exit.Code
	}
	return ExitUsage
}

// ErrorMessage returns what main prints for err, the result of the root
// command's Execute, or "" when there is nothing left to print because the
// command already reported.
func ErrorMessage(err error) string {
	if err == nil {
		return ""
	}
	if exit, ok := errors.AsType[*ExitError](err); ok && exit.Err == nil {
		return ""
	}
	return err.Error()
}
