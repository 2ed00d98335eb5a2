//! ValidatingAdmissionPolicy and ValidatingAdmissionPolicyBinding objects, read and
//! compiled once: every expression parsed and checked, its errors reported at its line.

use crate::diagnostic::Diagnostic;
use crate::manifest::Object;
use crate::source::Origin;
use crate::yaml::Node;

use super::cel::{Declarations, Position, Program};
use super::matching::MatchResources;
use super::selector::Selector;
use super::source_map::ExprLocation;

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Action {
    Deny,
    Warn,
    Audit,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FailurePolicy {
    Fail,
    Ignore,
}

/// An expression of a policy: compiled, or the error that kept it from compiling (which
/// the failure policy then decides on, as the API server does).
#[derive(Debug)]
pub struct Expression {
    pub compiled: Result<Program, String>,
    pub location: Option<ExprLocation>,
}

impl Expression {
    pub fn origin(&self, position: Position) -> Option<Origin> {
        self.location.as_ref().map(|l| l.origin(position))
    }
}

#[derive(Debug)]
pub struct Validation {
    pub expression: Expression,
    pub text: String,
    pub message: Option<String>,
    pub message_expression: Option<Expression>,
    pub reason: String,
}

#[derive(Debug)]
pub struct AuditAnnotation {
    pub key: String,
    pub value: Expression,
}

#[derive(Debug)]
pub struct ParamKind {
    pub api_version: String,
    pub kind: String,
}

#[derive(Debug)]
pub struct Policy {
    pub name: String,
    pub origin: Option<Origin>,
    pub failure_policy: FailurePolicy,
    pub constraints: MatchResources,
    pub param_kind: Option<ParamKind>,
    pub match_conditions: Vec<(String, Expression)>,
    pub variables: Vec<Program>,
    /// Where each variable is, for its errors.
    pub variable_locations: Vec<Option<ExprLocation>>,
    /// Variables that did not compile (name, error): every evaluation of the policy is then
    /// an error, decided by the failure policy.
    pub broken_variables: Vec<(String, String)>,
    pub validations: Vec<Validation>,
    pub audit_annotations: Vec<AuditAnnotation>,
}

#[derive(Debug)]
pub struct ParamRef {
    pub name: Option<String>,
    pub namespace: Option<String>,
    pub selector: Option<Selector>,
    pub deny_when_missing: bool,
}

#[derive(Debug)]
pub struct Binding {
    pub name: String,
    pub origin: Option<Origin>,
    pub policy: String,
    pub resources: Option<MatchResources>,
    pub actions: Vec<Action>,
    pub param_ref: Option<ParamRef>,
}

/// A diagnostic about a policy object, at `node` (or the object).
fn problem(
    rule: &'static str,
    object: &Object,
    node: Option<&Node>,
    message: String,
) -> Diagnostic {
    let origin = node
        .and_then(|n| n.origin.as_ref())
        .or(object.origin.as_ref());
    Diagnostic::error(
        rule,
        format!("{} {}: {message}", object.id.kind, object.id.name),
    )
    .at(origin)
}

/// Compiles the expression at `node` (a string), reporting its errors at their line.
fn compile(
    object: &Object,
    what: &str,
    node: &Node,
    decls: &Declarations,
    diagnostics: &mut Vec<Diagnostic>,
) -> Expression {
    let location = node.origin.as_ref().map(ExprLocation::of_key);
    let Some(text) = node.as_str() else {
        diagnostics.push(problem(
            "policy/cel",
            object,
            Some(node),
            format!("{what} must be a string, not {}", node.a_type_name()),
        ));
        return Expression {
            compiled: Err(format!("{what} is not a string")),
            location,
        };
    };
    let compiled = Program::compile(text, decls).map_err(|(message, position)| {
        let origin = location.as_ref().map(|l| l.origin(position));
        diagnostics.push(
            Diagnostic::error(
                "policy/cel",
                format!("{} {}: {what}: {message}", object.id.kind, object.id.name),
            )
            .at(origin.as_ref().or(node.origin.as_ref())),
        );
        format!(
            "compilation failed: {message} (at {}:{})",
            position.line, position.col
        )
    });
    Expression { compiled, location }
}

impl Policy {
    pub fn read(object: &Object, diagnostics: &mut Vec<Diagnostic>) -> Policy {
        let body = &object.body;
        let spec = body.get("spec");
        let field = |key: &str| spec.and_then(|s| s.get(key));
        let failure_policy = match field("failurePolicy").and_then(Node::as_str) {
            None | Some("Fail") => FailurePolicy::Fail,
            Some("Ignore") => FailurePolicy::Ignore,
            Some(other) => {
                diagnostics.push(problem(
                    "policy/admission",
                    object,
                    field("failurePolicy"),
                    format!("failurePolicy {other:?} is neither Fail nor Ignore; taken as Fail"),
                ));
                FailurePolicy::Fail
            }
        };
        let constraints = match field("matchConstraints") {
            Some(node) => MatchResources::parse(node).unwrap_or_else(|e| {
                diagnostics.push(problem("policy/admission", object, Some(node), e));
                MatchResources::default()
            }),
            None => {
                diagnostics.push(problem(
                    "policy/admission",
                    object,
                    spec,
                    "spec.matchConstraints is required: the policy matches nothing".to_string(),
                ));
                MatchResources::default()
            }
        };
        let param_kind = field("paramKind").map(|p| ParamKind {
            api_version: p
                .get("apiVersion")
                .and_then(Node::as_str)
                .unwrap_or("")
                .to_string(),
            kind: p
                .get("kind")
                .and_then(Node::as_str)
                .unwrap_or("")
                .to_string(),
        });
        let mut decls = Declarations::default();
        let mut variables = Vec::new();
        let mut variable_locations = Vec::new();
        let mut broken_variables = Vec::new();
        for (i, v) in field("variables")
            .and_then(Node::as_seq)
            .unwrap_or_default()
            .iter()
            .enumerate()
        {
            let name = v
                .get("name")
                .and_then(Node::as_str)
                .unwrap_or("")
                .to_string();
            let expr = v.get("expression").unwrap_or(v);
            let compiled = compile(
                object,
                &format!("variables[{i}] ({name})"),
                expr,
                &decls,
                diagnostics,
            );
            match compiled.compiled {
                Ok(program) => {
                    variables.push(program);
                    variable_locations.push(compiled.location);
                    decls.variables.push(name);
                }
                // Declared all the same, so that expressions naming it are not reported
                // again; the policy is then decided as broken (see `broken_variables`).
                Err(e) => {
                    variables.push(Program::compile("null", &decls).expect("a literal compiles"));
                    variable_locations.push(compiled.location);
                    decls.variables.push(name.clone());
                    broken_variables.push((name, e));
                }
            }
        }
        let mut match_conditions = Vec::new();
        for (i, c) in field("matchConditions")
            .and_then(Node::as_seq)
            .unwrap_or_default()
            .iter()
            .enumerate()
        {
            let name = c
                .get("name")
                .and_then(Node::as_str)
                .unwrap_or("")
                .to_string();
            let expr = c.get("expression").unwrap_or(c);
            let compiled = compile(
                object,
                &format!("matchConditions[{i}] ({name})"),
                expr,
                &decls,
                diagnostics,
            );
            match_conditions.push((name, compiled));
        }
        let mut validations = Vec::new();
        for (i, v) in field("validations")
            .and_then(Node::as_seq)
            .unwrap_or_default()
            .iter()
            .enumerate()
        {
            let expr = v.get("expression").unwrap_or(v);
            let expression = compile(
                object,
                &format!("validations[{i}].expression"),
                expr,
                &decls,
                diagnostics,
            );
            let message_expression = v.get("messageExpression").map(|m| {
                compile(
                    object,
                    &format!("validations[{i}].messageExpression"),
                    m,
                    &decls,
                    diagnostics,
                )
            });
            validations.push(Validation {
                expression,
                text: expr.as_str().unwrap_or("").to_string(),
                message: v.get("message").and_then(Node::as_str).map(str::to_string),
                message_expression,
                reason: v
                    .get("reason")
                    .and_then(Node::as_str)
                    .unwrap_or("Invalid")
                    .to_string(),
            });
        }
        let mut audit_annotations = Vec::new();
        for (i, a) in field("auditAnnotations")
            .and_then(Node::as_seq)
            .unwrap_or_default()
            .iter()
            .enumerate()
        {
            let key = a
                .get("key")
                .and_then(Node::as_str)
                .unwrap_or("")
                .to_string();
            let expr = a.get("valueExpression").unwrap_or(a);
            let value = compile(
                object,
                &format!("auditAnnotations[{i}] ({key})"),
                expr,
                &decls,
                diagnostics,
            );
            audit_annotations.push(AuditAnnotation { key, value });
        }
        if validations.is_empty() && audit_annotations.is_empty() {
            diagnostics.push(problem(
                "policy/admission",
                object,
                spec,
                "a policy needs validations or auditAnnotations".to_string(),
            ));
        }
        Policy {
            name: object.id.name.clone(),
            origin: object.origin.clone(),
            failure_policy,
            constraints,
            param_kind,
            match_conditions,
            variables,
            variable_locations,
            broken_variables,
            validations,
            audit_annotations,
        }
    }
}

impl Binding {
    pub fn read(object: &Object, diagnostics: &mut Vec<Diagnostic>) -> Binding {
        let spec = object.body.get("spec");
        let field = |key: &str| spec.and_then(|s| s.get(key));
        let policy = field("policyName")
            .and_then(Node::as_str)
            .unwrap_or("")
            .to_string();
        if policy.is_empty() {
            diagnostics.push(problem(
                "policy/admission",
                object,
                spec,
                "spec.policyName is required".to_string(),
            ));
        }
        let resources = field("matchResources").and_then(|node| {
            MatchResources::parse(node)
                .map_err(|e| diagnostics.push(problem("policy/admission", object, Some(node), e)))
                .ok()
        });
        let mut actions = Vec::new();
        for a in field("validationActions")
            .and_then(Node::as_seq)
            .unwrap_or_default()
        {
            match a.as_str() {
                Some("Deny") => actions.push(Action::Deny),
                Some("Warn") => actions.push(Action::Warn),
                Some("Audit") => actions.push(Action::Audit),
                _ => diagnostics.push(problem(
                    "policy/admission",
                    object,
                    Some(a),
                    "a validationAction is Deny, Warn or Audit".to_string(),
                )),
            }
        }
        if actions.is_empty() {
            diagnostics.push(problem(
                "policy/admission",
                object,
                field("validationActions").or(spec),
                "spec.validationActions needs at least one of Deny, Warn, Audit".to_string(),
            ));
        }
        let param_ref = field("paramRef").map(|p| ParamRef {
            name: p.get("name").and_then(Node::as_str).map(str::to_string),
            namespace: p
                .get("namespace")
                .and_then(Node::as_str)
                .map(str::to_string),
            selector: p.get("selector").and_then(|s| {
                Selector::parse(s)
                    .map_err(|e| diagnostics.push(problem("policy/admission", object, Some(s), e)))
                    .ok()
            }),
            deny_when_missing: p.get("parameterNotFoundAction").and_then(Node::as_str)
                != Some("Allow"),
        });
        Binding {
            name: object.id.name.clone(),
            origin: object.origin.clone(),
            policy,
            resources,
            actions,
            param_ref,
        }
    }
}
