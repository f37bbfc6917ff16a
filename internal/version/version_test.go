package version

import (
	"runtime/debug"
	"strings"
	"testing"
)

// TestGetStamped checks that linker-stamped values win over the build
// information and reach the one-line form.
func TestGetStamped(t *testing.T) {
	defer func(v, c, d string) { Version, Commit, Date = v, c, d }(Version, Commit, Date)
	Version, Commit, Date = "v1.2.3", "abc1234", "2026-12-01T18:00:00Z"
	got := Get()
	if got.Version != "v1.2.3" || got.Commit != "abc1234" || got.Date != "2026-12-01T18:00:00Z" {
		t.Errorf("Get() = %+v, want the stamped values", got)
	}
	if s := got.String(); !strings.HasPrefix(s, "v1.2.3 (commit abc1234, built 2026-12-01T18:00:00Z, go") {
		t.Errorf("String() = %q", s)
	}
}

// TestGetUnstamped checks the placeholders of a plain `go build`/`go test`
// binary, which has no module version and (with -buildvcs=false) no VCS data.
func TestGetUnstamped(t *testing.T) {
	defer func(v, c, d string) { Version, Commit, Date = v, c, d }(Version, Commit, Date)
	Version, Commit, Date = "", "", ""
	got := Get()
	if got.Version == "" || got.Commit == "" || got.Date == "" {
		t.Errorf("Get() = %+v, want placeholders instead of empty fields", got)
	}
	if got.GoVersion == "" || !strings.Contains(got.Platform, "/") {
		t.Errorf("Get() = %+v, want the Go version and GOOS/GOARCH", got)
	}
}

// TestFillFromBuildInfo checks the fallback to what `go install
// module@version` and VCS stamping record, and that "(devel)" is no version.
func TestFillFromBuildInfo(t *testing.T) {
	build := &debug.BuildInfo{
		Main: debug.Module{Path: "github.com/kubecors/kubecors", Version: "v0.4.0"},
		Settings: []debug.BuildSetting{
			{Key: "vcs.revision", Value: "deadbeef"},
			{Key: "vcs.time", Value: "2026-11-30T10:00:00Z"},
		},
	}
	var info Info
	fillFromBuildInfo(&info, build)
	if info.Version != "v0.4.0" || info.Commit != "deadbeef" || info.Date != "2026-11-30T10:00:00Z" {
		t.Errorf("got %+v", info)
	}

	info = Info{Version: "v9", Commit: "stamped"}
	build.Main.Version = "(devel)"
	fillFromBuildInfo(&info, build)
	if info.Version != "v9" || info.Commit != "stamped" {
		t.Errorf("stamped values were overwritten: %+v", info)
	}
	info = Info{}
	fillFromBuildInfo(&info, build)
	if info.Version != "" {
		t.Errorf("(devel) taken as a version: %+v", info)
	}
}
