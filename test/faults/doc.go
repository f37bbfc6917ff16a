// Package faults runs the real manager binary against a local control plane
// (envtest's kube-apiserver and etcd) and checks what it leaves behind.
//
// Without build tags (go test ./..., make test) it runs the least-privilege
// suite: the manager under the generated RBAC only, through every path, with
// the API server's audit log telling which granted rights were used; and
// kubectl cors under its read-only ClusterRole.
//
// Behind the "faults" build tag (make test-faults) it also runs the fault
// suite: SIGKILLs during convergence, changes while the manager is down, an
// API server restart, injected errors and conflicts, refused writes, a GitOps
// tool re-applying targets, two replicas with leader election and the
// webhook down. Each scenario checks every target against what the final
// policies render (internal/plan) and reports what was lost, orphaned or
// left stale; the suite prints a summary table at the end. FAULTS_SEED makes
// a run reproducible, FAULTS_SHORT=1 is the short CI mode.
package faults
