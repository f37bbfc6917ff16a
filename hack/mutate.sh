#!/usr/bin/env bash
# Mutation testing of the security-relevant packages with gremlins, one
# package at a time (each mutant rebuilds and reruns the package's tests, so
# running packages in parallel only makes each slower). Writes one JSON
# report per package to mutate/<name>.json and the table to
# mutate/RESULTS.md. Usage: hack/mutate.sh [name ...] (default: all).
#
# Each entry: name ; package ; files to leave out (regexp on the path,
# gremlins -E) ; tests to run (go test -run, through GOFLAGS; empty: all).
set -euo pipefail
GREMLINS=${GREMLINS:-bin/gremlins}
TIMEOUT_COEFFICIENT=${TIMEOUT_COEFFICIENT:-10}
OUT=${MUTATE_OUT:-mutate}
ENTRIES=(
	"corsrules;./internal/corsrules;;"
	"ingressnginx;./internal/dataplanes/ingressnginx;;"
	"haproxyingress;./internal/dataplanes/haproxyingress;;"
	"traefik;./internal/dataplanes/traefik;;"
	"gatewayapi;./internal/dataplanes/gatewayapi;;"
	"kong;./internal/dataplanes/kong;;"
	"envoygateway;./internal/dataplanes/envoygateway;;"
	"istio;./internal/dataplanes/istio;;"
	"contour;./internal/dataplanes/contour;;"
	"corscheck;./internal/corscheck;;"
	"policycheck;./internal/policycheck;;"
	# audit only: the rest of the CLI is not security-relevant, and its
	# envtest suite (TestCluster) would start a control plane per mutant.
	"cli-audit;./internal/cli;(^|/)(check|explain|probe|status|version|completion|root|exit|input|output|report|cluster|migrate)[a-z_]*\\.go$;^(TestAudit|TestSARIF)"
)
mkdir -p "$OUT"
wanted=("$@")
for entry in "${ENTRIES[@]}"; do
	IFS=';' read -r name pkg exclude run <<<"$entry"
	if ((${#wanted[@]})) && [[ ! " ${wanted[*]} " == *" $name "* ]]; then
		continue
	fi
	args=(unleash --workers 1 --test-cpu 1 --timeout-coefficient "$TIMEOUT_COEFFICIENT" -o "$OUT/$name.json")
	[[ -n $exclude ]] && args+=(-E "$exclude")
	echo "mutating $pkg${run:+ (tests $run)}" >&2
	start=$(date +%s)
	GOFLAGS=${run:+-run=$run} "$GREMLINS" "${args[@]}" "$pkg" >"$OUT/$name.log" 2>&1
	echo $(($(date +%s) - start)) >"$OUT/$name.seconds"
done
hack/mutate-report.sh "$OUT" >"$OUT/RESULTS.md"
cat "$OUT/RESULTS.md"
