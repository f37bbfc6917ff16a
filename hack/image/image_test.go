package main

import (
	"archive/tar"
	"bytes"
	"debug/buildinfo"
	"debug/elf"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

var platforms = map[string]string{"linux/amd64": "", "linux/arm64": ""}

// fakeBinaries writes a stand-in binary per platform; the unit tests only
// check where the bytes go.
func fakeBinaries(t *testing.T) map[string]string {
	t.Helper()
	out := map[string]string{}
	for p := range platforms {
		path := filepath.Join(t.TempDir(), "manager")
		if err := os.WriteFile(path, []byte("manager for "+p), 0o600); err != nil {
			t.Fatal(err)
		}
		out[p] = path
	}
	return out
}

func logTo(b *strings.Builder) func(string, ...any) {
	return func(format string, args ...any) { fmt.Fprintf(b, format+"\n", args...) }
}

// images returns the index's images by platform.
func images(t *testing.T, idx v1.ImageIndex) map[string]v1.Image {
	t.Helper()
	im, err := idx.IndexManifest()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]v1.Image{}
	for _, d := range im.Manifests {
		img, err := idx.Image(d.Digest)
		if err != nil {
			t.Fatal(err)
		}
		out[d.Platform.OS+"/"+d.Platform.Architecture] = img
	}
	return out
}

// unreachable is a registry address nothing listens on.
const unreachable = "127.0.0.1:1/distroless/static:nonroot"

func TestFallbackToScratch(t *testing.T) {
	var logs strings.Builder
	idx, err := Build(Options{
		Ref: "example.com/kubecors:test", Base: unreachable, Fallback: FallbackScratch,
		Binaries: fakeBinaries(t), PullTimeout: 5 * time.Second, Log: logTo(&logs),
	})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(logs.String(), "base image "+unreachable+" is unreachable for linux/amd64") ||
		!strings.Contains(logs.String(), "building FROM scratch") {
		t.Errorf("the fallback was not reported:\n%s", logs.String())
	}
	for p, img := range images(t, idx) {
		layers, _ := img.Layers()
		if len(layers) != 1 {
			t.Errorf("%s: %d layers, want the manager's one on an empty base", p, len(layers))
		}
		files := layerFiles(t, layers[0])
		for _, f := range []string{"manager", "etc/passwd", "etc/group", "tmp/"} {
			if _, ok := files[f]; !ok {
				t.Errorf("%s: the layer lacks %s (has %v)", p, f, slices.Collect(mapsKeys(files)))
			}
		}
		if !strings.Contains(files["etc/passwd"], ":65532:65532:") {
			t.Errorf("%s: /etc/passwd does not name user 65532", p)
		}
		m, _ := img.Manifest()
		if _, ok := m.Annotations[BaseNameAnnotation]; ok {
			t.Errorf("%s: an image from scratch names a base: %v", p, m.Annotations)
		}
		checkConfig(t, p, img)
	}
}

func TestFallbackFail(t *testing.T) {
	_, err := Build(Options{
		Ref: "example.com/kubecors:test", Base: unreachable, Fallback: FallbackFail,
		Binaries: fakeBinaries(t), PullTimeout: 5 * time.Second,
	})
	want := "base image " + unreachable + " is unreachable (set --base-fallback=scratch to build from an empty base)"
	if err == nil || !strings.Contains(err.Error(), want) {
		t.Errorf("err = %v, want %q", err, want)
	}
}

func TestRejectsBadOptions(t *testing.T) {
	for _, tt := range []struct {
		o    Options
		want string
	}{
		{Options{Ref: "example.com/kubecors:test", Fallback: "maybe"}, `--base-fallback "maybe": use "scratch" or "fail"`},
		{Options{Ref: "Not A Ref", Fallback: FallbackScratch}, `--ref "Not A Ref"`},
		{Options{Ref: "example.com/kubecors:test", Fallback: FallbackScratch, Binaries: map[string]string{"linux/amd64": "/nonexistent/manager"}}, "no such file"},
	} {
		if _, err := Build(tt.o); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("Build(%+v) = %v, want an error containing %q", tt.o, err, tt.want)
		}
	}
	if err := (binaryFlags{}).Set("linux-amd64:manager"); err == nil || !strings.Contains(err.Error(), "write OS/ARCH=PATH") {
		t.Errorf("--binary without OS/ARCH=: %v", err)
	}
}

// TestOnBase builds on a multi-platform base served by an in-process
// registry, the way a reachable distroless image is used.
func TestOnBase(t *testing.T) {
	srv := httptest.NewServer(registry.New(registry.Logger(log.New(io.Discard, "", 0))))
	defer srv.Close()
	u, _ := url.Parse(srv.URL)
	baseRef := u.Host + "/distroless/static:nonroot"
	var base v1.ImageIndex = empty.Index
	for p := range platforms {
		img, err := random.Image(256, 2)
		if err != nil {
			t.Fatal(err)
		}
		pl, _ := v1.ParsePlatform(p)
		cf, _ := img.ConfigFile()
		cf = cf.DeepCopy()
		cf.OS, cf.Architecture = pl.OS, pl.Architecture
		cf.Config.Env = []string{"SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt"}
		img, _ = mutate.ConfigFile(img, cf)
		base = mutate.AppendManifests(base, mutate.IndexAddendum{Add: img, Descriptor: v1.Descriptor{Platform: pl}})
	}
	ref, _ := name.ParseReference(baseRef)
	if err := remote.WriteIndex(ref, base); err != nil {
		t.Fatal(err)
	}

	var logs strings.Builder
	idx, err := Build(Options{
		Ref: "example.com/kubecors:test", Base: baseRef, Fallback: FallbackFail,
		Binaries: fakeBinaries(t), PullTimeout: 10 * time.Second, Log: logTo(&logs),
	})
	if err != nil {
		t.Fatal(err)
	}
	for p, img := range images(t, idx) {
		layers, _ := img.Layers()
		if len(layers) != 3 {
			t.Errorf("%s: %d layers, want the base's 2 and the manager's", p, len(layers))
		}
		if files := layerFiles(t, layers[2]); len(files) != 1 || files["manager"] != "manager for "+p {
			t.Errorf("%s: the manager layer holds %v, want only this platform's manager", p, slices.Collect(mapsKeys(files)))
		}
		cf, _ := img.ConfigFile()
		if !slices.Contains(cf.Config.Env, "SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt") {
			t.Errorf("%s: the base's environment was lost: %v", p, cf.Config.Env)
		}
		m, _ := img.Manifest()
		if m.Annotations[BaseNameAnnotation] != baseRef {
			t.Errorf("%s: annotations %v do not name the base", p, m.Annotations)
		}
		checkConfig(t, p, img)
	}
	if !strings.Contains(logs.String(), "base image "+baseRef+" for linux/arm64") {
		t.Errorf("log:\n%s", logs.String())
	}
}

// checkConfig checks what every kubecors image must say about itself.
func checkConfig(t *testing.T, platform string, img v1.Image) {
	t.Helper()
	cf, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	if got := cf.OS + "/" + cf.Architecture; got != platform {
		t.Errorf("%s: config says %s", platform, got)
	}
	if cf.Config.User != User || !slices.Equal(cf.Config.Entrypoint, []string{Entrypoint}) || len(cf.Config.Cmd) != 0 {
		t.Errorf("%s: user %q, entrypoint %q, cmd %q; want %q, [%s], none", platform, cf.Config.User, cf.Config.Entrypoint, cf.Config.Cmd, User, Entrypoint)
	}
}

// layerFiles returns the files of a layer and their contents.
func layerFiles(t *testing.T, l v1.Layer) map[string]string {
	t.Helper()
	rc, err := l.Uncompressed()
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = rc.Close() }()
	files := map[string]string{}
	tr := tar.NewReader(rc)
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return files
		}
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(tr)
		files[h.Name] = string(body)
		if h.Name == "manager" && (h.Mode != 0o755 || h.Uid != 0) {
			t.Errorf("/manager has mode %o and owner %d, want 755 and root", h.Mode, h.Uid)
		}
	}
}

func mapsKeys(m map[string]string) func(func(string) bool) {
	return func(yield func(string) bool) {
		for k := range m {
			if !yield(k) {
				return
			}
		}
	}
}

// TestBuiltImage reads back the image `make image` wrote (make test-image
// sets IMAGE_LAYOUT and IMAGE_PLATFORMS): one image per platform, each with
// the non-root user, the entrypoint, the right architecture and a static,
// trimmed, version-stamped manager binary of that architecture.
func TestBuiltImage(t *testing.T) {
	dir := os.Getenv("IMAGE_LAYOUT")
	if dir == "" {
		t.Fatal("IMAGE_LAYOUT is not set: run make image test-image")
	}
	p, err := layout.FromPath(dir)
	if err != nil {
		t.Fatal(err)
	}
	top, err := p.ImageIndex()
	if err != nil {
		t.Fatal(err)
	}
	tm, _ := top.IndexManifest()
	if len(tm.Manifests) != 1 || tm.Manifests[0].Annotations["org.opencontainers.image.ref.name"] == "" {
		t.Fatalf("the layout should hold one named index: %+v", tm.Manifests)
	}
	idx, err := top.ImageIndex(tm.Manifests[0].Digest)
	if err != nil {
		t.Fatal(err)
	}
	imgs := images(t, idx)
	want := strings.Fields(os.Getenv("IMAGE_PLATFORMS"))
	if len(want) == 0 {
		want = []string{"linux/amd64", "linux/arm64"}
	}
	if got := slices.Sorted(func(yield func(string) bool) {
		for k := range imgs {
			if !yield(k) {
				return
			}
		}
	}); !slices.Equal(got, slices.Sorted(slices.Values(want))) {
		t.Fatalf("platforms %v, want %v", got, want)
	}
	machines := map[string]elf.Machine{"amd64": elf.EM_X86_64, "arm64": elf.EM_AARCH64}
	for platform, img := range imgs {
		checkConfig(t, platform, img)
		layers, _ := img.Layers()
		m, _ := img.Manifest()
		base := m.Annotations[BaseNameAnnotation]
		if base == "" && len(layers) != 1 || base != "" && len(layers) < 2 {
			t.Errorf("%s: %d layers with base %q", platform, len(layers), base)
		}
		binary := layerFiles(t, layers[len(layers)-1])["manager"]
		f, err := elf.NewFile(bytes.NewReader([]byte(binary)))
		if err != nil {
			t.Fatalf("%s: /manager is not an ELF binary: %v", platform, err)
		}
		arch := platform[strings.Index(platform, "/")+1:]
		if f.Machine != machines[arch] {
			t.Errorf("%s: /manager is built for %s", platform, f.Machine)
		}
		if slices.ContainsFunc(f.Progs, func(p *elf.Prog) bool { return p.Type == elf.PT_INTERP }) {
			t.Errorf("%s: /manager is dynamically linked; it must run on an empty base", platform)
		}
		if f.Section(".symtab") != nil {
			t.Errorf("%s: /manager keeps its symbol table; build it with -ldflags -s -w", platform)
		}
		info, err := buildinfo.Read(bytes.NewReader([]byte(binary)))
		if err != nil {
			t.Fatal(err)
		}
		settings := map[string]string{}
		for _, s := range info.Settings {
			settings[s.Key] = s.Value
		}
		// go build records no -ldflags when -trimpath is on.
		if settings["-trimpath"] != "true" || settings["CGO_ENABLED"] != "0" {
			t.Errorf("%s: built with %v; want -trimpath and CGO_ENABLED=0", platform, settings)
		}
		cf, _ := img.ConfigFile()
		version := cf.Config.Labels["org.opencontainers.image.version"]
		if version == "" {
			t.Errorf("%s: no version label", platform)
		}
		// The binary of this machine's platform runs: it must print the
		// version the image is labelled with.
		if platform == runtime.GOOS+"/"+runtime.GOARCH {
			path := filepath.Join(t.TempDir(), "manager")
			if err := os.WriteFile(path, []byte(binary), 0o700); err != nil { //nolint:gosec // G306: it must be executable, by its owner only.
				t.Fatal(err)
			}
			out, err := exec.Command(path, "--version").CombinedOutput() //nolint:gosec // G204: the binary just read from the image.
			if err != nil || !strings.HasPrefix(string(out), "kubecors "+version+" (commit ") {
				t.Errorf("/manager --version: %v: %q, want the stamped version %s", err, out, version)
			} else {
				t.Logf("%s: /manager --version: %s", platform, strings.TrimSpace(string(out)))
			}
		}
		t.Logf("%s: %d layers, base %q, manager %.1f MiB", platform, len(layers), base, float64(len(binary))/(1<<20))
	}
}

// TestSBOM writes the SBOM of this test binary, which is a Go binary with
// build information like the manager, and reads it back.
func TestSBOM(t *testing.T) {
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(t.TempDir(), "sbom.spdx.json")
	if err := WriteSBOM(out, self, "example.com/kubecors:test", time.Unix(0, 0)); err != nil {
		t.Fatal(err)
	}
	raw, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	var doc spdxDocument
	if err := json.Unmarshal(raw, &doc); err != nil {
		t.Fatal(err)
	}
	if doc.SPDXVersion != "SPDX-2.3" || doc.Name != "example.com/kubecors:test" || len(doc.Packages) < 3 {
		t.Fatalf("document %+v", doc)
	}
	if doc.Packages[0].Name != "github.com/kubecors/kubecors/hack/image" || len(doc.Packages[0].Checksums) != 1 {
		t.Errorf("the first package should be the binary's main module with its checksum: %+v", doc.Packages[0])
	}
	if !slices.ContainsFunc(doc.Packages, func(p spdxPackage) bool {
		return len(p.ExternalRefs) == 1 && strings.HasPrefix(p.ExternalRefs[0].Locator, "pkg:golang/github.com/google/go-containerregistry@v")
	}) {
		t.Errorf("go-containerregistry is not listed with its purl")
	}
	if len(doc.Relationships) != len(doc.Packages) {
		t.Errorf("%d relationships for %d packages", len(doc.Relationships), len(doc.Packages))
	}
	if err := WriteSBOM(out, filepath.Join(t.TempDir(), "missing"), "x", time.Unix(0, 0)); err == nil ||
		!strings.Contains(err.Error(), "reading the build information of") {
		t.Errorf("a missing binary: %v", err)
	}
}
