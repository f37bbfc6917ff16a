package main

import (
	"crypto/sha256"
	"debug/buildinfo"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"time"
)

// spdxDocument is the part of SPDX 2.3 JSON this SBOM uses.
type spdxDocument struct {
	SPDXVersion       string         `json:"spdxVersion"`
	DataLicense       string         `json:"dataLicense"`
	SPDXID            string         `json:"SPDXID"`
	Name              string         `json:"name"`
	DocumentNamespace string         `json:"documentNamespace"`
	CreationInfo      spdxCreation   `json:"creationInfo"`
	Packages          []spdxPackage  `json:"packages"`
	Relationships     []spdxRelation `json:"relationships"`
}

type spdxCreation struct {
	Created  string   `json:"created"`
	Creators []string `json:"creators"`
}

type spdxPackage struct {
	Name             string       `json:"name"`
	SPDXID           string       `json:"SPDXID"`
	VersionInfo      string       `json:"versionInfo"`
	DownloadLocation string       `json:"downloadLocation"`
	FilesAnalyzed    bool         `json:"filesAnalyzed"`
	Checksums        []spdxSum    `json:"checksums,omitempty"`
	ExternalRefs     []spdxExtRef `json:"externalRefs,omitempty"`
}

type spdxSum struct {
	Algorithm string `json:"algorithm"`
	Value     string `json:"checksumValue"`
}

type spdxExtRef struct {
	Category string `json:"referenceCategory"`
	Type     string `json:"referenceType"`
	Locator  string `json:"referenceLocator"`
}

type spdxRelation struct {
	Element string `json:"spdxElementId"`
	Type    string `json:"relationshipType"`
	Related string `json:"relatedSpdxElement"`
}

// SPDX identifiers and values used more than once.
const (
	spdxManagerID   = "SPDXRef-Package-manager"
	spdxNoAssertion = "NOASSERTION"
)

// WriteSBOM writes an SPDX 2.3 JSON document listing the Go modules that
// the binary at path was built from, as the Go toolchain recorded them.
func WriteSBOM(out, path, ref string, created time.Time) error {
	info, err := buildinfo.ReadFile(path)
	if err != nil {
		return fmt.Errorf("reading the build information of %s: %w", path, err)
	}
	//nolint:gosec // G304: the manager binary make image just built, named on the command line.
	raw, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	sum := sha256.Sum256(raw)
	purl := func(p, v string) spdxExtRef {
		return spdxExtRef{Category: "PACKAGE-MANAGER", Type: "purl", Locator: "pkg:golang/" + p + "@" + v}
	}
	doc := spdxDocument{
		SPDXVersion: "SPDX-2.3", DataLicense: "CC0-1.0", SPDXID: "SPDXRef-DOCUMENT",
		Name:              ref,
		DocumentNamespace: "https://github.com/kubecors/kubecors/sbom/" + hex.EncodeToString(sum[:8]),
		CreationInfo:      spdxCreation{Created: created.UTC().Format(time.RFC3339), Creators: []string{"Tool: kubecors-hack-image", "Tool: " + info.GoVersion}},
	}
	doc.Packages = append(doc.Packages, spdxPackage{
		Name: info.Main.Path, SPDXID: spdxManagerID, VersionInfo: info.Main.Version,
		DownloadLocation: spdxNoAssertion, Checksums: []spdxSum{{"SHA256", hex.EncodeToString(sum[:])}},
	})
	doc.Relationships = append(doc.Relationships, spdxRelation{"SPDXRef-DOCUMENT", "DESCRIBES", spdxManagerID})
	for i, dep := range info.Deps {
		if dep.Replace != nil {
			dep = dep.Replace
		}
		id := fmt.Sprintf("SPDXRef-Package-%d", i)
		doc.Packages = append(doc.Packages, spdxPackage{
			Name: dep.Path, SPDXID: id, VersionInfo: dep.Version, DownloadLocation: spdxNoAssertion,
			ExternalRefs: []spdxExtRef{purl(dep.Path, dep.Version)},
		})
		doc.Relationships = append(doc.Relationships, spdxRelation{spdxManagerID, "DEPENDS_ON", id})
	}
	doc.Packages = append(doc.Packages, spdxPackage{
		Name: "stdlib", SPDXID: "SPDXRef-Package-stdlib", VersionInfo: strings.TrimPrefix(info.GoVersion, "go"),
		DownloadLocation: spdxNoAssertion, ExternalRefs: []spdxExtRef{purl("stdlib", strings.TrimPrefix(info.GoVersion, "go"))},
	})
	doc.Relationships = append(doc.Relationships, spdxRelation{spdxManagerID, "DEPENDS_ON", "SPDXRef-Package-stdlib"})
	b, err := json.MarshalIndent(doc, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(out, append(b, '\n'), 0o600)
}
