// Command release packages the kubectl-cors binaries that `make release`
// cross-compiles: one archive per OS/architecture (tar.gz, or zip for
// Windows) holding the plugin, its completion helper for kubectl and the
// README; a checksums file; and the krew plugin manifest (krew's v1alpha2
// format) that points at the archives of the release. Archives are
// byte-for-byte reproducible: fixed file order, owner and modification time.
package main

import (
	"archive/tar"
	"archive/zip"
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"text/template"
	"time"
)

// Options say what to package.
type Options struct {
	// Version is the release version, vMAJOR.MINOR.PATCH[-PRERELEASE].
	Version string
	// Platforms are OS/ARCH pairs.
	Platforms []string
	// BinDir holds OS_ARCH/kubectl-cors[.exe] for every platform.
	BinDir string
	// OutDir receives the archives and checksums.txt.
	OutDir string
	// Krew is where the krew manifest is written.
	Krew string
	// URLBase is where the release's archives are downloaded from.
	URLBase string
	// Readme is added to every archive.
	Readme string
	// Modified is the modification time of every archived file.
	Modified time.Time
}

// semver is krew's rule for spec.version: a "v" and a semantic version.
var semver = regexp.MustCompile(`^v(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(-[0-9A-Za-z.-]+)?(\+[0-9A-Za-z.-]+)?$`)

// goosWindows is the GOOS whose plugin is an .exe shipped in a zip.
const goosWindows = "windows"

// completionHelper lets kubectl (1.26 and later) complete `kubectl cors`:
// kubectl runs kubectl_complete-cors from the PATH.
const completionHelper = "#!/bin/sh\n# kubectl runs this to complete `kubectl cors ...`.\nexec kubectl-cors __complete \"$@\"\n"

func main() {
	var o Options
	var platforms, modified string
	flag.StringVar(&o.Version, "version", "", "the release version, e.g. v0.1.0")
	flag.StringVar(&platforms, "platforms", "", "space-separated OS/ARCH pairs")
	flag.StringVar(&o.BinDir, "bin-dir", "dist/release-bin", "holds OS_ARCH/kubectl-cors[.exe]")
	flag.StringVar(&o.OutDir, "out", "dist", "where the archives and checksums.txt go")
	flag.StringVar(&o.Krew, "krew", "plugins/cors.yaml", "where the krew manifest goes")
	flag.StringVar(&o.URLBase, "url-base", "", "the release download URL (default: the GitHub release of --version)")
	flag.StringVar(&o.Readme, "readme", "README.md", "the README added to every archive")
	flag.StringVar(&modified, "modified", "", "RFC 3339 time of the archived files (default: the Unix epoch)")
	flag.Parse()
	o.Platforms = strings.Fields(platforms)
	if o.URLBase == "" {
		o.URLBase = "https://github.com/kubecors/kubecors/releases/download/" + o.Version
	}
	if modified != "" && modified != "unknown" {
		t, err := time.Parse(time.RFC3339, modified)
		if err != nil {
			fmt.Fprintln(os.Stderr, "release: --modified:", err)
			os.Exit(2)
		}
		o.Modified = t
	}
	if err := Package(o); err != nil {
		fmt.Fprintln(os.Stderr, "release:", err)
		os.Exit(1)
	}
}

// platformArchive is one archive and what the krew manifest says about it.
type platformArchive struct {
	OS, Arch, File, SHA256, Bin string
}

// Package writes the archives, checksums.txt and the krew manifest.
func Package(o Options) error {
	if !semver.MatchString(o.Version) {
		return fmt.Errorf("version %q is not a semantic version with a leading v (krew requires one), e.g. v0.1.0", o.Version)
	}
	if len(o.Platforms) == 0 {
		return errors.New("no platforms")
	}
	readme, err := os.ReadFile(o.Readme)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(o.OutDir, 0o750); err != nil {
		return err
	}
	var archives []platformArchive
	var sums strings.Builder
	for _, p := range o.Platforms {
		goos, goarch, ok := strings.Cut(p, "/")
		if !ok {
			return fmt.Errorf("platform %q: write OS/ARCH", p)
		}
		bin := "kubectl-cors"
		if goos == goosWindows {
			bin += ".exe"
		}
		//nolint:gosec // G304: the binary make release just built, under the directory it names.
		binary, err := os.ReadFile(filepath.Join(o.BinDir, goos+"_"+goarch, bin))
		if err != nil {
			return err
		}
		files := []archived{{bin, binary, 0o755}, {"README.md", readme, 0o644}}
		if goos != goosWindows {
			files = append(files, archived{"kubectl_complete-cors", []byte(completionHelper), 0o755})
		}
		name := fmt.Sprintf("kubectl-cors_%s_%s_%s", o.Version, goos, goarch)
		var data []byte
		if goos == goosWindows {
			name += ".zip"
			data, err = zipArchive(files, o.Modified)
		} else {
			name += ".tar.gz"
			data, err = tarGz(files, o.Modified)
		}
		if err != nil {
			return err
		}
		if err := os.WriteFile(filepath.Join(o.OutDir, name), data, 0o600); err != nil {
			return err
		}
		sum := sha256.Sum256(data)
		archives = append(archives, platformArchive{goos, goarch, name, hex.EncodeToString(sum[:]), bin})
		fmt.Fprintf(&sums, "%s  %s\n", hex.EncodeToString(sum[:]), name)
	}
	if err := os.WriteFile(filepath.Join(o.OutDir, "checksums.txt"), []byte(sums.String()), 0o600); err != nil {
		return err
	}
	var manifest bytes.Buffer
	if err := krewTemplate.Execute(&manifest, map[string]any{"Version": o.Version, "URLBase": o.URLBase, "Archives": archives}); err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(o.Krew), 0o750); err != nil {
		return err
	}
	return os.WriteFile(o.Krew, manifest.Bytes(), 0o600)
}

// archived is one file of an archive.
type archived struct {
	name string
	data []byte
	mode fs.FileMode
}

func tarGz(files []archived, modified time.Time) ([]byte, error) {
	var buf bytes.Buffer
	gz, err := gzip.NewWriterLevel(&buf, gzip.BestCompression)
	if err != nil {
		return nil, err
	}
	tw := tar.NewWriter(gz)
	for _, f := range files {
		h := &tar.Header{Name: f.name, Mode: int64(f.mode), Size: int64(len(f.data)), ModTime: modified, Typeflag: tar.TypeReg, Format: tar.FormatPAX}
		if err := tw.WriteHeader(h); err != nil {
			return nil, err
		}
		if _, err := tw.Write(f.data); err != nil {
			return nil, err
		}
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	if err := gz.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

func zipArchive(files []archived, modified time.Time) ([]byte, error) {
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for _, f := range files {
		h := &zip.FileHeader{Name: f.name, Method: zip.Deflate, Modified: modified}
		h.SetMode(f.mode)
		w, err := zw.CreateHeader(h)
		if err != nil {
			return nil, err
		}
		if _, err := w.Write(f.data); err != nil {
			return nil, err
		}
	}
	if err := zw.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// krewTemplate is the plugin manifest, in krew's v1alpha2 format
// (https://krew.sigs.k8s.io/docs/developer-guide/plugin-manifest/).
var krewTemplate = template.Must(template.New("cors.yaml").Parse(`apiVersion: krew.googlecontainertools.github.com/v1alpha2
kind: Plugin
metadata:
  name: cors
spec:
  version: {{ .Version }}
  homepage: https://github.com/kubecors/kubecors
  shortDescription: Check and debug CORS of Ingresses and HTTPRoutes
  description: |
    kubectl cors works with kubecors CorsPolicy objects and with the CORS
    configuration of ingress-nginx, Traefik, HAProxy Ingress and Gateway API
    HTTPRoutes: check validates policy files offline, as the API server and
    the kubecors webhook would; explain says why a browser request is
    blocked; probe sends a preflight to a live URL; audit lists the CORS
    configuration already in a cluster; status shows policies at a glance.
  caveats: |
    For completion of "kubectl cors", put kubectl_complete-cors (in the
    archive) on your PATH next to kubectl-cors (kubectl 1.26 or later).
  platforms:
{{- range .Archives }}
  - selector:
      matchLabels:
        os: {{ .OS }}
        arch: {{ .Arch }}
    uri: {{ $.URLBase }}/{{ .File }}
    sha256: {{ .SHA256 }}
    files:
    - from: {{ .Bin }}
      to: .
    - from: README.md
      to: .
{{- if ne .OS "windows" }}
    - from: kubectl_complete-cors
      to: .
{{- end }}
    bin: {{ .Bin }}
{{- end }}
`))
