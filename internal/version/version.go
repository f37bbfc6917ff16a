// Package version holds what a kubecors binary knows about its own build:
// the release version, the commit and the build date. Release builds stamp
// them with the linker (make image, make release):
//
//	-ldflags "-X github.com/kubecors/kubecors/internal/version.Version=v0.1.0
//	          -X github.com/kubecors/kubecors/internal/version.Commit=abc1234
//	          -X github.com/kubecors/kubecors/internal/version.Date=2026-12-01T18:00:00Z"
//
// A plain `go build` or `go run` leaves them unset; Get then falls back to
// what the Go toolchain recorded in the binary (the module version and, when
// built from a git checkout with VCS stamping on, the revision).
package version

import (
	"fmt"
	"runtime"
	"runtime/debug"
)

// Set by the linker with -X; see the package comment.
var (
	// Version is the release version, for example "v0.1.0".
	Version = ""
	// Commit is the git commit the binary was built from.
	Commit = ""
	// Date is the build time, RFC 3339 in UTC.
	Date = ""
)

// Info describes a build. Its JSON form is what `kubectl cors version -o
// json` prints, so its field names are part of the plugin's interface.
type Info struct {
	// Version is the release version, or "(devel)" for an unstamped build.
	Version string `json:"version"`
	// Commit is the git commit, or "unknown".
	Commit string `json:"commit"`
	// Date is the build time, or "unknown".
	Date string `json:"date"`
	// GoVersion is the Go toolchain that built the binary.
	GoVersion string `json:"goVersion"`
	// Platform is GOOS/GOARCH of the binary.
	Platform string `json:"platform"`
}

// Get returns the build information of the running binary.
func Get() Info {
	info := Info{
		Version:   Version,
		Commit:    Commit,
		Date:      Date,
		GoVersion: runtime.Version(),
		Platform:  runtime.GOOS + "/" + runtime.GOARCH,
	}
	if build, ok := debug.ReadBuildInfo(); ok {
		fillFromBuildInfo(&info, build)
	}
	if info.Version == "" {
		info.Version = "(devel)"
	}
	if info.Commit == "" {
		info.Commit = "unknown"
	}
	if info.Date == "" {
		info.Date = "unknown"
	}
	return info
}

// fillFromBuildInfo fills what the linker did not stamp from what the Go
// toolchain recorded: the main module's version (set by `go install
// module@version`) and the VCS revision and time (set by `go build` in a
// git checkout unless -buildvcs=false).
func fillFromBuildInfo(info *Info, build *debug.BuildInfo) {
	if info.Version == "" && build.Main.Version != "" && build.Main.Version != "(devel)" {
		info.Version = build.Main.Version
	}
	for _, s := range build.Settings {
		switch s.Key {
		case "vcs.revision":
			if info.Commit == "" {
				info.Commit = s.Value
			}
		case "vcs.time":
			if info.Date == "" {
				info.Date = s.Value
			}
		}
	}
}

// String renders the information on one line, for `--version`.
func (i Info) String() string {
	return fmt.Sprintf("%s (commit %s, built %s, %s, %s)", i.Version, i.Commit, i.Date, i.GoVersion, i.Platform)
}
