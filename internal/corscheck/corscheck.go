// Package corscheck models what a browser does with a cross-origin request
// (the CORS protocol of the WHATWG Fetch standard): whether a preflight is
// needed and why, what the preflight and actual responses must carry, and
// the verdict. It turns an exchange of requests and responses into a
// diagnosis a person can act on. It is pure: `kubectl cors explain` feeds
// it simulated responses, `kubectl cors probe` real ones.
package corscheck

import (
	"errors"
	"net/http"
)

// Request is the cross-origin request a page makes.
type Request struct {
	// Origin is the page's origin, as the browser sends it.
	Origin string
	// Method is the request method, e.g. "PUT".
	Method string
	// Headers are the request headers the page sets, name and value.
	Headers http.Header
	// Credentials is true for fetch(..., {credentials: "include"}).
	Credentials bool
	// ReadHeaders are response headers the page's script wants to read.
	ReadHeaders []string
}

// Response is what a server answered: status and headers.
type Response struct {
	Status int
	Header http.Header
}

// Exchange is one request as the browser would carry it out: the
// preflight (when one is needed) and the actual request.
type Exchange struct {
	// Preflight is the answer to the OPTIONS preflight; nil when none was
	// sent.
	Preflight *Response
	// Actual is the answer to the actual request; nil when the browser
	// stopped after the preflight or it was not sent.
	Actual *Response
}

// Server answers requests: a simulated data plane (explain) or a real one
// over the network (probe).
type Server interface {
	// Preflight answers the OPTIONS preflight the browser sends for req.
	Preflight(req Request) (Response, error)
	// Actual answers the actual request.
	Actual(req Request) (Response, error)
}

// Diagnosis classes: the fixed vocabulary in which explain, probe and audit
// name what a browser does with a cross-origin request. Scripts and tests
// match on them, so they never change spelling.
const (
	// ClassNoCORSHeaders means a response carries no CORS headers at all:
	// the server (or the route) does not do CORS.
	ClassNoCORSHeaders = "no-cors-headers"
	// ClassOriginMismatch means Access-Control-Allow-Origin allows another
	// origin than the page's, or is missing while other CORS headers are
	// there.
	ClassOriginMismatch = "origin-mismatch"
	// ClassInvalidCORSHeader means a CORS response header does not parse the
	// way browsers require: Access-Control-Allow-Origin sent several times or
	// as a list, Access-Control-Allow-Methods or -Headers that are not lists
	// of tokens.
	ClassInvalidCORSHeader = "invalid-cors-header"
	// ClassPreflightNotHandled means the preflight got a status other than
	// 2xx, or its response lacks the Access-Control-Allow-Methods or
	// Access-Control-Allow-Headers the request needs.
	ClassPreflightNotHandled = "preflight-not-handled"
	// ClassRedirect means a response redirected: browsers fail a preflight
	// that redirects, and redirects of the actual request are not modelled.
	ClassRedirect = "redirect"
	// ClassCredentialsNotAllowed means a credentialed request got no
	// Access-Control-Allow-Credentials: true.
	ClassCredentialsNotAllowed = "credentials-not-allowed"
	// ClassWildcardWithCredentials means a credentialed request got
	// Access-Control-Allow-Origin: *, which browsers then refuse.
	ClassWildcardWithCredentials = "wildcard-with-credentials"
	// ClassMethodNotAllowed means the preflight's Access-Control-Allow-Methods
	// does not cover the request's method.
	ClassMethodNotAllowed = "method-not-allowed"
	// ClassHeaderNotAllowed means the preflight's Access-Control-Allow-Headers
	// does not cover a header the page sets.
	ClassHeaderNotAllowed = "header-not-allowed"
	// ClassHeaderNotExposed means a response header the page wants to read is
	// hidden from its script.
	ClassHeaderNotExposed = "header-not-exposed"
	// ClassMissingVaryOrigin is a warning, never a block: the response echoes
	// the page's origin without Vary: Origin, so shared caches can hand it to
	// other origins.
	ClassMissingVaryOrigin = "missing-vary-origin"
)

// Stages of an exchange, as Step.Stage and Diagnosis.Stage name them.
const (
	// StageRequest is what the browser decides before sending anything.
	StageRequest = "request"
	// StagePreflight is the OPTIONS preflight and its response.
	StagePreflight = "preflight"
	// StageActual is the actual request and its response.
	StageActual = "actual"
	// StageRead is the page's script reading response headers.
	StageRead = "read"
)

// Outcomes of a Step.
const (
	// OutcomePass means the check passed.
	OutcomePass = "pass"
	// OutcomeFail means the check failed and the browser stops there.
	OutcomeFail = "fail"
	// OutcomeWarn means the check found a problem that does not block.
	OutcomeWarn = "warn"
	// OutcomeNote records what the browser did without a verdict, e.g. a
	// dropped forbidden header or a request that was not sent.
	OutcomeNote = "note"
)

// CorsPolicy spec fields that a Change names. They are the JSON names
// without the "spec." prefix, so that callers can render them for their
// own configuration (a CorsPolicy, an ingress-nginx annotation, ...).
const (
	FieldAllowOrigins     = "allowOrigins"
	FieldAllowMethods     = "allowMethods"
	FieldAllowHeaders     = "allowHeaders"
	FieldExposeHeaders    = "exposeHeaders"
	FieldAllowCredentials = "allowCredentials"
)

// Change actions.
const (
	// ActionAdd adds Values to a list field.
	ActionAdd = "add"
	// ActionSet sets a scalar field to Values[0].
	ActionSet = "set"
	// ActionReplace replaces Replaces with Values in a list field.
	ActionReplace = "replace"
)

// Verdict is the browser's verdict on an exchange and how it got there.
type Verdict struct {
	// Allowed is true when the browser hands the response to the page and
	// every header the page wants to read is readable.
	Allowed bool `json:"allowed"`
	// Incomplete is true when the exchange stopped before the browser's
	// verdict could be known (a response that was needed was not given)
	// without anything failing until then. Allowed is then false and
	// Failure nil.
	Incomplete bool `json:"incomplete,omitempty"`
	// PreflightNeeded is true when the browser sends a preflight first.
	PreflightNeeded bool `json:"preflightNeeded"`
	// PreflightReasons say, in plain words, why the preflight is needed.
	PreflightReasons []string `json:"preflightReasons,omitempty"`
	// Steps are the checks the browser made, in order, up to the first
	// failure.
	Steps []Step `json:"steps"`
	// Failure is the first failing check; nil when nothing failed.
	Failure *Diagnosis `json:"failure,omitempty"`
	// Warnings are problems that do not block, such as a missing Vary:
	// Origin.
	Warnings []Diagnosis `json:"warnings,omitempty"`
	// ReadableHeaders are the requested ReadHeaders the page's script can
	// read; HiddenHeaders the ones it cannot.
	ReadableHeaders []string `json:"readableHeaders,omitempty"`
	HiddenHeaders   []string `json:"hiddenHeaders,omitempty"`
}

// Step is one check of the browser's walk through the CORS protocol.
type Step struct {
	// Stage is StageRequest, StagePreflight, StageActual or StageRead.
	Stage string `json:"stage"`
	// Check names what was checked, e.g. "Access-Control-Allow-Origin".
	Check string `json:"check"`
	// Outcome is OutcomePass, OutcomeFail, OutcomeWarn or OutcomeNote.
	Outcome string `json:"outcome"`
	// Detail says in plain words what was found.
	Detail string `json:"detail"`
}

// Diagnosis explains one problem and how to fix it.
type Diagnosis struct {
	// Class is one of the Class constants.
	Class string `json:"class"`
	// Stage is where the problem is: StagePreflight, StageActual or
	// StageRead.
	Stage string `json:"stage"`
	// Message says in plain words what went wrong.
	Message string `json:"message"`
	// Fix is the change that removes the problem, in CorsPolicy terms,
	// e.g. `add "PUT" to spec.allowMethods`.
	Fix string `json:"fix"`
	// Change is Fix as data, for callers that render the fix for another
	// configuration; nil when the fix is not a change to one policy field.
	Change *Change `json:"change,omitempty"`
	// ServerFix is the same fix in terms of what the server must answer,
	// for servers that kubecors does not configure.
	ServerFix string `json:"serverFix"`
}

// Change is a change to one CorsPolicy spec field.
type Change struct {
	// Action is ActionAdd, ActionSet or ActionReplace.
	Action string `json:"action"`
	// Field is one of the Field constants.
	Field string `json:"field"`
	// Values are the values to add, or the one value to set.
	Values []string `json:"values"`
	// Replaces is the value that ActionReplace takes out.
	Replaces string `json:"replaces,omitempty"`
}

// ErrNotSent is what Server.Actual returns to leave the actual request out
// (probe without --send): Run then returns the verdict as far as it got,
// marked Incomplete when nothing failed.
var ErrNotSent = errors.New("actual request not sent")
