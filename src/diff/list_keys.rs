//! Which keys identify the items of a list field, so that a diff matches items by identity
//! (a pod's containers by name) rather than by index.

/// Merge keys for list fields of kinds the vendored schemas do not describe (custom
/// resources, or a path the schema does not reach), by the field's name. Used only when
/// every item of both sides has the key and no two share it.
const BY_FIELD_NAME: &[(&str, &str)] = &[
    ("containers", "name"),
    ("initContainers", "name"),
    ("ephemeralContainers", "name"),
    ("env", "name"),
    ("volumes", "name"),
    ("imagePullSecrets", "name"),
    ("volumeMounts", "mountPath"),
];

/// The keys of the list at `path` (its map keys from the object's root) in an object of
/// `api_version`/`kind`: the schema's, else the table's; empty when the items have no
/// identity (then they are matched by content).
pub fn list_keys(api_version: &str, kind: &str, path: &[&str]) -> Vec<String> {
    if let Some(keys) = crate::schema::list_keys(api_version, kind, path) {
        return keys;
    }
    let field = path.last().copied().unwrap_or_default();
    BY_FIELD_NAME
        .iter()
        .filter(|(name, _)| *name == field)
        .map(|(_, key)| key.to_string())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_come_from_the_schema_then_the_table() {
        let pod = ["spec", "template", "spec", "containers"];
        assert_eq!(list_keys("apps/v1", "Deployment", &pod), ["name"]);
        let ports = ["spec", "template", "spec", "containers", "ports"];
        assert_eq!(
            list_keys("apps/v1", "Deployment", &ports),
            ["containerPort", "protocol"]
        );
        assert_eq!(
            list_keys("v1", "Service", &["spec", "ports"]),
            ["port", "protocol"]
        );
        // Atomic lists have no keys: their items are matched by content.
        assert!(list_keys("rbac.authorization.k8s.io/v1", "ClusterRole", &["rules"]).is_empty());
        let tolerations = ["spec", "template", "spec", "tolerations"];
        assert!(list_keys("apps/v1", "DaemonSet", &tolerations).is_empty());
        // A kind the schemas do not know: the table.
        assert_eq!(
            list_keys("example.org/v1", "Widget", &["spec", "containers"]),
            ["name"]
        );
        assert!(list_keys("example.org/v1", "Widget", &["spec", "rules"]).is_empty());
    }
}
