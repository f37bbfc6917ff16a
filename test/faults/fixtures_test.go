package faults

import (
	"fmt"
	"strings"

	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/kubecors/kubecors/internal/dataplanes/haproxyingress"
	"github.com/kubecors/kubecors/internal/dataplanes/ingressnginx"
	"github.com/kubecors/kubecors/internal/dataplanes/traefik"
)

// The targets both suites create: one per data plane that serves
// Ingresses, each with annotations of its own that kubecors must keep.

const (
	// ownerAnnotation is every target's own annotation, which kubecors
	// must keep whatever happens.
	ownerAnnotation = "example.com/owner"
	// groupLabel puts a target in the selector of one policy.
	groupLabel = "example.com/group"
	// userMiddleware is a Traefik target's own middleware reference.
	userMiddleware = "shop-auth@kubernetescrd"
)

// classes are the IngressClasses of the workload, one per data plane that
// serves Ingresses.
var classes = map[string]string{"nginx": ingressnginx.Controller, "haproxy": haproxyingress.Controller, "traefik": traefik.Controller}

func targetName(i int) string { return fmt.Sprintf("t%04d", i) }

func groupName(g int) string { return fmt.Sprintf("g%d", g) }

// className spreads targets over the data planes: one in ten on Traefik
// (so that Middlewares and the shared middleware list are covered), one in
// ten on HAProxy Ingress, the rest on ingress-nginx.
func className(i int) string {
	switch i % 10 {
	case 0:
		return "traefik"
	case 1:
		return "haproxy"
	}
	return "nginx"
}

// userOf is what the test itself put on a target.
func userOf(name string) userState {
	s := userState{annotations: map[string]string{ownerAnnotation: "team-" + name}}
	var i int
	if _, err := fmt.Sscanf(name, "t%d", &i); err == nil && className(i) == "traefik" {
		s.listEntries, s.listKey = []string{userMiddleware}, traefik.MiddlewaresAnnotation
	}
	return s
}

// targetIngress is target i of namespace, in group.
func targetIngress(namespace string, i, group int) *networkingv1.Ingress {
	name := targetName(i)
	u := userOf(name)
	annotations := map[string]string{ownerAnnotation: u.annotations[ownerAnnotation]}
	if len(u.listEntries) > 0 {
		annotations[traefik.MiddlewaresAnnotation] = strings.Join(u.listEntries, ",")
	}
	class := className(i)
	pathType := networkingv1.PathTypePrefix
	return &networkingv1.Ingress{
		ObjectMeta: metav1.ObjectMeta{Namespace: namespace, Name: name, Annotations: annotations, Labels: map[string]string{groupLabel: groupName(group)}},
		Spec: networkingv1.IngressSpec{
			IngressClassName: &class,
			Rules: []networkingv1.IngressRule{{Host: name + ".example.com", IngressRuleValue: networkingv1.IngressRuleValue{HTTP: &networkingv1.HTTPIngressRuleValue{
				Paths: []networkingv1.HTTPIngressPath{{Path: "/", PathType: &pathType, Backend: networkingv1.IngressBackend{
					Service: &networkingv1.IngressServiceBackend{Name: name, Port: networkingv1.ServiceBackendPort{Number: 80}},
				}}},
			}}}},
		},
	}
}

// middlewareGVK is Traefik's Middleware, read as unstructured content.
var middlewareGVK = schema.GroupVersionKind{Group: traefik.Group, Version: traefik.Version, Kind: traefik.Kind}

// userState is what the user put on an Ingress, which kubecors must keep.
type userState struct {
	annotations map[string]string
	// listEntries are the user's own entries of the data plane's shared
	// list listKey (Traefik's router.middlewares), in order.
	listEntries []string
	listKey     string
}
