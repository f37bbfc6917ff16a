package main

import (
	"archive/tar"
	"archive/zip"
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"sigs.k8s.io/yaml"
)

// krewPlugin is krew's v1alpha2 Plugin, the fields krew validates.
type krewPlugin struct {
	APIVersion string `json:"apiVersion"`
	Kind       string `json:"kind"`
	Metadata   struct {
		Name string `json:"name"`
	} `json:"metadata"`
	Spec struct {
		Version          string `json:"version"`
		Homepage         string `json:"homepage"`
		ShortDescription string `json:"shortDescription"`
		Description      string `json:"description"`
		Caveats          string `json:"caveats"`
		Platforms        []struct {
			Selector struct {
				MatchLabels map[string]string `json:"matchLabels"`
			} `json:"selector"`
			URI    string `json:"uri"`
			SHA256 string `json:"sha256"`
			Files  []struct {
				From string `json:"from"`
				To   string `json:"to"`
			} `json:"files"`
			Bin string `json:"bin"`
		} `json:"platforms"`
	} `json:"spec"`
}

var testPlatforms = []string{"linux/amd64", "darwin/arm64", "windows/amd64"}

func packageFakes(t *testing.T, version string) (Options, error) {
	t.Helper()
	dir := t.TempDir()
	for _, p := range testPlatforms {
		goos, goarch, _ := strings.Cut(p, "/")
		bin := "kubectl-cors"
		if goos == "windows" {
			bin += ".exe"
		}
		path := filepath.Join(dir, "bin", goos+"_"+goarch, bin)
		if err := os.MkdirAll(filepath.Dir(path), 0o750); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte("plugin for "+p), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	readme := filepath.Join(dir, "README.md")
	if err := os.WriteFile(readme, []byte("# kubecors\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	o := Options{
		Version: version, Platforms: testPlatforms, BinDir: filepath.Join(dir, "bin"), OutDir: filepath.Join(dir, "dist"),
		Krew: filepath.Join(dir, "plugins", "cors.yaml"), URLBase: "https://example.com/" + version, Readme: readme,
	}
	return o, Package(o)
}

// TestKrewManifest checks the generated manifest against krew's rules and
// the archives it points at.
func TestKrewManifest(t *testing.T) {
	o, err := packageFakes(t, "v0.1.0")
	if err != nil {
		t.Fatal(err)
	}
	raw, err := os.ReadFile(o.Krew)
	if err != nil {
		t.Fatal(err)
	}
	var p krewPlugin
	if err := yaml.UnmarshalStrict(raw, &p); err != nil {
		t.Fatalf("plugins/cors.yaml: %v", err)
	}
	if p.APIVersion != "krew.googlecontainertools.github.com/v1alpha2" || p.Kind != "Plugin" {
		t.Errorf("apiVersion %q kind %q", p.APIVersion, p.Kind)
	}
	// krew: the name is the file's and the command's (kubectl cors).
	if p.Metadata.Name != strings.TrimSuffix(filepath.Base(o.Krew), ".yaml") || p.Metadata.Name != "cors" {
		t.Errorf("metadata.name %q", p.Metadata.Name)
	}
	if p.Spec.Version != "v0.1.0" || p.Spec.Homepage == "" || p.Spec.ShortDescription == "" || p.Spec.Description == "" {
		t.Errorf("spec is incomplete: %+v", p.Spec)
	}
	if len(p.Spec.ShortDescription) > 50 {
		t.Errorf("shortDescription is %d characters; krew-index wants it short", len(p.Spec.ShortDescription))
	}
	sums, err := os.ReadFile(filepath.Join(o.OutDir, "checksums.txt"))
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Spec.Platforms) != len(testPlatforms) {
		t.Fatalf("%d platforms, want %d", len(p.Spec.Platforms), len(testPlatforms))
	}
	for i, pl := range p.Spec.Platforms {
		goos, goarch, _ := strings.Cut(testPlatforms[i], "/")
		if pl.Selector.MatchLabels["os"] != goos || pl.Selector.MatchLabels["arch"] != goarch {
			t.Errorf("platform %d selects %v", i, pl.Selector.MatchLabels)
		}
		file := filepath.Base(pl.URI)
		if !strings.HasPrefix(pl.URI, o.URLBase+"/") {
			t.Errorf("uri %q is not under %s", pl.URI, o.URLBase)
		}
		data, err := os.ReadFile(filepath.Join(o.OutDir, file))
		if err != nil {
			t.Fatal(err)
		}
		sum := sha256.Sum256(data)
		if pl.SHA256 != hex.EncodeToString(sum[:]) {
			t.Errorf("%s: sha256 %s, the archive's is %x", file, pl.SHA256, sum)
		}
		if !strings.Contains(string(sums), pl.SHA256+"  "+file+"\n") {
			t.Errorf("checksums.txt lacks %s", file)
		}
		if goos == "windows" != strings.HasSuffix(pl.Bin, ".exe") {
			t.Errorf("%s: bin %q (krew: .exe on Windows only)", goos, pl.Bin)
		}
		contents := archiveFiles(t, file, data)
		for _, f := range pl.Files {
			if _, ok := contents[f.From]; !ok || f.To != "." {
				t.Errorf("%s: files entry %+v is not in the archive (%v)", file, f, contents)
			}
		}
		if contents[pl.Bin] != "plugin for "+testPlatforms[i] {
			t.Errorf("%s: %s holds %q", file, pl.Bin, contents[pl.Bin])
		}
		if goos != "windows" && !strings.Contains(contents["kubectl_complete-cors"], "kubectl-cors __complete") {
			t.Errorf("%s: no kubectl completion helper", file)
		}
	}
}

// TestReproducible packages twice and compares the bytes.
func TestReproducible(t *testing.T) {
	a, err := packageFakes(t, "v1.2.3-rc.1")
	if err != nil {
		t.Fatal(err)
	}
	b, err := packageFakes(t, "v1.2.3-rc.1")
	if err != nil {
		t.Fatal(err)
	}
	sa, _ := os.ReadFile(filepath.Join(a.OutDir, "checksums.txt"))
	sb, _ := os.ReadFile(filepath.Join(b.OutDir, "checksums.txt"))
	if !bytes.Equal(sa, sb) || len(sa) == 0 {
		t.Errorf("two packagings differ:\n%s\n%s", sa, sb)
	}
}

func TestRejectsVersionKrewRefuses(t *testing.T) {
	for _, v := range []string{"0.1.0", "v0.1", "latest", "bd3af89-dirty"} {
		_, err := packageFakes(t, v)
		if err == nil || !strings.Contains(err.Error(), "is not a semantic version with a leading v") {
			t.Errorf("version %q: %v", v, err)
		}
	}
}

func archiveFiles(t *testing.T, name string, data []byte) map[string]string {
	t.Helper()
	out := map[string]string{}
	if strings.HasSuffix(name, ".zip") {
		zr, err := zip.NewReader(bytes.NewReader(data), int64(len(data)))
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range zr.File {
			rc, _ := f.Open()
			b, _ := io.ReadAll(rc)
			_ = rc.Close()
			out[f.Name] = string(b)
		}
		return out
	}
	gz, err := gzip.NewReader(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	tr := tar.NewReader(gz)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(tr)
		out[h.Name] = string(b)
		if h.Name == "kubectl-cors" && h.Mode != 0o755 {
			t.Errorf("kubectl-cors has mode %o", h.Mode)
		}
	}
	return out
}
