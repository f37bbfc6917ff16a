package kong

import (
	"fmt"

	"github.com/kubecors/kubecors/internal/corscheck"
	"github.com/kubecors/kubecors/internal/dataplanes"
)

// fixer writes kubectl cors explain's fixes as edits of the cors
// KongPlugin attached to a target.
type fixer struct {
	plugins []Plugin
	ingress string
}

// NewFixer returns the fixer of a target that attaches plugins; ingress is
// the Ingress ("namespace/name") that names them, empty for an HTTPRoute
// rule.
func NewFixer(plugins []Plugin, ingress string) dataplanes.Fixer {
	return fixer{plugins: plugins, ingress: ingress}
}

// fixFields maps the policy fields to config fields of the cors plugin.
var fixFields = map[string]string{
	corscheck.FieldAllowOrigins: "origins", corscheck.FieldAllowMethods: "methods",
	corscheck.FieldAllowHeaders: "headers", corscheck.FieldExposeHeaders: "exposed_headers",
	corscheck.FieldAllowCredentials: "credentials",
}

// corsPluginRef names the cors KongPlugin attached, "" when there is none.
func (f fixer) corsPluginRef() string {
	for _, p := range f.plugins {
		if hasCorsPlugin([]Plugin{p}) {
			return p.Object.GetNamespace() + "/" + p.Object.GetName()
		}
	}
	return ""
}

// Edit names the KongPlugin field to change, or the plugin to create.
func (f fixer) Edit(c corscheck.Change, _ *corscheck.Diagnosis, req corscheck.Request) (string, bool) {
	ref := f.corsPluginRef()
	if ref == "" {
		where := "the route"
		if f.ingress != "" {
			where = "Ingress " + f.ingress + " (in " + PluginsAnnotation + ")"
		}
		return fmt.Sprintf("no cors KongPlugin is attached to %s: create a KongPlugin with plugin: cors, config.origins: [%q] "+
			"(never empty: Kong reads an empty list as every origin) and the methods and headers the page needs, and attach it to %s", where, req.Origin, where), true
	}
	return c.Render(func(field string) string {
		return fmt.Sprintf("config.%s of KongPlugin %s", fixFields[field], ref)
	}), true
}

// CredentialsOff names the plugin field that turns credentials off.
func (f fixer) CredentialsOff() string {
	if ref := f.corsPluginRef(); ref != "" {
		return fmt.Sprintf("config.credentials: false on KongPlugin %s", ref)
	}
	return "config.credentials: false"
}
