//! A Pod as admission sees it: the API server decodes the request into its Go types,
//! applies defaults, and hands CEL the object encoded again. So a field written with the
//! zero value of a non-pointer `omitempty` field (`hostPort: 0`, `hostNetwork: false`) is
//! absent for `has()`, and a pod on the host network gets `hostPort` defaulted to
//! `containerPort`. Only the fields of the Pod API where this happens are handled; other
//! kinds are seen as written.

use crate::yaml::{Node, Value};

/// Fields of a PodSpec that are dropped when zero.
const POD_SPEC_ZERO: &[&str] = &[
    "hostNetwork",
    "hostPID",
    "hostIPC",
    "nodeName",
    "serviceAccountName",
    "serviceAccount",
    "hostname",
    "subdomain",
    "schedulerName",
    "priorityClassName",
];

/// Fields of a Container (and EphemeralContainer) that are dropped when zero.
const CONTAINER_ZERO: &[&str] = &[
    "stdin",
    "stdinOnce",
    "tty",
    "workingDir",
    "image",
    "terminationMessagePath",
    "terminationMessagePolicy",
    "imagePullPolicy",
];

const PORT_ZERO: &[&str] = &["hostPort", "hostIP", "name"];
const VOLUME_MOUNT_ZERO: &[&str] = &["readOnly", "subPath", "subPathExpr"];

/// The Pod `body` as the API server would store it, when that differs from the body.
pub fn pod_as_stored(body: &Node) -> Option<Node> {
    let spec = body.get("spec")?;
    if !needs_change(spec) {
        return None;
    }
    let mut body = body.clone();
    let Value::Map(top) = &mut body.value else {
        return None;
    };
    let spec = top.get_mut("spec")?;
    let host_network = matches!(
        spec.get("hostNetwork").map(|n| &n.value),
        Some(Value::Bool(true))
    );
    let Value::Map(spec) = &mut spec.value else {
        return None;
    };
    drop_zero(spec, POD_SPEC_ZERO);
    for list in ["containers", "initContainers", "ephemeralContainers"] {
        let Some(Value::Seq(containers)) = spec.get_mut(list).map(|n| &mut n.value) else {
            continue;
        };
        for container in containers {
            let Value::Map(container) = &mut container.value else {
                continue;
            };
            drop_zero(container, CONTAINER_ZERO);
            for (field, zero, ports) in [
                ("ports", PORT_ZERO, true),
                ("volumeMounts", VOLUME_MOUNT_ZERO, false),
            ] {
                let Some(Value::Seq(items)) = container.get_mut(field).map(|n| &mut n.value) else {
                    continue;
                };
                for item in items {
                    let Value::Map(item) = &mut item.value else {
                        continue;
                    };
                    if ports && host_network && is_unset(item.get("hostPort")) {
                        // SetDefaults_Pod: on the host network, a port is a host port.
                        if let Some(port) = item.get("containerPort").cloned() {
                            item.insert("hostPort".to_string(), port);
                        }
                    }
                    drop_zero(item, zero);
                }
            }
        }
    }
    Some(body)
}

fn is_unset(node: Option<&Node>) -> bool {
    node.is_none_or(|n| is_zero(&n.value))
}

fn is_zero(value: &Value) -> bool {
    match value {
        Value::Null => true,
        Value::Bool(b) => !b,
        Value::Int(i) => *i == 0,
        Value::Float(f) => *f == 0.0,
        Value::Str(s) => s.is_empty(),
        _ => false,
    }
}

fn drop_zero(map: &mut std::collections::BTreeMap<String, Node>, fields: &[&str]) {
    map.retain(|k, v| !(fields.contains(&k.as_str()) && is_zero(&v.value)));
}

/// Whether anything would change: most pods need no copy.
fn needs_change(spec: &Node) -> bool {
    let zero_in = |node: &Node, fields: &[&str]| {
        node.as_map().is_some_and(|m| {
            fields
                .iter()
                .any(|f| m.get(*f).is_some_and(|v| is_zero(&v.value)))
        })
    };
    if zero_in(spec, POD_SPEC_ZERO) {
        return true;
    }
    let host_network = matches!(
        spec.get("hostNetwork").map(|n| &n.value),
        Some(Value::Bool(true))
    );
    ["containers", "initContainers", "ephemeralContainers"]
        .iter()
        .filter_map(|l| spec.get(l).and_then(Node::as_seq))
        .flatten()
        .any(|c| {
            zero_in(c, CONTAINER_ZERO)
                || c.get("ports")
                    .and_then(Node::as_seq)
                    .unwrap_or_default()
                    .iter()
                    .any(|p| zero_in(p, PORT_ZERO) || (host_network && is_unset(p.get("hostPort"))))
                || c.get("volumeMounts")
                    .and_then(Node::as_seq)
                    .unwrap_or_default()
                    .iter()
                    .any(|m| zero_in(m, VOLUME_MOUNT_ZERO))
        })
}
