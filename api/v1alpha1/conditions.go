package v1alpha1

// Condition types of a CorsPolicy and of each of its targets.
const (
	// ConditionAccepted says whether the policy's spec is valid and allowed
	// by every ClusterCorsPolicy that selects its namespace.
	ConditionAccepted = "Accepted"

	// ConditionProgrammed says whether the policy (or one target) is
	// rendered into the data plane's configuration.
	ConditionProgrammed = "Programmed"

	// ConditionConflicted says whether another writer already owns the
	// configuration kubecors would write for a target.
	ConditionConflicted = "Conflicted"

	// ConditionVerified says whether the target's data plane, asked on the
	// wire the way a browser asks, answers what the policy promises: True,
	// False with the diagnosis as reason, or Unknown when it could not be
	// reached. Other reasons are the diagnosis in CamelCase
	// (OriginMismatch, PreflightNotHandled, NoCorsHeaders, …).
	ConditionVerified = "Verified"
)

// Reasons of the Verified condition.
const (
	// ReasonVerified means every request was answered as the policy
	// promises.
	ReasonVerified = "Verified"

	// ReasonDuplicateAllowOrigin means a response carried
	// Access-Control-Allow-Origin more than once (the data plane's and a
	// backend's own), which browsers always block.
	ReasonDuplicateAllowOrigin = "DuplicateAllowOrigin"

	// ReasonBroaderThanPolicy means the wire allows more than the policy:
	// an origin, method, header, exposed header or credentials it does not
	// list.
	ReasonBroaderThanPolicy = "BroaderThanPolicy"

	// ReasonUnreachable means the data plane did not answer in time; the
	// verdict is Unknown, never False.
	ReasonUnreachable = "Unreachable"

	// ReasonNoAddress means no address of the target's data plane is
	// known: no kubecors.io/verify-address annotation, --verify-address
	// flag, Ingress load balancer status or Gateway address.
	ReasonNoAddress = "NoAddress"
)

// Reasons of the Accepted condition.
const (
	// ReasonAccepted means the spec passed every rule.
	ReasonAccepted = "Accepted"

	// ReasonInvalid means the spec breaks a rule; the message names it. The
	// admission checks normally stop such a policy, so this reports one
	// stored before the rules were tightened or while the webhook was off.
	ReasonInvalid = "Invalid"
)

// Reasons of the Programmed condition, of the policy and of its targets.
const (
	// ReasonProgrammed means the target's data plane was configured.
	ReasonProgrammed = "Programmed"

	// ReasonPending means kubecors has resolved the target but has not
	// configured its data plane.
	ReasonPending = "Pending"

	// ReasonNoTargets means the policy resolved to no target at all.
	ReasonNoTargets = "NoTargets"

	// ReasonTargetNotFound means a target named in targetRefs does not exist
	// yet; it is programmed as soon as it is created.
	ReasonTargetNotFound = "TargetNotFound"

	// ReasonNotAccepted means the policy is not programmed because it is not
	// accepted.
	ReasonNotAccepted = "NotAccepted"

	// ReasonUnsupportedDataPlane means no renderer understands the
	// controller that serves the target.
	ReasonUnsupportedDataPlane = "UnsupportedDataPlane"

	// ReasonConflicted means another writer owns the configuration.
	ReasonConflicted = "Conflicted"

	// ReasonWriteRefused means the API server refused kubecors's write to
	// the target: another admission controller (a validating webhook, a
	// ValidatingAdmissionPolicy, a change freeze) or the target's own
	// validation said no. The message quotes the API server. kubecors
	// retries with backoff and programs the target once the refusal is
	// lifted; the other targets are programmed regardless.
	ReasonWriteRefused = "WriteRefused"

	// ReasonWriteFailed means a write to the target failed for another
	// reason (a timeout, the API server unavailable); it is retried with
	// backoff.
	ReasonWriteFailed = "WriteFailed"

	// ReasonPartiallyProgrammed means some targets are programmed and
	// others are not; the per-target entries say why.
	ReasonPartiallyProgrammed = "PartiallyProgrammed"
)

// Target kinds a policy may name.
const (
	// GroupNetworking is the API group of Ingress.
	GroupNetworking = "networking.k8s.io"
	// KindIngress is the kind of an Ingress target.
	KindIngress = "Ingress"
	// GroupGateway is the API group of HTTPRoute.
	GroupGateway = "gateway.networking.k8s.io"
	// KindHTTPRoute is the kind of an HTTPRoute target.
	KindHTTPRoute = "HTTPRoute"
	// KindGateway is the kind of a Gateway target (group GroupGateway):
	// the policy reaches every HTTPRoute attached to it.
	KindGateway = "Gateway"
	// GroupIstio is the API group of Istio's VirtualService.
	GroupIstio = "networking.istio.io"
	// KindVirtualService is the kind of an Istio VirtualService target.
	KindVirtualService = "VirtualService"
	// GroupContour is the API group of Contour's HTTPProxy.
	GroupContour = "projectcontour.io"
	// KindHTTPProxy is the kind of a Contour HTTPProxy target.
	KindHTTPProxy = "HTTPProxy"
)

// ReasonRefused means the target's data plane cannot express any useful
// part of the policy, and writing what remains would fall back to the data
// plane's permissive defaults; nothing is written.
const ReasonRefused = "Refused"

// ReasonClusterPolicyViolation means the policy breaks a rule of a
// ClusterCorsPolicy that selects its namespace; the message names the
// ClusterCorsPolicy and the rule.
const ReasonClusterPolicyViolation = "ClusterPolicyViolation"
