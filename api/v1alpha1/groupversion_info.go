// Package v1alpha1 contains the kubecors.io/v1alpha1 API: CorsPolicy, a
// namespaced declaration of the CORS behaviour of Ingresses and HTTPRoutes,
// and ClusterCorsPolicy, the rules a platform team sets for the
// CorsPolicies of many namespaces.
//
// +kubebuilder:object:generate=true
// +groupName=kubecors.io
package v1alpha1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

var (
	// GroupVersion is the group and version of every type in this package.
	GroupVersion = schema.GroupVersion{Group: "kubecors.io", Version: "v1alpha1"}

	// SchemeGroupVersion is GroupVersion under the name client-go's
	// conventions use, and with them the types kubebuilder scaffolds.
	SchemeGroupVersion = GroupVersion

	// SchemeBuilder registers the types of this package with a runtime.Scheme.
	SchemeBuilder = runtime.NewSchemeBuilder(addKnownTypes)

	// AddToScheme adds the types of this package to a runtime.Scheme.
	AddToScheme = SchemeBuilder.AddToScheme
)

// addKnownTypes registers every kind of this package, each with its list
// kind, under GroupVersion, and the meta/v1 options (ListOptions,
// DeleteOptions, ...) that requests for them carry. A new kind is added
// here.
func addKnownTypes(scheme *runtime.Scheme) error {
	scheme.AddKnownTypes(GroupVersion,
		&CorsPolicy{},
		&CorsPolicyList{},
		&ClusterCorsPolicy{},
		&ClusterCorsPolicyList{},
	)
	metav1.AddToGroupVersion(scheme, GroupVersion)
	return nil
}
