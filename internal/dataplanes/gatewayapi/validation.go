package gatewayapi

import gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"

// ValidCORSOrigin reports whether the API server accepts s as an entry of
// a CORS filter's allowOrigins (CORSOrigin's pattern). Tools that copy
// values into a filter without checking them, such as ingress2gateway, can
// be told apart from kubecors's renderer, which never writes one it fails.
func ValidCORSOrigin(s string) bool { return corsOriginPattern.MatchString(s) }

// ValidCORSMethod reports whether the API server accepts m as an entry of a
// CORS filter's allowMethods (the HTTPMethodWithWildcard enum).
func ValidCORSMethod(m string) bool { return gatewayMethods.Has(gatewayv1.HTTPMethodWithWildcard(m)) }
