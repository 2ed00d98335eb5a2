//! `hazard/immutable-field`: a change to a field the API server refuses to update. `helmfile
//! sync` (a helm upgrade: a patch of the live object) then fails with "field is immutable",
//! after the releases before it were applied.

use super::{Finding, IMMUTABLE_FIELD};
use crate::diff::{FieldChange, Status};
use crate::manifest::Identity;
use crate::yaml::{Node, Value};

/// Immutable fields by kind: (kinds, JSON pointer of the field, what recreating costs).
const FIELDS: &[(&[&str], &str, &str)] = &[
    (WORKLOADS, "/spec/selector", RECREATE_PODS),
    (&["StatefulSet"], "/spec/volumeClaimTemplates", RECREATE_SET),
    (&["StatefulSet"], "/spec/serviceName", RECREATE_SET),
    (&["StatefulSet"], "/spec/podManagementPolicy", RECREATE_SET),
    (&["Job"], "/spec/selector", RECREATE_JOB),
    (&["Job"], "/spec/template", RECREATE_JOB),
    (&["Service"], "/spec/clusterIP", RECREATE_SERVICE),
    // The first address and family are the primary ones; a second may be added.
    (&["Service"], "/spec/clusterIPs/0", RECREATE_SERVICE),
    (&["Service"], "/spec/ipFamilies/0", RECREATE_SERVICE),
    (BINDINGS, "/roleRef", RECREATE_BINDING),
    (&["CustomResourceDefinition"], "/spec/scope", RECREATE_CRD),
    (&["CustomResourceDefinition"], "/spec/group", RECREATE_CRD),
    (
        &["CustomResourceDefinition"],
        "/spec/names/plural",
        RECREATE_CRD,
    ),
    (
        &["CustomResourceDefinition"],
        "/spec/names/kind",
        RECREATE_CRD,
    ),
];

const WORKLOADS: &[&str] = &["Deployment", "ReplicaSet", "DaemonSet", "StatefulSet"];
const BINDINGS: &[&str] = &["RoleBinding", "ClusterRoleBinding"];

const RECREATE_PODS: &str = "delete the object and let the sync create it (`helm upgrade --force` replaces it): its pods are replaced at once, not rolled";
const RECREATE_SET: &str = "delete the StatefulSet with `kubectl delete --cascade=orphan` (its pods and claims stay) and let the sync create it";
const RECREATE_JOB: &str =
    "delete the Job and let the sync create it (`helm upgrade --force`): it runs again";
const RECREATE_SERVICE: &str = "delete the Service and let the sync create it (`helm upgrade --force`): clients see it gone meanwhile, and its address changes unless set";
const RECREATE_BINDING: &str = "delete the binding and let the sync create it (`helm upgrade --force`): its subjects lose the old role's permissions meanwhile";
const RECREATE_CRD: &str = "a new CustomResourceDefinition is another resource: deleting the old one deletes every object of its kind";
const RECREATE_CLAIM: &str = "only a larger storage request can change: a new claim (a new name) gets a new volume, the data moved by hand";
const RECREATE_IMMUTABLE: &str = "an `immutable: true` ConfigMap or Secret cannot change: give the new data a new name (and the pods that mount it), or delete it and let the sync create it";

/// The immutable fields that `fields` (the changes of `id`, whose old body is `old`)
/// change, one finding per field.
pub fn immutable(id: &Identity, old: &Node, fields: &[FieldChange]) -> Vec<Finding> {
    let kind = id.kind.as_str();
    let mut out: Vec<Finding> = Vec::new();
    let mut found = |pointer: &str, remedy: &str| {
        let field = crate::schema::dotted(pointer);
        if out.iter().all(|f| f.field.as_deref() != Some(&field)) {
            out.push(Finding {
                rule: IMMUTABLE_FIELD,
                message: format!(
                    "the API server refuses to update {field} of a {kind} (\"field is immutable\"): `helmfile sync` fails there, the releases before it applied; {remedy}"
                ),
                field: Some(field),
            });
        }
    };
    for (kinds, pointer, remedy) in FIELDS {
        if kinds.contains(&kind) && fields.iter().any(|f| under(&f.pointer, pointer)) {
            found(pointer, remedy);
        }
    }
    if kind == "PersistentVolumeClaim"
        && let Some(f) = fields
            .iter()
            .find(|f| under(&f.pointer, "/spec") && !storage_growth(f))
    {
        found(&f.pointer, RECREATE_CLAIM);
    }
    let immutable_data = matches!(kind, "ConfigMap" | "Secret")
        && matches!(
            old.get("immutable").map(|n| &n.value),
            Some(Value::Bool(true))
        );
    if immutable_data {
        for f in fields {
            let top = f.pointer.split('/').nth(1).unwrap_or_default();
            if matches!(top, "data" | "binaryData" | "stringData" | "immutable") {
                found(&format!("/{top}"), RECREATE_IMMUTABLE);
            }
        }
    }
    out
}

/// `pointer` is `field` or inside it.
fn under(pointer: &str, field: &str) -> bool {
    pointer == field || pointer.starts_with(&format!("{field}/"))
}

/// A claim's storage request made larger: the one change to a bound claim's spec the API
/// server takes (volume expansion).
fn storage_growth(f: &FieldChange) -> bool {
    f.pointer == "/spec/resources/requests/storage"
        && f.status == Status::Changed
        && matches!(
            (f.old.as_deref().and_then(quantity), f.new.as_deref().and_then(quantity)),
            (Some(old), Some(new)) if new > old
        )
}

/// A Kubernetes quantity (`10Gi`, `500M`, `1.5T`, `100`) in bytes, when it is one.
fn quantity(text: &str) -> Option<f64> {
    const SUFFIXES: &[(&str, f64)] = &[
        ("Ki", 1024.0),
        ("Mi", 1048576.0),
        ("Gi", 1073741824.0),
        ("Ti", 1099511627776.0),
        ("Pi", 1125899906842624.0),
        ("Ei", 1152921504606846976.0),
        ("k", 1e3),
        ("M", 1e6),
        ("G", 1e9),
        ("T", 1e12),
        ("P", 1e15),
        ("E", 1e18),
        ("m", 1e-3),
    ];
    let text = text.trim().trim_matches(['"', '\'']);
    for (suffix, factor) in SUFFIXES {
        if let Some(number) = text.strip_suffix(suffix) {
            return number.parse::<f64>().ok().map(|n| n * factor);
        }
    }
    text.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::diff::field_changes;
    use crate::diff::tests::node;

    fn findings(kind: &str, old: &str, new: &str) -> Vec<String> {
        let id = Identity {
            api_version: "v1".into(),
            kind: kind.into(),
            namespace: "n".into(),
            name: "x".into(),
        };
        let (old, new) = (node(old), node(new));
        immutable(&id, &old, &field_changes(&old, &new))
            .into_iter()
            .map(|f| f.field.unwrap())
            .collect()
    }

    #[test]
    fn immutable_fields_by_kind() {
        let sel = |app: &str| {
            format!("spec:\n  selector:\n    matchLabels:\n      app: {app}\n  replicas: 1\n")
        };
        assert_eq!(
            findings("Deployment", &sel("a"), &sel("b")),
            ["spec.selector"]
        );
        assert!(findings("Deployment", &sel("a"), &sel("a").replace("1", "2")).is_empty());
        // Not every kind with a selector: a Service's selector may change.
        assert!(findings("Service", &sel("a"), &sel("b")).is_empty());
        let ip = |ips: &str| format!("spec:\n  clusterIPs: [{ips}]\n");
        assert!(findings("Service", &ip("10.0.0.1"), &ip("10.0.0.1, fd00::1")).is_empty());
        assert_eq!(
            findings("Service", &ip("10.0.0.1"), &ip("10.0.0.2")),
            ["spec.clusterIPs[0]"]
        );
    }

    #[test]
    fn a_claim_may_only_grow() {
        let pvc = |size: &str, mode: &str| {
            format!(
                "spec:\n  accessModes: [{mode}]\n  resources:\n    requests:\n      storage: {size}\n"
            )
        };
        let rwo = "ReadWriteOnce";
        assert!(findings("PersistentVolumeClaim", &pvc("1Gi", rwo), &pvc("2Gi", rwo)).is_empty());
        assert_eq!(
            findings(
                "PersistentVolumeClaim",
                &pvc("2Gi", rwo),
                &pvc("1500Mi", rwo)
            ),
            ["spec.resources.requests.storage"]
        );
        assert_eq!(
            findings(
                "PersistentVolumeClaim",
                &pvc("1Gi", rwo),
                &pvc("1Gi", "ReadWriteMany")
            ),
            ["spec.accessModes[0]"]
        );
    }

    #[test]
    fn immutable_config_maps_keep_their_data() {
        let cm = |immutable: bool, v: &str| format!("immutable: {immutable}\ndata:\n  k: {v}\n");
        assert_eq!(
            findings("ConfigMap", &cm(true, "a"), &cm(true, "b")),
            ["data"]
        );
        assert!(findings("ConfigMap", &cm(false, "a"), &cm(false, "b")).is_empty());
        assert!(findings("ConfigMap", &cm(false, "a"), &cm(true, "a")).is_empty());
    }
}
