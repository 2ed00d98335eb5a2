//! Deciding a request as the API server's ValidatingAdmissionPolicy plugin does: for each
//! binding whose policy and resources match, resolve params, test matchConditions, then
//! every validation; a failure or an error (as the failure policy says) becomes a
//! decision for each of the binding's validation actions.

use std::collections::HashMap;

use crate::diagnostic::Diagnostic;
use crate::manifest::Object;
use crate::source::Origin;
use crate::yaml::Node;

use super::cel::{Activation, Budget, EvalError, Evaluation, Value};
use super::matching::{Request, ResourceIndex, is_namespaced, resource_of};
use super::selector::{Labels, labels_of};
use super::spec::{Action, Binding, Expression, FailurePolicy, Policy};
use super::stored::pod_as_stored;

/// The compiled policies and bindings of a cluster, reusable for any number of objects.
#[derive(Debug, Default)]
pub struct Admission {
    policies: Vec<Policy>,
    /// (binding, index of its policy), sorted by policy then binding name.
    bindings: Vec<(Binding, usize)>,
    /// The (group, resource) pairs any bound policy's rules name.
    resources: ResourceIndex,
    budget: Budget,
}

/// One outcome of one binding for one object.
#[derive(Clone, Debug, PartialEq)]
pub struct Decision {
    pub policy: String,
    pub binding: String,
    pub action: Action,
    pub message: String,
    /// The validation's `reason` (`Invalid` unless it says otherwise).
    pub reason: String,
    /// From an error (an expression that failed or did not compile) rather than a
    /// validation that returned false.
    pub error: bool,
    /// The expression it is about, in the policy's file.
    pub origin: Option<Origin>,
}

/// What the request reads of the cluster beyond the object: namespaces (by name) for
/// their labels and `namespaceObject`, and every object, for params and CRD scopes.
pub struct Cluster<'a> {
    namespaces: HashMap<&'a str, &'a Object>,
    objects: Vec<&'a Object>,
    crd_scopes: HashMap<(&'a str, &'a str), (&'a str, &'a str)>,
}

impl<'a> Cluster<'a> {
    /// From the objects of a cluster (wherever they are held: a render keeps them per
    /// release).
    pub fn new(objects: impl IntoIterator<Item = &'a Object>) -> Cluster<'a> {
        let objects: Vec<&'a Object> = objects.into_iter().collect();
        let namespaces = objects
            .iter()
            .filter(|o| o.id.kind == "Namespace")
            .map(|o| (o.id.name.as_str(), *o))
            .collect();
        let mut crd_scopes = HashMap::new();
        for crd in objects
            .iter()
            .filter(|o| o.id.kind == "CustomResourceDefinition")
        {
            let spec = crd.body.get("spec");
            let text = |path: &[&str]| {
                spec.and_then(|s| s.lookup(path.iter().copied()))
                    .and_then(Node::as_str)
            };
            if let (Some(group), Some(kind), Some(plural), Some(scope)) = (
                text(&["group"]),
                text(&["names", "kind"]),
                text(&["names", "plural"]),
                text(&["scope"]),
            ) {
                crd_scopes.insert((group, kind), (plural, scope));
            }
        }
        Cluster {
            namespaces,
            objects,
            crd_scopes,
        }
    }
}

impl Admission {
    /// Collects and compiles the ValidatingAdmissionPolicies and their bindings among
    /// `objects`; the diagnostics are about them (CEL errors at their line).
    pub fn from_objects<'o>(
        objects: impl IntoIterator<Item = &'o Object>,
    ) -> (Admission, Vec<Diagnostic>) {
        let mut diagnostics = Vec::new();
        let mut policies = Vec::new();
        let mut bindings = Vec::new();
        for object in objects {
            if object.id.group() != "admissionregistration.k8s.io" {
                continue;
            }
            match object.id.kind.as_str() {
                "ValidatingAdmissionPolicy" => {
                    policies.push(Policy::read(object, &mut diagnostics))
                }
                "ValidatingAdmissionPolicyBinding" => {
                    bindings.push(Binding::read(object, &mut diagnostics))
                }
                _ => {}
            }
        }
        policies.sort_by(|a, b| a.name.cmp(&b.name));
        let mut bound = Vec::new();
        for binding in bindings {
            let Some(index) = policies.iter().position(|p| p.name == binding.policy) else {
                if !binding.policy.is_empty() {
                    diagnostics.push(
                        Diagnostic::warning(
                            "policy/admission",
                            format!(
                                "ValidatingAdmissionPolicyBinding {} binds {:?}, which is not among the policies given: it decides nothing",
                                binding.name, binding.policy
                            ),
                        )
                        .at(binding.origin.as_ref()),
                    );
                }
                continue;
            };
            let policy = &policies[index];
            if policy.param_kind.is_some() != binding.param_ref.is_some() {
                diagnostics.push(
                    Diagnostic::error(
                        "policy/admission",
                        format!(
                            "ValidatingAdmissionPolicyBinding {}: {}",
                            binding.name,
                            if policy.param_kind.is_some() {
                                format!(
                                    "policy {} has a paramKind, so the binding needs a paramRef",
                                    policy.name
                                )
                            } else {
                                format!(
                                    "policy {} has no paramKind, so the binding takes no paramRef",
                                    policy.name
                                )
                            }
                        ),
                    )
                    .at(binding.origin.as_ref()),
                );
            }
            bound.push((binding, index));
        }
        bound.sort_by(|(a, i), (b, j)| (i, &a.name).cmp(&(j, &b.name)));
        let resources = ResourceIndex::of(bound.iter().map(|(_, i)| &policies[*i].constraints));
        (
            Admission {
                policies,
                bindings: bound,
                resources,
                budget: Budget::default(),
            },
            diagnostics,
        )
    }

    /// No policy is bound: nothing to decide.
    pub fn is_empty(&self) -> bool {
        self.bindings.is_empty()
    }

    /// The decisions on a CREATE of `object` in `cluster`: empty when it is admitted
    /// without a word.
    pub fn decide(&self, object: &Object, cluster: &Cluster) -> Vec<Decision> {
        if self.bindings.is_empty() {
            return Vec::new();
        }
        let (group, version) = match object.id.api_version.rsplit_once('/') {
            Some((g, v)) => (g, v),
            None => ("", object.id.api_version.as_str()),
        };
        let crd = cluster.crd_scopes.get(&(group, object.id.kind.as_str()));
        let resource = crd.map_or_else(
            || resource_of(&object.id.kind),
            |(plural, _)| plural.to_string(),
        );
        // Most objects are of resources no policy names: decided without a look at them.
        if !self.resources.may_match(group, &resource) {
            return Vec::new();
        }
        let namespaced = is_namespaced(&object.id.kind, crd.map(|(_, scope)| *scope));
        // A namespaced object written without a namespace lands in `default`.
        let namespace = match (namespaced, object.id.namespace.as_str()) {
            (false, _) => None,
            (true, "") => Some("default"),
            (true, ns) => Some(ns),
        };
        let namespace_object = match (object.id.kind.as_str(), namespace) {
            ("Namespace", _) => Some(object),
            (_, Some(ns)) => cluster.namespaces.get(ns).copied(),
            _ => None,
        };
        let namespace_name =
            namespace_object.map_or(namespace.unwrap_or(""), |o| o.id.name.as_str());
        let mut namespace_labels: Labels = namespace_object
            .map(|o| labels_of(&o.body))
            .unwrap_or_default();
        // The API server labels every namespace with its name.
        if !namespace_name.is_empty() {
            namespace_labels.insert("kubernetes.io/metadata.name", namespace_name);
        }
        let request = Request {
            object,
            group,
            version,
            resource: &resource,
            namespaced,
            namespace_labels: &namespace_labels,
        };
        let stored = (object.id.kind == "Pod" && group.is_empty())
            .then(|| pod_as_stored(&object.body))
            .flatten();
        let body: &Node = stored.as_ref().unwrap_or(&object.body);
        let mut decisions = Vec::new();
        let mut request_value = None;
        for (binding, index) in &self.bindings {
            let policy = &self.policies[*index];
            if !policy.constraints.matches(&request, true)
                || binding
                    .resources
                    .as_ref()
                    .is_some_and(|r| !r.matches(&request, false))
            {
                continue;
            }
            let request_value = request_value
                .get_or_insert_with(|| request_of(object, &request, namespace.unwrap_or("")));
            let params = match self.params(policy, binding, namespace, cluster) {
                Ok(params) => params,
                Err(message) => {
                    if policy.failure_policy == FailurePolicy::Fail {
                        push(
                            &mut decisions,
                            policy,
                            binding,
                            message,
                            "Invalid",
                            true,
                            binding.origin.clone(),
                        );
                    }
                    continue;
                }
            };
            for param in params {
                let activation = Activation {
                    object: Value::of_node(body),
                    old_object: Value::Null,
                    params: param.map_or(Value::Null, Value::of_node),
                    request: request_value.clone(),
                    namespace_object: namespace_object
                        .map_or(Value::Null, |o| Value::of_node(&o.body)),
                };
                self.evaluate(policy, binding, &activation, &mut decisions);
            }
        }
        decisions
    }

    /// The param objects a binding selects (`None`: the policy takes no params).
    fn params<'c>(
        &self,
        policy: &Policy,
        binding: &Binding,
        namespace: Option<&str>,
        cluster: &Cluster<'c>,
    ) -> Result<Vec<Option<&'c Node>>, String> {
        let (kind, reference) = match (&policy.param_kind, &binding.param_ref) {
            (None, None) => return Ok(vec![None]),
            (Some(kind), Some(reference)) => (kind, reference),
            (Some(_), None) => {
                return Err(format!(
                    "policy {} needs params, and binding {} has no paramRef",
                    policy.name, binding.name
                ));
            }
            (None, Some(_)) => {
                return Err(format!(
                    "binding {} has a paramRef, and policy {} has no paramKind",
                    binding.name, policy.name
                ));
            }
        };
        let found: Vec<Option<&Node>> = cluster
            .objects
            .iter()
            .filter(|o| o.id.api_version == kind.api_version && o.id.kind == kind.kind)
            .filter(|o| {
                let wanted_ns = reference
                    .namespace
                    .as_deref()
                    .or(if o.id.namespace.is_empty() {
                        None
                    } else {
                        namespace
                    });
                wanted_ns.is_none_or(|ns| o.id.namespace == ns)
            })
            .filter(|o| match (&reference.name, &reference.selector) {
                (Some(name), _) => o.id.name == *name,
                (None, Some(selector)) => selector.matches(&labels_of(&o.body)),
                (None, None) => false,
            })
            .map(|o| Some(o.body.as_ref()))
            .collect();
        if found.is_empty() {
            if reference.deny_when_missing {
                return Err(format!(
                    "no params found for policy binding {} with `Deny` parameterNotFoundAction (paramKind {} {}{})",
                    binding.name,
                    kind.api_version,
                    kind.kind,
                    reference
                        .name
                        .as_ref()
                        .map_or(String::new(), |n| format!(", name {n}"))
                ));
            }
            return Ok(Vec::new());
        }
        Ok(found)
    }

    fn evaluate<'p, 'a>(
        &'p self,
        policy: &'p Policy,
        binding: &Binding,
        activation: &'a Activation<'a>,
        decisions: &mut Vec<Decision>,
    ) where
        'p: 'a,
    {
        let fail = policy.failure_policy == FailurePolicy::Fail;
        let error = |decisions: &mut Vec<Decision>, message: String, origin: Option<Origin>| {
            if fail {
                push(decisions, policy, binding, message, "Invalid", true, origin);
            }
        };
        if let Some((name, e)) = policy.broken_variables.first() {
            error(
                decisions,
                format!("variable {name}: {e}"),
                policy.origin.clone(),
            );
            return;
        }
        let mut evaluation = Evaluation::new(&policy.variables, activation, self.budget);
        for (name, condition) in &policy.match_conditions {
            match run(&mut evaluation, policy, condition) {
                Ok(Value::Bool(true)) => {}
                Ok(Value::Bool(false)) => return,
                Ok(other) => {
                    let origin = condition.location.as_ref().map(|l| l.start());
                    return error(
                        decisions,
                        format!(
                            "matchCondition {name} must evaluate to bool, not {}",
                            other.type_name()
                        ),
                        origin,
                    );
                }
                Err((message, origin, _)) => {
                    return error(
                        decisions,
                        format!("failed to evaluate matchCondition {name}: {message}"),
                        origin,
                    );
                }
            }
        }
        for validation in &policy.validations {
            let expression = &validation.expression;
            match run(&mut evaluation, policy, expression) {
                Ok(Value::Bool(true)) => {}
                Ok(Value::Bool(false)) => {
                    let message = validation
                        .message_expression
                        .as_ref()
                        .and_then(|m| match run(&mut evaluation, policy, m) {
                            Ok(Value::Str(s)) => {
                                let s = s.as_str().trim();
                                (!s.is_empty() && !s.contains('\n')).then(|| s.to_string())
                            }
                            _ => None,
                        })
                        .or_else(|| validation.message.clone())
                        .unwrap_or_else(|| {
                            format!("failed expression: {}", validation.text.trim())
                        });
                    push(
                        decisions,
                        policy,
                        binding,
                        message,
                        &validation.reason,
                        false,
                        expression.location.as_ref().map(|l| l.start()),
                    );
                }
                Ok(other) => error(
                    decisions,
                    format!(
                        "validation expression must evaluate to bool, not {}",
                        other.type_name()
                    ),
                    expression.location.as_ref().map(|l| l.start()),
                ),
                Err((message, origin, over_budget)) => {
                    error(
                        decisions,
                        format!(
                            "expression '{}' resulted in error: {message}",
                            validation.text.trim()
                        ),
                        origin,
                    );
                    if over_budget {
                        return;
                    }
                }
            }
        }
        for annotation in &policy.audit_annotations {
            match run(&mut evaluation, policy, &annotation.value) {
                Ok(Value::Null) => {}
                Ok(Value::Str(s)) => decisions.push(Decision {
                    policy: policy.name.clone(),
                    binding: binding.name.clone(),
                    action: Action::Audit,
                    message: format!(
                        "audit annotation {}/{}: {}",
                        policy.name,
                        annotation.key,
                        s.as_str()
                    ),
                    reason: String::new(),
                    error: false,
                    origin: annotation.value.location.as_ref().map(|l| l.start()),
                }),
                Ok(other) => error(
                    decisions,
                    format!(
                        "auditAnnotation {} must evaluate to a string or null, not {}",
                        annotation.key,
                        other.type_name()
                    ),
                    annotation.value.location.as_ref().map(|l| l.start()),
                ),
                Err((message, origin, _)) => error(
                    decisions,
                    format!(
                        "auditAnnotation {} resulted in error: {message}",
                        annotation.key
                    ),
                    origin,
                ),
            }
        }
    }
}

/// Evaluates one expression of `policy`; an error carries where it happened.
fn run<'p, 'a>(
    evaluation: &mut Evaluation<'p, 'a>,
    policy: &'p Policy,
    expression: &'p Expression,
) -> Result<Value<'a>, (String, Option<Origin>, bool)>
where
    'p: 'a,
{
    let program = expression.compiled.as_ref().map_err(|e| {
        (
            e.clone(),
            expression.location.as_ref().map(|l| l.start()),
            false,
        )
    })?;
    evaluation.eval(program).map_err(|e: EvalError| {
        let origin = match e.variable {
            Some(i) => policy.variable_locations[i]
                .as_ref()
                .map(|l| l.origin(e.position)),
            None => expression.origin(e.position),
        };
        (e.message, origin, e.cost_exceeded)
    })
}

/// One decision per validation action of the binding.
fn push(
    decisions: &mut Vec<Decision>,
    policy: &Policy,
    binding: &Binding,
    message: String,
    reason: &str,
    error: bool,
    origin: Option<Origin>,
) {
    for action in &binding.actions {
        decisions.push(Decision {
            policy: policy.name.clone(),
            binding: binding.name.clone(),
            action: *action,
            message: message.clone(),
            reason: reason.to_string(),
            error,
            origin: origin.clone(),
        });
    }
}

/// `request`: what an admission request for a CREATE of `object` would carry.
fn request_of<'a>(object: &'a Object, request: &Request, namespace: &'a str) -> Value<'a> {
    let s = |v: &str| Value::string(v);
    let gvk = || {
        Value::map(vec![
            (s("group"), s(request.group)),
            (s("version"), s(request.version)),
            (s("kind"), s(&object.id.kind)),
        ])
    };
    let gvr = || {
        Value::map(vec![
            (s("group"), s(request.group)),
            (s("version"), s(request.version)),
            (s("resource"), s(request.resource)),
        ])
    };
    Value::map(vec![
        (s("operation"), s("CREATE")),
        (s("kind"), gvk()),
        (s("requestKind"), gvk()),
        (s("resource"), gvr()),
        (s("requestResource"), gvr()),
        (s("subResource"), s("")),
        (s("name"), s(&object.id.name)),
        (s("namespace"), s(namespace)),
        (s("dryRun"), Value::Bool(false)),
        (
            s("userInfo"),
            Value::map(vec![
                (s("username"), s("")),
                (s("groups"), Value::list(Vec::new())),
            ]),
        ),
    ])
}
