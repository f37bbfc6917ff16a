package dataplanes

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
)

// ConfigPlace is one place of a target object that holds a CORS
// configuration in a field of its own: an Istio http route's corsPolicy, a
// Contour virtual host's corsPolicy. Holder is the object's own map (not a
// copy), so that changing it changes the object.
type ConfigPlace struct {
	// Name is the place's name when the user gave it one (an Istio route's
	// name); kubecors finds a place again by name first.
	Name string
	// Index is the place's position in its list.
	Index int
	// Holder is the map holding Field.
	Holder map[string]any
	// Field is the key of the CORS configuration in Holder.
	Field string
	// Path is the field path of the configuration, for messages.
	Path string
}

// identity is the digest of a place's content other than the CORS field:
// how kubecors finds an unnamed place again after the user reordered the
// list.
func (p ConfigPlace) identity() string {
	rest := maps.Clone(p.Holder)
	delete(rest, p.Field)
	return ConfigDigest(rest)
}

// TargetRecord is what kubecors records, in an annotation of a target
// object, about the configuration it wrote there: the digest of what it
// wrote, which tells kubecors's configuration from the user's, and, for
// each place it wrote to, the user's configuration it replaced (none when
// the place had none), restored verbatim when kubecors's change is removed.
type TargetRecord struct {
	// Written is the ConfigDigest of the configuration kubecors wrote.
	Written string `json:"written"`
	// Places are the places kubecors wrote to.
	Places []RecordedPlace `json:"places"`
}

// RecordedPlace is one place kubecors wrote to.
type RecordedPlace struct {
	// Name, Index and Identity find the place again: by name when it has
	// one, else by its content, else by its position.
	Name     string `json:"name,omitempty"`
	Index    int    `json:"index"`
	Identity string `json:"identity"`
	// Original is the user's configuration kubecors replaced, as JSON;
	// empty when the place had none.
	Original json.RawMessage `json:"original,omitempty"`
}

// ConfigDigest identifies a configuration by its content: the first 16
// hex digits of the SHA-256 of its JSON (encoding/json sorts map keys, so
// equal content has one digest).
func ConfigDigest(v any) string {
	raw, _ := json.Marshal(v)
	sum := sha256.Sum256(raw)
	return hex.EncodeToString(sum[:8])
}

// readRecord reads the record annotation; nil when there is none.
func readRecord(obj *unstructured.Unstructured, key string) (*TargetRecord, error) {
	raw, ok := obj.GetAnnotations()[key]
	if !ok {
		return nil, nil
	}
	rec := &TargetRecord{}
	if err := json.Unmarshal([]byte(raw), rec); err != nil {
		return nil, fmt.Errorf("annotation %s on %s %s/%s is not kubecors's record (%v); kubecors leaves the object alone: "+
			"restore the annotation, or remove it together with the CORS configuration kubecors wrote", key, obj.GetKind(), obj.GetNamespace(), obj.GetName(), err)
	}
	return rec, nil
}

// find returns the recorded place for p: by name, by identity, by index.
func (r *TargetRecord) find(p ConfigPlace) *RecordedPlace {
	if r == nil {
		return nil
	}
	for _, match := range []func(RecordedPlace) bool{
		func(rp RecordedPlace) bool { return p.Name != "" && rp.Name == p.Name },
		func(rp RecordedPlace) bool { return p.Name == "" && rp.Name == "" && rp.Identity == p.identity() },
		func(rp RecordedPlace) bool { return p.Name == "" && rp.Name == "" && rp.Index == p.Index },
	} {
		if i := slices.IndexFunc(r.Places, match); i >= 0 {
			return &r.Places[i]
		}
	}
	return nil
}

// ours reports whether the configuration at a place is one kubecors wrote
// (this or an earlier version of the policy: the record names the last).
func (r *TargetRecord) ours(value any) bool {
	return r != nil && ConfigDigest(value) == r.Written
}

// ApplyToPlaces writes desired into every place of obj, recording under the
// annotation recordKey what each place held before. A place holding
// configuration kubecors did not write is a *TargetConflict unless
// takeOver; then nothing is changed. describe names the data plane and
// kind for the conflict message.
func ApplyToPlaces(obj *unstructured.Unstructured, places []ConfigPlace, desired map[string]any, recordKey string, takeOver bool, describe string) error {
	old, err := readRecord(obj, recordKey)
	if err != nil {
		return err
	}
	rec := TargetRecord{Written: ConfigDigest(desired)}
	var conflicts []string
	for _, p := range places {
		entry := RecordedPlace{Name: p.Name, Index: p.Index, Identity: p.identity()}
		current, has := p.Holder[p.Field]
		switch prev := old.find(p); {
		case has && old.ours(current):
			if prev != nil {
				entry.Original = prev.Original
			}
		case has && !takeOver:
			conflicts = append(conflicts, p.Path)
		case has:
			if entry.Original, err = json.Marshal(current); err != nil {
				return err
			}
		}
		rec.Places = append(rec.Places, entry)
	}
	if len(conflicts) > 0 {
		return &TargetConflict{Message: fmt.Sprintf("%s of %s %q already holds CORS configuration that kubecors did not write; kubecors leaves it alone: "+
			"remove it, or set takeOverExistingConfiguration: true on the policy (kubecors then restores it when the policy goes)",
			strings.Join(conflicts, ", "), describe, obj.GetName())}
	}
	for _, p := range places {
		p.Holder[p.Field] = runtime.DeepCopyJSONValue(desired)
	}
	raw, err := json.Marshal(rec)
	if err != nil {
		return err
	}
	annotations := obj.GetAnnotations()
	if annotations == nil {
		annotations = map[string]string{}
	}
	annotations[recordKey] = string(raw)
	obj.SetAnnotations(annotations)
	return nil
}

// RemoveFromPlaces undoes ApplyToPlaces: every place still holding what
// kubecors wrote gets back the user's original (or loses the field when it
// had none); a place whose configuration the user changed since keeps the
// user's. The record annotation goes.
func RemoveFromPlaces(obj *unstructured.Unstructured, places []ConfigPlace, recordKey string) error {
	rec, err := readRecord(obj, recordKey)
	if err != nil || rec == nil {
		return err
	}
	for _, p := range places {
		current, has := p.Holder[p.Field]
		if !has || !rec.ours(current) {
			continue
		}
		prev := rec.find(p)
		if prev == nil || len(prev.Original) == 0 {
			delete(p.Holder, p.Field)
			continue
		}
		var original any
		if err := json.Unmarshal(prev.Original, &original); err != nil {
			return fmt.Errorf("the original configuration kubecors recorded for %s is not JSON: %w", p.Path, err)
		}
		p.Holder[p.Field] = original
	}
	annotations := obj.GetAnnotations()
	delete(annotations, recordKey)
	obj.SetAnnotations(annotations)
	return nil
}
