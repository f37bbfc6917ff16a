package corsrules

import (
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"

	metav1validation "k8s.io/apimachinery/pkg/apis/meta/v1/validation"
	"k8s.io/apimachinery/pkg/util/sets"
	"k8s.io/apimachinery/pkg/util/validation/field"

	kubecorsv1alpha1 "github.com/kubecors/kubecors/api/v1alpha1"
)

// Limits of a CorsPolicy spec, mirrored by the CRD's maxItems markers.
const (
	MaxOrigins     = 64
	MaxMethods     = 32
	MaxHeaders     = 64
	MaxTargetRefs  = 16
	MaxHeaderName  = 256
	MaxMethodName  = 32
	MaxMaxAge      = 86400
	BrowserMaxAge  = 7200
	wildcardMember = "*"
)

// token is an RFC 9110 token: the syntax of method and header names.
var token = regexp.MustCompile("^[-!#$%&'*+.^_`|~0-9A-Za-z]+$")

// sectionName is the syntax of an HTTPRoute rule name (Gateway API's
// SectionName).
var sectionName = regexp.MustCompile(`^[a-z0-9]([-a-z0-9]*[a-z0-9])?([.][a-z0-9]([-a-z0-9]*[a-z0-9])?)*$`)

// forbiddenRequestHeaders are the Fetch standard's forbidden request-header
// names, lowercase; names starting with "proxy-" or "sec-" are forbidden
// too (see isForbiddenRequestHeader).
var forbiddenRequestHeaders = sets.New(
	"accept-charset", "accept-encoding", "connection", "content-length",
	"cookie", "cookie2", "date", "dnt", "expect", "host", "keep-alive",
	"origin", "referer", "set-cookie", "te", "trailer", "transfer-encoding",
	"upgrade", "via",
)

// safelistedResponseHeaders are the CORS-safelisted response-header names:
// scripts can read them without their being exposed.
var safelistedResponseHeaders = sets.New(
	"cache-control", "content-language", "content-length", "content-type",
	"expires", "last-modified", "pragma",
)

// standardMethods are the methods of RFC 9110 and RFC 5789 whose lowercase
// spelling is almost certainly a mistake.
var standardMethods = sets.New("GET", "HEAD", "POST", "PUT", "DELETE", "OPTIONS", "PATCH")

// forbiddenMethods can never be used in a cross-origin request.
var forbiddenMethods = sets.New("CONNECT", "TRACE", "TRACK")

// Warnings are the warn-level findings of a validation, each prefixed with
// the field it concerns. The webhook returns them as admission warnings.
type Warnings []string

func (w *Warnings) add(path *field.Path, format string, args ...any) {
	*w = append(*w, path.String()+": "+fmt.Sprintf(format, args...))
}

// ValidateCorsPolicy validates a CorsPolicy's spec as "spec".
func ValidateCorsPolicy(p *kubecorsv1alpha1.CorsPolicy) (field.ErrorList, Warnings) {
	return ValidateSpec(&p.Spec, field.NewPath("spec"))
}

// ValidateSpec checks a CorsPolicySpec against every rule of CORS-RULES.md.
// It returns the rule violations, which make the spec invalid, and the
// warn-level findings, which do not.
func ValidateSpec(spec *kubecorsv1alpha1.CorsPolicySpec, path *field.Path) (field.ErrorList, Warnings) {
	var errs field.ErrorList
	credentials := spec.AllowCredentials != nil && *spec.AllowCredentials

	errs = append(errs, validateTargets(spec, path)...)
	errs = append(errs, validateOrigins(spec, credentials, path.Child("allowOrigins"))...)
	methodErrs, methodWarns := validateMethods(spec.AllowMethods, credentials, path.Child("allowMethods"))
	errs = append(errs, methodErrs...)
	errs = append(errs, validateAllowHeaders(spec.AllowHeaders, credentials, path.Child("allowHeaders"))...)
	exposeErrs, exposeWarns := validateExposeHeaders(spec.ExposeHeaders, credentials, path.Child("exposeHeaders"))
	errs = append(errs, exposeErrs...)
	// Warnings come in the order of the fields they concern.
	warns := slices.Concat(methodWarns, exposeWarns)
	if spec.MaxAge != nil {
		maxAge := path.Child("maxAge")
		switch age := *spec.MaxAge; {
		case age < 0 || age > MaxMaxAge:
			errs = append(errs, field.Invalid(maxAge, age, "maxAge is out of range: write whole seconds from 0 to 86400 (24 hours); browsers cap it anyway, Chromium at 7200"))
		case age > BrowserMaxAge:
			warns.add(maxAge, "%d seconds is above Chromium's cap of 7200: Chromium caches preflights for 7200 seconds at most", age)
		}
	}
	errs = append(errs, validateDataPlaneMappings(spec.DataPlaneMappings, path.Child("dataPlaneMappings"))...)
	errs = append(errs, validateVerification(spec.Verification, path.Child("verification"))...)
	if spec.DangerouslyAllowInsecureOrigins {
		warns.add(path.Child("dangerouslyAllowInsecureOrigins"), "is set: plain-http origins may receive credentialed responses that anyone on the network path can read")
	}
	if spec.DangerouslyAllowPublicSuffixWildcards {
		warns.add(path.Child("dangerouslyAllowPublicSuffixWildcards"), "is set: wildcard origins may cover a public suffix and match sites of unrelated owners")
	}
	return errs, warns
}

func validateTargets(spec *kubecorsv1alpha1.CorsPolicySpec, path *field.Path) field.ErrorList {
	var errs field.ErrorList
	if len(spec.TargetRefs) == 0 && spec.TargetSelector == nil {
		errs = append(errs, field.Invalid(path, "", "set targetRefs, targetSelector or both: a policy that targets nothing has no effect"))
	}
	refsPath := path.Child("targetRefs")
	if len(spec.TargetRefs) > MaxTargetRefs {
		errs = append(errs, field.TooMany(refsPath, len(spec.TargetRefs), MaxTargetRefs))
	}
	seen := sets.New[string]()
	for i, ref := range spec.TargetRefs {
		errs = append(errs, validateTargetRef(ref, refsPath.Index(i))...)
		key := TargetKey(ref)
		if seen.Has(key) {
			errs = append(errs, field.Invalid(refsPath, "", "each target may be listed once: remove the duplicate reference"))
		}
		seen.Insert(key)
	}
	if spec.TargetSelector != nil {
		errs = append(errs, metav1validation.ValidateLabelSelector(spec.TargetSelector,
			metav1validation.LabelSelectorValidationOptions{}, path.Child("targetSelector"))...)
	}
	return errs
}

// TargetKey identifies a target reference: group, kind, name and section.
func TargetKey(ref kubecorsv1alpha1.PolicyTargetReference) string {
	section := ""
	if ref.SectionName != nil {
		section = *ref.SectionName
	}
	return ref.Group + "/" + ref.Kind + "/" + ref.Name + "#" + section
}

func validateTargetRef(ref kubecorsv1alpha1.PolicyTargetReference, path *field.Path) field.ErrorList {
	var errs field.ErrorList
	groups := []string{kubecorsv1alpha1.GroupNetworking, kubecorsv1alpha1.GroupGateway, kubecorsv1alpha1.GroupIstio, kubecorsv1alpha1.GroupContour}
	kinds := []string{kubecorsv1alpha1.KindIngress, kubecorsv1alpha1.KindHTTPRoute, kubecorsv1alpha1.KindGateway, kubecorsv1alpha1.KindVirtualService, kubecorsv1alpha1.KindHTTPProxy}
	if !sets.New(groups...).Has(ref.Group) {
		errs = append(errs, field.NotSupported(path.Child("group"), ref.Group, groups))
	}
	if !sets.New(kinds...).Has(ref.Kind) {
		errs = append(errs, field.NotSupported(path.Child("kind"), ref.Kind, kinds))
	}
	if ref.Name == "" {
		errs = append(errs, field.Required(path.Child("name"), "name the Ingress or HTTPRoute"))
	}
	ingress := ref.Group == kubecorsv1alpha1.GroupNetworking && ref.Kind == kubecorsv1alpha1.KindIngress
	route := ref.Group == kubecorsv1alpha1.GroupGateway && ref.Kind == kubecorsv1alpha1.KindHTTPRoute
	gateway := ref.Group == kubecorsv1alpha1.GroupGateway && ref.Kind == kubecorsv1alpha1.KindGateway
	virtualService := ref.Group == kubecorsv1alpha1.GroupIstio && ref.Kind == kubecorsv1alpha1.KindVirtualService
	proxy := ref.Group == kubecorsv1alpha1.GroupContour && ref.Kind == kubecorsv1alpha1.KindHTTPProxy
	if !ingress && !route && !gateway && !virtualService && !proxy {
		errs = append(errs, field.Invalid(path, "", fmt.Sprintf(`kind %q is not in group %q: write group "networking.k8s.io" with kind "Ingress", group "gateway.networking.k8s.io" with kind "HTTPRoute" or "Gateway", group "networking.istio.io" with kind "VirtualService", or group "projectcontour.io" with kind "HTTPProxy"`, ref.Kind, ref.Group)))
	}
	if ref.SectionName != nil && !sectionName.MatchString(*ref.SectionName) {
		errs = append(errs, field.Invalid(path.Child("sectionName"), *ref.SectionName, fmt.Sprintf("%q is not a rule name: an HTTPRoute rule name is lowercase letters, digits, \"-\" and \".\", for example \"api-v1\"", *ref.SectionName)))
	}
	if ref.SectionName != nil && ref.Kind != kubecorsv1alpha1.KindHTTPRoute && ref.Kind != kubecorsv1alpha1.KindGateway {
		errs = append(errs, field.Invalid(path, "", "sectionName selects a named rule of an HTTPRoute or a listener of a Gateway; an Ingress has no sections: remove sectionName"))
	}
	return errs
}

func validateOrigins(spec *kubecorsv1alpha1.CorsPolicySpec, credentials bool, path *field.Path) field.ErrorList {
	var errs field.ErrorList
	origins := spec.AllowOrigins
	if len(origins) > MaxOrigins {
		errs = append(errs, field.TooMany(path, len(origins), MaxOrigins))
	}
	seen := sets.New[string]()
	var insecure []string
	hasAny := false
	for i, o := range origins {
		p, err := ParseOriginPattern(string(o))
		if err != nil {
			errs = append(errs, field.Invalid(path.Index(i), string(o), err.Error()))
			continue
		}
		canonical := p.String()
		if seen.Has(canonical) {
			errs = append(errs, field.Duplicate(path.Index(i), string(o)))
		}
		seen.Insert(canonical)
		hasAny = hasAny || p.Any
		if PublicSuffixWildcard(p) && !spec.DangerouslyAllowPublicSuffixWildcards {
			errs = append(errs, field.Invalid(path.Index(i), string(o), fmt.Sprintf(
				"%q matches every site under the public suffix %q, owned by unrelated parties; list your own domain instead (\"%s://*.yourdomain.%s\"), or set dangerouslyAllowPublicSuffixWildcards: true if you own this suffix",
				string(o), p.Host, p.Scheme, p.Host)))
		}
		if p.ReadableOnTheWire() {
			insecure = append(insecure, string(o))
		}
	}
	if hasAny && len(origins) > 1 {
		errs = append(errs, field.Invalid(path, "", `"*" (any origin) must be the only entry: remove the other origins, or replace "*" with the origins you trust`))
	}
	if hasAny && credentials {
		errs = append(errs, field.Invalid(path, "", `"*" cannot be used with allowCredentials: true: a credentialed response to any origin lets every website read your users' data; list the trusted origins instead, for example "https://app.example.com"`))
	}
	if len(insecure) > 0 && credentials && !spec.DangerouslyAllowInsecureOrigins {
		errs = append(errs, field.Invalid(path, strings.Join(insecure, ", "), "plain-http origins other than localhost, 127.0.0.1 and [::1] cannot be used with allowCredentials: true, because anyone on the network path can read the credentialed responses; write them with https://, or set dangerouslyAllowInsecureOrigins: true to accept that risk"))
	}
	return errs
}

func validateMethods(methods []kubecorsv1alpha1.HTTPMethod, credentials bool, path *field.Path) (field.ErrorList, Warnings) {
	var errs field.ErrorList
	var warns Warnings
	if len(methods) > MaxMethods {
		errs = append(errs, field.TooMany(path, len(methods), MaxMethods))
	}
	seen := sets.New[string]()
	for i, m := range methods {
		name := string(m)
		if err := methodNameError(name, path.Index(i)); err != nil {
			errs = append(errs, err)
		} else if isMisspeltStandardMethod(name) {
			warns.add(path.Index(i), "%q is not the standard method %q: method names are case-sensitive and browsers upper-case only DELETE, GET, HEAD, OPTIONS, POST and PUT; write %q unless the server really uses %q", name, strings.ToUpper(name), strings.ToUpper(name), name)
		}
		if seen.Has(name) {
			errs = append(errs, field.Duplicate(path.Index(i), name))
		}
		seen.Insert(name)
	}
	if seen.Has(wildcardMember) && len(methods) > 1 {
		errs = append(errs, field.Invalid(path, "", `"*" (any method) must be the only entry: remove the other methods, or replace "*" with the methods you need`))
	}
	if seen.Has(wildcardMember) && credentials {
		errs = append(errs, field.Invalid(path, "", `"*" cannot be used with allowCredentials: true: browsers then read it as a method literally named "*"; list the methods instead, for example ["GET", "PUT", "DELETE"]`))
	}
	return errs, warns
}

// methodNameError checks one method name of a list: its length, its
// syntax, and that browsers may send it at all. It is shared by the
// CorsPolicy and ClusterCorsPolicy rules, whose item type is the same.
func methodNameError(name string, path *field.Path) *field.Error {
	switch {
	case len(name) > MaxMethodName:
		return field.TooLong(path, name, MaxMethodName)
	case len(name) == 0 || !token.MatchString(name):
		return field.Invalid(path, name, fmt.Sprintf("%q is not an HTTP method name: use letters, digits or one of !#$%%&*+-.^_|~, for example \"PUT\"", name))
	case forbiddenMethods.Has(strings.ToUpper(name)):
		return field.Invalid(path, name, fmt.Sprintf("%q is a forbidden method: browsers never send CONNECT, TRACE or TRACK cross-origin; remove it", name))
	}
	return nil
}

// isMisspeltStandardMethod reports whether name is a standard method
// spelt in another case, which is almost certainly a mistake, since
// method names are case-sensitive.
func isMisspeltStandardMethod(name string) bool {
	upper := strings.ToUpper(name)
	return name != upper && standardMethods.Has(upper)
}

// headerNameErrors checks the syntax of a header name and rejects
// duplicates: exact ones as the API server's set list does, others
// ignoring case. seen maps each lowercase name to its first spelling. It
// returns the lowercase name.
func headerNameErrors(name string, i int, seen map[string]string, path *field.Path) (string, field.ErrorList) {
	var errs field.ErrorList
	lower := strings.ToLower(name)
	switch {
	case len(name) > MaxHeaderName:
		errs = append(errs, field.TooLong(path.Index(i), name, MaxHeaderName))
	case len(name) == 0 || !token.MatchString(name):
		errs = append(errs, field.Invalid(path.Index(i), name, fmt.Sprintf("%q is not a header name: use letters, digits or one of !#$%%&*+-.^_|~, for example \"X-Request-Id\"", name)))
	}
	if first, dup := seen[lower]; dup && first == name {
		errs = append(errs, field.Duplicate(path.Index(i), name))
	} else if dup {
		errs = append(errs, field.Invalid(path.Index(i), name, fmt.Sprintf("%q is listed twice: header names are case-insensitive; remove one", name)))
	} else {
		seen[lower] = name
	}
	return lower, errs
}

func isForbiddenRequestHeader(lower string) bool {
	return forbiddenRequestHeaders.Has(lower) || strings.HasPrefix(lower, "sec-") ||
		strings.HasPrefix(lower, "proxy-") || strings.HasPrefix(lower, "access-control-request-")
}

func isResponseOnlyHeader(lower string) bool {
	return strings.HasPrefix(lower, "access-control-allow-") ||
		lower == "access-control-max-age" || lower == "access-control-expose-headers"
}

// requestHeaderError rejects a name that can never be a request header a
// page sends: one the browser forbids pages to set, or one only servers
// send. lower is the name in lowercase. It is shared by the CorsPolicy and
// ClusterCorsPolicy rules, whose item type is the same.
func requestHeaderError(name, lower string, path *field.Path) *field.Error {
	switch {
	case isForbiddenRequestHeader(lower):
		return field.Invalid(path, name, fmt.Sprintf("%q is a forbidden request header: browsers set it themselves and never let a page send it, so allowing it has no effect; remove it", name))
	case isResponseOnlyHeader(lower):
		return field.Invalid(path, name, fmt.Sprintf("%q is a response header that the server sends, never a request header a page sends; remove it (kubecors renders it from allowOrigins, allowMethods, allowHeaders, exposeHeaders, allowCredentials and maxAge)", name))
	}
	return nil
}

func validateAllowHeaders(headers []kubecorsv1alpha1.RequestHeaderName, credentials bool, path *field.Path) field.ErrorList {
	var errs field.ErrorList
	if len(headers) > MaxHeaders {
		errs = append(errs, field.TooMany(path, len(headers), MaxHeaders))
	}
	seen := map[string]string{}
	for i, h := range headers {
		name := string(h)
		lower, nameErrs := headerNameErrors(name, i, seen, path)
		errs = append(errs, nameErrs...)
		if err := requestHeaderError(name, lower, path.Index(i)); err != nil {
			errs = append(errs, err)
		}
	}
	_, wildcard := seen[wildcardMember]
	_, authorization := seen["authorization"]
	if wildcard && len(seen) > 1+btoi(authorization) {
		errs = append(errs, field.Invalid(path, "", `"*" (any header) may only be combined with "Authorization", which "*" never covers: remove the other headers`))
	}
	if wildcard && credentials {
		errs = append(errs, field.Invalid(path, "", `"*" cannot be used with allowCredentials: true: browsers then read it as a header literally named "*"; list the headers instead, for example ["Content-Type", "Authorization"]`))
	}
	return errs
}

func validateExposeHeaders(headers []kubecorsv1alpha1.ResponseHeaderName, credentials bool, path *field.Path) (field.ErrorList, Warnings) {
	var errs field.ErrorList
	var warns Warnings
	if len(headers) > MaxHeaders {
		errs = append(errs, field.TooMany(path, len(headers), MaxHeaders))
	}
	seen := map[string]string{}
	for i, h := range headers {
		name := string(h)
		lower, nameErrs := headerNameErrors(name, i, seen, path)
		errs = append(errs, nameErrs...)
		switch {
		case lower == "set-cookie" || lower == "set-cookie2":
			errs = append(errs, field.Invalid(path.Index(i), name, fmt.Sprintf("%q can never be exposed: browsers hide it from every script whatever the server says; remove it", name)))
		case safelistedResponseHeaders.Has(lower):
			warns.add(path.Index(i), "%q is a CORS-safelisted response header that scripts can always read; listing it is needless", name)
		}
	}
	_, wildcard := seen[wildcardMember]
	if wildcard && len(headers) > 1 {
		errs = append(errs, field.Invalid(path, "", `"*" (every response header) must be the only entry: remove the other headers, or replace "*" with the headers pages need`))
	}
	if wildcard && credentials {
		errs = append(errs, field.Invalid(path, "", `"*" cannot be used with allowCredentials: true: browsers then read it as a header literally named "*"; list the headers pages need instead, for example ["X-Request-Id"]`))
	}
	return errs, warns
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}

// DataPlanes are the renderer names a DataPlaneMapping may name.
var DataPlanes = []string{"ingress-nginx", "traefik", "haproxy-ingress", "kong"}

// Bounds of spec.verification.interval, as the CRD's CEL rule states them.
const (
	MinVerificationInterval = 10 * time.Second
	MaxVerificationInterval = 24 * time.Hour
)

// verificationModes are the values of spec.verification.mode.
var verificationModes = []string{kubecorsv1alpha1.VerificationEnabled, kubecorsv1alpha1.VerificationDisabled}

// validateVerification checks spec.verification as the CRD schema does.
func validateVerification(v *kubecorsv1alpha1.VerificationSpec, path *field.Path) field.ErrorList {
	if v == nil {
		return nil
	}
	var errs field.ErrorList
	if v.Mode != "" && !slices.Contains(verificationModes, v.Mode) {
		errs = append(errs, field.NotSupported(path.Child("mode"), v.Mode, verificationModes))
	}
	if v.Interval != nil && (v.Interval.Duration < MinVerificationInterval || v.Interval.Duration > MaxVerificationInterval) {
		errs = append(errs, field.Invalid(path.Child("interval"), v.Interval.Duration.String(), `interval must be from 10s to 24h, for example "10m"`))
	}
	return errs
}

func validateDataPlaneMappings(mappings []kubecorsv1alpha1.DataPlaneMapping, path *field.Path) field.ErrorList {
	var errs field.ErrorList
	if len(mappings) > 8 {
		errs = append(errs, field.TooMany(path, len(mappings), 8))
	}
	seen := sets.New[string]()
	for i, m := range mappings {
		if m.ControllerName == "" {
			errs = append(errs, field.Required(path.Index(i).Child("controllerName"), "name the IngressClass controller, e.g. \"example.com/ingress-nginx\""))
		}
		if !sets.New(DataPlanes...).Has(m.DataPlane) {
			errs = append(errs, field.NotSupported(path.Index(i).Child("dataPlane"), m.DataPlane, DataPlanes))
		}
		if seen.Has(m.ControllerName) {
			errs = append(errs, field.Duplicate(path.Index(i), map[string]string{"controllerName": m.ControllerName}))
		}
		seen.Insert(m.ControllerName)
	}
	return errs
}
