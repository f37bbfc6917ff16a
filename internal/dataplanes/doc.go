// Package dataplanes holds what every data plane shares: the render input
// (Policy, IngressTarget) and output (IngressConfig, Narrowing), the read
// model a data plane's reader returns (Model, Effective, Setting), the
// DataPlane description a data plane's folder exports, and the pure helpers
// several renderers use (OriginPatterns, OriginRegexp, TokenFilter).
//
// The layout, and why it has no import cycle:
//
//	internal/dataplanes                 shared types and helpers; imports no data plane
//	internal/dataplanes/<name>          one package per data plane: its keys, controller
//	                                    names, defaults and upstream validation, Render,
//	                                    Read, Fix, golden files and read-back tests;
//	                                    imports internal/dataplanes
//	internal/dataplanes/registry        the one list of data planes (All) and what is
//	                                    derived from it: names, controller lookup,
//	                                    Ingress detection; imports every <name>
//	internal/dataplanes/dataplanestest  golden-file helpers for the <name> tests
//
// Renderers are pure: policy and target in, desired configuration plus what
// had to be narrowed out. They never broaden: whatever a rendered
// configuration allows, the policy allows. Readers are pure too: callers
// fetch the objects (annotations, Middlewares, HTTPRoute filters) and pass
// them in; each reader follows the data plane's own source, with its
// defaults and silent fall-backs, and is the oracle the renderers are tested
// against.
package dataplanes
