package controllers

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"

	networkingv1 "k8s.io/api/networking/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	networkingv1ac "k8s.io/client-go/applyconfigurations/networking/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"

	kubecorsv1alpha1 "github.com/kubecors/kubecors/api/v1alpha1"
	"github.com/kubecors/kubecors/internal/dataplanes"
	"github.com/kubecors/kubecors/internal/dataplanes/registry"
)

const (
	// FieldManager is the server-side apply field manager of everything
	// kubecors writes on objects users own.
	FieldManager = "kubecors"

	// AnnotationPolicy names, on an Ingress, the policy whose
	// configuration kubecors wrote there. It is written with that
	// configuration and removed with it.
	AnnotationPolicy = "kubecors.io/policy"
)

// conflictError reports that another writer owns configuration kubecors
// would write; nothing was written.
type conflictError struct{ message string }

func (e *conflictError) Error() string { return e.message }

// applyIngress writes a rendered configuration onto an Ingress: the owned
// annotations with server-side apply (so no other key is touched, and a
// key another manager set is a conflict rather than an overwrite), then the
// owned objects, then kubecors's entries in the annotation lists it shares
// with users (Traefik's router.middlewares). It writes nothing when
// everything is already in place.
func (r *CorsPolicyReconciler) applyIngress(ctx context.Context, policy *kubecorsv1alpha1.CorsPolicy, ing *networkingv1.Ingress,
	cfg dataplanes.IngressConfig, owned *ownedWrites) error {
	previous := recordedListEntries(ing)
	desired := maps.Clone(cfg.Annotations)
	if desired == nil {
		desired = map[string]string{}
	}
	desired[AnnotationPolicy] = policy.Name
	if cfg.SharedList != nil && len(cfg.ListEntries) > 0 {
		desired[cfg.SharedList.RecordKey] = strings.Join(cfg.ListEntries, ",")
	}
	wanted := func(list dataplanes.SharedList) []string {
		if cfg.SharedList != nil && *cfg.SharedList == list {
			return cfg.ListEntries
		}
		return nil
	}
	// The record of kubecors's entries in a shared list is what removes
	// them later, possibly after a crash: until a list holds only the new
	// entries, its record keeps naming the old ones too, so that a manager
	// killed between the two writes leaves no entry nobody will remove.
	interim := maps.Clone(desired)
	for _, list := range registry.SharedLists() {
		old, want := previous[list.RecordKey], wanted(list)
		current := splitList(ing.Annotations[list.Key])
		if !slices.Equal(current, nextListEntries(current, old, want)) && slices.ContainsFunc(old, func(e string) bool { return !slices.Contains(want, e) }) {
			interim[list.RecordKey] = strings.Join(append(slices.Clone(want), slices.DeleteFunc(slices.Clone(old), func(e string) bool { return slices.Contains(want, e) })...), ",")
		}
	}
	force := policy.Spec.TakeOverExistingConfiguration
	if err := r.applyAnnotations(ctx, ing, interim, force); err != nil {
		return err
	}
	for _, obj := range cfg.Objects {
		if err := owned.apply(ctx, r, policy, obj); err != nil {
			return err
		}
	}
	for _, list := range registry.SharedLists() {
		if err := r.setListEntries(ctx, ing, list, previous[list.RecordKey], wanted(list)); err != nil {
			return err
		}
	}
	if maps.Equal(interim, desired) {
		return nil
	}
	return r.applyAnnotations(ctx, ing, desired, force)
}

// applyAnnotations server-side applies exactly the desired annotations
// under FieldManager, unless the Ingress already carries them and
// kubecors owns no other annotation.
func (r *CorsPolicyReconciler) applyAnnotations(ctx context.Context, ing *networkingv1.Ingress, desired map[string]string, force bool) error {
	if ownsExactly(ing, desired) {
		return nil
	}
	ac := networkingv1ac.Ingress(ing.Name, ing.Namespace).WithAnnotations(desired)
	opts := []client.ApplyOption{client.FieldOwner(FieldManager)}
	if force {
		opts = append(opts, client.ForceOwnership)
	}
	err := r.Apply(ctx, ac, opts...)
	if apierrors.IsConflict(err) {
		return &conflictError{message: describeConflict(err)}
	}
	if err == nil && ac.ResourceVersion != nil {
		// The API server answered with the object as applied: a shared
		// list patched next must be made on that version, not the cached
		// one it just replaced.
		ing.ResourceVersion, ing.Annotations = *ac.ResourceVersion, ac.Annotations
	}
	return err
}

// ownsExactly reports whether the Ingress carries every desired annotation
// with its value and FieldManager's applied annotations are exactly the
// desired keys, so applying would change nothing.
func ownsExactly(ing *networkingv1.Ingress, desired map[string]string) bool {
	for k, v := range desired {
		if got, ok := ing.Annotations[k]; !ok || got != v {
			return false
		}
	}
	owned := ownedAnnotations(ing)
	return len(owned) == len(desired) && !slices.ContainsFunc(owned, func(k string) bool { _, ok := desired[k]; return !ok })
}

// ownedAnnotations lists the annotation keys that FieldManager's applied
// configuration holds on an object.
func ownedAnnotations(obj metav1.Object) []string {
	var keys []string
	for _, mf := range obj.GetManagedFields() {
		if mf.Manager != FieldManager || mf.Operation != metav1.ManagedFieldsOperationApply || mf.FieldsV1 == nil {
			continue
		}
		var fields struct {
			Metadata struct {
				Annotations map[string]json.RawMessage `json:"f:annotations"`
			} `json:"f:metadata"`
		}
		if err := json.Unmarshal(mf.FieldsV1.GetRawBytes(), &fields); err != nil {
			continue
		}
		for k := range fields.Metadata.Annotations {
			if key, ok := strings.CutPrefix(k, "f:"); ok {
				keys = append(keys, key)
			}
		}
	}
	slices.Sort(keys)
	return keys
}

// describeConflict turns a server-side apply conflict into the keys and
// the managers that own them.
func describeConflict(err error) string {
	status, ok := err.(apierrors.APIStatus)
	if !ok || status.Status().Details == nil {
		return err.Error()
	}
	var parts []string
	for _, c := range status.Status().Details.Causes {
		key := strings.TrimPrefix(c.Field, ".metadata.annotations.")
		parts = append(parts, fmt.Sprintf("%s (%s)", key, strings.TrimPrefix(c.Message, "conflict with ")))
	}
	slices.Sort(parts)
	return "another writer already set " + strings.Join(parts, ", ") +
		"; kubecors leaves it alone: remove that annotation, or set spec.takeOverExistingConfiguration: true to let kubecors replace it"
}

// ownedWrites applies each owned object once per reconcile: every target of
// a policy in one namespace shares its Middleware, and a selector over
// thousands of Ingresses must not read and apply it thousands of times.
// Targets that share an object share the outcome of its one write.
type ownedWrites struct {
	mu   sync.Mutex
	done map[string]*ownedWrite
}

type ownedWrite struct {
	once sync.Once
	err  error
}

// apply applies obj unless this reconcile already did.
func (w *ownedWrites) apply(ctx context.Context, r *CorsPolicyReconciler, policy *kubecorsv1alpha1.CorsPolicy, obj *unstructured.Unstructured) error {
	key := obj.GroupVersionKind().String() + "/" + obj.GetNamespace() + "/" + obj.GetName()
	w.mu.Lock()
	if w.done == nil {
		w.done = map[string]*ownedWrite{}
	}
	write, ok := w.done[key]
	if !ok {
		write = &ownedWrite{}
		w.done[key] = write
	}
	w.mu.Unlock()
	write.once.Do(func() { write.err = r.applyOwnedObject(ctx, policy, obj) })
	return write.err
}

// applyOwnedObject creates or updates an object kubecors owns for a policy
// (a Traefik Middleware), with the policy as its controlling owner so that
// it goes away with the policy. It writes nothing when the object is
// already as desired.
func (r *CorsPolicyReconciler) applyOwnedObject(ctx context.Context, policy *kubecorsv1alpha1.CorsPolicy, desired *unstructured.Unstructured) error {
	obj := desired.DeepCopy()
	if err := controllerutil.SetControllerReference(policy, obj, r.Scheme()); err != nil {
		return err
	}
	current := &unstructured.Unstructured{}
	current.SetGroupVersionKind(obj.GroupVersionKind())
	err := r.APIReader.Get(ctx, client.ObjectKeyFromObject(obj), current)
	switch {
	case apierrors.IsNotFound(err):
	case err != nil:
		return err
	case sameOwnedContent(current, obj):
		return nil
	}
	return r.Apply(ctx, client.ApplyConfigurationFromUnstructured(obj), client.FieldOwner(FieldManager), client.ForceOwnership)
}

// sameOwnedContent compares what kubecors writes of an owned object: every
// top-level field but the object's identity, metadata and status (a
// Middleware's spec; a KongPlugin's plugin and config, which it holds at
// the top level), its labels and its owner.
func sameOwnedContent(current, desired *unstructured.Unstructured) bool {
	return equalJSON(ownedFields(current), ownedFields(desired)) &&
		maps.Equal(current.GetLabels(), desired.GetLabels()) &&
		slices.EqualFunc(current.GetOwnerReferences(), desired.GetOwnerReferences(), func(a, b metav1.OwnerReference) bool { return a.UID == b.UID })
}

// ownedFields is the content of an object without apiVersion, kind,
// metadata and status.
func ownedFields(obj *unstructured.Unstructured) map[string]any {
	fields := map[string]any{}
	for k, v := range obj.Object {
		switch k {
		case "apiVersion", "kind", "metadata", "status":
		default:
			fields[k] = v
		}
	}
	return fields
}

func equalJSON(a, b any) bool {
	ja, errA := json.Marshal(a)
	jb, errB := json.Marshal(b)
	return errA == nil && errB == nil && string(ja) == string(jb)
}

// recordedListEntries reads, for each shared annotation list, the entries
// kubecors recorded adding to it, keyed by the record's annotation.
func recordedListEntries(ing *networkingv1.Ingress) map[string][]string {
	recorded := map[string][]string{}
	for _, list := range registry.SharedLists() {
		if entries := splitList(ing.Annotations[list.RecordKey]); len(entries) > 0 {
			recorded[list.RecordKey] = entries
		}
	}
	return recorded
}

func splitList(s string) []string {
	var out []string
	for item := range strings.SplitSeq(s, ",") {
		if item = strings.TrimSpace(item); item != "" {
			out = append(out, item)
		}
	}
	return out
}

// setListEntries replaces kubecors's entries (old) in a shared annotation
// list with want, keeping the user's entries and their order. The list is
// one annotation shared with the user, which server-side apply cannot
// split, so it is patched with a resourceVersion precondition instead, and
// only when it changes.
func (r *CorsPolicyReconciler) setListEntries(ctx context.Context, ing *networkingv1.Ingress, list dataplanes.SharedList, old, want []string) error {
	current := splitList(ing.Annotations[list.Key])
	next := nextListEntries(current, old, want)
	if slices.Equal(current, next) {
		return nil
	}
	before := ing.DeepCopy()
	if ing.Annotations == nil {
		ing.Annotations = map[string]string{}
	}
	if len(next) == 0 {
		delete(ing.Annotations, list.Key)
	} else {
		ing.Annotations[list.Key] = strings.Join(next, ",")
	}
	return r.Patch(ctx, ing, client.MergeFromWithOptions(before, client.MergeFromWithOptimisticLock{}), client.FieldOwner(FieldManager))
}

// nextListEntries is a shared list with kubecors's entries (old) replaced
// by want, the user's entries kept in their order.
func nextListEntries(current, old, want []string) []string {
	next := slices.DeleteFunc(slices.Clone(current), func(e string) bool { return slices.Contains(old, e) || slices.Contains(want, e) })
	return append(next, want...)
}

// cleanupIngress removes exactly what kubecors wrote on an Ingress: its
// entries in shared annotation lists and the annotations it applied.
// Annotations another manager also set stay, with that manager's value.
func (r *CorsPolicyReconciler) cleanupIngress(ctx context.Context, ing *networkingv1.Ingress) (bool, error) {
	changed := false
	recorded := recordedListEntries(ing)
	for _, list := range registry.SharedLists() {
		if old := recorded[list.RecordKey]; len(old) > 0 {
			before := ing.ResourceVersion
			if err := r.setListEntries(ctx, ing, list, old, nil); err != nil {
				return false, err
			}
			changed = changed || ing.ResourceVersion != before
		}
	}
	if len(ownedAnnotations(ing)) == 0 {
		return changed, nil
	}
	// Applying an empty configuration releases every field FieldManager
	// applied; fields no other manager holds are removed.
	err := r.Apply(ctx, networkingv1ac.Ingress(ing.Name, ing.Namespace), client.FieldOwner(FieldManager))
	return true, client.IgnoreNotFound(err)
}
