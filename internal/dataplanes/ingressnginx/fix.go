package ingressnginx

import (
	"github.com/kubecors/kubecors/internal/corscheck"
	"github.com/kubecors/kubecors/internal/dataplanes"
)

// fixKeys maps the notions kubectl cors explain fixes to ingress-nginx's
// annotations.
var fixKeys = map[string]string{
	dataplanes.SettingEnabled: EnableCors, corscheck.FieldAllowOrigins: AllowOrigin,
	corscheck.FieldAllowMethods: AllowMethods, corscheck.FieldAllowHeaders: AllowHeaders,
	corscheck.FieldExposeHeaders: ExposeHeaders, corscheck.FieldAllowCredentials: AllowCredentials,
}

// NewFixer returns the fixer of an Ingress ("namespace/name") configured by
// ingress-nginx annotations, whose configuration is now effective.
func NewFixer(ingress string, effective dataplanes.Effective) dataplanes.Fixer {
	return dataplanes.AnnotationFixer{DataPlane: Name, Ingress: ingress, Effective: effective, Keys: fixKeys}
}
