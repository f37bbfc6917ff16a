package cli

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
)

// SARIF 2.1.0 (https://docs.oasis-open.org/sarif/sarif/v2.1.0/): the
// subset code-scanning tools read.
type (
	sarifLog struct {
		Version string     `json:"version"`
		Schema  string     `json:"$schema"`
		Runs    []sarifRun `json:"runs"`
	}
	sarifRun struct {
		Tool    sarifTool     `json:"tool"`
		Results []sarifResult `json:"results"`
	}
	sarifTool struct {
		Driver sarifDriver `json:"driver"`
	}
	sarifDriver struct {
		Name           string      `json:"name"`
		InformationURI string      `json:"informationUri"`
		Rules          []sarifRule `json:"rules"`
	}
	sarifRule struct {
		ID                   string            `json:"id"`
		Name                 string            `json:"name"`
		ShortDescription     sarifText         `json:"shortDescription"`
		FullDescription      sarifText         `json:"fullDescription"`
		Help                 sarifText         `json:"help"`
		DefaultConfiguration sarifRuleConfig   `json:"defaultConfiguration"`
		Properties           map[string]string `json:"properties"`
	}
	sarifRuleConfig struct {
		Level string `json:"level"`
	}
	sarifText struct {
		Text string `json:"text"`
	}
	sarifResult struct {
		RuleID              string            `json:"ruleId"`
		RuleIndex           int               `json:"ruleIndex"`
		Level               string            `json:"level"`
		Message             sarifText         `json:"message"`
		Locations           []sarifLocation   `json:"locations"`
		PartialFingerprints map[string]string `json:"partialFingerprints"`
		Properties          map[string]string `json:"properties"`
	}
	sarifLocation struct {
		LogicalLocations []sarifLogicalLocation `json:"logicalLocations"`
	}
	sarifLogicalLocation struct {
		Name               string `json:"name"`
		FullyQualifiedName string `json:"fullyQualifiedName"`
		Kind               string `json:"kind"`
	}
)

// sarifSchema is the JSON schema URI of SARIF 2.1.0.
const sarifSchema = "https://json.schemastore.org/sarif-2.1.0.json"

// sarifLevels maps severities to SARIF levels; security-severity carries
// the finer grading GitHub code scanning shows.
var (
	sarifLevels           = map[string]string{severityHigh: "error", severityMedium: "warning", severityLow: "note", severityInfo: "note"}
	sarifSecuritySeverity = map[string]string{severityHigh: "8.0", severityMedium: "5.0", severityLow: "2.0", severityInfo: "0.0"}
	// ruleSeverity is each rule's usual severity, SARIF's default level.
	ruleSeverity = map[string]string{
		ruleWildcardCredentials.ID: severityHigh, ruleReflectedOrigin.ID: severityHigh, ruleNullOrigin.ID: severityHigh,
		ruleInsecureOrigin.ID: severityMedium, rulePublicSuffix.ID: severityHigh, ruleSilentFallback.ID: severityMedium,
		ruleMaxAge.ID: severityLow, ruleConflict.ID: severityMedium, ruleUnanchoredRegex.ID: severityMedium,
		ruleMissingVary.ID: severityLow, ruleIneffective.ID: severityInfo, ruleAnyOrigin.ID: severityInfo,
	}
)

// sarifReport writes findings as a SARIF log whose locations are the
// objects, as logical locations ("networking.k8s.io/v1/Ingress/shop/api").
func sarifReport(findings []auditFinding) sarifLog {
	run := sarifRun{Tool: sarifTool{Driver: sarifDriver{Name: "kubectl-cors", InformationURI: "https://github.com/kubecors/kubecors"}},
		Results: []sarifResult{}}
	index := map[string]int{}
	for i, rule := range auditRules {
		index[rule.ID] = i
		run.Tool.Driver.Rules = append(run.Tool.Driver.Rules, sarifRule{
			ID: rule.ID, Name: rule.Name, ShortDescription: sarifText{rule.Short}, FullDescription: sarifText{rule.Help},
			Help: sarifText{rule.Help}, DefaultConfiguration: sarifRuleConfig{Level: sarifLevels[ruleSeverity[rule.ID]]},
			Properties: map[string]string{"security-severity": sarifSecuritySeverity[ruleSeverity[rule.ID]], "tags": "security,cors"},
		})
	}
	for _, f := range findings {
		fqn := fmt.Sprintf("%s/%s/%s", f.Object.APIVersion, f.Object.Kind, objectRef(f.Object.Namespace, f.Object.Name))
		sum := sha256.Sum256([]byte(f.RuleID + "\x00" + fqn + "\x00" + f.Key + "\x00" + f.Message))
		props := map[string]string{"severity": f.Severity, "security-severity": sarifSecuritySeverity[f.Severity]}
		if f.DataPlane != "" {
			props["dataPlane"] = f.DataPlane
		}
		if f.Key != "" {
			props["key"] = f.Key
		}
		if f.ManagedBy != "" {
			props["managedBy"] = f.ManagedBy
		}
		run.Results = append(run.Results, sarifResult{
			RuleID: f.RuleID, RuleIndex: index[f.RuleID], Level: sarifLevels[f.Severity],
			Message: sarifText{fmt.Sprintf("%s: %s", f.Object, f.Message)},
			Locations: []sarifLocation{{LogicalLocations: []sarifLogicalLocation{{
				Name: objectRef(f.Object.Namespace, f.Object.Name), FullyQualifiedName: fqn, Kind: "resource",
			}}}},
			PartialFingerprints: map[string]string{"kubecorsFinding/v1": hex.EncodeToString(sum[:16])},
			Properties:          props,
		})
	}
	return sarifLog{Version: "2.1.0", Schema: sarifSchema, Runs: []sarifRun{run}}
}

// outSARIF is audit's output format for code-scanning tools, besides the
// table, json and yaml formats of probe and check.
const outSARIF = "sarif"
