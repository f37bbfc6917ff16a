package contour

import (
	"fmt"
	"regexp"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/kubecors/kubecors/internal/corsrules"
	"github.com/kubecors/kubecors/internal/dataplanes"
)

// refusedNoOrigin is the refusal of a policy that allows no origin:
// Contour rejects a corsPolicy with an empty allowOrigin (and with it the
// whole HTTPProxy).
const refusedNoOrigin = "the policy allows no origin, and Contour rejects a corsPolicy without allowOrigin (the whole HTTPProxy would become invalid); kubecors writes nothing"

// headerValue is the CRD's pattern of a CORSHeaderValue (methods and
// header names): kubecors's tokens all match it; it is checked anyway, so
// that a rendered value never makes the API server refuse the proxy.
var headerValue = regexp.MustCompile("^[a-zA-Z0-9!#$%&'*+.^_`|~-]+$")

// RenderCorsPolicy renders a policy as a Contour corsPolicy: "*" and exact
// origins as written (Contour matches a value of the form scheme://host[:port]
// exactly, ignoring case), wildcard origins as anchored regexes (Contour
// takes every other value as an RE2 regex, full-matched by Envoy: the
// anchors say so explicitly), allowMethods never empty (Contour requires
// it; a policy without methods gets GET, HEAD, POST, which browsers allow
// anyway), maxAge as a duration, allowCredentials and allowPrivateNetwork
// false explicit. It returns nil when the policy allows no origin.
func RenderCorsPolicy(p dataplanes.Policy) (map[string]any, []dataplanes.Narrowing) {
	spec := p.Spec
	var origins []any
	for _, o := range dataplanes.OriginPatterns(spec) {
		switch {
		case o.Any:
			origins = append(origins, "*")
		case o.SubdomainWildcard || o.Port == corsrules.AnyPort:
			origins = append(origins, dataplanes.OriginRegexp(o.OriginPattern))
		default:
			origins = append(origins, o.String())
		}
	}
	if len(origins) == 0 {
		return nil, nil
	}
	var narrowed []dataplanes.Narrowing
	tokens := func(path *field.Path, values []string) []any {
		out := make([]any, 0, len(values))
		for i, v := range values {
			if !headerValue.MatchString(v) {
				narrowed = append(narrowed, dataplanes.Narrowing{Field: path.Index(i).String(), Value: v,
					Reason: "Contour's CRD does not accept this value; it was left out, so browsers refuse it on this data plane"})
				continue
			}
			out = append(out, v)
		}
		return out
	}
	methods := tokens(dataplanes.AllowMethodsPath, dataplanes.MethodNames(spec))
	if len(methods) == 0 {
		methods = dataplanes.AnyList(dataplanes.SafelistedMethods)
	}
	cors := map[string]any{
		"allowOrigin":         origins,
		"allowMethods":        methods,
		"allowCredentials":    dataplanes.Credentials(spec),
		"allowPrivateNetwork": false,
		"maxAge":              fmt.Sprintf("%ds", dataplanes.MaxAge(spec)),
	}
	if headers := tokens(dataplanes.AllowHeadersPath, dataplanes.AllowHeaderNames(spec)); len(headers) > 0 {
		cors["allowHeaders"] = headers
	}
	if headers := tokens(dataplanes.ExposeHeadersPath, dataplanes.ExposeHeaderNames(spec)); len(headers) > 0 {
		cors["exposeHeaders"] = headers
	}
	return cors, narrowed
}

// Render renders a policy for one HTTPProxy. Contour reads a corsPolicy on
// the virtual host of a root proxy only, for every route of the host: an
// HTTPProxy without spec.virtualhost (one that another includes) is
// refused.
func Render(p dataplanes.Policy, obj *unstructured.Unstructured) dataplanes.TargetChange {
	if _, root, _ := unstructured.NestedMap(obj.Object, "spec", "virtualhost"); !root {
		return dataplanes.TargetChange{Refused: fmt.Sprintf("HTTPProxy %q is not a root proxy (it has no spec.virtualhost): Contour reads a corsPolicy "+
			"only on the virtual host of a root HTTPProxy, for all of its routes and includes; target the root HTTPProxy that includes this one", obj.GetName())}
	}
	cors, narrowed := RenderCorsPolicy(p)
	if cors == nil {
		return dataplanes.TargetChange{Refused: refusedNoOrigin}
	}
	return dataplanes.TargetChange{CORS: cors, Narrowed: narrowed}
}
