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
	"github.com/kubecors/kubecors/internal/dataplanes/gatewayapi"
	"github.com/kubecors/kubecors/internal/dataplanes/traefik"
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

// middlewareChain resolves an Ingress's router.middlewares entries to
// Middleware objects. Entries of other providers are left out with a note.
func middlewareChain(annotation string, middlewares []unstructured.Unstructured) ([]traefik.Middleware, []string) {
	var chain []traefik.Middleware
	var notes []string
	for _, ref := range traefik.ParseMiddlewareRefs(annotation) {
		if !ref.CRD {
			notes = append(notes, fmt.Sprintf("middleware %q comes from another Traefik provider and cannot be read from the cluster; it is left out", ref.Ref))
			continue
		}
		entry := traefik.Middleware{Ref: ref.Ref}
		for i := range middlewares {
			if ref.Matches(middlewares[i].GetNamespace(), middlewares[i].GetName()) {
				entry.Object = &middlewares[i]
				break
			}
		}
		chain = append(chain, entry)
	}
	return chain, notes
}
