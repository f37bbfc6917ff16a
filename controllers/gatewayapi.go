package controllers

import (
	"context"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/util/workqueue"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	logf "sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/manager"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"
	"sigs.k8s.io/controller-runtime/pkg/source"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"

	kubecorsv1alpha1 "github.com/kubecors/kubecors/api/v1alpha1"
)

// Field indexes on Gateway API objects.
const (
	// IndexRouteParent indexes HTTPRoutes by their parent Gateways, as
	// "namespace/name".
	IndexRouteParent = "kubecors.io/route-parent"
	// IndexGatewayClass indexes Gateways by their GatewayClass.
	IndexGatewayClass = "kubecors.io/gateway-class"
)

// gatewayCRDs are the CustomResourceDefinitions whose presence switches the
// HTTPRoute side of the controller on.
var gatewayCRDs = []string{
	"httproutes.gateway.networking.k8s.io",
	"gateways.gateway.networking.k8s.io",
	"gatewayclasses.gateway.networking.k8s.io",
}

// gatewayAPI remembers whether the Gateway API side is running. Clusters
// without the Gateway API CRDs are common, so the controller starts
// without it and switches it on when the CRDs are installed.
type gatewayAPI struct {
	enabled atomic.Bool
	once    sync.Once
	mgr     ctrl.Manager
	ctrl    controller.Controller
	// kick wakes the watcher when a Gateway API CRD changes.
	kick chan struct{}
	// policies carries the policies to reconcile once the side is on.
	policies chan event.GenericEvent
}

// +kubebuilder:rbac:groups=apiextensions.k8s.io,resources=customresourcedefinitions,verbs=list;watch
// +kubebuilder:rbac:groups=gateway.networking.k8s.io,resources=httproutes,verbs=get;list;watch;patch
// +kubebuilder:rbac:groups=gateway.networking.k8s.io,resources=gateways;gatewayclasses,verbs=list;watch

func (r *CorsPolicyReconciler) gatewayAPIEnabled() bool { return r.gateway.enabled.Load() }

// setupGatewayAPI switches the Gateway API side on now when its CRDs are
// served, and otherwise watches CRDs to switch it on when they are.
func (r *CorsPolicyReconciler) setupGatewayAPI(ctx context.Context, mgr ctrl.Manager, c controller.Controller) error {
	r.gateway.mgr, r.gateway.ctrl = mgr, c
	served, err := gatewayCRDsServed(mgr)
	if err != nil {
		return err
	}
	if served {
		return r.enableGatewayAPI(ctx)
	}
	logf.FromContext(ctx).Info("Gateway API CRDs are not installed; HTTPRoute targets are reported but not programmed until they are")
	r.gateway.kick = make(chan struct{}, 1)
	r.gateway.policies = make(chan event.GenericEvent)
	if err := c.Watch(source.Channel(r.gateway.policies, &handler.EnqueueRequestForObject{})); err != nil {
		return err
	}
	crd := &metav1.PartialObjectMetadata{}
	crd.SetGroupVersionKind(apiextensionsv1.SchemeGroupVersion.WithKind("CustomResourceDefinition"))
	if err := c.Watch(source.Kind(mgr.GetCache(), crd, handler.TypedFuncs[*metav1.PartialObjectMetadata, reconcile.Request]{
		CreateFunc: func(_ context.Context, e event.TypedCreateEvent[*metav1.PartialObjectMetadata], _ workqueue.TypedRateLimitingInterface[reconcile.Request]) {
			r.kickGatewayWatcher(e.Object.Name)
		},
		UpdateFunc: func(_ context.Context, e event.TypedUpdateEvent[*metav1.PartialObjectMetadata], _ workqueue.TypedRateLimitingInterface[reconcile.Request]) {
			r.kickGatewayWatcher(e.ObjectNew.Name)
		},
	})); err != nil {
		return err
	}
	return mgr.Add(manager.RunnableFunc(r.watchForGatewayAPI))
}

// kickGatewayWatcher wakes the watcher when a Gateway API CRD changes.
func (r *CorsPolicyReconciler) kickGatewayWatcher(crdName string) {
	if !slices.Contains(gatewayCRDs, crdName) || r.gatewayAPIEnabled() {
		return
	}
	select {
	case r.gateway.kick <- struct{}{}:
	default:
	}
}

// watchForGatewayAPI switches the Gateway API side on once its CRDs are
// served. A new CRD is established before discovery serves it, so each
// kick is followed by polling discovery for a while.
func (r *CorsPolicyReconciler) watchForGatewayAPI(ctx context.Context) error {
	log := logf.FromContext(ctx)
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-r.gateway.kick:
		}
		for range 60 {
			served, err := gatewayCRDsServed(r.gateway.mgr)
			if err != nil {
				log.Error(err, "Asking discovery for the Gateway API failed")
			}
			if served {
				if err := r.enableGatewayAPI(ctx); err != nil {
					return err
				}
				log.Info("Gateway API CRDs installed; programming HTTPRoute targets")
				return r.requeueAllPolicies(ctx)
			}
			select {
			case <-ctx.Done():
				return nil
			case <-time.After(time.Second):
			}
		}
	}
}

// requeueAllPolicies reconciles every policy: any may target HTTPRoutes.
func (r *CorsPolicyReconciler) requeueAllPolicies(ctx context.Context) error {
	policies := &kubecorsv1alpha1.CorsPolicyList{}
	if err := r.List(ctx, policies); err != nil {
		return err
	}
	for i := range policies.Items {
		select {
		case r.gateway.policies <- event.GenericEvent{Object: &policies.Items[i]}:
		case <-ctx.Done():
			return nil
		}
	}
	return nil
}

// gatewayCRDsServed asks discovery whether every Gateway API kind the
// controller uses is served.
func gatewayCRDsServed(mgr ctrl.Manager) (bool, error) {
	dc, err := discovery.NewDiscoveryClientForConfig(mgr.GetConfig())
	if err != nil {
		return false, err
	}
	list, err := dc.ServerResourcesForGroupVersion(gatewayv1.GroupVersion.String())
	switch {
	case apierrors.IsNotFound(err):
		return false, nil
	case err != nil:
		return false, err
	}
	served := map[string]bool{}
	for _, res := range list.APIResources {
		served[res.Name] = true
	}
	return served["httproutes"] && served["gateways"] && served["gatewayclasses"], nil
}

// enableGatewayAPI registers the Gateway API indexes and watches, once.
func (r *CorsPolicyReconciler) enableGatewayAPI(ctx context.Context) error {
	var err error
	r.gateway.once.Do(func() {
		indexer := r.gateway.mgr.GetFieldIndexer()
		for _, ix := range []struct {
			obj     client.Object
			name    string
			extract client.IndexerFunc
		}{
			{&gatewayv1.HTTPRoute{}, IndexPolicyMarker, policyMarkerIndex},
			{&gatewayv1.HTTPRoute{}, IndexRouteParent, routeParentIndex},
			{&gatewayv1.Gateway{}, IndexGatewayClass, gatewayClassIndex},
		} {
			if err = indexer.IndexField(ctx, ix.obj, ix.name, ix.extract); err != nil {
				return
			}
		}
		cache := r.gateway.mgr.GetCache()
		for _, src := range []source.Source{
			source.Kind(cache, client.Object(&gatewayv1.HTTPRoute{}), handler.EnqueueRequestsFromMapFunc(r.routeToCorsPolicies),
				metadataOrGenerationChanged()),
			source.Kind(cache, client.Object(&gatewayv1.Gateway{}), handler.EnqueueRequestsFromMapFunc(r.gatewayToCorsPolicies)),
			source.Kind(cache, client.Object(&gatewayv1.GatewayClass{}), handler.EnqueueRequestsFromMapFunc(r.gatewayClassToCorsPolicies)),
		} {
			if err = r.gateway.ctrl.Watch(src); err != nil {
				return
			}
		}
		r.gateway.enabled.Store(true)
	})
	return err
}

func routeParentIndex(obj client.Object) []string {
	route := obj.(*gatewayv1.HTTPRoute)
	keys := make([]string, 0, len(route.Spec.ParentRefs))
	for _, ref := range route.Spec.ParentRefs {
		ns := route.Namespace
		if ref.Namespace != nil {
			ns = string(*ref.Namespace)
		}
		keys = append(keys, types.NamespacedName{Namespace: ns, Name: string(ref.Name)}.String())
	}
	return keys
}

func gatewayClassIndex(obj client.Object) []string {
	return []string{string(obj.(*gatewayv1.Gateway).Spec.GatewayClassName)}
}

// routeToCorsPolicies finds the policies that target an HTTPRoute and the
// policy whose filters it carries.
func (r *CorsPolicyReconciler) routeToCorsPolicies(ctx context.Context, obj client.Object) []reconcile.Request {
	return r.targetToCorsPolicies(ctx, kubecorsv1alpha1.KindHTTPRoute, obj)
}

// gatewayToCorsPolicies finds the policies of the routes attached to a
// Gateway, whose mechanism depends on the Gateway's class.
func (r *CorsPolicyReconciler) gatewayToCorsPolicies(ctx context.Context, obj client.Object) []reconcile.Request {
	routes := &gatewayv1.HTTPRouteList{}
	if err := r.List(ctx, routes, client.MatchingFields{IndexRouteParent: client.ObjectKeyFromObject(obj).String()}); err != nil {
		logf.FromContext(ctx).Error(err, "Listing routes of a Gateway failed", "gateway", client.ObjectKeyFromObject(obj))
		return nil
	}
	requests := r.gatewayPolicies(ctx, obj.GetNamespace(), obj.GetName())
	for i := range routes.Items {
		requests = append(requests, r.routeToCorsPolicies(ctx, &routes.Items[i])...)
	}
	return requests
}

// gatewayPolicies finds the policies that name the Gateway namespace/name
// in their targetRefs (a label selector never selects a Gateway).
func (r *CorsPolicyReconciler) gatewayPolicies(ctx context.Context, namespace, name string) []reconcile.Request {
	policies := &kubecorsv1alpha1.CorsPolicyList{}
	if err := r.List(ctx, policies, client.InNamespace(namespace),
		client.MatchingFields{IndexTargetName: targetIndexKey(kubecorsv1alpha1.KindGateway, name)}); err != nil {
		logf.FromContext(ctx).Error(err, "Listing policies of a Gateway failed", "gateway", types.NamespacedName{Namespace: namespace, Name: name})
		return nil
	}
	return requestsFor(policies.Items)
}

// parentGatewayPolicies finds the policies on the parent Gateways of a
// route in its own namespace: a route attaching, detaching or gaining its
// own policy changes what they reach.
func (r *CorsPolicyReconciler) parentGatewayPolicies(ctx context.Context, route *gatewayv1.HTTPRoute) []reconcile.Request {
	var requests []reconcile.Request
	for _, ref := range route.Spec.ParentRefs {
		if ref.Namespace != nil && string(*ref.Namespace) != route.Namespace {
			continue
		}
		requests = append(requests, r.gatewayPolicies(ctx, route.Namespace, string(ref.Name))...)
	}
	return requests
}

// gatewayClassToCorsPolicies finds the policies of the routes attached to
// the Gateways of a class.
func (r *CorsPolicyReconciler) gatewayClassToCorsPolicies(ctx context.Context, obj client.Object) []reconcile.Request {
	gateways := &gatewayv1.GatewayList{}
	if err := r.List(ctx, gateways, client.MatchingFields{IndexGatewayClass: obj.GetName()}); err != nil {
		logf.FromContext(ctx).Error(err, "Listing Gateways of a class failed", "gatewayClass", obj.GetName())
		return nil
	}
	var requests []reconcile.Request
	for i := range gateways.Items {
		requests = append(requests, r.gatewayToCorsPolicies(ctx, &gateways.Items[i])...)
	}
	return requests
}
