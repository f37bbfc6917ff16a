package corscheck

import (
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
)

// errNotAList is returned by headerList for a value that is not a
// comma-separated list of tokens.
var errNotAList = errors.New("not a comma-separated list of tokens")

// headerValues returns the values of the header name in h, matching the
// name case-insensitively as browsers do (simulated responses may spell
// it in any case), each without surrounding whitespace as an HTTP parser
// leaves them.
func headerValues(h http.Header, name string) []string {
	keys := make([]string, 0, 1)
	for key := range h {
		if strings.EqualFold(key, name) {
			keys = append(keys, key)
		}
	}
	slices.Sort(keys)
	var values []string
	for _, key := range keys {
		for _, v := range h[key] {
			values = append(values, strings.Trim(v, "\t "))
		}
	}
	return values
}

// getHeader is Fetch's "get": all values of name joined by ", ", and
// whether the header is there at all.
func getHeader(h http.Header, name string) (string, bool) {
	values := headerValues(h, name)
	return strings.Join(values, ", "), len(values) > 0
}

// headerList is Fetch's "extract header list values" for the list headers
// of CORS (Access-Control-Allow-Methods, -Allow-Headers, -Expose-Headers):
// nil when the header is absent, errNotAList when an element is not a
// token. Empty elements are skipped, as list syntax allows them.
func headerList(h http.Header, name string) ([]string, error) {
	values := headerValues(h, name)
	if len(values) == 0 {
		return nil, nil
	}
	list := []string{}
	for _, v := range values {
		for _, item := range splitList(v) {
			if item == "" {
				continue
			}
			if !isToken(item) {
				return nil, fmt.Errorf("%w: %q", errNotAList, item)
			}
			list = append(list, item)
		}
	}
	return list, nil
}

// hasCORSHeaders reports whether h carries any Access-Control-* response
// header, which tells "no CORS at all" from "CORS without this origin".
func hasCORSHeaders(h http.Header) bool {
	for key := range h {
		if strings.HasPrefix(strings.ToLower(key), "access-control-") {
			return true
		}
	}
	return false
}

// isRedirect reports whether r makes a browser follow a redirect: a
// redirect status with a Location.
func isRedirect(r Response) bool {
	_, ok := getHeader(r.Header, headerLocation)
	return ok && slices.Contains(redirectStatuses, r.Status)
}

// varyCoversOrigin reports whether the Vary header of h names Origin (or
// is "*"), so that caches keep responses for different origins apart.
func varyCoversOrigin(h http.Header) bool {
	for _, v := range headerValues(h, headerVary) {
		for _, item := range splitList(v) {
			if item == wildcard || strings.EqualFold(item, headerOrigin) {
				return true
			}
		}
	}
	return false
}

// statusText renders a status for a message: "404 Not Found".
func statusText(status int) string {
	if text := http.StatusText(status); text != "" {
		return fmt.Sprintf("%d %s", status, text)
	}
	return fmt.Sprint(status)
}
