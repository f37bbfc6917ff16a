package ingressnginx

import (
	"regexp"

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

// fixAccepts is what the validation accepts in one item of each list an
// explain fix edits: an http(s) origin with a plain host, and the items of
// the method and header lists.
var fixAccepts = map[string]*regexp.Regexp{
	corscheck.FieldAllowOrigins: regexp.MustCompile(`^https?://[A-Za-z0-9.-]+(:[0-9]+)?$`),
	corscheck.FieldAllowMethods: methodItem.Accepted,
	corscheck.FieldAllowHeaders: headerItem.Accepted,
}

// NewFixer returns the fixer of an Ingress ("namespace/name") configured by
// ingress-nginx annotations, whose configuration is now effective.
func NewFixer(ingress string, effective dataplanes.Effective) dataplanes.Fixer {
	return dataplanes.AnnotationFixer{DataPlane: Name, Ingress: ingress, Effective: effective, Keys: fixKeys, Accepts: fixAccepts}
}
