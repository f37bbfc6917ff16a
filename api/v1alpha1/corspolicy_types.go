package v1alpha1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Origin is an origin pattern a browser's Origin request header is compared
// against: "scheme://host[:port]" with scheme http or https, a lowercase
// ASCII host (Punycode "xn--" for international names) and no path, query,
// fragment or user information. A single leading "*." label matches one or
// more labels in front of the rest ("https://*.example.com" matches
// "https://a.b.example.com" but not "https://example.com"); a port of ":*"
// matches any port. "*" alone means any origin. "null" is never accepted.
//
// The rules that a regular expression cannot check (public-suffix wildcards,
// canonical IP addresses, port range) are enforced by the kubecors
// validating webhook.
//
// +kubebuilder:validation:MinLength=1
// +kubebuilder:validation:MaxLength=270
// +kubebuilder:validation:XValidation:rule="self != 'null'",message="\"null\" is never a safe origin: any page can send it from a sandboxed iframe or a local file; list the real origins instead"
// +kubebuilder:validation:XValidation:rule="self.matches('[[:space:]]') || self in ['*', 'null'] || self.lowerAscii().startsWith('http://') || self.lowerAscii().startsWith('https://')",messageExpression="'\"' + self + '\" must start with http:// or https://: an origin is scheme://host[:port], for example \"https://app.example.com\"'"
// +kubebuilder:validation:XValidation:rule="self.matches('[[:space:]]') || self == self.lowerAscii()",messageExpression="'\"' + self + '\" must be lowercase, because browsers send origins in lowercase; write \"' + self.lowerAscii() + '\"'"
// +kubebuilder:validation:XValidation:rule="!self.matches('[[:space:]]')",message="an origin must not contain whitespace, such as the trailing newline a YAML block scalar adds"
// +kubebuilder:validation:XValidation:rule="self.matches('[[:space:]]') || !self.matches('^[a-zA-Z]+://[^/?#]*[/?#]')",messageExpression="'\"' + self + '\" must not have a path, query or fragment (not even a trailing \"/\"); write \"' + self.find('^[a-zA-Z]+://[^/?#]*') + '\"'"
// +kubebuilder:validation:XValidation:rule="self.matches('[[:space:]]') || !self.matches('^[a-zA-Z]+://[^/?#]*@')",messageExpression="'\"' + self + '\" must not contain user information (\"user@\"); write scheme://host[:port]'"
// +kubebuilder:validation:XValidation:rule="!self.matches('^[a-zA-Z]+://[[][^]]*%')",messageExpression="'\"' + self + '\" must not have an IPv6 zone: browsers never send one'"
// +kubebuilder:validation:XValidation:rule="self.matches('[[:space:]]') || !self.contains('*') || self == '*' || self.matches('^[a-z]+://[*][.][^*]+$') || self.matches('^[a-z]+://[^*]+:[*]$')",messageExpression="'\"' + self + '\" uses \"*\" where it is not allowed: write \"*\" alone for any origin, one leading \"*.\" label for subdomains (\"https://*.example.com\") or \":*\" for any port (\"http://localhost:*\"), never both'"
// +kubebuilder:validation:XValidation:rule="self.matches('[[:space:]]') || !self.matches('^https://.*:443$') && !self.matches('^http://.*:80$')",messageExpression="'\"' + self + '\" names the default port of its scheme, which browsers never send; write \"' + self.substring(0, self.lastIndexOf(':')) + '\"'"
// +kubebuilder:validation:XValidation:rule="self.matches('[[:space:]]') || !self.matches('^https?://.*:[0-9]+$') || self.matches('^https?://.*:[1-9][0-9]{0,4}$') && int(self.substring(self.lastIndexOf(':') + 1)) <= 65535",messageExpression="'\"' + self + '\" has an invalid port: write a number from 1 to 65535 without leading zeros, or \":*\" for any port'"
// +kubebuilder:validation:XValidation:rule="self in ['*', 'null'] || !self.matches('^https?://[^/?#@[:space:]A-Z%]*$') || self.matches('^https?://(([a-z0-9*]|[a-z0-9*][a-z0-9*-]{0,61}[a-z0-9*])([.]([a-z0-9*]|[a-z0-9*][a-z0-9*-]{0,61}[a-z0-9*]))*|[[][0-9a-f:.]+[]])(:([0-9]+|[*]))?$')",messageExpression="'\"' + self + '\" is not a valid origin: write scheme://host[:port] with a lowercase ASCII host of dot-separated labels (letters, digits, inner hyphens, at most 63 characters each; Punycode \"xn--\" for international names), for example \"https://app.example.com\"'"
type Origin string

// HTTPMethod is an HTTP method name (an RFC 9110 token), or "*" for any
// method. Method names are case-sensitive: "PATCH" and "patch" are different
// methods. CONNECT, TRACE and TRACK are forbidden.
//
// +kubebuilder:validation:MinLength=1
// +kubebuilder:validation:MaxLength=32
// +kubebuilder:validation:XValidation:rule="self.matches('^[-!#$%&\\x27*+.^_`|~0-9A-Za-z]+$')",messageExpression="'\"' + self + '\" is not an HTTP method name: use letters, digits or one of !#$%&*+-.^_|~, for example \"PUT\"'"
// +kubebuilder:validation:XValidation:rule="!(self.upperAscii() in ['CONNECT', 'TRACE', 'TRACK'])",messageExpression="'\"' + self + '\" is a forbidden method: browsers never send CONNECT, TRACE or TRACK cross-origin; remove it'"
type HTTPMethod string

// RequestHeaderName is the name of a request header a page may send, or "*"
// for any header except Authorization. Names are compared
// case-insensitively. Headers that browsers forbid pages to set (Cookie,
// Host, Origin, Sec-*, Proxy-* and the rest of the Fetch standard's list)
// and response-only names (Access-Control-Allow-*) are rejected.
//
// +kubebuilder:validation:MinLength=1
// +kubebuilder:validation:MaxLength=256
// +kubebuilder:validation:XValidation:rule="self.matches('^[-!#$%&\\x27*+.^_`|~0-9A-Za-z]+$')",messageExpression="'\"' + self + '\" is not a header name: use letters, digits or one of !#$%&*+-.^_|~, for example \"X-Request-Id\"'"
// +kubebuilder:validation:XValidation:rule="!(self.lowerAscii() in ['accept-charset', 'accept-encoding', 'connection', 'content-length', 'cookie', 'cookie2', 'date', 'dnt', 'expect', 'host', 'keep-alive', 'origin', 'referer', 'set-cookie', 'te', 'trailer', 'transfer-encoding', 'upgrade', 'via']) && !self.lowerAscii().startsWith('sec-') && !self.lowerAscii().startsWith('proxy-') && !self.lowerAscii().startsWith('access-control-request-')",messageExpression="'\"' + self + '\" is a forbidden request header: browsers set it themselves and never let a page send it, so allowing it has no effect; remove it'"
// +kubebuilder:validation:XValidation:rule="!self.lowerAscii().startsWith('access-control-allow-') && !(self.lowerAscii() in ['access-control-max-age', 'access-control-expose-headers'])",messageExpression="'\"' + self + '\" is a response header that the server sends, never a request header a page sends; remove it (kubecors renders it from allowOrigins, allowMethods, allowHeaders, exposeHeaders, allowCredentials and maxAge)'"
type RequestHeaderName string

// ResponseHeaderName is the name of a response header a page's script may
// read, or "*" for every header. Names are compared case-insensitively.
// Set-Cookie and Set-Cookie2 can never be exposed.
//
// +kubebuilder:validation:MinLength=1
// +kubebuilder:validation:MaxLength=256
// +kubebuilder:validation:XValidation:rule="self.matches('^[-!#$%&\\x27*+.^_`|~0-9A-Za-z]+$')",messageExpression="'\"' + self + '\" is not a header name: use letters, digits or one of !#$%&*+-.^_|~, for example \"X-Request-Id\"'"
// +kubebuilder:validation:XValidation:rule="!(self.lowerAscii() in ['set-cookie', 'set-cookie2'])",messageExpression="'\"' + self + '\" can never be exposed: browsers hide it from every script whatever the server says; remove it'"
type ResponseHeaderName string

// PolicyTargetReference names an Ingress, HTTPRoute, Gateway, Istio
// VirtualService or Contour HTTPProxy in the policy's own namespace, in the
// style of Gateway API policy attachment
// (LocalPolicyTargetReferenceWithSectionName). A Gateway target reaches
// every HTTPRoute of the namespace attached to it (or to the listener
// sectionName names); a policy that targets a route itself takes
// precedence over one on its Gateway.
//
// +kubebuilder:validation:XValidation:rule="(self.group == 'networking.k8s.io' && self.kind == 'Ingress') || (self.group == 'gateway.networking.k8s.io' && (self.kind == 'HTTPRoute' || self.kind == 'Gateway')) || (self.group == 'networking.istio.io' && self.kind == 'VirtualService') || (self.group == 'projectcontour.io' && self.kind == 'HTTPProxy')",messageExpression="'kind \"' + self.kind + '\" is not in group \"' + self.group + '\": write group \"networking.k8s.io\" with kind \"Ingress\", group \"gateway.networking.k8s.io\" with kind \"HTTPRoute\" or \"Gateway\", group \"networking.istio.io\" with kind \"VirtualService\", or group \"projectcontour.io\" with kind \"HTTPProxy\"'"
// +kubebuilder:validation:XValidation:rule="!has(self.sectionName) || self.kind == 'HTTPRoute' || self.kind == 'Gateway'",message="sectionName selects a named rule of an HTTPRoute or a listener of a Gateway; an Ingress has no sections: remove sectionName"
type PolicyTargetReference struct {
	// Group is the API group of the target: "networking.k8s.io" for an
	// Ingress, "gateway.networking.k8s.io" for an HTTPRoute or a Gateway,
	// "networking.istio.io" for an Istio VirtualService, "projectcontour.io"
	// for a Contour HTTPProxy.
	//
	// +kubebuilder:validation:Enum=networking.k8s.io;gateway.networking.k8s.io;networking.istio.io;projectcontour.io
	Group string `json:"group"`

	// Kind is the kind of the target: "Ingress", "HTTPRoute", "Gateway",
	// "VirtualService" (every http route gets the corsPolicy) or "HTTPProxy"
	// (a root proxy's virtualhost corsPolicy).
	//
	// +kubebuilder:validation:Enum=Ingress;HTTPRoute;Gateway;VirtualService;HTTPProxy
	Kind string `json:"kind"`

	// Name is the name of the target, in the policy's namespace. The target
	// need not exist yet: it is programmed as soon as it is created.
	//
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	Name string `json:"name"`

	// SectionName narrows an HTTPRoute target to the rule with this
	// `name`, and a Gateway target to the listener with this `name`. When
	// unset, every rule of the route, or every listener of the Gateway, is
	// targeted. Not allowed for an Ingress.
	//
	// +optional
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	// +kubebuilder:validation:XValidation:rule="self.matches('^[a-z0-9]([-a-z0-9]*[a-z0-9])?([.][a-z0-9]([-a-z0-9]*[a-z0-9])?)*$')",messageExpression="'\"' + self + '\" is not a rule name: an HTTPRoute rule name is lowercase letters, digits, \"-\" and \".\", for example \"api-v1\"'"
	SectionName *string `json:"sectionName,omitempty"`
}

// DataPlaneMapping maps the controller name of an IngressClass to one of
// kubecors's renderers.
type DataPlaneMapping struct {
	// ControllerName is the IngressClass's spec.controller, for example
	// "example.com/ingress-nginx".
	//
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	ControllerName string `json:"controllerName"`

	// DataPlane is the renderer to use for that controller.
	//
	// +kubebuilder:validation:Enum=ingress-nginx;traefik;haproxy-ingress;kong
	DataPlane string `json:"dataPlane"`
}

// CorsPolicySpec declares the CORS behaviour of its targets. Field names and
// meanings follow Gateway API's HTTPCORSFilter; kubecors is stricter where
// Gateway API is permissive (no "*" with credentials, no "null", no
// public-suffix wildcards, no plain-http origins with credentials).
//
// +kubebuilder:validation:XValidation:rule="(has(self.targetRefs) && size(self.targetRefs) > 0) || has(self.targetSelector)",message="set targetRefs, targetSelector or both: a policy that targets nothing has no effect"
// +kubebuilder:validation:XValidation:rule="!has(self.allowOrigins) || !('*' in self.allowOrigins) || size(self.allowOrigins) == 1",fieldPath=".allowOrigins",message="\"*\" (any origin) must be the only entry: remove the other origins, or replace \"*\" with the origins you trust"
// +kubebuilder:validation:XValidation:rule="!has(self.allowMethods) || !('*' in self.allowMethods) || size(self.allowMethods) == 1",fieldPath=".allowMethods",message="\"*\" (any method) must be the only entry: remove the other methods, or replace \"*\" with the methods you need"
// +kubebuilder:validation:XValidation:rule="!has(self.allowHeaders) || !('*' in self.allowHeaders) || self.allowHeaders.all(h, h == '*' || h.lowerAscii() == 'authorization')",fieldPath=".allowHeaders",message="\"*\" (any header) may only be combined with \"Authorization\", which \"*\" never covers: remove the other headers"
// +kubebuilder:validation:XValidation:rule="!has(self.exposeHeaders) || !('*' in self.exposeHeaders) || size(self.exposeHeaders) == 1",fieldPath=".exposeHeaders",message="\"*\" (every response header) must be the only entry: remove the other headers, or replace \"*\" with the headers pages need"
// +kubebuilder:validation:XValidation:rule="!(has(self.allowCredentials) && self.allowCredentials) || !has(self.allowOrigins) || !('*' in self.allowOrigins)",fieldPath=".allowOrigins",message="\"*\" cannot be used with allowCredentials: true: a credentialed response to any origin lets every website read your users' data; list the trusted origins instead, for example \"https://app.example.com\""
// +kubebuilder:validation:XValidation:rule="!(has(self.allowCredentials) && self.allowCredentials) || !has(self.allowMethods) || !('*' in self.allowMethods)",fieldPath=".allowMethods",message="\"*\" cannot be used with allowCredentials: true: browsers then read it as a method literally named \"*\"; list the methods instead, for example [\"GET\", \"PUT\", \"DELETE\"]"
// +kubebuilder:validation:XValidation:rule="!(has(self.allowCredentials) && self.allowCredentials) || !has(self.allowHeaders) || !('*' in self.allowHeaders)",fieldPath=".allowHeaders",message="\"*\" cannot be used with allowCredentials: true: browsers then read it as a header literally named \"*\"; list the headers instead, for example [\"Content-Type\", \"Authorization\"]"
// +kubebuilder:validation:XValidation:rule="!(has(self.allowCredentials) && self.allowCredentials) || !has(self.exposeHeaders) || !('*' in self.exposeHeaders)",fieldPath=".exposeHeaders",message="\"*\" cannot be used with allowCredentials: true: browsers then read it as a header literally named \"*\"; list the headers pages need instead, for example [\"X-Request-Id\"]"
// +kubebuilder:validation:XValidation:rule="!(has(self.allowCredentials) && self.allowCredentials) || (has(self.dangerouslyAllowInsecureOrigins) && self.dangerouslyAllowInsecureOrigins) || !has(self.allowOrigins) || self.allowOrigins.all(o, !o.startsWith('http://') || o.matches('^http://(localhost|127[.]0[.]0[.]1|[[]::1[]])(:([0-9]+|[*]))?$'))",fieldPath=".allowOrigins",message="plain-http origins other than localhost, 127.0.0.1 and [::1] cannot be used with allowCredentials: true, because anyone on the network path can read the credentialed responses; write them with https://, or set dangerouslyAllowInsecureOrigins: true to accept that risk"
type CorsPolicySpec struct {
	// TargetRefs names the Ingresses and HTTPRoutes of this namespace that
	// this policy applies to. At least one of targetRefs and targetSelector
	// must be set; a target matched by both is targeted once. Each
	// reference may appear once. At most 16 entries.
	//
	// +optional
	// +listType=atomic
	// +kubebuilder:validation:MaxItems=16
	// +kubebuilder:validation:XValidation:rule="self.all(r, self.exists_one(o, o.group == r.group && o.kind == r.kind && o.name == r.name && (has(o.sectionName) ? o.sectionName : '') == (has(r.sectionName) ? r.sectionName : '')))",message="each target may be listed once: remove the duplicate reference"
	TargetRefs []PolicyTargetReference `json:"targetRefs,omitempty"`

	// TargetSelector selects, by label, Ingresses and HTTPRoutes of this
	// namespace that this policy applies to, in addition to targetRefs. An
	// empty selector ({}) selects every Ingress and HTTPRoute of the
	// namespace.
	//
	// +optional
	TargetSelector *metav1.LabelSelector `json:"targetSelector,omitempty"`

	// AllowOrigins lists the origins whose pages may read responses. A
	// request whose Origin matches an entry gets that origin echoed in
	// Access-Control-Allow-Origin; other origins get no CORS headers, and
	// the browser blocks the response. "*" alone allows any origin and
	// cannot be combined with allowCredentials. With allowCredentials,
	// plain-http origins are rejected unless the host is loopback
	// (localhost, 127.0.0.1, [::1]) or dangerouslyAllowInsecureOrigins is
	// set. Wildcards over a public suffix ("https://*.com",
	// "https://*.github.io") are rejected unless
	// dangerouslyAllowPublicSuffixWildcards is set. When empty, no origin is
	// allowed. At most 64 entries, no duplicates.
	//
	// +optional
	// +listType=set
	// +kubebuilder:validation:MaxItems=64
	AllowOrigins []Origin `json:"allowOrigins,omitempty"`

	// AllowMethods lists the methods that cross-origin requests may use,
	// returned in Access-Control-Allow-Methods. GET, HEAD and POST are
	// CORS-safelisted and always allowed, listed or not. "*" alone allows
	// any method and cannot be combined with allowCredentials. Names are
	// case-sensitive; a lowercase spelling of a standard method is accepted
	// with a warning. At most 32 entries, no duplicates.
	//
	// +optional
	// +listType=set
	// +kubebuilder:validation:MaxItems=32
	AllowMethods []HTTPMethod `json:"allowMethods,omitempty"`

	// AllowHeaders lists the request headers that cross-origin requests may
	// carry, returned in Access-Control-Allow-Headers. CORS-safelisted
	// headers (Accept, Accept-Language, Content-Language, and Content-Type
	// with a form or text/plain value) need not be listed. "*" allows any
	// header except Authorization, may be combined only with
	// "Authorization", and cannot be combined with allowCredentials. Names
	// are case-insensitive and must be unique ignoring case. At most 64
	// entries.
	//
	// +optional
	// +listType=set
	// +kubebuilder:validation:MaxItems=64
	AllowHeaders []RequestHeaderName `json:"allowHeaders,omitempty"`

	// ExposeHeaders lists the response headers that a page's script may
	// read, returned in Access-Control-Expose-Headers. The CORS-safelisted
	// response headers (Cache-Control, Content-Language, Content-Length,
	// Content-Type, Expires, Last-Modified, Pragma) are always readable;
	// listing them draws a warning. "*" alone exposes every header and
	// cannot be combined with allowCredentials. Names are case-insensitive
	// and must be unique ignoring case. At most 64 entries.
	//
	// +optional
	// +listType=set
	// +kubebuilder:validation:MaxItems=64
	ExposeHeaders []ResponseHeaderName `json:"exposeHeaders,omitempty"`

	// AllowCredentials lets cross-origin requests carry cookies, TLS client
	// certificates and Authorization, and lets pages read the responses
	// (Access-Control-Allow-Credentials: true). It cannot be combined with
	// "*" in any list. Defaults to false; kubecors always renders it
	// explicitly, because some data planes default to true.
	//
	// +optional
	// +kubebuilder:default=false
	AllowCredentials *bool `json:"allowCredentials,omitempty"`

	// MaxAge is how long, in whole seconds, a browser may cache a preflight
	// response (Access-Control-Max-Age). 0 disables caching. From 0 to
	// 86400; values above 7200 draw a warning, because Chromium caps the
	// cache at 7200 seconds (Firefox at 86400). Defaults to 5, as in Gateway
	// API; kubecors always renders it explicitly, because data planes have
	// surprising defaults (ingress-nginx: 20 days).
	//
	// +optional
	// +kubebuilder:default=5
	// +kubebuilder:validation:XValidation:rule="self >= 0 && self <= 86400",message="maxAge is out of range: write whole seconds from 0 to 86400 (24 hours); browsers cap it anyway, Chromium at 7200"
	MaxAge *int32 `json:"maxAge,omitempty"`

	// DataPlaneMappings names the renderer for IngressClass controllers
	// that kubecors does not recognise by itself, for example an
	// ingress-nginx build published under another controller name. A
	// mapping here takes precedence over the operator's
	// --data-plane-mapping flag. At most 8 entries.
	//
	// +optional
	// +listType=map
	// +listMapKey=controllerName
	// +kubebuilder:validation:MaxItems=8
	DataPlaneMappings []DataPlaneMapping `json:"dataPlaneMappings,omitempty"`

	// TakeOverExistingConfiguration lets kubecors overwrite CORS
	// configuration that another writer (a person, a Helm chart, a GitOps
	// tool) already set on a target. Without it such a target is reported
	// Conflicted, naming the key and the other writer, and left alone.
	// When the policy goes away, kubecors removes what it wrote, so the
	// value that was taken over is not restored. Defaults to false.
	//
	// +optional
	TakeOverExistingConfiguration bool `json:"takeOverExistingConfiguration,omitempty"`

	// DangerouslyAllowInsecureOrigins accepts plain-http, non-loopback
	// origins together with allowCredentials: true. Anyone on the network
	// path between such a page and its users can then read credentialed
	// responses. Defaults to false. A ClusterCorsPolicy can forbid this
	// opt-in.
	//
	// +optional
	DangerouslyAllowInsecureOrigins bool `json:"dangerouslyAllowInsecureOrigins,omitempty"`

	// DangerouslyAllowPublicSuffixWildcards accepts wildcard origins over a
	// public suffix of the Public Suffix List ("https://*.github.io"), which
	// match pages of many unrelated owners. Defaults to false. A
	// ClusterCorsPolicy can forbid this opt-in.
	//
	// +optional
	DangerouslyAllowPublicSuffixWildcards bool `json:"dangerouslyAllowPublicSuffixWildcards,omitempty"`

	// Verification sets how kubecors checks on the wire what each target's
	// data plane answers browsers (the Verified condition of each target).
	// When unset, targets are verified at the operator's --verify-interval
	// (default 10 minutes) unless the operator runs with --verify=false.
	//
	// +optional
	Verification *VerificationSpec `json:"verification,omitempty"`
}

// Verification modes.
const (
	// VerificationEnabled checks the policy's targets on the wire.
	VerificationEnabled = "Enabled"
	// VerificationDisabled sends nothing for the policy's targets and
	// removes their Verified condition.
	VerificationDisabled = "Disabled"
)

// VerificationSpec sets how kubecors verifies a policy's targets on the
// wire: from inside the cluster, through the target's data plane, it sends
// the OPTIONS preflights and GET requests a browser would send (no body,
// never credentials) and compares the answers with the policy.
type VerificationSpec struct {
	// Mode is Enabled (the default) or Disabled. Disabled sends nothing
	// for this policy's targets and removes their Verified condition.
	//
	// +optional
	// +kubebuilder:default=Enabled
	// +kubebuilder:validation:Enum=Enabled;Disabled
	Mode string `json:"mode,omitempty"`

	// Interval is how often each target is verified again when nothing
	// changed, jittered by up to 10%; a change of the policy or the target
	// verifies it at once. From 10s to 24h; defaults to the operator's
	// --verify-interval (10m).
	//
	// +optional
	// +kubebuilder:validation:XValidation:rule="duration(self) >= duration('10s') && duration(self) <= duration('24h')",message="interval must be from 10s to 24h, for example \"10m\""
	Interval *metav1.Duration `json:"interval,omitempty"`
}

// TargetStatus reports what kubecors did for one target of a policy.
type TargetStatus struct {
	// TargetRef is the target this entry describes.
	TargetRef PolicyTargetReference `json:"targetRef"`

	// DataPlane is the renderer kubecors chose for the target, such as
	// "ingress-nginx", "traefik", "haproxy-ingress" or "gateway-api"; empty
	// when none could be chosen.
	//
	// +optional
	// +kubebuilder:validation:MaxLength=64
	DataPlane string `json:"dataPlane,omitempty"`

	// ControllerName is the controller that serves the target, read from
	// its IngressClass or GatewayClass.
	//
	// +optional
	// +kubebuilder:validation:MaxLength=253
	ControllerName string `json:"controllerName,omitempty"`

	// Conditions describe the state of this target: Programmed,
	// Conflicted and Verified.
	//
	// +optional
	// +listType=map
	// +listMapKey=type
	// +kubebuilder:validation:MaxItems=8
	Conditions []metav1.Condition `json:"conditions,omitempty"`

	// Message says in plain words what was programmed, narrowed or refused
	// for this target.
	//
	// +optional
	// +kubebuilder:validation:MaxLength=4096
	Message string `json:"message,omitempty"`

	// Verification is the last check of this target on the wire; the
	// Verified condition holds its verdict and the raw headers seen. Unset
	// until the target is first verified, and while it is not programmed.
	//
	// +optional
	Verification *TargetVerification `json:"verification,omitempty"`
}

// TargetVerification is the last check of one target on the wire.
type TargetVerification struct {
	// ObservedAt is when the data plane last answered, or when it last
	// failed to.
	ObservedAt metav1.Time `json:"observedAt"`

	// URL is the URL a browser would call, as the requests named it (Host
	// and path of one rule of the target).
	//
	// +optional
	// +kubebuilder:validation:MaxLength=2048
	URL string `json:"url,omitempty"`

	// Address is where the requests were sent: the data plane's Service,
	// load balancer or Gateway address, as host:port.
	//
	// +optional
	// +kubebuilder:validation:MaxLength=512
	Address string `json:"address,omitempty"`

	// Diagnosis names what the wire does differently from the policy:
	// duplicate-allow-origin, broader-than-policy, origin-mismatch,
	// preflight-not-handled, no-cors-headers, … (the vocabulary of
	// `kubectl cors probe`), or unreachable and no-address when nothing
	// could be checked. Empty when verified.
	//
	// +optional
	// +kubebuilder:validation:MaxLength=64
	Diagnosis string `json:"diagnosis,omitempty"`

	// BroaderThanPolicy is true when the wire allows an origin, method,
	// header, exposed header or credentials that the policy does not: a
	// security finding, whatever Diagnosis names first.
	//
	// +optional
	BroaderThanPolicy bool `json:"broaderThanPolicy,omitempty"`
}

// MaxListedTargets is how many targets a CorsPolicy's status lists at most.
const MaxListedTargets = 64

// TargetCounts counts a policy's targets by state. Every target counts in
// total and in exactly one of programmed, conflicted, failed and
// notProgrammed; narrowed counts the programmed targets for which part of
// the policy had to be left out.
type TargetCounts struct {
	// Total is the number of targets the policy resolved to.
	//
	// +kubebuilder:validation:Minimum=0
	Total int32 `json:"total"`

	// Programmed counts the targets whose data plane is configured.
	//
	// +kubebuilder:validation:Minimum=0
	Programmed int32 `json:"programmed"`

	// Narrowed counts the programmed targets whose data plane could not
	// express the whole policy (reason in each listed target's message).
	//
	// +optional
	// +kubebuilder:validation:Minimum=0
	Narrowed int32 `json:"narrowed,omitempty"`

	// Conflicted counts the targets that another writer or an older
	// policy governs.
	//
	// +optional
	// +kubebuilder:validation:Minimum=0
	Conflicted int32 `json:"conflicted,omitempty"`

	// Failed counts the targets whose write the API server refused
	// (WriteRefused) or that failed (WriteFailed); kubecors retries them
	// with backoff.
	//
	// +optional
	// +kubebuilder:validation:Minimum=0
	Failed int32 `json:"failed,omitempty"`

	// NotProgrammed counts the other targets that are not programmed: not
	// found yet, on an unsupported data plane, refused by the renderer, or
	// pending.
	//
	// +optional
	// +kubebuilder:validation:Minimum=0
	NotProgrammed int32 `json:"notProgrammed,omitempty"`

	// Verified counts the programmed targets whose data plane answered on
	// the wire what the policy promises (Verified=True).
	//
	// +optional
	// +kubebuilder:validation:Minimum=0
	Verified int32 `json:"verified,omitempty"`

	// VerificationFailed counts the targets whose data plane answered
	// differently from the policy (Verified=False).
	//
	// +optional
	// +kubebuilder:validation:Minimum=0
	VerificationFailed int32 `json:"verificationFailed,omitempty"`

	// VerificationUnknown counts the targets whose data plane could not be
	// reached or has no known address (Verified=Unknown).
	//
	// +optional
	// +kubebuilder:validation:Minimum=0
	VerificationUnknown int32 `json:"verificationUnknown,omitempty"`

	// BroaderThanPolicy counts the targets whose data plane allows more
	// than the policy: a security finding.
	//
	// +optional
	// +kubebuilder:validation:Minimum=0
	BroaderThanPolicy int32 `json:"broaderThanPolicy,omitempty"`
}

// CorsPolicyStatus is the observed state of a CorsPolicy.
type CorsPolicyStatus struct {
	// Conditions describe the policy as a whole: Accepted (the spec is
	// valid and allowed by every ClusterCorsPolicy) and Programmed (every
	// target is programmed).
	//
	// +optional
	// +listType=map
	// +listMapKey=type
	// +kubebuilder:validation:MaxItems=8
	Conditions []metav1.Condition `json:"conditions,omitempty"`

	// Targets lists the targets the policy resolved to, at most 64 of them
	// (MaxListedTargets), so that the status of a policy over thousands of
	// targets stays far below the API server's object size limit. Targets
	// that need attention come first: those whose write was refused or
	// failed, then conflicted ones, then the other targets that are not
	// programmed, then programmed targets whose policy was narrowed, then
	// the rest; each group sorted by kind and name. targetCounts counts
	// every target, listed or not, and unlistedTargets says how many were
	// left out. `kubectl cors status POLICY --target KIND/NAME` answers for
	// any single target.
	//
	// +optional
	// +listType=atomic
	// +kubebuilder:validation:MaxItems=64
	Targets []TargetStatus `json:"targets,omitempty"`

	// TargetCounts counts every target the policy resolved to by state,
	// including those not listed in targets.
	//
	// +optional
	TargetCounts *TargetCounts `json:"targetCounts,omitempty"`

	// UnlistedTargets is how many of the counted targets are not listed in
	// targets because the list is full.
	//
	// +optional
	// +kubebuilder:validation:Minimum=0
	UnlistedTargets int32 `json:"unlistedTargets,omitempty"`

	// ProgrammedTargets counts programmed targets out of all targets, as
	// "programmed/total", for `kubectl get`.
	//
	// +optional
	// +kubebuilder:validation:MaxLength=32
	ProgrammedTargets string `json:"programmedTargets,omitempty"`

	// VerifiedTargets counts targets verified on the wire out of all
	// targets, as "verified/total", for `kubectl get`; unset when
	// verification is off.
	//
	// +optional
	// +kubebuilder:validation:MaxLength=32
	VerifiedTargets string `json:"verifiedTargets,omitempty"`
}

// CorsPolicy declares the CORS behaviour (allowed origins, methods and
// headers, exposed headers, credentials and preflight cache) of Ingresses
// and HTTPRoutes in its namespace. kubecors validates it strictly and
// renders it into whatever each target's data plane understands.
//
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:shortName=cors,categories=kubecors
// +kubebuilder:printcolumn:name="Origins",type=string,JSONPath=`.spec.allowOrigins`
// +kubebuilder:printcolumn:name="Credentials",type=boolean,JSONPath=`.spec.allowCredentials`
// +kubebuilder:printcolumn:name="Programmed",type=string,JSONPath=`.status.programmedTargets`
// +kubebuilder:printcolumn:name="Verified",type=string,JSONPath=`.status.verifiedTargets`
// +kubebuilder:printcolumn:name="Accepted",type=string,JSONPath=`.status.conditions[?(@.type=="Accepted")].status`
// +kubebuilder:printcolumn:name="Ready",type=string,JSONPath=`.status.conditions[?(@.type=="Programmed")].status`
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
type CorsPolicy struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// Spec is the desired CORS behaviour and its targets.
	Spec CorsPolicySpec `json:"spec"`

	// Status is what kubecors observed and programmed.
	//
	// +optional
	Status CorsPolicyStatus `json:"status,omitempty"`
}

// CorsPolicyList is a list of CorsPolicy objects.
//
// +kubebuilder:object:root=true
type CorsPolicyList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []CorsPolicy `json:"items"`
}
