package main

import (
	"archive/tar"
	"bytes"
	"context"
	"fmt"
	"io"
	"maps"
	"os"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

const (
	// FallbackScratch builds from an empty base when the base cannot be pulled.
	FallbackScratch = "scratch"
	// FallbackFail stops when the base cannot be pulled.
	FallbackFail = "fail"
	// User is the non-root user and group the manager runs as, distroless's
	// "nonroot".
	User = "65532:65532"
	// Entrypoint is where the manager binary lives in the image; the
	// Deployment's command names it.
	Entrypoint = "/manager"
	// BaseNameAnnotation is the OCI annotation naming the base image; it is
	// absent from an image built from scratch.
	BaseNameAnnotation = "org.opencontainers.image.base.name"
)

// Options say what to build.
type Options struct {
	// Ref is the image reference, REPOSITORY:TAG.
	Ref string
	// Base is the base image; empty means scratch.
	Base string
	// Fallback is FallbackScratch or FallbackFail.
	Fallback string
	// Binaries maps OS/ARCH to the path of a static manager binary.
	Binaries map[string]string
	// Version, Revision and Source become OCI labels.
	Version, Revision, Source string
	// Created is the creation time recorded in the image and on its files.
	Created time.Time
	// PullTimeout bounds each attempt to pull the base.
	PullTimeout time.Duration
	// Log reports what the build decides, the fallback first of all.
	Log func(format string, args ...any)
	// RemoteOptions are extra options for pulling the base (tests).
	RemoteOptions []remote.Option
}

// Build returns an index of one image per platform of o.Binaries.
func Build(o Options) (v1.ImageIndex, error) {
	if o.Fallback != FallbackScratch && o.Fallback != FallbackFail {
		return nil, fmt.Errorf("--base-fallback %q: use %q or %q", o.Fallback, FallbackScratch, FallbackFail)
	}
	if _, err := name.ParseReference(o.Ref); err != nil {
		return nil, fmt.Errorf("--ref %q: %w", o.Ref, err)
	}
	if o.Log == nil {
		o.Log = func(string, ...any) {}
	}
	var idx v1.ImageIndex = empty.Index
	idx = mutate.IndexMediaType(idx, types.OCIImageIndex)
	for _, platform := range slices.Sorted(maps.Keys(o.Binaries)) {
		p, err := v1.ParsePlatform(platform)
		if err != nil {
			return nil, err
		}
		img, err := buildPlatform(o, *p, o.Binaries[platform])
		if err != nil {
			return nil, fmt.Errorf("%s: %w", platform, err)
		}
		idx = mutate.AppendManifests(idx, mutate.IndexAddendum{
			Add:        img,
			Descriptor: v1.Descriptor{Platform: &v1.Platform{OS: p.OS, Architecture: p.Architecture, Variant: p.Variant}},
		})
	}
	return idx, nil
}

// pullBase pulls the base for one platform, or returns nil when the build
// is to go on from scratch.
func pullBase(o Options, p v1.Platform) (v1.Image, error) {
	if o.Base == "" {
		o.Log("no base image: building %s from scratch", p)
		return nil, nil
	}
	ref, err := name.ParseReference(o.Base)
	if err != nil {
		return nil, fmt.Errorf("--base %q: %w", o.Base, err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), o.PullTimeout)
	defer cancel()
	opts := append([]remote.Option{remote.WithContext(ctx), remote.WithPlatform(p)}, o.RemoteOptions...)
	img, err := remote.Image(ref, opts...)
	if err == nil {
		// Fetch the layers now, so that a registry that answers for the
		// manifest but not the blobs fails here and not while writing.
		if _, err = img.Layers(); err == nil {
			_, err = img.ConfigFile()
		}
	}
	if err != nil {
		if o.Fallback == FallbackFail {
			return nil, fmt.Errorf("base image %s is unreachable (set --base-fallback=scratch to build from an empty base): %w", o.Base, err)
		}
		o.Log("base image %s is unreachable for %s (%v): building FROM scratch, as --base-fallback=scratch allows", o.Base, p, err)
		return nil, nil
	}
	o.Log("base image %s for %s", o.Base, p)
	return img, nil
}

func buildPlatform(o Options, p v1.Platform, binaryPath string) (v1.Image, error) {
	//nolint:gosec // G304: the manager binary make image just built, named on the command line.
	binary, err := os.ReadFile(binaryPath)
	if err != nil {
		return nil, err
	}
	base, err := pullBase(o, p)
	if err != nil {
		return nil, err
	}
	scratch := base == nil
	if scratch {
		base = mutate.MediaType(empty.Image, types.OCIManifestSchema1)
		base = mutate.ConfigMediaType(base, types.OCIConfigJSON)
	}
	layerTar, err := managerLayer(binary, o.Created, scratch)
	if err != nil {
		return nil, err
	}
	layer, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) {
		return io.NopCloser(bytes.NewReader(layerTar)), nil
	}, tarball.WithMediaType(types.OCILayer))
	if err != nil {
		return nil, err
	}
	img, err := mutate.Append(base, mutate.Addendum{
		Layer:     layer,
		MediaType: types.OCILayer,
		History:   v1.History{CreatedBy: "make image: COPY manager /manager", Created: v1.Time{Time: o.Created}},
	})
	if err != nil {
		return nil, err
	}
	cf, err := img.ConfigFile()
	if err != nil {
		return nil, err
	}
	cf = cf.DeepCopy()
	cf.OS, cf.Architecture, cf.Variant = p.OS, p.Architecture, p.Variant
	cf.Created = v1.Time{Time: o.Created}
	cf.Config.Entrypoint = []string{Entrypoint}
	cf.Config.Cmd = nil
	cf.Config.User = User
	cf.Config.WorkingDir = "/"
	if cf.Config.Labels == nil {
		cf.Config.Labels = map[string]string{}
	}
	labels := map[string]string{
		"org.opencontainers.image.title":    "kubecors",
		"org.opencontainers.image.source":   o.Source,
		"org.opencontainers.image.version":  o.Version,
		"org.opencontainers.image.revision": o.Revision,
	}
	for k, v := range labels {
		if v != "" {
			cf.Config.Labels[k] = v
		}
	}
	img, err = mutate.ConfigFile(img, cf)
	if err != nil {
		return nil, err
	}
	annotations := map[string]string{"org.opencontainers.image.ref.name": o.Ref}
	if !scratch {
		annotations[BaseNameAnnotation] = o.Base
		if d, err := baseDigest(base); err == nil {
			annotations["org.opencontainers.image.base.digest"] = d
		}
	}
	return mutate.Annotations(img, annotations).(v1.Image), nil
}

func baseDigest(img v1.Image) (string, error) {
	d, err := img.Digest()
	return d.String(), err
}

// managerLayer returns the tar of the one layer the image adds: /manager
// and, on an empty base, the few files distroless would bring (/etc/passwd
// and /etc/group naming user 65532, a world-writable /tmp).
func managerLayer(binary []byte, created time.Time, scratch bool) ([]byte, error) {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	add := func(h *tar.Header, body []byte) error {
		h.ModTime, h.Format = created, tar.FormatPAX
		h.Uname, h.Gname = "root", "root"
		if h.Typeflag == tar.TypeReg {
			h.Size = int64(len(body))
		}
		if err := tw.WriteHeader(h); err != nil {
			return err
		}
		_, err := tw.Write(body)
		return err
	}
	if scratch {
		files := []struct {
			h    tar.Header
			body string
		}{
			{tar.Header{Name: "etc/", Typeflag: tar.TypeDir, Mode: 0o755}, ""},
			{tar.Header{Name: "etc/passwd", Typeflag: tar.TypeReg, Mode: 0o644},
				"root:x:0:0:root:/root:/sbin/nologin\nnonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin\n"},
			{tar.Header{Name: "etc/group", Typeflag: tar.TypeReg, Mode: 0o644}, "root:x:0:\nnonroot:x:65532:\n"},
			{tar.Header{Name: "tmp/", Typeflag: tar.TypeDir, Mode: 0o1777}, ""},
		}
		for _, f := range files {
			if err := add(&f.h, []byte(f.body)); err != nil {
				return nil, err
			}
		}
	}
	if err := add(&tar.Header{Name: strings.TrimPrefix(Entrypoint, "/"), Typeflag: tar.TypeReg, Mode: 0o755}, binary); err != nil {
		return nil, err
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// WriteLayout replaces dir with an OCI image layout holding idx, named ref.
func WriteLayout(dir, ref string, idx v1.ImageIndex) error {
	if err := os.RemoveAll(dir); err != nil {
		return err
	}
	p, err := layout.Write(dir, empty.Index)
	if err != nil {
		return err
	}
	return p.AppendIndex(idx, layout.WithAnnotations(map[string]string{"org.opencontainers.image.ref.name": ref}))
}

// Describe prints each image of the layout: platform, user, entrypoint,
// layers, compressed size and base.
func Describe(w io.Writer, dir string) error {
	p, err := layout.FromPath(dir)
	if err != nil {
		return err
	}
	top, err := p.ImageIndex()
	if err != nil {
		return err
	}
	tm, err := top.IndexManifest()
	if err != nil || len(tm.Manifests) != 1 {
		return fmt.Errorf("%s: want one index in the layout: %v", dir, err)
	}
	idx, err := top.ImageIndex(tm.Manifests[0].Digest)
	if err != nil {
		return err
	}
	im, err := idx.IndexManifest()
	if err != nil {
		return err
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	// tabwriter keeps the first write error and Flush returns it.
	_, _ = fmt.Fprintf(tw, "%s  %s\n", tm.Manifests[0].Annotations["org.opencontainers.image.ref.name"], tm.Manifests[0].Digest)
	_, _ = fmt.Fprintln(tw, "PLATFORM\tUSER\tENTRYPOINT\tLAYERS\tSIZE\tBASE")
	for _, d := range im.Manifests {
		img, err := idx.Image(d.Digest)
		if err != nil {
			return err
		}
		cf, err := img.ConfigFile()
		if err != nil {
			return err
		}
		layers, err := img.Layers()
		if err != nil {
			return err
		}
		var size int64
		for _, l := range layers {
			s, err := l.Size()
			if err != nil {
				return err
			}
			size += s
		}
		m, err := img.Manifest()
		if err != nil {
			return err
		}
		base := m.Annotations[BaseNameAnnotation]
		if base == "" {
			base = "scratch"
		}
		_, _ = fmt.Fprintf(tw, "%s/%s\t%s\t%v\t%d\t%.1f MiB\t%s\n", cf.OS, cf.Architecture, cf.Config.User, cf.Config.Entrypoint, len(layers), float64(size)/(1<<20), base)
	}
	return tw.Flush()
}
