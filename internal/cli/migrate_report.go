package cli

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"

	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"

	"github.com/kubecors/kubecors/internal/corscheck"
	"github.com/kubecors/kubecors/internal/corsrules"
	"github.com/kubecors/kubecors/internal/dataplanes"
	"github.com/kubecors/kubecors/internal/dataplanes/gatewayapi"
	"github.com/kubecors/kubecors/internal/dataplanes/ingressnginx"
	"github.com/kubecors/kubecors/internal/dataplanes/registry"
)

// migrateAttackerOrigin is an origin nobody means to allow (.example is
// reserved and never resolves).
const migrateAttackerOrigin = "https://evil.example"

// The columns of the difference report.
const (
	columnNginx  = "NGINX"
	columnCopy   = "INGRESS2GATEWAY"
	columnPolicy = "KUBECORS"
	columnKept   = "KEPT FILTER"
)

// comparison is one target whose browser-visible behaviour migrate
// compares: nginx as it was, what will answer now, and ingress2gateway's
// copy.
type comparison struct {
	nginx, now, copied dataplanes.Model
	// nowColumn names what answers now: kubecors's policy or the filter
	// that was kept.
	nowColumn string
}

// probe is one request of the comparison, with the label the report gives
// it.
type probe struct {
	label string
	req   corscheck.Request
}

// differenceRow is one probe whose verdict changes.
type differenceRow struct {
	label                          string
	nginx, now, copied             string
	widened, narrowed, copyWidened bool
}

// differences probes the three models with the same requests and keeps
// those whose verdict is not the same everywhere.
func (c comparison) differences() (rows []differenceRow, probed int) {
	probes := comparisonProbes(c.nginx, c.now, c.copied)
	for _, p := range probes {
		old, oldOK := verdictOf(c.nginx, p.req)
		now, nowOK := verdictOf(c.now, p.req)
		cp, cpOK := verdictOf(c.copied, p.req)
		if oldOK == nowOK && oldOK == cpOK {
			continue
		}
		rows = append(rows, differenceRow{label: p.label, nginx: old, now: now, copied: cp,
			widened: nowOK && !oldOK, narrowed: oldOK && !nowOK, copyWidened: cpOK && !oldOK})
	}
	return rows, len(probes)
}

// verdictOf runs the browser's CORS check against a model.
func verdictOf(m dataplanes.Model, req corscheck.Request) (string, bool) {
	_, v, err := corscheck.Run(m, req)
	switch {
	case err != nil:
		return "error: " + err.Error(), false
	case v.Allowed:
		return "allowed", true
	case v.Failure != nil:
		return "blocked (" + v.Failure.Class + ")", false
	}
	return "blocked", false
}

// comparisonProbes chooses the requests: every origin the configurations
// name, with adversarial neighbours (a deeper subdomain, the bare domain, a
// look-alike suffix, the other scheme), an arbitrary origin and "null",
// each with and without credentials; then, from an origin nginx allowed,
// every method and request header they list or a page commonly sends, and
// reading every exposed header.
func comparisonProbes(models ...dataplanes.Model) []probe {
	var origins, methods, headers, exposed []string
	add := func(list *[]string, values ...string) {
		for _, v := range values {
			if !slices.ContainsFunc(*list, func(x string) bool { return strings.EqualFold(x, v) }) {
				*list = append(*list, v)
			}
		}
	}
	for _, m := range models {
		eff := m.Effective()
		for _, o := range eff.AllowOrigins {
			add(&origins, originNeighbours(o)...)
		}
		add(&methods, eff.AllowMethods...)
		add(&headers, eff.AllowHeaders...)
		add(&exposed, eff.ExposeHeaders...)
	}
	add(&origins, migrateAttackerOrigin, "null")
	add(&methods, http.MethodPut, http.MethodDelete, http.MethodPatch)
	add(&headers, "Authorization", "X-Requested-With")
	var probes []probe
	for _, o := range origins {
		probes = append(probes,
			probe{label: "GET from " + o, req: corscheck.Request{Origin: o, Method: http.MethodGet, Headers: http.Header{}}},
			probe{label: "GET from " + o + ", credentialed", req: corscheck.Request{Origin: o, Method: http.MethodGet, Headers: http.Header{}, Credentials: true}})
	}
	reference := referenceOrigin(models, origins)
	if reference == "" {
		return probes
	}
	for _, credentials := range []bool{false, true} {
		suffix := ""
		if credentials {
			suffix = ", credentialed"
		}
		for _, m := range methods {
			req := corscheck.Request{Origin: reference, Method: m, Headers: http.Header{}, Credentials: credentials}
			if m == "*" || corscheck.Validate(req) != nil {
				continue
			}
			if needs, _ := corscheck.NeedsPreflight(req); needs {
				probes = append(probes, probe{label: m + " from " + reference + suffix, req: req})
			}
		}
		for _, h := range headers {
			req := corscheck.Request{Origin: reference, Method: http.MethodGet, Headers: http.Header{h: {"x"}}, Credentials: credentials}
			if h == "*" || corscheck.Validate(req) != nil {
				continue
			}
			if needs, _ := corscheck.NeedsPreflight(req); needs {
				probes = append(probes, probe{label: "GET with " + h + " from " + reference + suffix, req: req})
			}
		}
		for _, h := range exposed {
			req := corscheck.Request{Origin: reference, Method: http.MethodGet, Headers: http.Header{}, Credentials: credentials, ReadHeaders: []string{h}}
			if h == "*" || corscheck.Validate(req) != nil {
				continue
			}
			probes = append(probes, probe{label: "GET reading " + h + " from " + reference + suffix, req: req})
		}
	}
	return probes
}

// referenceOrigin is the origin methods and headers are probed from: the
// first one nginx (else the next model) answered a plain GET for.
func referenceOrigin(models []dataplanes.Model, origins []string) string {
	for _, m := range models {
		for _, o := range origins {
			if _, ok := verdictOf(m, corscheck.Request{Origin: o, Method: http.MethodGet, Headers: http.Header{}}); ok {
				return o
			}
		}
	}
	return ""
}

// originNeighbours is an allowed origin as a browser sends it, with the
// origins an attacker would try next to it.
func originNeighbours(written string) []string {
	if written == "*" {
		return nil
	}
	p, err := corsrules.ParseOriginPattern(strings.ToLower(written))
	if err != nil {
		// ingress2gateway copies values nginx rejected, such as a path:
		// probe the origin they were meant to be.
		scheme, rest, ok := strings.Cut(strings.ToLower(written), "://")
		host, _, _ := strings.Cut(rest, "/")
		if p, err = corsrules.ParseOriginPattern(scheme + "://" + host); !ok || err != nil {
			return nil
		}
	}
	if p.Port == corsrules.AnyPort {
		p.Port = 8080
	}
	other := p
	other.Scheme = corsrules.SchemeHTTP
	if p.Scheme == corsrules.SchemeHTTP {
		other.Scheme = corsrules.SchemeHTTPS
	}
	lookalike := p
	lookalike.SubdomainWildcard = false
	lookalike.Host = p.Host + ".evil.example"
	if !p.SubdomainWildcard {
		return []string{p.String(), lookalike.String(), other.String()}
	}
	apex, prefixed := p, p
	apex.SubdomainWildcard = false
	prefixed.SubdomainWildcard = false
	prefixed.Host = "evil" + p.Host
	other.Host = "app." + p.Host
	other.SubdomainWildcard = false
	return []string{wildcardSample(p, "app"), wildcardSample(p, "a.b"), apex.String(), prefixed.String(), lookalike.String(), other.String()}
}

// printMigrationReport writes what migrate did and, per target, the
// browser-visible differences.
func printMigrationReport(w io.Writer, m *migration) error {
	p := &textPrinter{w: w}
	for _, mi := range m.ingresses {
		if mi.policy == nil {
			p.linef("Ingress %s: %s", objectRef(mi.ingress.Namespace, mi.ingress.Name), mi.skipped)
			continue
		}
		targets := make([]string, len(mi.policy.Spec.TargetRefs))
		for i, ref := range mi.policy.Spec.TargetRefs {
			targets[i] = ref.Kind + " " + ref.Name
			if ref.SectionName != nil {
				targets[i] += fmt.Sprintf(" rule %q", *ref.SectionName)
			}
		}
		p.linef("CorsPolicy %s reproduces Ingress %s; it targets %s", objectRef(mi.policy.Namespace, mi.policy.Name),
			objectRef(mi.ingress.Namespace, mi.ingress.Name), strings.Join(targets, ", "))
		for _, c := range mi.changes {
			p.line("  - " + c)
		}
	}
	for _, r := range m.routes {
		for _, group := range groupRules(r.rules) {
			p.line("")
			printRuleGroup(p, r, group)
		}
	}
	for _, mi := range m.ingresses {
		if !mi.targetsIngress() {
			continue
		}
		p.line("")
		p.linef("Ingress %s (no HTTPRoute generated from it was given: the CorsPolicy targets the Ingress)", objectRef(mi.ingress.Namespace, mi.ingress.Name))
		plane, _ := registry.Lookup(ingressnginx.Name)
		now, narrowed, refused, err := plane.Rendered(policyOf(mi), dataplanes.IngressTarget{Namespace: mi.ingress.Namespace, Name: mi.ingress.Name})
		if err != nil {
			p.linef("  cannot render the CorsPolicy: %v", err)
			continue
		}
		printRendering(p, "ingress-nginx", narrowed, refused)
		copied := ingress2gatewayFilter(mi.ingress.Annotations)
		printCopyRejections(p, copied)
		printComparison(p, comparison{nginx: mi.nginx, now: now, copied: copyModel(copied), nowColumn: columnPolicy}, "ingress2gateway would write")
	}
	return p.err
}

// groupRules groups the rules of a route that migrate treated alike, so
// that each comparison is printed once.
func groupRules(rules []migratedRule) [][]migratedRule {
	var groups [][]migratedRule
	key := func(r migratedRule) string {
		data, _ := json.Marshal(r.filter)
		src := ""
		if r.generatedFrom != nil {
			src = r.generatedFrom.Name
		}
		return src + "|" + string(r.outcome) + "|" + string(data)
	}
	for _, r := range rules {
		if r.outcome == ruleNoCORS {
			continue
		}
		i := slices.IndexFunc(groups, func(g []migratedRule) bool { return key(g[0]) == key(r) })
		if i < 0 {
			groups = append(groups, []migratedRule{r})
		} else {
			groups[i] = append(groups[i], r)
		}
	}
	return groups
}

// printRuleGroup prints what migrate did with rules of a route and how
// browsers see them now.
func printRuleGroup(p *textPrinter, r *migratedRoute, group []migratedRule) {
	labels := make([]string, len(group))
	for i, rule := range group {
		labels[i] = rule.label()
	}
	first := group[0]
	from := "generated from no given Ingress"
	if first.generatedFrom != nil {
		from = "from Ingress " + objectRef(first.generatedFrom.Namespace, first.generatedFrom.Name)
	}
	p.linef("%s, %s (%s)", r.object(), strings.Join(labels, ", "), from)
	kept := func() dataplanes.Model {
		return gatewayapi.ParseGatewayCORS(first.filter, fmt.Sprintf("spec.rules[%d].filters[%d].cors", first.index, first.filterIndex))
	}
	c := comparison{nginx: first.nginx, copied: copyModel(first.copied), nowColumn: columnKept}
	switch first.outcome {
	case ruleCopyRemoved, ruleNoFilter:
		what := "ingress2gateway's CORS filter removed"
		if first.outcome == ruleNoFilter {
			what = "the rule has no CORS filter (ingress2gateway wrote none, or it was removed already)"
		}
		policy := first.source.policy
		switch {
		case policy == nil && first.source.nginx.Effective().Enabled:
			p.linef("  CORS filter kept; no CorsPolicy: %s", first.source.skipped)
			c.now = kept()
		case policy == nil:
			p.linef("  %s; no CorsPolicy: %s", what, first.source.skipped)
			c.now, c.nowColumn = dataplanes.NoCORS(gatewayapi.Name, "the rule has no CORS filter"), "NOW"
		}
		if policy == nil {
			break
		}
		p.linef("  %s; CorsPolicy %s programs it", what, objectRef(policy.Namespace, policy.Name))
		plane, _ := registry.Lookup(gatewayapi.Name)
		now, narrowed, refused, err := plane.Rendered(policyOf(first.source), dataplanes.IngressTarget{})
		if err != nil {
			p.linef("  cannot render the CorsPolicy: %v", err)
			return
		}
		printRendering(p, "Gateway API", narrowed, refused)
		c.now, c.nowColumn = now, columnPolicy
	case ruleChanged:
		p.line("  CORS filter kept: it differs from what ingress2gateway writes for the Ingress, so it was changed by hand; kubecors does not " +
			"program these rules. To hand them to kubecors, remove the filter and add the rules to the CorsPolicy's targetRefs")
		c.now = kept()
	case ruleForeign:
		p.line("  CORS filter kept: ingress2gateway writes none for these rules, so it is not its copy")
		c.now = kept()
	case ruleUnnamed:
		p.line("  ingress2gateway's CORS filter kept: the route also has rules of other Ingresses and these rules have no name, so a CorsPolicy " +
			"cannot target them alone (sectionName); name them (spec.rules[].name) and run migrate again")
		c.now = kept()
	case ruleAmbiguous:
		p.line("  CORS filter kept: Ingresses with different CORS annotations have this path, so which one ingress2gateway copied is unknown")
		c.now = kept()
	}
	if c.nginx == nil {
		return
	}
	printCopyRejections(p, first.copied)
	printComparison(p, c, "ingress2gateway's copy")
}

// printCopyRejections says which values of ingress2gateway's copy the API
// server rejects (it copies annotations without validating them), so that
// applying its route fails as a whole.
func printCopyRejections(p *textPrinter, f *gatewayv1.HTTPCORSFilter) {
	if f == nil {
		return
	}
	var bad []string
	for i, o := range f.AllowOrigins {
		if !gatewayapi.ValidCORSOrigin(string(o)) {
			bad = append(bad, fmt.Sprintf("allowOrigins[%d] %q is not a Gateway API CORSOrigin", i, o))
		}
	}
	for i, m := range f.AllowMethods {
		if !gatewayapi.ValidCORSMethod(string(m)) {
			bad = append(bad, fmt.Sprintf("allowMethods[%d] %q is not one of Gateway API's methods", i, m))
		}
	}
	if f.MaxAge < 0 {
		bad = append(bad, fmt.Sprintf("maxAge %d is below Gateway API's minimum of 1", f.MaxAge))
	}
	if len(bad) > 0 {
		p.linef("  the API server rejects ingress2gateway's copy (%s), and with it the whole HTTPRoute", strings.Join(bad, "; "))
	}
}

// printRendering says what the data plane could not express of the policy.
func printRendering(p *textPrinter, plane string, narrowed []dataplanes.Narrowing, refused string) {
	if refused != "" {
		p.linef("  %s: nothing is written: %s", plane, refused)
	}
	for _, n := range narrowed {
		p.linef("  %s narrows %s %q: %s", plane, n.Field, n.Value, n.Reason)
	}
}

// printComparison prints the requests whose verdict changes, and the
// preflight cache times.
func printComparison(p *textPrinter, c comparison, copyLabel string) {
	rows, probed := c.differences()
	header := []string{"REQUEST", columnNginx, c.nowColumn, columnCopy}
	table := make([][]string, 0, 1+len(rows))
	table = append(table, header)
	var widened, narrowed, copyWidened int
	for _, r := range rows {
		table = append(table, []string{r.label, r.nginx, r.now, r.copied})
		if r.widened {
			widened++
		}
		if r.narrowed {
			narrowed++
		}
		if r.copyWidened {
			copyWidened++
		}
	}
	p.linef("  %s probed; %d change verdict (%s: %s allowed that nginx blocked; %s: %d allowed that nginx blocked, %d blocked that nginx allowed)",
		plural(probed, "request", "requests"), len(rows), copyLabel, plural(copyWidened, "request", "requests"), strings.ToLower(c.nowColumn), widened, narrowed)
	if len(rows) > 0 {
		writeTable(p, "  ", table)
	}
	p.linef("  preflight cache (Access-Control-Max-Age): nginx %s, %s %s, %s %s", maxAgeOf(c.nginx), strings.ToLower(c.nowColumn), maxAgeOf(c.now),
		copyLabel, maxAgeOf(c.copied))
}

// maxAgeOf writes a model's max age.
func maxAgeOf(m dataplanes.Model) string {
	eff := m.Effective()
	if !eff.Enabled || eff.MaxAge == nil {
		return "none"
	}
	return strconv.FormatInt(*eff.MaxAge, 10) + " s"
}

// copyModel reads ingress2gateway's filter as a conformant gateway does.
func copyModel(f *gatewayv1.HTTPCORSFilter) dataplanes.Model {
	if f == nil {
		return dataplanes.NoCORS(gatewayapi.Name, "ingress2gateway writes no CORS filter")
	}
	return gatewayapi.ParseGatewayCORS(filterContent(f), "ingress2gateway's filter")
}

// policyOf is a migrated Ingress's policy as renderers take it.
func policyOf(mi *migratedIngress) dataplanes.Policy {
	return dataplanes.Policy{Namespace: mi.policy.Namespace, Name: mi.policy.Name, Spec: mi.policy.Spec}
}
