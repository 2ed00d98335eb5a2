//! Admission policies decided offline: Kubernetes 1.31's ValidatingAdmissionPolicy and
//! ValidatingAdmissionPolicyBinding, evaluated against objects as the API server would
//! on their CREATE.
//!
//! Compile once, decide many times:
//!
//! ```no_run
//! use kcc::policy::{Admission, Cluster};
//! # let objects: Vec<kcc::manifest::Object> = Vec::new();
//! // Policies and bindings among the objects, every CEL expression compiled and checked;
//! // the diagnostics are `policy/cel` (an expression's syntax, unknown name, type error,
//! // at its line:col in the policy's file) and `policy/admission` (a malformed object).
//! let (admission, diagnostics) = Admission::from_objects(&objects);
//! // What a request may read of the cluster: namespaces (labels, `namespaceObject`),
//! // param objects, CRD scopes. Built once per cluster.
//! let cluster = Cluster::new(&objects);
//! for object in &objects {
//!     for decision in admission.decide(object, &cluster) {
//!         // decision.action: Deny (the API server would refuse the object), Warn, Audit;
//!         // decision.policy, decision.binding, decision.message, decision.origin (the
//!         // failing expression's place in the policy file), decision.error (an
//!         // evaluation error that the failure policy turned into a decision).
//!     }
//! }
//! ```
//!
//! `Admission` holds only compiled data (no reference into the objects it was built
//! from) and is `Send + Sync`: one per set of policies, shared by all clusters and
//! threads. `decide` copies nothing of the object: CEL reads its YAML nodes in place.
//!
//! What is decided as the API server does: matchConstraints and a binding's
//! matchResources (resourceRules, excludeResourceRules, namespaceSelector, objectSelector;
//! for the operation CREATE; matchPolicy is taken as Exact), matchConditions, variables
//! (lazily, once per evaluation), validations (message, messageExpression, reason),
//! auditAnnotations, failurePolicy (an error or a policy that does not compile denies
//! under Fail, is skipped under Ignore), validationActions, and paramKind/paramRef
//! resolved against the objects given (name, namespace, selector,
//! parameterNotFoundAction). A Pod is seen as the API server stores it (zero values of
//! non-pointer fields dropped, host ports defaulted on the host network: [`stored`]). `request` is a synthetic CREATE by an anonymous user;
//! `oldObject` is null. `authorizer` and the time functions are refused at compile time
//! as unsupported, never passed.

mod admission;
pub mod cel;
mod matching;
mod selector;
mod source_map;
mod spec;
mod stored;

pub use admission::{Admission, Cluster, Decision};
pub use spec::Action;

#[cfg(test)]
mod tests;
