//! Matching rules, bindings and the decisions they lead to.

use super::*;
use crate::manifest::{Object, RenderedFile, parse_manifests};
use crate::source::SourceFile;

fn objects(path: &str, text: &str) -> Vec<Object> {
    let file = SourceFile::new(path, text);
    parse_manifests(&RenderedFile {
        source: path.to_string(),
        file,
    })
    .expect("manifests parse")
}

const POLICY: &str = "apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingAdmissionPolicy
metadata:
  name: no-latest
spec:
  failurePolicy: FAILURE
  matchConstraints:
    resourceRules:
    - apiGroups: ['']
      apiVersions: ['v1']
      operations: [CREATE, UPDATE]
      resources: [pods]
    excludeResourceRules:
    - apiGroups: ['']
      apiVersions: ['*']
      operations: ['*']
      resources: [pods]
      resourceNames: [excluded]
  variables:
  - name: images
    expression: object.spec.containers.map(c, c.image)
  validations:
  - expression: variables.images.all(i, !i.endsWith(':latest'))
    messageExpression: \"'image ' + variables.images[0] + ' is :latest'\"
    reason: Forbidden
  - expression: \"EXTRA\"
---
apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingAdmissionPolicyBinding
metadata:
  name: no-latest-binding
spec:
  policyName: no-latest
  validationActions: ACTIONS
  matchResources:
    namespaceSelector:
      matchExpressions:
      - {key: team, operator: In, values: [web, db]}
      - {key: legacy, operator: DoesNotExist}
    objectSelector:
      matchLabels: {checked: 'yes'}
";

fn policy(failure: &str, extra: &str, actions: &str) -> String {
    POLICY
        .replace("FAILURE", failure)
        .replace("EXTRA", extra)
        .replace("ACTIONS", actions)
}

const CLUSTER: &str = "apiVersion: v1
kind: Namespace
metadata:
  name: web
  labels: {team: web}
---
apiVersion: v1
kind: Namespace
metadata:
  name: old
  labels: {team: web, legacy: 'true'}
---
apiVersion: v1
kind: Namespace
metadata:
  name: other
  labels: {team: ops}
";

fn pod(name: &str, namespace: &str, image: &str, labels: &str) -> String {
    format!(
        "apiVersion: v1\nkind: Pod\nmetadata:\n  name: {name}\n  namespace: {namespace}\n  labels: {labels}\nspec:\n  containers:\n  - name: c\n    image: {image}\n"
    )
}

/// The decisions on `pod` under `policy_text`, as (action, message).
fn decide(policy_text: &str, pod_text: &str) -> Vec<(Action, String)> {
    let policies = objects("policy.yaml", policy_text);
    let (admission, diagnostics) = Admission::from_objects(&policies);
    assert!(diagnostics.is_empty(), "{diagnostics:?}");
    let mut all = objects("cluster.yaml", CLUSTER);
    all.extend(objects("pod.yaml", pod_text));
    let cluster = Cluster::new(&all);
    let pod = all.last().unwrap();
    admission
        .decide(pod, &cluster)
        .into_iter()
        .map(|d| (d.action, d.message))
        .collect()
}

const CHECKED: &str = "{checked: 'yes'}";

#[test]
fn a_failed_validation_denies_with_its_message_expression() {
    let p = policy("Fail", "true", "[Deny]");
    assert_eq!(
        decide(&p, &pod("a", "web", "nginx:latest", CHECKED)),
        vec![(Action::Deny, "image nginx:latest is :latest".to_string())]
    );
    assert!(decide(&p, &pod("a", "web", "nginx:1.27", CHECKED)).is_empty());
}

#[test]
fn namespace_and_object_selectors_and_exclusions_decide_what_is_evaluated() {
    let p = policy("Fail", "true", "[Deny]");
    // In, DoesNotExist, matchLabels
    assert!(decide(&p, &pod("a", "other", "x:latest", CHECKED)).is_empty());
    assert!(decide(&p, &pod("a", "old", "x:latest", CHECKED)).is_empty());
    assert!(decide(&p, &pod("a", "web", "x:latest", "{checked: 'no'}")).is_empty());
    // A namespace not given has only its name label: team is absent.
    assert!(decide(&p, &pod("a", "ghost", "x:latest", CHECKED)).is_empty());
    // excludeResourceRules by name
    assert!(decide(&p, &pod("excluded", "web", "x:latest", CHECKED)).is_empty());
    // resourceRules: other kinds and versions are not matched
    let deployment = pod("a", "web", "x:latest", CHECKED).replace("kind: Pod", "kind: ConfigMap");
    assert!(decide(&p, &deployment).is_empty());
}

#[test]
fn validation_actions_each_make_a_decision() {
    let p = policy("Fail", "true", "[Warn, Audit]");
    let decisions = decide(&p, &pod("a", "web", "x:latest", CHECKED));
    let actions: Vec<Action> = decisions.iter().map(|(a, _)| *a).collect();
    assert_eq!(actions, vec![Action::Warn, Action::Audit]);
}

#[test]
fn failure_policy_decides_errors() {
    // A runtime error: the second validation divides by zero.
    let failing = policy("Fail", "1 / 0 == 1", "[Deny]");
    let decisions = decide(&failing, &pod("a", "web", "x:1", CHECKED));
    assert_eq!(decisions.len(), 1, "{decisions:?}");
    assert!(
        decisions[0]
            .1
            .contains("resulted in error: division by zero"),
        "{decisions:?}"
    );
    let ignored = policy("Ignore", "1 / 0 == 1", "[Deny]");
    assert!(decide(&ignored, &pod("a", "web", "x:1", CHECKED)).is_empty());
    // A non-boolean result is an error too.
    let decisions = decide(
        &policy("Fail", "'yes'", "[Deny]"),
        &pod("a", "web", "x:1", CHECKED),
    );
    assert!(
        decisions[0].1.contains("must evaluate to bool"),
        "{decisions:?}"
    );
}

#[test]
fn a_policy_that_does_not_compile_is_reported_at_its_line_and_denies_under_fail() {
    let text = policy("Fail", "object.spec.containers.all(c, c.name ==)", "[Deny]");
    let policies = objects("policy.yaml", &text);
    let (admission, diagnostics) = Admission::from_objects(&policies);
    assert_eq!(diagnostics.len(), 1, "{diagnostics:?}");
    let d = &diagnostics[0];
    assert_eq!(d.rule, "policy/cel");
    assert!(
        d.message
            .contains("validations[1].expression: syntax error"),
        "{}",
        d.message
    );
    let origin = d.origin.as_ref().unwrap();
    let (index, line) = text
        .lines()
        .enumerate()
        .find(|(_, l)| l.contains("c.name ==)"))
        .unwrap();
    let col = line.find("==)").unwrap() + 3;
    assert_eq!((origin.line, origin.col), (index + 1, col), "{}", d.message);
    let mut all = objects("cluster.yaml", CLUSTER);
    all.extend(objects("pod.yaml", &pod("a", "web", "x:1", CHECKED)));
    let decisions = admission.decide(all.last().unwrap(), &Cluster::new(&all));
    assert_eq!(decisions.len(), 1);
    assert!(decisions[0].error && decisions[0].message.contains("compilation failed"));
}

#[test]
fn match_conditions_skip_or_error() {
    let text = policy("Fail", "true", "[Deny]").replace(
        "  variables:",
        "  matchConditions:\n  - name: only-a\n    expression: object.metadata.name == 'a'\n  variables:",
    );
    assert_eq!(
        decide(&text, &pod("a", "web", "x:latest", CHECKED)).len(),
        1
    );
    assert!(decide(&text, &pod("b", "web", "x:latest", CHECKED)).is_empty());
}

#[test]
fn params_are_resolved_against_the_objects_given() {
    let text = "apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingAdmissionPolicy
metadata: {name: max-replicas}
spec:
  paramKind: {apiVersion: v1, kind: ConfigMap}
  matchConstraints:
    resourceRules:
    - {apiGroups: [apps], apiVersions: [v1], operations: [CREATE], resources: [deployments]}
  validations:
  - expression: object.spec.replicas <= int(params.data.max)
    message: too many replicas
---
apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingAdmissionPolicyBinding
metadata: {name: max-replicas}
spec:
  policyName: max-replicas
  paramRef: {name: limits, namespace: kube-system, parameterNotFoundAction: Deny}
  validationActions: [Deny]
";
    let limits = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: limits, namespace: kube-system}\ndata: {max: '3'}\n";
    let deployment = |n: u32| {
        format!(
            "apiVersion: apps/v1\nkind: Deployment\nmetadata: {{name: d, namespace: web}}\nspec: {{replicas: {n}}}\n"
        )
    };
    let (admission, diagnostics) = Admission::from_objects(&objects("p.yaml", text));
    assert!(diagnostics.is_empty(), "{diagnostics:?}");
    for (with_params, replicas, want) in [(true, 2, 0), (true, 5, 1), (false, 2, 1)] {
        let mut all = Vec::new();
        if with_params {
            all.extend(objects("limits.yaml", limits));
        }
        all.extend(objects("d.yaml", &deployment(replicas)));
        let decisions = admission.decide(all.last().unwrap(), &Cluster::new(&all));
        assert_eq!(
            decisions.len(),
            want,
            "{with_params} {replicas}: {decisions:?}"
        );
        if !with_params {
            assert!(
                decisions[0].message.contains("no params found"),
                "{decisions:?}"
            );
        }
    }
}

#[test]
fn audit_annotations_are_audit_decisions() {
    let text = policy("Fail", "true", "[Deny]").replace(
        "  validations:",
        "  auditAnnotations:\n  - key: image\n    valueExpression: variables.images[0]\n  validations:",
    );
    let decisions = decide(&text, &pod("a", "web", "x:1", CHECKED));
    assert_eq!(
        decisions,
        vec![(
            Action::Audit,
            "audit annotation no-latest/image: x:1".to_string()
        )]
    );
}

#[test]
fn malformed_policies_and_bindings_are_reported() {
    let text = "apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingAdmissionPolicyBinding
metadata: {name: orphan}
spec:
  policyName: nowhere
  validationActions: [Block]
  matchResources:
    namespaceSelector:
      matchExpressions:
      - {key: a, operator: Like, values: [b]}
";
    let (admission, diagnostics) = Admission::from_objects(&objects("b.yaml", text));
    assert!(admission.is_empty());
    let messages: Vec<&str> = diagnostics.iter().map(|d| d.message.as_str()).collect();
    assert!(
        messages.iter().any(|m| m.contains("operator \"Like\"")),
        "{messages:?}"
    );
    assert!(
        messages.iter().any(|m| m.contains("Deny, Warn or Audit")),
        "{messages:?}"
    );
    assert!(
        messages
            .iter()
            .any(|m| m.contains("not among the policies given")),
        "{messages:?}"
    );
}

#[test]
fn resources_and_scopes_of_kinds() {
    use super::matching::{is_namespaced, resource_of};
    assert_eq!(resource_of("Pod"), "pods");
    assert_eq!(resource_of("NetworkPolicy"), "networkpolicies");
    assert_eq!(resource_of("Ingress"), "ingresses");
    assert_eq!(resource_of("Endpoints"), "endpoints");
    assert_eq!(resource_of("Gateway"), "gateways");
    assert!(is_namespaced("Pod", None));
    assert!(!is_namespaced("ClusterRole", None));
    assert!(!is_namespaced("Namespace", None));
    assert!(!is_namespaced("Anything", Some("Cluster")));
}

#[test]
fn selectors() {
    use super::selector::{Labels, Selector};
    let node = |text: &str| crate::yaml::load_one(&SourceFile::new("s.yaml", text)).unwrap();
    let labels: Labels = [("a", "1"), ("b", "2")].into_iter().collect();
    let matches = |text: &str| Selector::parse(&node(text)).unwrap().matches(&labels);
    assert!(matches("{}"));
    assert!(matches("matchLabels: {a: '1'}"));
    assert!(!matches("matchLabels: {a: '2'}"));
    assert!(matches(
        "matchExpressions: [{key: a, operator: In, values: ['1', '3']}]"
    ));
    assert!(matches(
        "matchExpressions: [{key: c, operator: NotIn, values: ['1']}]"
    ));
    assert!(!matches(
        "matchExpressions: [{key: a, operator: NotIn, values: ['1']}]"
    ));
    assert!(matches("matchExpressions: [{key: b, operator: Exists}]"));
    assert!(matches(
        "matchExpressions: [{key: c, operator: DoesNotExist}]"
    ));
    assert!(
        Selector::parse(&node(
            "matchExpressions: [{key: a, operator: Exists, values: [x]}]"
        ))
        .is_err()
    );
}

#[test]
fn a_pod_is_seen_as_the_api_server_stores_it() {
    let pod = "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  hostNetwork: true\n  containers:\n  - name: c\n    ports:\n    - {containerPort: 80}\n    - {containerPort: 81, hostPort: 0, hostIP: ''}\n    volumeMounts: [{name: v, mountPath: /v, readOnly: false}]\n";
    let body = &objects("p.yaml", pod)[0].body;
    let stored = super::stored::pod_as_stored(body).unwrap();
    let ports = stored
        .lookup(["spec", "containers", "0", "ports"])
        .unwrap()
        .as_seq()
        .unwrap();
    assert_eq!(
        ports[0].get("hostPort").map(|n| n.to_json()),
        Some(serde_json::json!(80))
    );
    assert_eq!(
        ports[1].get("hostPort").map(|n| n.to_json()),
        Some(serde_json::json!(81))
    );
    assert!(ports[1].get("hostIP").is_none());
    assert!(
        stored
            .lookup(["spec", "containers", "0", "volumeMounts", "0", "readOnly"])
            .is_none()
    );
    let plain = "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  containers: [{name: c, image: x}]\n";
    assert!(super::stored::pod_as_stored(&objects("p.yaml", plain)[0].body).is_none());
}

#[test]
fn admission_is_shared_across_threads() {
    fn shared<T: Send + Sync>() {}
    shared::<Admission>();
}
