// Command image builds the kubecors manager image without a Docker daemon:
// an OCI image layout (a directory, pushable with `crane push --index` or
// `skopeo copy --all oci:DIR docker://REF`) holding one image per platform
// under one index. Each image is the base image (a distroless static one by
// default) plus one layer with the static manager binary at /manager,
// running as the non-root user 65532. When the base image cannot be pulled
// (no registry reachable), it builds from an empty base instead, if
// --base-fallback=scratch says so: a static Go binary needs nothing else,
// since the API server's CA comes from the ServiceAccount mount and the
// webhook certificate is self-managed.
//
// It lives in a module of its own so that go-containerregistry stays out of
// the operator's go.mod. `make image` runs it; `make test-image` reads the
// result back.
//
//	go run . build --ref REPO:TAG --base gcr.io/distroless/static:nonroot \
//	  --binary linux/amd64=PATH --binary linux/arm64=PATH --out DIR
//	go run . inspect DIR
package main

import (
	"errors"
	"flag"
	"fmt"
	"os"
	"strings"
	"time"
)

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: image build|inspect ...")
		os.Exit(2)
	}
	var err error
	switch os.Args[1] {
	case "build":
		err = runBuild(os.Args[2:])
	case "inspect":
		err = runInspect(os.Args[2:])
	default:
		err = fmt.Errorf("unknown command %q: use build or inspect", os.Args[1])
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "image:", err)
		os.Exit(1)
	}
}

// binaryFlags is the repeatable --binary OS/ARCH=PATH flag.
type binaryFlags map[string]string

func (b binaryFlags) String() string { return fmt.Sprint(map[string]string(b)) }
func (b binaryFlags) Set(v string) error {
	platform, path, ok := strings.Cut(v, "=")
	if !ok || !strings.Contains(platform, "/") || path == "" {
		return fmt.Errorf("%q: write OS/ARCH=PATH", v)
	}
	b[platform] = path
	return nil
}

func runBuild(args []string) error {
	fs := flag.NewFlagSet("build", flag.ContinueOnError)
	o := Options{Binaries: binaryFlags{}}
	created := fs.String("created", "", "the image's creation time, RFC 3339 (default: the Unix epoch, for reproducible images)")
	out := fs.String("out", "", "the OCI layout directory to write (replaced)")
	sbom := fs.String("sbom", "", "where to write an SPDX 2.3 JSON SBOM of the manager binary (optional)")
	fs.StringVar(&o.Ref, "ref", "", "the image reference, REPOSITORY:TAG, recorded in the layout")
	fs.StringVar(&o.Base, "base", "", "the base image; empty builds from scratch")
	fs.StringVar(&o.Fallback, "base-fallback", FallbackScratch, `when the base cannot be pulled: "scratch" builds from an empty base, "fail" stops`)
	fs.Var(binaryFlags(o.Binaries), "binary", "OS/ARCH=PATH of a static manager binary (repeatable, one per platform)")
	fs.StringVar(&o.Version, "version", "", "the version label")
	fs.StringVar(&o.Revision, "revision", "", "the git revision label")
	fs.StringVar(&o.Source, "source", "https://github.com/kubecors/kubecors", "the source label")
	fs.DurationVar(&o.PullTimeout, "pull-timeout", 30*time.Second, "how long to try pulling the base image")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *out == "" || o.Ref == "" || len(o.Binaries) == 0 {
		return errors.New("--out, --ref and at least one --binary are required")
	}
	if *created != "" {
		t, err := time.Parse(time.RFC3339, *created)
		if err != nil {
			return fmt.Errorf("--created: %w", err)
		}
		o.Created = t
	}
	o.Log = func(format string, args ...any) { fmt.Fprintf(os.Stderr, "image: "+format+"\n", args...) }
	idx, err := Build(o)
	if err != nil {
		return err
	}
	if err := WriteLayout(*out, o.Ref, idx); err != nil {
		return err
	}
	if *sbom != "" {
		// Every platform's binary is built from the same module graph.
		for _, path := range o.Binaries {
			if err := WriteSBOM(*sbom, path, o.Ref, o.Created); err != nil {
				return err
			}
			break
		}
	}
	return Describe(os.Stdout, *out)
}

func runInspect(args []string) error {
	if len(args) != 1 {
		return errors.New("usage: image inspect LAYOUT_DIR")
	}
	return Describe(os.Stdout, args[0])
}
