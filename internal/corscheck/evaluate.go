package corscheck

import (
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
)

// Check names of the steps, as Step.Check shows them.
const (
	checkForbiddenHeader = "forbidden header"
	checkPreflight       = "preflight"
	checkStatus          = "status"
	checkSent            = "sent"
	checkRedirect        = "redirect"
)

// Fixes that are not a change to one policy field.
const (
	fixHandlePreflight = "make the route answer OPTIONS preflights: a CorsPolicy targeting it has the data plane answer them"
	serverFixPreflight = "answer OPTIONS for this URL with 204 No Content and the CORS headers, before any authentication or routing that rejects it"
	fixVaryOrigin      = "none in the policy (Vary is not a CorsPolicy field): add Vary: Origin where the response is produced"
	serverFixVary      = "add Vary: Origin to every response whose Access-Control-Allow-Origin depends on the request's Origin"
	fixInvalidList     = "none in the policy: kubecors writes valid lists; correct the hand-written header"
	fixSetCookie       = "none: browsers never let scripts read Set-Cookie or Set-Cookie2; read the cookie's effect instead"
)

// Render writes the change as a sentence, naming the field through
// fieldName, e.g. `add "PUT" to spec.allowMethods` when fieldName prefixes
// "spec.".
func (c Change) Render(fieldName func(field string) string) string {
	field := fieldName(c.Field)
	switch c.Action {
	case ActionSet:
		value := ""
		if len(c.Values) > 0 {
			value = c.Values[0]
		}
		return fmt.Sprintf("set %s to %s", field, value)
	case ActionReplace:
		return fmt.Sprintf("replace %q in %s with %s", c.Replaces, field, quoteList(c.Values))
	default:
		return fmt.Sprintf("add %s to %s", quoteList(c.Values), field)
	}
}

// SpecField names a CorsPolicy field the way Diagnosis.Fix does:
// "spec.allowOrigins".
func SpecField(field string) string {
	return "spec." + field
}

// Evaluate walks the browser's CORS checks over an exchange for req and
// returns the verdict: whether a preflight is needed, then the preflight
// response (ok status, CORS check, allowed methods and headers), then the
// actual response (CORS check), then which response headers the page can
// read. It stops at the first failure, as the browser does; a response
// that is needed but missing from ex makes the verdict Incomplete.
// Redirects are not followed: a redirect of the preflight fails it, a
// redirect of the actual request is reported as ClassRedirect.
func Evaluate(req Request, ex Exchange) Verdict {
	normalized, notes := Normalize(req)
	e := &evaluation{req: normalized}
	for _, note := range notes {
		e.step(StageRequest, checkForbiddenHeader, OutcomeNote, note)
	}
	e.v.PreflightNeeded, e.v.PreflightReasons = NeedsPreflight(normalized)
	e.evaluate(ex)
	e.v.Allowed = e.v.Failure == nil && !e.v.Incomplete
	return e.v
}

// Run carries out req against server as a browser does: the preflight
// when one is needed, then, unless the preflight failed, the actual
// request; and evaluates the exchange. An error means the request could
// not be made (see Validate) or the server could not be reached; then the
// exchange holds what was answered until then. When server.Actual returns
// ErrNotSent the verdict covers the preflight only.
func Run(server Server, req Request) (Exchange, Verdict, error) {
	var ex Exchange
	if err := Validate(req); err != nil {
		return ex, Verdict{}, err
	}
	// The server sees what the browser sends; Evaluate gets the page's
	// request so that its steps can say what the browser changed.
	sent, _ := Normalize(req)
	if needed, _ := NeedsPreflight(sent); needed {
		resp, err := server.Preflight(sent)
		if err != nil {
			return ex, Verdict{}, fmt.Errorf("preflight: %w", err)
		}
		ex.Preflight = &resp
		if v := Evaluate(req, ex); v.Failure != nil {
			return ex, v, nil
		}
	}
	resp, err := server.Actual(sent)
	switch {
	case errors.Is(err, ErrNotSent):
	case err != nil:
		return ex, Verdict{}, fmt.Errorf("actual request: %w", err)
	default:
		ex.Actual = &resp
	}
	return ex, Evaluate(req, ex), nil
}

// evaluation is one walk of Evaluate.
type evaluation struct {
	req Request
	v   Verdict
}

// step records a check.
func (e *evaluation) step(stage, check, outcome, detail string) {
	e.v.Steps = append(e.v.Steps, Step{Stage: stage, Check: check, Outcome: outcome, Detail: detail})
}

// fail records the failing check and the diagnosis, and ends the walk.
func (e *evaluation) fail(check, detail string, d Diagnosis) {
	e.step(d.Stage, check, OutcomeFail, detail)
	e.diagnose(d)
}

// diagnose records the diagnosis of a failure whose steps are recorded.
func (e *evaluation) diagnose(d Diagnosis) {
	if d.Change != nil {
		d.Fix = d.Change.Render(SpecField)
	}
	e.v.Failure = &d
}

// warn records a problem that does not block.
func (e *evaluation) warn(check, detail string, d Diagnosis) {
	e.step(d.Stage, check, OutcomeWarn, detail)
	if d.Change != nil {
		d.Fix = d.Change.Render(SpecField)
	}
	e.v.Warnings = append(e.v.Warnings, d)
}

// evaluate runs the stages in the browser's order.
func (e *evaluation) evaluate(ex Exchange) {
	if e.v.PreflightNeeded {
		e.step(StageRequest, checkPreflight, OutcomeNote, "needed: "+strings.Join(e.v.PreflightReasons, "; "))
		if ex.Preflight == nil {
			e.step(StagePreflight, checkSent, OutcomeNote, "no preflight response: the browser's verdict is unknown")
			e.v.Incomplete = true
			return
		}
		if !e.checkPreflight(*ex.Preflight) {
			return
		}
	} else {
		e.step(StageRequest, checkPreflight, OutcomeNote, "not needed: a "+e.req.Method+" request whose headers are all CORS-safelisted")
	}
	if ex.Actual == nil {
		e.step(StageActual, checkSent, OutcomeNote, "actual request not sent: the browser's verdict on its response is unknown")
		e.v.Incomplete = true
		return
	}
	if !e.checkActual(*ex.Actual) {
		return
	}
	e.checkReadable(*ex.Actual)
}

// checkPreflight checks the preflight response and reports whether it
// passed.
func (e *evaluation) checkPreflight(r Response) bool {
	if isRedirect(r) {
		location, _ := getHeader(r.Header, headerLocation)
		e.fail(checkRedirect, statusText(r.Status)+" to "+location, Diagnosis{
			Class: ClassRedirect, Stage: StagePreflight,
			Message:   fmt.Sprintf("the preflight got %s, a redirect to %s: browsers fail a preflight that redirects", statusText(r.Status), location),
			Fix:       fmt.Sprintf("make the page call %s directly, or the route answer OPTIONS here without redirecting", location),
			ServerFix: fmt.Sprintf("answer OPTIONS at this URL with 204 No Content and the CORS headers instead of redirecting, or make the page call %s", location),
		})
		return false
	}
	if r.Status < 200 || r.Status > 299 {
		e.fail(checkStatus, statusText(r.Status)+" is not an ok status (2xx)", Diagnosis{
			Class: ClassPreflightNotHandled, Stage: StagePreflight,
			Message:   fmt.Sprintf("the preflight (OPTIONS) got %s; browsers need an ok status (2xx), so the server does not handle preflights for this URL", statusText(r.Status)),
			Fix:       fixHandlePreflight,
			ServerFix: serverFixPreflight,
		})
		return false
	}
	e.step(StagePreflight, checkStatus, OutcomePass, statusText(r.Status)+" is an ok status")
	if !e.corsCheck(StagePreflight, r) {
		return false
	}
	return e.checkAllowMethodsParses(r) && e.checkAllowHeadersParses(r) && e.checkMethod(r) && e.checkHeaders(r)
}

// checkAllowMethodsParses fails the preflight when its
// Access-Control-Allow-Methods is not a list of method names, even for a
// safelisted method: browsers parse it before looking at the method.
func (e *evaluation) checkAllowMethodsParses(r Response) bool {
	_, err := headerList(r.Header, headerAllowMethods)
	if err == nil {
		return true
	}
	raw, _ := getHeader(r.Header, headerAllowMethods)
	d := Diagnosis{
		Class: ClassInvalidCORSHeader, Stage: StagePreflight,
		Message: fmt.Sprintf("the preflight response's Access-Control-Allow-Methods %q is not a comma-separated list of method names "+
			"(%v), so browsers fail the preflight", raw, err),
		Fix:       fixInvalidList,
		ServerFix: "write Access-Control-Allow-Methods as a comma-separated list of method names",
	}
	if method := e.req.Method; !slices.Contains(safelistedMethods, method) {
		d.Change = &Change{Action: ActionAdd, Field: FieldAllowMethods, Values: []string{method}}
		d.ServerFix += " that includes " + method
	}
	e.fail(headerAllowMethods, fmt.Sprintf("%q is not a list of methods", raw), d)
	return false
}

// checkAllowHeadersParses fails the preflight when its
// Access-Control-Allow-Headers is not a list of header names, even when the
// page sets no header that needs it: browsers parse both lists first and
// fail on either.
func (e *evaluation) checkAllowHeadersParses(r Response) bool {
	_, err := headerList(r.Header, headerAllowHeaders)
	if err == nil {
		return true
	}
	raw, _ := getHeader(r.Header, headerAllowHeaders)
	unsafe, _ := unsafeHeaderNames(fieldsOf(e.req.Headers))
	d := Diagnosis{
		Class: ClassInvalidCORSHeader, Stage: StagePreflight,
		Message: fmt.Sprintf("the preflight response's Access-Control-Allow-Headers %q is not a comma-separated list of header names "+
			"(%v), so browsers fail the preflight", raw, err),
		Fix:       fixInvalidList,
		ServerFix: "write Access-Control-Allow-Headers as a comma-separated list of header names",
	}
	if len(unsafe) > 0 {
		display := make([]string, len(unsafe))
		for i, name := range unsafe {
			display[i] = http.CanonicalHeaderKey(name)
		}
		d.Change = &Change{Action: ActionAdd, Field: FieldAllowHeaders, Values: display}
		d.ServerFix += " that includes " + strings.Join(unsafe, ", ")
	}
	e.fail(headerAllowHeaders, fmt.Sprintf("%q is not a list of header names", raw), d)
	return false
}

// checkActual checks the actual response and reports whether it passed.
func (e *evaluation) checkActual(r Response) bool {
	if !e.corsCheck(StageActual, r) {
		return false
	}
	if isRedirect(r) {
		location, _ := getHeader(r.Header, headerLocation)
		e.fail(checkRedirect, statusText(r.Status)+" to "+location, Diagnosis{
			Class: ClassRedirect, Stage: StageActual,
			Message: fmt.Sprintf("the actual request got %s, a redirect to %s; browsers follow it and run the CORS check again on the next response "+
				"(with Origin: null after a cross-origin redirect), which is not modelled here", statusText(r.Status), location),
			Fix:       fmt.Sprintf("make the page call %s directly, and check that URL as well", location),
			ServerFix: fmt.Sprintf("serve the resource without redirecting, or make the page call %s and check that URL as well", location),
		})
		return false
	}
	return true
}

// corsCheck is Fetch's CORS check of a response (the preflight's or the
// actual one) and reports whether it passed. It also warns when the
// actual response echoes the origin without Vary: Origin.
func (e *evaluation) corsCheck(stage string, r Response) bool {
	origin := e.req.Origin
	what := "the response"
	if stage == StagePreflight {
		what = "the preflight response"
	}
	addOrigin := &Change{Action: ActionAdd, Field: FieldAllowOrigins, Values: []string{origin}}
	serverFixOrigin := fmt.Sprintf("answer with Access-Control-Allow-Origin: %s", origin)
	values := headerValues(r.Header, headerAllowOrigin)
	allowed := strings.Join(values, ", ")
	switch {
	case len(values) == 0 && !hasCORSHeaders(r.Header):
		e.fail(headerAllowOrigin, "missing, and no other CORS header either", Diagnosis{
			Class: ClassNoCORSHeaders, Stage: stage,
			Message:   fmt.Sprintf("%s carries no CORS headers (no Access-Control-Allow-Origin): the server does not do CORS for this URL", what),
			Change:    addOrigin,
			ServerFix: serverFixOrigin,
		})
		return false
	case len(values) == 0:
		e.fail(headerAllowOrigin, "missing, though other CORS headers are there", Diagnosis{
			Class: ClassOriginMismatch, Stage: stage,
			Message:   fmt.Sprintf("%s carries CORS headers but no Access-Control-Allow-Origin: the server does not allow the origin %s", what, origin),
			Change:    addOrigin,
			ServerFix: serverFixOrigin,
		})
		return false
	case len(values) > 1:
		e.fail(headerAllowOrigin, fmt.Sprintf("sent %d times", len(values)), Diagnosis{
			Class: ClassInvalidCORSHeader, Stage: stage,
			Message: fmt.Sprintf("%s carries Access-Control-Allow-Origin %d times (%s); browsers join them into %q, which is never an origin",
				what, len(values), quoteList(values), allowed),
			Change:    addOrigin,
			ServerFix: fmt.Sprintf("send Access-Control-Allow-Origin once, with the single value %s", origin),
		})
		return false
	case allowed == wildcard && !e.req.Credentials:
		e.step(stage, headerAllowOrigin, OutcomePass, `"*" allows every origin (the request has no credentials)`)
		return true
	case allowed == wildcard:
		e.fail(headerAllowOrigin, `"*" does not count for a credentialed request`, Diagnosis{
			Class: ClassWildcardWithCredentials, Stage: stage,
			Message: fmt.Sprintf(`the request is credentialed (credentials: "include") and %s has Access-Control-Allow-Origin: *, `+
				`which browsers refuse for credentialed requests`, what),
			Change: &Change{Action: ActionReplace, Field: FieldAllowOrigins, Values: []string{origin}, Replaces: wildcard},
			ServerFix: fmt.Sprintf("answer with Access-Control-Allow-Origin: %s (the allowed origin, echoed) instead of *, "+
				"with Access-Control-Allow-Credentials: true and Vary: Origin", origin),
		})
		return false
	case allowed != origin && strings.ContainsAny(allowed, ", "):
		e.fail(headerAllowOrigin, fmt.Sprintf("%q is a list", allowed), Diagnosis{
			Class: ClassInvalidCORSHeader, Stage: stage,
			Message: fmt.Sprintf("%s has Access-Control-Allow-Origin %q, a list; browsers accept exactly one origin (or *) and compare it byte for byte with %s",
				what, allowed, origin),
			Change:    addOrigin,
			ServerFix: fmt.Sprintf("send only the request's origin when it is allowed: Access-Control-Allow-Origin: %s", origin),
		})
		return false
	case allowed != origin:
		e.fail(headerAllowOrigin, fmt.Sprintf("%q is not %s", allowed, origin), Diagnosis{
			Class: ClassOriginMismatch, Stage: stage,
			Message:   fmt.Sprintf("%s allows the origin %q, not the page's origin %s%s", what, allowed, origin, mismatchHint(allowed, origin)),
			Change:    addOrigin,
			ServerFix: serverFixOrigin,
		})
		return false
	}
	e.step(stage, headerAllowOrigin, OutcomePass, fmt.Sprintf("%q is the page's origin", allowed))
	if stage == StageActual && !varyCoversOrigin(r.Header) {
		e.warn(headerVary, "no Vary: Origin though the origin is echoed", Diagnosis{
			Class: ClassMissingVaryOrigin, Stage: stage,
			Message: "the response's Access-Control-Allow-Origin is the page's origin but the response has no Vary: Origin; " +
				"if the server picks the value per origin, a shared cache can serve this response to another origin (which then fails) " +
				"or another origin's response to this page",
			Fix:       fixVaryOrigin,
			ServerFix: serverFixVary,
		})
	}
	if !e.req.Credentials {
		return true
	}
	credentials, present := getHeader(r.Header, headerAllowCredentials)
	if credentials == "true" {
		e.step(stage, headerAllowCredentials, OutcomePass, `"true" allows credentials`)
		return true
	}
	detail, message := "missing", fmt.Sprintf(`the request is credentialed (credentials: "include") but %s has no Access-Control-Allow-Credentials`, what)
	if present {
		detail = fmt.Sprintf("%q is not \"true\"", credentials)
		message = fmt.Sprintf(`the request is credentialed (credentials: "include") and %s has Access-Control-Allow-Credentials %q; browsers accept only the exact value "true"`,
			what, credentials)
	}
	e.fail(headerAllowCredentials, detail, Diagnosis{
		Class: ClassCredentialsNotAllowed, Stage: stage,
		Message:   message,
		Change:    &Change{Action: ActionSet, Field: FieldAllowCredentials, Values: []string{"true"}},
		ServerFix: "answer with Access-Control-Allow-Credentials: true",
	})
	return false
}

// mismatchHint explains a near miss between the allowed origin and the
// page's, which people otherwise stare at for a long time.
func mismatchHint(allowed, origin string) string {
	switch {
	case strings.EqualFold(allowed, origin):
		return " (they differ in case, and browsers compare origins byte for byte)"
	case allowed == origin+"/" || strings.HasPrefix(allowed, origin+"/"):
		return " (origins have no path, not even a trailing /)"
	case allowed == opaqueOrigin:
		return ` ("null" matches only sandboxed and other opaque origins)`
	}
	return ""
}

// checkMethod checks the preflight's Access-Control-Allow-Methods.
func (e *evaluation) checkMethod(r Response) bool {
	method := e.req.Method
	// checkAllowMethodsParses has rejected a list that does not parse.
	methods, _ := headerList(r.Header, headerAllowMethods)
	raw, _ := getHeader(r.Header, headerAllowMethods)
	wildcardCounts := slices.Contains(methods, wildcard) && !e.req.Credentials
	switch {
	case slices.Contains(methods, method):
		e.step(StagePreflight, headerAllowMethods, OutcomePass, fmt.Sprintf("%q lists %s", raw, method))
		return true
	case slices.Contains(safelistedMethods, method):
		e.step(StagePreflight, headerAllowMethods, OutcomePass, method+" is safelisted and needs no listing")
		return true
	case wildcardCounts:
		e.step(StagePreflight, headerAllowMethods, OutcomePass, `"*" allows every method (the request has no credentials)`)
		return true
	}
	addMethod := &Change{Action: ActionAdd, Field: FieldAllowMethods, Values: []string{method}}
	serverFix := fmt.Sprintf("answer the preflight with Access-Control-Allow-Methods listing %s", method)
	if methods == nil {
		e.fail(headerAllowMethods, "missing", Diagnosis{
			Class: ClassPreflightNotHandled, Stage: StagePreflight,
			Message:   fmt.Sprintf("the preflight response has no Access-Control-Allow-Methods, so it does not allow %s", method),
			Change:    addMethod,
			ServerFix: serverFix,
		})
		return false
	}
	message := fmt.Sprintf("the preflight response's Access-Control-Allow-Methods is %q, which does not list %s", raw, method)
	switch {
	case slices.Contains(methods, wildcard):
		message += `; with credentials, browsers read "*" as a method literally named "*"`
		addMethod = &Change{Action: ActionReplace, Field: FieldAllowMethods, Values: []string{method}, Replaces: wildcard}
	case containsFold(methods, method):
		message += fmt.Sprintf(" (methods are case-sensitive: %s and %s differ)", method, methods[slices.IndexFunc(methods, func(m string) bool { return strings.EqualFold(m, method) })])
	}
	e.fail(headerAllowMethods, fmt.Sprintf("%q does not list %s", raw, method), Diagnosis{
		Class: ClassMethodNotAllowed, Stage: StagePreflight,
		Message:   message,
		Change:    addMethod,
		ServerFix: serverFix,
	})
	return false
}

// checkHeaders checks the preflight's Access-Control-Allow-Headers against
// every header that is not safelisted. Authorization must always be listed
// by name: "*" never covers it.
func (e *evaluation) checkHeaders(r Response) bool {
	unsafe, _ := unsafeHeaderNames(fieldsOf(e.req.Headers))
	if len(unsafe) == 0 {
		return true
	}
	// checkAllowHeadersParses has rejected a list that does not parse.
	allowed, _ := headerList(r.Header, headerAllowHeaders)
	raw, _ := getHeader(r.Header, headerAllowHeaders)
	hasWildcard := slices.Contains(allowed, wildcard)
	var missing []string
	for _, name := range unsafe {
		covered := containsFold(allowed, name) || hasWildcard && !e.req.Credentials && name != headerAuthorization
		if !covered {
			missing = append(missing, name)
		}
	}
	if len(missing) == 0 {
		e.step(StagePreflight, headerAllowHeaders, OutcomePass, fmt.Sprintf("%q covers %s", raw, strings.Join(unsafe, ", ")))
		return true
	}
	missingDisplay := make([]string, len(missing))
	for i, name := range missing {
		missingDisplay[i] = http.CanonicalHeaderKey(name)
	}
	change := &Change{Action: ActionAdd, Field: FieldAllowHeaders, Values: missingDisplay}
	serverFix := fmt.Sprintf("answer the preflight with Access-Control-Allow-Headers listing %s", strings.Join(missing, ", "))
	if allowed == nil {
		e.fail(headerAllowHeaders, "missing", Diagnosis{
			Class: ClassPreflightNotHandled, Stage: StagePreflight,
			Message: fmt.Sprintf("the preflight response has no Access-Control-Allow-Headers, so it allows none of the headers the page sets: %s",
				strings.Join(missing, ", ")),
			Change:    change,
			ServerFix: serverFix,
		})
		return false
	}
	message := fmt.Sprintf("the preflight response's Access-Control-Allow-Headers is %q, which does not list %s", raw, joinAnd(missing))
	switch {
	case hasWildcard && e.req.Credentials:
		message += `; with credentials, browsers read "*" as a header literally named "*"`
		change = &Change{Action: ActionReplace, Field: FieldAllowHeaders, Values: missingDisplay, Replaces: wildcard}
	case hasWildcard:
		message += `; "*" never covers Authorization, which must be listed by name`
	}
	e.fail(headerAllowHeaders, fmt.Sprintf("%q does not list %s", raw, strings.Join(missing, ", ")), Diagnosis{
		Class: ClassHeaderNotAllowed, Stage: StagePreflight,
		Message:   message,
		Change:    change,
		ServerFix: serverFix,
	})
	return false
}

// checkReadable decides, for each header the page wants to read, whether
// its script can: safelisted response headers always, others only when
// Access-Control-Expose-Headers lists them ("*" counting only without
// credentials), Set-Cookie never.
func (e *evaluation) checkReadable(r Response) {
	exposed, err := headerList(r.Header, headerExposeHeaders)
	raw, present := getHeader(r.Header, headerExposeHeaders)
	wildcardCounts := slices.Contains(exposed, wildcard) && !e.req.Credentials
	var hidden, forbidden []string
	seen := map[string]bool{}
	for _, name := range e.req.ReadHeaders {
		lower := strings.ToLower(name)
		if seen[lower] {
			continue
		}
		seen[lower] = true
		// As the page wrote it: "ETag" reads better than Go's "Etag".
		display := name
		var readable bool
		var detail string
		switch {
		case slices.Contains(forbiddenResponseHeaders, lower):
			detail = "scripts can never read " + display
			forbidden = append(forbidden, display)
		case slices.Contains(safelistedResponseHeaders, lower):
			readable, detail = true, display+" is a safelisted response header"
		case err == nil && containsFold(exposed, name):
			readable, detail = true, fmt.Sprintf("Access-Control-Expose-Headers %q lists it", raw)
		case err == nil && wildcardCounts:
			readable, detail = true, `Access-Control-Expose-Headers "*" exposes every header (the request has no credentials)`
		default:
			detail = "not exposed"
			hidden = append(hidden, display)
		}
		if _, ok := getHeader(r.Header, name); !ok {
			detail += "; this response does not carry it"
		}
		if readable {
			e.v.ReadableHeaders = append(e.v.ReadableHeaders, display)
			e.step(StageRead, display, OutcomePass, detail)
		} else {
			e.v.HiddenHeaders = append(e.v.HiddenHeaders, display)
			e.step(StageRead, display, OutcomeFail, detail)
		}
	}
	if len(hidden) == 0 && len(forbidden) == 0 {
		return
	}
	d := Diagnosis{Class: ClassHeaderNotExposed, Stage: StageRead}
	var clauses []string
	if len(hidden) > 0 {
		var reason string
		switch {
		case !present:
			reason = "and the response has no Access-Control-Expose-Headers"
		case err != nil:
			reason = fmt.Sprintf("and Access-Control-Expose-Headers %q is not a list of header names, so it exposes nothing", raw)
		case slices.Contains(exposed, wildcard):
			reason = fmt.Sprintf(`and Access-Control-Expose-Headers is %q; with credentials, browsers read "*" as a header literally named "*"`, raw)
		default:
			reason = fmt.Sprintf("and Access-Control-Expose-Headers is %q, which does not list %s", raw, pronoun(len(hidden)))
		}
		clauses = append(clauses, fmt.Sprintf("the page cannot read %s: %s, %s", joinAnd(hidden), notSafelisted(len(hidden)), reason))
		d.Change = &Change{Action: ActionAdd, Field: FieldExposeHeaders, Values: hidden}
		if slices.Contains(exposed, wildcard) && e.req.Credentials {
			d.Change = &Change{Action: ActionReplace, Field: FieldExposeHeaders, Values: hidden, Replaces: wildcard}
		}
		d.ServerFix = fmt.Sprintf("answer the actual request with Access-Control-Expose-Headers listing %s", strings.Join(hidden, ", "))
	}
	if len(forbidden) > 0 {
		clauses = append(clauses, fmt.Sprintf("scripts can never read %s, exposed or not", joinAnd(forbidden)))
		if d.Change == nil {
			d.Fix, d.ServerFix = fixSetCookie, fixSetCookie
		}
	}
	d.Message = strings.Join(clauses, "; ")
	e.diagnose(d)
}

// pronoun refers back to n header names.
func pronoun(n int) string {
	if n == 1 {
		return "it"
	}
	return "them"
}

// notSafelisted says that n response header names are not safelisted.
func notSafelisted(n int) string {
	if n == 1 {
		return "it is not a safelisted response header"
	}
	return "they are not safelisted response headers"
}
