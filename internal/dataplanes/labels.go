package dataplanes

// Labels on every object kubecors creates, so that the controller can find
// the objects of a policy and people can tell who manages them.
const (
	// LabelManagedBy marks objects that kubecors creates and owns.
	LabelManagedBy = "app.kubernetes.io/managed-by"
	// ManagedByKubecors is the value of LabelManagedBy on kubecors objects.
	ManagedByKubecors = "kubecors"
	// LabelPolicy names the CorsPolicy an object was rendered from.
	LabelPolicy = "kubecors.io/policy"
)
