package dataplanes

import (
	"crypto/sha256"
	"encoding/hex"
	"maps"
	"regexp"
	"strings"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/util/validation"
)

// ownedNamePrefix starts the name of every object kubecors creates, so
// that it never collides with one the user wrote for the same purpose.
const ownedNamePrefix = "kubecors-"

// nameHashLength is how many hex digits of a SHA-256 keep shortened or
// rewritten names apart.
const nameHashLength = 8

// invalidLabelChars are the characters a DNS-1123 label cannot hold. Policy
// names are DNS-1123 subdomains, so only "." is ever replaced.
var invalidLabelChars = regexp.MustCompile(`[^a-z0-9-]`)

// OwnedObjectName is the name of an object kubecors renders for a policy
// (a Traefik Middleware, a KongPlugin): "kubecors-<policy name>" when that
// is a valid DNS-1123 label, else a shortened, rewritten form with a hash
// of the policy name, so that two policies never share an object.
func OwnedObjectName(policyName string) string {
	name := ownedNamePrefix + policyName
	if len(validation.IsDNS1123Label(name)) == 0 {
		return name
	}
	return hashedName(invalidLabelChars.ReplaceAllString(name, "-"), policyName, validation.DNS1123LabelMaxLength)
}

// OwnedObjectNameFor is the name of an object kubecors renders for one
// target of a policy (an Envoy Gateway SecurityPolicy attaches to its
// target, so each target has its own): "kubecors-<policy>-<target>" when
// that is a valid label, else shortened with a hash of both names.
func OwnedObjectNameFor(policyName, targetKind, targetName string) string {
	name := ownedNamePrefix + policyName + "-" + strings.ToLower(targetKind) + "-" + targetName
	if len(validation.IsDNS1123Label(name)) == 0 {
		return name
	}
	return hashedName(invalidLabelChars.ReplaceAllString(name, "-"), policyName+"/"+targetKind+"/"+targetName, validation.DNS1123LabelMaxLength)
}

// PolicyLabelValue is the value of LabelPolicy for a policy: its name when
// that fits a label value (63 characters), else a shortened form with a
// hash.
func PolicyLabelValue(policyName string) string {
	if len(validation.IsValidLabelValue(policyName)) == 0 {
		return policyName
	}
	return hashedName(policyName, policyName, validation.LabelValueMaxLength)
}

// hashedName shortens name to fit limit together with "-" and a hash of key,
// keeping it free of a trailing "-" or ".".
func hashedName(name, key string, limit int) string {
	sum := sha256.Sum256([]byte(key))
	suffix := "-" + hex.EncodeToString(sum[:])[:nameHashLength]
	if len(name) > limit-len(suffix) {
		name = name[:limit-len(suffix)]
	}
	return strings.TrimRight(name, "-.") + suffix
}

// OwnedObject is a namespaced object kubecors creates for a policy,
// labelled so that the controller finds the objects of a policy and people
// can tell who manages them; content holds its fields beside apiVersion,
// kind and metadata.
func OwnedObject(apiVersion, kind, namespace, name, policyName string, content map[string]any) *unstructured.Unstructured {
	obj := map[string]any{
		"apiVersion": apiVersion,
		"kind":       kind,
		"metadata": map[string]any{
			"name":      name,
			"namespace": namespace,
			"labels": map[string]any{
				LabelManagedBy: ManagedByKubecors,
				LabelPolicy:    PolicyLabelValue(policyName),
			},
		},
	}
	maps.Copy(obj, content)
	return &unstructured.Unstructured{Object: obj}
}

// StringList converts to the []any that unstructured content holds.
func StringList(values []string) []any {
	list := make([]any, len(values))
	for i, v := range values {
		list[i] = v
	}
	return list
}
