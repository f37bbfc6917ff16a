package v1alpha1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// ClusterPolicyMode says what happens to a CorsPolicy that breaks a
// ClusterCorsPolicy's rules.
//
// +kubebuilder:validation:Enum=Enforce;Audit
type ClusterPolicyMode string

const (
	// ModeEnforce rejects violating CorsPolicies at admission and stops
	// programming existing ones.
	ModeEnforce ClusterPolicyMode = "Enforce"
	// ModeAudit admits violating CorsPolicies with a warning and only
	// reports them.
	ModeAudit ClusterPolicyMode = "Audit"
)

// ClusterCorsRules are the limits a ClusterCorsPolicy sets on every
// CorsPolicy of the namespaces it selects. An empty rule set allows
// everything the CorsPolicy rules allow.
type ClusterCorsRules struct {
	// AllowedOrigins are origin patterns that every entry of a policy's
	// allowOrigins must fall within: "https://*.corp.example.com" admits
	// "https://app.corp.example.com" and "https://*.a.corp.example.com",
	// "http://localhost:*" admits "http://localhost:3000". Containment is
	// by pattern, not by string prefix, and a policy's "*" falls within
	// only "*". The patterns follow the CorsPolicy origin rules. When
	// empty, any origin is allowed. At most 64 entries.
	//
	// +optional
	// +listType=set
	// +kubebuilder:validation:MaxItems=64
	AllowedOrigins []Origin `json:"allowedOrigins,omitempty"`

	// ForbidCredentials rejects policies with allowCredentials: true.
	//
	// +optional
	ForbidCredentials bool `json:"forbidCredentials,omitempty"`

	// RequireHTTPS rejects plain-http origins. Loopback origins
	// (localhost, 127.0.0.1, [::1]) stay allowed unless ForbidLoopback is
	// also set.
	//
	// +optional
	RequireHTTPS bool `json:"requireHTTPS,omitempty"`

	// ForbidLoopback rejects loopback origins (localhost, 127.0.0.1,
	// [::1]), over http or https, as production namespaces should never
	// serve pages running on a developer's machine.
	//
	// +optional
	ForbidLoopback bool `json:"forbidLoopback,omitempty"`

	// MaxMaxAge is the largest maxAge, in seconds, a policy may set.
	//
	// +optional
	// +kubebuilder:validation:Minimum=0
	// +kubebuilder:validation:Maximum=86400
	MaxMaxAge *int32 `json:"maxMaxAge,omitempty"`

	// ForbiddenRequestHeaders are request headers no policy may allow
	// (compared ignoring case); a policy allowing "*" breaks this rule too.
	// At most 64 entries.
	//
	// +optional
	// +listType=set
	// +kubebuilder:validation:MaxItems=64
	ForbiddenRequestHeaders []RequestHeaderName `json:"forbiddenRequestHeaders,omitempty"`

	// ForbiddenMethods are methods no policy may allow (compared exactly,
	// as methods are case-sensitive); a policy allowing "*" breaks this
	// rule too. At most 32 entries.
	//
	// +optional
	// +listType=set
	// +kubebuilder:validation:MaxItems=32
	ForbiddenMethods []HTTPMethod `json:"forbiddenMethods,omitempty"`

	// ForbidOptIns rejects the loudly named opt-ins of a CorsPolicy:
	// dangerouslyAllowInsecureOrigins and
	// dangerouslyAllowPublicSuffixWildcards.
	//
	// +optional
	ForbidOptIns bool `json:"forbidOptIns,omitempty"`
}

// ClusterCorsPolicySpec selects namespaces and sets the rules their
// CorsPolicies must follow.
//
// +kubebuilder:validation:XValidation:rule="!has(self.defaultPolicy) || (has(self.defaultPolicy.targetSelector) && (!has(self.defaultPolicy.targetRefs) || size(self.defaultPolicy.targetRefs) == 0))",fieldPath=".defaultPolicy",message="a defaultPolicy applies by label in many namespaces: set defaultPolicy.targetSelector and leave out targetRefs"
type ClusterCorsPolicySpec struct {
	// NamespaceSelector selects the namespaces whose CorsPolicies the
	// rules apply to. When unset or empty, every namespace is selected.
	//
	// +optional
	NamespaceSelector *metav1.LabelSelector `json:"namespaceSelector,omitempty"`

	// Mode is Enforce (violating CorsPolicies are rejected at admission,
	// and existing ones are not programmed: what kubecors wrote for them
	// is removed) or Audit (they are admitted with a warning and reported,
	// nothing is blocked). Defaults to Enforce.
	//
	// +optional
	// +kubebuilder:default=Enforce
	Mode ClusterPolicyMode `json:"mode,omitempty"`

	// Rules are the limits. Several ClusterCorsPolicies selecting a
	// namespace all apply: a policy must satisfy each of them.
	Rules ClusterCorsRules `json:"rules"`

	// DefaultPolicy, when set, is the CORS behaviour of the Ingresses and
	// HTTPRoutes of the selected namespaces that match its targetSelector
	// and that no CorsPolicy of their own namespace targets: a namespace's
	// own policy always takes precedence. kubecors keeps a CorsPolicy
	// named "kubecors-default-<name>" in each selected namespace for it,
	// rendered and reported exactly like any CorsPolicy, and removes it
	// when the namespace leaves the selection or this object goes away.
	// It must set targetSelector and no targetRefs.
	//
	// +optional
	DefaultPolicy *CorsPolicySpec `json:"defaultPolicy,omitempty"`
}

// ClusterPolicyViolator is a CorsPolicy that breaks a rule.
type ClusterPolicyViolator struct {
	// Namespace of the CorsPolicy.
	//
	// +kubebuilder:validation:MaxLength=63
	Namespace string `json:"namespace"`
	// Name of the CorsPolicy.
	//
	// +kubebuilder:validation:MaxLength=253
	Name string `json:"name"`
	// Rule is the first rule it breaks, e.g. "rules.allowedOrigins".
	//
	// +kubebuilder:validation:MaxLength=64
	Rule string `json:"rule"`
	// Message says how it breaks the rule.
	//
	// +kubebuilder:validation:MaxLength=1024
	Message string `json:"message"`
}

// ClusterCorsPolicyStatus reports what a ClusterCorsPolicy covers and who
// is out of line.
type ClusterCorsPolicyStatus struct {
	// ObservedGeneration is the generation these counts were computed for.
	//
	// +optional
	ObservedGeneration int64 `json:"observedGeneration,omitempty"`
	// Namespaces counts the selected namespaces.
	//
	// +optional
	Namespaces int32 `json:"namespaces"`
	// CorsPolicies counts the CorsPolicies of the selected namespaces.
	//
	// +optional
	CorsPolicies int32 `json:"corsPolicies"`
	// Violations counts the CorsPolicies that break a rule.
	//
	// +optional
	Violations int32 `json:"violations"`
	// Violators lists violating CorsPolicies, at most 50, sorted by
	// namespace and name.
	//
	// +optional
	// +listType=atomic
	// +kubebuilder:validation:MaxItems=50
	Violators []ClusterPolicyViolator `json:"violators,omitempty"`
	// Conditions: Ready once the counts are current.
	//
	// +optional
	// +listType=map
	// +listMapKey=type
	// +kubebuilder:validation:MaxItems=8
	Conditions []metav1.Condition `json:"conditions,omitempty"`
}

// ClusterCorsPolicy sets, once for many namespaces, what their CorsPolicies
// may say: which origins, whether credentials or plain http are allowed,
// the largest max age, forbidden headers and methods, and whether the
// loudly named opt-ins may be used.
//
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:scope=Cluster,shortName=ccors,categories=kubecors
// +kubebuilder:printcolumn:name="Mode",type=string,JSONPath=`.spec.mode`
// +kubebuilder:printcolumn:name="Namespaces",type=integer,JSONPath=`.status.namespaces`
// +kubebuilder:printcolumn:name="Policies",type=integer,JSONPath=`.status.corsPolicies`
// +kubebuilder:printcolumn:name="Violations",type=integer,JSONPath=`.status.violations`
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
type ClusterCorsPolicy struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// Spec is the namespace selection and the rules.
	Spec ClusterCorsPolicySpec `json:"spec"`

	// Status is what kubecors found.
	//
	// +optional
	Status ClusterCorsPolicyStatus `json:"status,omitempty"`
}

// ClusterCorsPolicyList is a list of ClusterCorsPolicy objects.
//
// +kubebuilder:object:root=true
type ClusterCorsPolicyList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []ClusterCorsPolicy `json:"items"`
}
