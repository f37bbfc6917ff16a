package cli

import (
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/kubecors/kubecors/internal/dataplanes"
	"github.com/kubecors/kubecors/internal/dataplanes/haproxyingress"
	"github.com/kubecors/kubecors/internal/dataplanes/ingressnginx"
)

// findingsOf audits one model and keeps the findings of one rule.
func findingsOf(m dataplanes.Model, rule auditRule) []auditFinding {
	all := auditModel(auditTarget{object: auditObject{APIVersion: "networking.k8s.io/v1", Kind: "Ingress", Namespace: "shop", Name: "api"}, model: m})
	return slices.DeleteFunc(all, func(f auditFinding) bool { return f.RuleID != rule.ID })
}

// TestAuditUnanchoredRegex checks that a regex anchored at one end only,
// or whose alternatives are not all anchored, is reported: each of them
// matches an attacker's look-alike origin, which the case also shows
// through the model.
func TestAuditUnanchoredRegex(t *testing.T) {
	for _, tc := range []struct {
		name, regex, lookAlike string
		want                   bool
	}{
		{"anchored at the start only: a longer host matches", `^https://app\.example\.com`, "https://app.example.com.evil.net", true},
		{"anchored at the end only: a prefix matches", `https://app\.example\.com$`, "https://evilhttps://app.example.com", true},
		{"one alternative unanchored", `^https://app\.example\.com$|example\.org`, "https://example.org.evil.net", true},
		{"anchors inside a group around an unanchored alternative", `^(https://a\.example\.com|https://b\.example\.com)`, "https://b.example.com.evil.net", true},
		{"each end anchored by a different alternative", `^https://app\.example\.com|evil\.net$`, "https://x.evil.net", true},
		{"anchored at both ends", `^https://app\.example\.com$`, "", false},
		{"every alternative anchored", `^https://a\.example\.com$|^https://b\.example\.com$`, "", false},
		{"text anchors", `\Ahttps://app\.example\.com\z`, "", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := haproxyingress.ParseHAProxyIngress(map[string]string{haproxyingress.CorsEnable: "true",
				haproxyingress.AllowOrigin: "https://static.example.com,https://other.example.com", haproxyingress.AllowOriginRegex: tc.regex,
				haproxyingress.AllowCredentials: "true"})
			got := findingsOf(m, ruleUnanchoredRegex)
			if (len(got) > 0) != tc.want {
				t.Fatalf("unanchored-origin-regex findings %v, want reported %v", got, tc.want)
			}
			if !tc.want {
				return
			}
			if got[0].Severity != severityHigh || !strings.Contains(got[0].Message, strconv.Quote(tc.regex)) {
				t.Errorf("finding %+v: want high (credentials allowed) and the expression named", got[0])
			}
			if resp := probeActual(m, tc.lookAlike); resp.Get(dataplanes.HeaderAllowOrigin) != tc.lookAlike {
				t.Errorf("the look-alike %s is not echoed (%v): the case does not show what the finding claims", tc.lookAlike, resp)
			}
		})
	}
}

// TestAuditInsecureOrigin checks the plain-http rule against the rules
// package's notion of loopback: a host that merely starts with
// "localhost" is on the network.
func TestAuditInsecureOrigin(t *testing.T) {
	for _, tc := range []struct {
		name, origin, credentials string
		want                      bool
	}{
		{"a look-alike of localhost with credentials", "http://localhost.evil.com", "true", true},
		{"a look-alike of 127.0.0.1 with credentials", "http://127.0.0.1.nip.io", "true", true},
		{"a public host over http with credentials", "http://app.example.com", "true", true},
		{"localhost with a port", "http://localhost:3000", "true", false},
		{"IPv6 loopback", "http://[::1]:3000", "true", false},
		{"IPv4 loopback", "http://127.0.0.1", "true", false},
		{"https", "https://app.example.com", "true", false},
		{"plain http without credentials", "http://app.example.com", "false", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := ingressnginx.ParseIngressNginx(map[string]string{ingressnginx.EnableCors: "true",
				ingressnginx.AllowOrigin: tc.origin, ingressnginx.AllowCredentials: tc.credentials})
			got := findingsOf(m, ruleInsecureOrigin)
			if (len(got) > 0) != tc.want {
				t.Fatalf("insecure-origin-with-credentials findings %v, want reported %v", got, tc.want)
			}
			if tc.want && !strings.Contains(got[0].Message, tc.origin) {
				t.Errorf("message %q does not name %s", got[0].Message, tc.origin)
			}
		})
	}
}
