package controllers

import (
	"fmt"
	"net"
	"net/url"
	"strconv"
	"strings"

	networkingv1 "k8s.io/api/networking/v1"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"

	"github.com/kubecors/kubecors/internal/plan"
	"github.com/kubecors/kubecors/internal/resolve"
	"github.com/kubecors/kubecors/internal/verify"
)

// AnnotationVerifyAddress names where the verifier sends a target's
// requests: "host:port" (plain HTTP) or "https://host:port". It is read
// from the Ingress or HTTPRoute, then from its IngressClass or Gateway,
// before the --verify-address flag and the load balancer status.
const AnnotationVerifyAddress = "kubecors.io/verify-address"

// verifyHostLabel replaces the "*" of a wildcard host.
const verifyHostLabel = "kubecors-verify"

// addressSource is what finds a target's data plane address: the
// --verify-address flag, keyed by IngressClass or GatewayClass name,
// controller name or data plane name.
type addressSource struct {
	flags map[string]string
}

// ParseVerifyAddresses reads --verify-address values, KEY=ADDRESS each.
func ParseVerifyAddresses(values []string) (map[string]string, error) {
	out := map[string]string{}
	for _, v := range values {
		key, address, ok := strings.Cut(v, "=")
		if !ok || key == "" {
			return nil, fmt.Errorf("--verify-address %q: write KEY=HOST:PORT, KEY being an IngressClass or GatewayClass name, a controller name or a data plane", v)
		}
		if _, _, err := parseVerifyAddress(address); err != nil {
			return nil, fmt.Errorf("--verify-address %q: %w", v, err)
		}
		out[key] = address
	}
	return out, nil
}

// parseVerifyAddress reads "host:port" or "scheme://host:port".
func parseVerifyAddress(s string) (scheme, address string, err error) {
	scheme = "http"
	if before, after, ok := strings.Cut(s, "://"); ok {
		scheme, s = before, after
	}
	if scheme != "http" && scheme != "https" {
		return "", "", fmt.Errorf("%q: the scheme must be http or https", s)
	}
	host, port, err := net.SplitHostPort(s)
	if err != nil || host == "" {
		return "", "", fmt.Errorf("%q is not host:port", s)
	}
	if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
		return "", "", fmt.Errorf("%q: the port must be 1 to 65535", s)
	}
	return scheme, s, nil
}

// ingressTarget is where the checks of an Ingress target go, or a reason
// why no address is known.
func (a addressSource) ingressTarget(key string, ing *networkingv1.Ingress, classes []networkingv1.IngressClass, dataPlane string) (verify.Target, string) {
	t := verify.Target{Key: key, Path: "/"}
	raw := ing.Annotations[AnnotationVerifyAddress]
	class, _ := resolve.IngressClassOf(ing, classes)
	if raw == "" && class != nil {
		raw = class.Annotations[AnnotationVerifyAddress]
	}
	if raw == "" {
		raw = a.lookup(resolve.IngressClassName(ing), classController(class), dataPlane)
	}
	if raw == "" {
		for _, lb := range ing.Status.LoadBalancer.Ingress {
			host := lb.IP
			if host == "" {
				host = lb.Hostname
			}
			if host != "" {
				raw = net.JoinHostPort(host, "80")
				break
			}
		}
	}
	if raw == "" {
		return t, fmt.Sprintf("no address for Ingress %s: set the %s annotation on it or its IngressClass, "+
			"start the operator with --verify-address, or let the ingress controller fill status.loadBalancer", ing.Name, AnnotationVerifyAddress)
	}
	scheme, address, err := parseVerifyAddress(raw)
	if err != nil {
		return t, fmt.Sprintf("%s of Ingress %s: %v", AnnotationVerifyAddress, ing.Name, err)
	}
	t.Scheme, t.Address = scheme, address
	for _, rule := range ing.Spec.Rules {
		if rule.HTTP == nil || len(rule.HTTP.Paths) == 0 {
			continue
		}
		t.Host = concreteHost(rule.Host)
		t.Path = requestPath(rule.HTTP.Paths[0].Path)
		break
	}
	return t, ""
}

// routeTarget is where the checks of an HTTPRoute target go.
func (a addressSource) routeTarget(key string, w *plan.RouteWrite, gateways []gatewayv1.Gateway, classes []gatewayv1.GatewayClass, dataPlane string) (verify.Target, string) {
	route := w.Route
	t := verify.Target{Key: key, Path: "/"}
	raw := route.Annotations[AnnotationVerifyAddress]
	var listenerPort gatewayv1.PortNumber
	var listenerHost string
	for _, parent := range resolve.RouteParents(route, gateways, classes) {
		if parent.Problem != "" {
			continue
		}
		gw := gatewayOf(gateways, parent.Gateway.Namespace, parent.Gateway.Name)
		listenerPort, listenerHost = httpListener(gw)
		if raw == "" {
			raw = gw.Annotations[AnnotationVerifyAddress]
		}
		if raw == "" {
			raw = a.lookup(parent.Class, parent.Controller, dataPlane, parent.Gateway.String())
		}
		if raw == "" && len(gw.Status.Addresses) > 0 && listenerPort != 0 {
			raw = net.JoinHostPort(gw.Status.Addresses[0].Value, strconv.Itoa(int(listenerPort)))
		}
		break
	}
	if raw == "" {
		return t, fmt.Sprintf("no address for HTTPRoute %s: set the %s annotation on it or its Gateway, "+
			"start the operator with --verify-address, or let the Gateway controller fill the Gateway's status.addresses", route.Name, AnnotationVerifyAddress)
	}
	scheme, address, err := parseVerifyAddress(raw)
	if err != nil {
		return t, fmt.Sprintf("%s of HTTPRoute %s: %v", AnnotationVerifyAddress, route.Name, err)
	}
	t.Scheme, t.Address = scheme, address
	t.Host = concreteHost(listenerHost)
	if len(route.Spec.Hostnames) > 0 {
		t.Host = concreteHost(string(route.Spec.Hostnames[0]))
	}
	// The first targeted rule's first path match names the path.
	if len(w.Rules) > 0 {
		rule := route.Spec.Rules[w.Rules[0]]
		if len(rule.Matches) > 0 && rule.Matches[0].Path != nil && rule.Matches[0].Path.Value != nil {
			t.Path = requestPath(*rule.Matches[0].Path.Value)
		}
	}
	return t, ""
}

// lookup returns the first --verify-address value for keys.
func (a addressSource) lookup(keys ...string) string {
	for _, k := range keys {
		if v, ok := a.flags[k]; ok && k != "" {
			return v
		}
	}
	return ""
}

// classController is the controller of an IngressClass, or "".
func classController(class *networkingv1.IngressClass) string {
	if class == nil {
		return ""
	}
	return class.Spec.Controller
}

// gatewayOf finds a Gateway among gateways.
func gatewayOf(gateways []gatewayv1.Gateway, namespace, name string) *gatewayv1.Gateway {
	for i := range gateways {
		if gateways[i].Namespace == namespace && gateways[i].Name == name {
			return &gateways[i]
		}
	}
	return &gatewayv1.Gateway{}
}

// httpListener is the port and hostname of a Gateway's first HTTP
// listener, or of its first listener when none is plain HTTP.
func httpListener(gw *gatewayv1.Gateway) (gatewayv1.PortNumber, string) {
	for _, l := range gw.Spec.Listeners {
		if l.Protocol == gatewayv1.HTTPProtocolType {
			return l.Port, hostnameOf(l.Hostname)
		}
	}
	if len(gw.Spec.Listeners) > 0 {
		return gw.Spec.Listeners[0].Port, hostnameOf(gw.Spec.Listeners[0].Hostname)
	}
	return 0, ""
}

func hostnameOf(h *gatewayv1.Hostname) string {
	if h == nil {
		return ""
	}
	return string(*h)
}

// concreteHost turns a wildcard host ("*.example.com") into one it
// matches.
func concreteHost(host string) string {
	if rest, ok := strings.CutPrefix(host, "*."); ok {
		return verifyHostLabel + "." + rest
	}
	return host
}

// requestPath makes a rule's path one a browser can request: a regular
// expression's literal prefix, always starting with "/".
func requestPath(p string) string {
	if i := strings.IndexAny(p, "([*?+$^\\"); i >= 0 {
		p = p[:i]
	}
	if !strings.HasPrefix(p, "/") {
		p = "/" + p
	}
	if u, err := url.Parse(p); err == nil {
		return u.EscapedPath()
	}
	return "/"
}
