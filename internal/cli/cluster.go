package cli

import (
	"context"
	"fmt"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"sigs.k8s.io/controller-runtime/pkg/client"

	kubecorsv1alpha1 "github.com/kubecors/kubecors/api/v1alpha1"
	"github.com/kubecors/kubecors/internal/clusterpolicy"
	"github.com/kubecors/kubecors/internal/dataplanes"
	"github.com/kubecors/kubecors/internal/dataplanes/gatewayapi"
	"github.com/kubecors/kubecors/internal/dataplanes/traefik"
	"github.com/kubecors/kubecors/internal/resolve"
)

// clusterSession is a connection to the cluster of the kubeconfig flags.
type clusterSession struct {
	client client.Client
	// namespace is -n, or the context's namespace.
	namespace string
	// explicitNamespace is true when -n was given.
	explicitNamespace bool
}

// newClusterSession connects with the root command's kubeconfig flags.
func newClusterSession(flags *genericclioptions.ConfigFlags) (*clusterSession, error) {
	cfg, err := flags.ToRESTConfig()
	if err != nil {
		return nil, fmt.Errorf("cannot read the kubeconfig: %w", err)
	}
	namespace, explicit, err := flags.ToRawKubeConfigLoader().Namespace()
	if err != nil {
		return nil, fmt.Errorf("cannot tell the namespace: %w", err)
	}
	scheme := runtime.NewScheme()
	if err := clientgoscheme.AddToScheme(scheme); err != nil {
		return nil, err
	}
	if err := kubecorsv1alpha1.AddToScheme(scheme); err != nil {
		return nil, err
	}
	c, err := client.New(cfg, client.Options{Scheme: scheme})
	if err != nil {
		return nil, fmt.Errorf("cannot connect to the cluster: %w", err)
	}
	return &clusterSession{client: c, namespace: namespace, explicitNamespace: explicit}, nil
}

// Kinds read as unstructured content, so that neither Traefik's nor Gateway
// API's Go module is needed.
var (
	middlewareListGVK = schema.GroupVersionKind{Group: traefik.Group, Version: traefik.Version, Kind: traefik.Kind + "List"}
	httpRouteGVK      = schema.GroupVersionKind{Group: gatewayapi.Group, Version: gatewayapi.Version, Kind: gatewayapi.HTTPRouteKind}
	httpRouteListGVK  = schema.GroupVersionKind{Group: gatewayapi.Group, Version: gatewayapi.Version, Kind: gatewayapi.HTTPRouteKind + "List"}
)

// listUnstructured lists objects of a kind in namespace ("" for all),
// reporting false when the cluster does not serve the kind at all.
func (s *clusterSession) listUnstructured(ctx context.Context, gvk schema.GroupVersionKind, namespace string) ([]unstructured.Unstructured, bool, error) {
	list := &unstructured.UnstructuredList{}
	list.SetGroupVersionKind(gvk)
	err := s.client.List(ctx, list, client.InNamespace(namespace))
	switch {
	case meta.IsNoMatchError(err) || apierrors.IsNotFound(err):
		return nil, false, nil
	case err != nil:
		return nil, false, err
	}
	return list.Items, true, nil
}

// objectsOf lists the objects an Ingress's configuration lives in on a
// data plane (its ObjectsKind) in every namespace, or, when that is
// forbidden, in namespace, where they usually are; served is false when the
// cluster does not serve the kind.
func (s *clusterSession) objectsOf(ctx context.Context, plane dataplanes.DataPlane, namespace string) (objects []unstructured.Unstructured, served bool, err error) {
	if plane.ObjectsKind.Empty() {
		return nil, false, nil
	}
	if objects, served, err = s.listUnstructured(ctx, plane.ObjectsKind, ""); err != nil {
		if objects, served, err = s.listUnstructured(ctx, plane.ObjectsKind, namespace); err != nil {
			return nil, false, fmt.Errorf("cannot list %s: %w", plane.ObjectsKind.Kind, err)
		}
	}
	return objects, served, nil
}

// policies lists the CorsPolicies of a namespace; a cluster without the
// CRD has none.
func (s *clusterSession) policies(ctx context.Context, namespace string) ([]kubecorsv1alpha1.CorsPolicy, error) {
	list := &kubecorsv1alpha1.CorsPolicyList{}
	if err := s.client.List(ctx, list, client.InNamespace(namespace)); err != nil && !meta.IsNoMatchError(err) {
		return nil, fmt.Errorf("cannot list CorsPolicies: %w", err)
	}
	return list.Items, nil
}

// clusterPolicies lists the ClusterCorsPolicies that select a namespace.
// A cluster without them, or a user who may not read them, gets none, and
// policies are weighed without them.
func (s *clusterSession) clusterPolicies(ctx context.Context, namespace string) ([]kubecorsv1alpha1.ClusterCorsPolicy, error) {
	ccps, err := clusterpolicy.Selecting(ctx, s.client, namespace)
	if err != nil && !meta.IsNoMatchError(err) && !apierrors.IsForbidden(err) {
		return nil, fmt.Errorf("cannot list ClusterCorsPolicies: %w", err)
	}
	return ccps, nil
}

// candidates weighs the CorsPolicies of a namespace as the controller does
// (internal/resolve), with the ClusterCorsPolicies that select it.
func (s *clusterSession) candidates(ctx context.Context, namespace string, policies []kubecorsv1alpha1.CorsPolicy) (resolve.Candidates, error) {
	ccps, err := s.clusterPolicies(ctx, namespace)
	if err != nil {
		return resolve.Candidates{}, err
	}
	return resolve.NewCandidates(policies, ccps), nil
}

// getAs reads one object as unstructured content and converts it to out,
// so that the client needs no scheme for Gateway API's kinds.
func (s *clusterSession) getAs(ctx context.Context, gvk schema.GroupVersionKind, key client.ObjectKey, out any) error {
	u := &unstructured.Unstructured{}
	u.SetGroupVersionKind(gvk)
	if err := s.client.Get(ctx, key, u); err != nil {
		return err
	}
	return runtime.DefaultUnstructuredConverter.FromUnstructured(u.Object, out)
}

// listAs lists objects as unstructured content and converts each to T.
func listAs[T any](ctx context.Context, s *clusterSession, gvk schema.GroupVersionKind, namespace string) ([]T, error) {
	items, _, err := s.listUnstructured(ctx, gvk, namespace)
	if err != nil {
		return nil, err
	}
	out := make([]T, len(items))
	for i := range items {
		if err := runtime.DefaultUnstructuredConverter.FromUnstructured(items[i].Object, &out[i]); err != nil {
			return nil, err
		}
	}
	return out, nil
}
