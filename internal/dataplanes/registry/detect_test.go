package registry

import (
	"testing"

	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/kubecors/kubecors/internal/dataplanes/haproxyingress"
	"github.com/kubecors/kubecors/internal/dataplanes/ingressnginx"
	"github.com/kubecors/kubecors/internal/dataplanes/traefik"
)

func TestDetectIngress(t *testing.T) {
	classes := []networkingv1.IngressClass{
		{ObjectMeta: metav1.ObjectMeta{Name: "nginx", Annotations: map[string]string{DefaultIngressClassAnnotation: "true"}},
			Spec: networkingv1.IngressClassSpec{Controller: "k8s.io/ingress-nginx"}},
		{ObjectMeta: metav1.ObjectMeta{Name: "traefik"}, Spec: networkingv1.IngressClassSpec{Controller: "traefik.io/ingress-controller"}},
		{ObjectMeta: metav1.ObjectMeta{Name: "kong"}, Spec: networkingv1.IngressClassSpec{Controller: "ingress-controllers.konghq.com/kong"}},
	}
	class := func(name string) *string { return &name }
	tests := []struct {
		name string
		ing  networkingv1.Ingress
		want string
	}{
		{"named class", networkingv1.Ingress{Spec: networkingv1.IngressSpec{IngressClassName: class("traefik")}}, traefik.Name},
		{"legacy annotation", networkingv1.Ingress{ObjectMeta: metav1.ObjectMeta{Annotations: map[string]string{LegacyIngressClassAnnotation: "traefik"}}}, traefik.Name},
		{"default class", networkingv1.Ingress{}, ingressnginx.Name},
		{"unknown controller, guessed from annotations", networkingv1.Ingress{ObjectMeta: metav1.ObjectMeta{Annotations: map[string]string{haproxyingress.CorsEnable: "true"}},
			Spec: networkingv1.IngressSpec{IngressClassName: class("kong")}}, haproxyingress.Name},
		{"missing class, nothing to guess from", networkingv1.Ingress{Spec: networkingv1.IngressSpec{IngressClassName: class("gone")}}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := DetectIngress(&tt.ing, classes); got.DataPlane != tt.want {
				t.Errorf("data plane %q (%s), want %q", got.DataPlane, got.How, tt.want)
			}
		})
	}
	if got := ForeignCORSAnnotations(map[string]string{ingressnginx.EnableCors: "true", haproxyingress.CorsEnable: "true"}, traefik.Name); len(got) != 2 {
		t.Errorf("foreign annotations %q", got)
	}
}
