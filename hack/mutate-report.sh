#!/usr/bin/env bash
# Writes the mutation-testing table from the gremlins JSON reports in $1.
set -euo pipefail
dir=$1
echo "# Mutation testing (gremlins v0.6.0)"
echo
echo "Written by \`make mutate\` (hack/mutate.sh), $(date -u +%Y-%m-%dT%H:%MZ). Efficacy is killed / (killed + lived);"
echo "timed-out mutants (the tests ran past ${TIMEOUT_COEFFICIENT:-10} times their normal time) count as neither, and"
echo "mutants no test of the package reaches are \"not covered\". Wall time depends on the machine's load."
echo
echo "| package | killed | lived | timed out | not covered | efficacy | mutant coverage | wall time |"
echo "|---|---:|---:|---:|---:|---:|---:|---:|"
for f in "$dir"/*.json; do
	name=$(basename "$f" .json)
	seconds=$(cat "$dir/$name.seconds" 2>/dev/null || echo "?")
	jq -r --arg name "$name" --arg seconds "$seconds" '
		[.files[].mutations[].status] as $s
		| "| \($name) | \(.mutants_killed) | \(.mutants_lived) | \([$s[] | select(. == "TIMED OUT")] | length) | \(.mutants_not_covered) | \(.test_efficacy * 100 | round / 100)% | \(.mutations_coverage * 100 | round / 100)% | \($seconds)s |"' "$f"
done
# A run stopped before its end leaves a log and no JSON: count what the
# log shows, and say so.
for log in "$dir"/*.log; do
	name=$(basename "$log" .log)
	[[ -f "$dir/$name.json" ]] && continue
	count() { grep -c "^ *$1 " "$log" || true; }
	killed=$(count KILLED) lived=$(count LIVED) timedout=$(count "TIMED OUT") notcovered=$(count "NOT COVERED")
	efficacy="n/a"
	((killed + lived > 0)) && efficacy="$(awk -v k="$killed" -v l="$lived" 'BEGIN { printf "%.2f", 100 * k / (k + l) }')%"
	echo "| $name (partial: stopped after $((killed + lived + timedout)) mutants tested) | $killed | $lived | $timedout | $notcovered | $efficacy | n/a | stopped |"
done
echo
echo "Survivors (LIVED):"
echo
for f in "$dir"/*.json; do
	jq -r --arg name "$(basename "$f" .json)" '.files[] | .file_name as $file | .mutations[] | select(.status == "LIVED") | "- \($name): \(.type) at \($file):\(.line):\(.column)"' "$f"
done
for log in "$dir"/*.log; do
	name=$(basename "$log" .log)
	[[ -f "$dir/$name.json" ]] && continue
	grep "^ *LIVED " "$log" | sed "s/^ *LIVED /- $name: /" || true
done
