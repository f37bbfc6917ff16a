package controllers

import (
	networkingv1 "k8s.io/api/networking/v1"

	"github.com/kubecors/kubecors/internal/resolve"
)

// noClass is the index value of Ingresses that name no class.
const noClass = "<none>"

// ingressClassName is the class an Ingress names, or "" when it names none.
func ingressClassName(ing *networkingv1.Ingress) string { return resolve.IngressClassName(ing) }
