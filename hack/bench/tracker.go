package main

import (
	"context"
	"fmt"
	"sync"
	"time"

	"k8s.io/apimachinery/pkg/labels"
	toolscache "k8s.io/client-go/tools/cache"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// labelTracked (with the value trackedValue) marks every object the
// benchmark watches; the floors' objects do not carry it, so the watches
// never hold them.
const (
	labelTracked = "bench.kubecors.io/tracked"
	trackedValue = "true"
)

// tracker timestamps, from a watch, the first moment each object reaches
// the state the benchmark expects of it. The state of an object is a
// string (state computes it), so expectations compare as strings.
type tracker struct {
	state func(client.Object) string

	mu    sync.Mutex
	want  map[string]string
	since map[string]time.Time
	met   map[string]time.Time
}

func newTracker(state func(client.Object) string) *tracker {
	return &tracker{state: state, want: map[string]string{}, since: map[string]time.Time{}, met: map[string]time.Time{}}
}

func objectKey(ns, name string) string { return ns + "/" + name }

// expect records that the object key should reach state want, counting
// its latency from at. Callers set the expectation before making the
// change, so that the watch event carrying the result cannot be missed.
func (t *tracker) expect(key, want string, at time.Time) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.want[key], t.since[key] = want, at
	delete(t.met, key)
}

// forget drops an expectation (the object was deleted).
func (t *tracker) forget(key string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	delete(t.want, key)
	delete(t.since, key)
	delete(t.met, key)
}

// observe is the watch's handler. An object that leaves the wanted state
// again loses its timestamp, so "met" always means "is in that state now".
func (t *tracker) observe(obj client.Object) {
	now := time.Now()
	key := objectKey(obj.GetNamespace(), obj.GetName())
	state := t.state(obj)
	t.mu.Lock()
	defer t.mu.Unlock()
	want, ok := t.want[key]
	if !ok {
		return
	}
	_, met := t.met[key]
	switch {
	case state == want && !met:
		t.met[key] = now
	case state != want && met:
		delete(t.met, key)
	}
}

// observeDeleted lets an expectation of absence ("" state) be met by the
// object's deletion.
func (t *tracker) observeDeleted(obj client.Object) {
	key := objectKey(obj.GetNamespace(), obj.GetName())
	t.mu.Lock()
	defer t.mu.Unlock()
	if want, ok := t.want[key]; ok && want == "" {
		if _, met := t.met[key]; !met {
			t.met[key] = time.Now()
		}
	}
}

// progress counts the expectations met.
func (t *tracker) progress() (met, all int) {
	t.mu.Lock()
	defer t.mu.Unlock()
	return len(t.met), len(t.want)
}

// lastMet is the latest moment an expectation was met.
func (t *tracker) lastMet() time.Time {
	t.mu.Lock()
	defer t.mu.Unlock()
	var last time.Time
	for _, m := range t.met {
		if m.After(last) {
			last = m
		}
	}
	return last
}

// latencies returns, for every expectation met, the time from its change
// to the watch seeing the result.
func (t *tracker) latencies() []time.Duration {
	t.mu.Lock()
	defer t.mu.Unlock()
	out := make([]time.Duration, 0, len(t.met))
	for k, m := range t.met {
		out = append(out, m.Sub(t.since[k]))
	}
	return out
}

// reset drops every expectation.
func (t *tracker) reset() {
	t.mu.Lock()
	defer t.mu.Unlock()
	clear(t.want)
	clear(t.since)
	clear(t.met)
}

// watchTracked starts a cache over the tracked objects of the given kinds
// and feeds each kind's events to its tracker.
func watchTracked(ctx context.Context, cp *controlPlane, trackers map[client.Object]*tracker) error {
	selector := labels.SelectorFromSet(labels.Set{labelTracked: trackedValue})
	byObject := map[client.Object]cache.ByObject{}
	for obj := range trackers {
		byObject[obj] = cache.ByObject{Label: selector}
	}
	c, err := cache.New(cp.cfg, cache.Options{Scheme: benchScheme, ByObject: byObject})
	if err != nil {
		return err
	}
	for obj, t := range trackers {
		informer, err := c.GetInformer(ctx, obj)
		if err != nil {
			return err
		}
		if _, err := informer.AddEventHandler(toolscache.ResourceEventHandlerFuncs{
			AddFunc:    func(o any) { t.observe(o.(client.Object)) },
			UpdateFunc: func(_, o any) { t.observe(o.(client.Object)) },
			DeleteFunc: func(o any) {
				if tomb, ok := o.(toolscache.DeletedFinalStateUnknown); ok {
					o = tomb.Obj
				}
				if obj, ok := o.(client.Object); ok {
					t.observeDeleted(obj)
				}
			},
		}); err != nil {
			return err
		}
	}
	go func() { _ = c.Start(ctx) }()
	if !c.WaitForCacheSync(ctx) {
		return fmt.Errorf("the benchmark's watches did not sync")
	}
	return nil
}

// waitMet waits until every tracker's expectations are met, or the
// timeout passes; describe feeds the progress line.
func waitMet(ctx context.Context, timeout time.Duration, trackers ...*tracker) error {
	deadline := time.Now().Add(timeout)
	for {
		done := true
		for _, t := range trackers {
			if met, all := t.progress(); met < all {
				done = false
			}
		}
		if done {
			return nil
		}
		if time.Now().After(deadline) {
			parts := make([]string, 0, len(trackers))
			for _, t := range trackers {
				met, all := t.progress()
				parts = append(parts, fmt.Sprintf("%d of %d", met, all))
			}
			return fmt.Errorf("not converged within %s: met %v", timeout, parts)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
}
