package dataplanes

import (
	"fmt"
	"regexp"
	"slices"
	"strings"

	"github.com/kubecors/kubecors/internal/corscheck"
)

// AnnotationFixer writes kubectl cors explain's fixes as annotation edits,
// for the data planes configured by Ingress annotations alone. Each of them
// supplies its keys and what its validation accepts.
type AnnotationFixer struct {
	// DataPlane is the data plane's name, for messages.
	DataPlane string
	// Ingress is the Ingress as "namespace/name".
	Ingress string
	// Effective is the configuration the Ingress has now.
	Effective Effective
	// Keys maps SettingEnabled and corscheck's field names to the data
	// plane's annotation keys.
	Keys map[string]string
	// Accepts maps corscheck.FieldAllowOrigins, FieldAllowMethods and
	// FieldAllowHeaders to what the data plane's validation accepts in one
	// item of that list (exposed headers are checked as request headers);
	// a value it rejects would make the data plane fall back to a default.
	Accepts map[string]*regexp.Regexp
}

// Edit writes the change as the annotation values to set, with the kubectl
// command that sets them.
func (f AnnotationFixer) Edit(c corscheck.Change, _ *corscheck.Diagnosis, _ corscheck.Request) (string, bool) {
	e := f.Effective
	var current []string
	valid, sep := f.Accepts[corscheck.FieldAllowHeaders], ","
	switch c.Field {
	case corscheck.FieldAllowCredentials:
		return f.annotate([][2]string{{f.Keys[c.Field], CredentialsTrue}}), true
	case corscheck.FieldAllowOrigins:
		if !e.AnyOrigin {
			current = e.AllowOrigins
		}
		valid = f.Accepts[corscheck.FieldAllowOrigins]
	case corscheck.FieldAllowMethods:
		current, valid, sep = e.AllowMethods, f.Accepts[corscheck.FieldAllowMethods], ", "
	case corscheck.FieldAllowHeaders:
		current = e.AllowHeaders
	case corscheck.FieldExposeHeaders:
		current, sep = e.ExposeHeaders, ", "
	default:
		return "", false
	}
	list := slices.Clone(current)
	if c.Action == corscheck.ActionReplace {
		list = slices.DeleteFunc(list, func(v string) bool { return v == c.Replaces })
	}
	for _, v := range c.Values {
		if !valid.MatchString(v) {
			return fmt.Sprintf("%s cannot express %q in %s: its validation would replace the whole value with a default; "+
				"serve this target with a data plane that can, or let the backend answer CORS", f.DataPlane, v, f.Keys[c.Field]), true
		}
		if !slices.Contains(list, v) {
			list = append(list, v)
		}
	}
	edits := [][2]string{{f.Keys[c.Field], strings.Join(list, sep)}}
	if !e.Enabled {
		edits = append([][2]string{{f.Keys[SettingEnabled], CredentialsTrue}}, edits...)
	}
	return f.annotate(edits), true
}

// annotate writes annotation edits as a sentence and the kubectl command
// that makes them.
func (f AnnotationFixer) annotate(edits [][2]string) string {
	namespace, name, _ := strings.Cut(f.Ingress, "/")
	said := make([]string, 0, len(edits))
	args := make([]string, 0, len(edits))
	for _, e := range edits {
		said = append(said, fmt.Sprintf("%s to %q", e[0], e[1]))
		args = append(args, fmt.Sprintf("%s=%s", e[0], shellQuote(e[1])))
	}
	return fmt.Sprintf("set %s on Ingress %s:\n  kubectl annotate ingress %s -n %s --overwrite %s",
		strings.Join(said, " and "), f.Ingress, name, namespace, strings.Join(args, " "))
}

// CredentialsOff names the annotation value that turns credentials off.
func (f AnnotationFixer) CredentialsOff() string {
	return fmt.Sprintf("%s: \"false\" on Ingress %s", f.Keys[corscheck.FieldAllowCredentials], f.Ingress)
}

// shellQuote quotes a value for a POSIX shell.
func shellQuote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
