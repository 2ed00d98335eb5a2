//! `psp/use`: a PodSecurityPolicy nothing may use is dead weight (or a forgotten grant):
//! some rendered ClusterRole or Role must grant `use` on it.

use crate::check::{ClusterView, trace_key};
use crate::diagnostic::Diagnostic;
use crate::yaml::Node;

/// True if a role's rule grants `use` on the PodSecurityPolicy `name`: apiGroups
/// `policy`, `extensions` (or `*`), resources naming `podsecuritypolicies`, verbs `use` (or
/// `*`), and no resourceNames or ones including `name`. A rule on every resource (`*`)
/// is not taken as a grant: such broad rules (deploy roles on `extensions`) are not how a
/// policy is meant to be handed out.
pub fn grants_use(rule: &Node, name: &str) -> bool {
    let list = |key: &str| -> Vec<&str> {
        rule.get(key)
            .and_then(Node::as_seq)
            .map(|s| s.iter().filter_map(Node::as_str).collect())
            .unwrap_or_default()
    };
    let has = |key: &str, wanted: &[&str]| list(key).iter().any(|v| wanted.contains(v));
    let names = list("resourceNames");
    has("apiGroups", &["policy", "extensions", "*"])
        && has("resources", &["podsecuritypolicies"])
        && has("verbs", &["use", "*"])
        && (names.is_empty() || names.contains(&name))
}

pub fn use_granted(view: &ClusterView) -> Vec<Diagnostic> {
    let rules: Vec<&Node> = view
        .objects()
        .filter(|(_, o)| {
            matches!(o.id.kind.as_str(), "ClusterRole" | "Role")
                && o.id.group() == "rbac.authorization.k8s.io"
        })
        .filter_map(|(_, o)| o.body.get("rules").and_then(Node::as_seq))
        .flatten()
        .collect();
    view.objects()
        .filter(|(_, o)| o.id.kind == "PodSecurityPolicy")
        .filter(|(_, psp)| !rules.iter().any(|r| grants_use(r, &psp.id.name)))
        .map(|(release, psp)| {
            // The values key that defines the policy, if one does.
            let origin = trace_key(&release.values, &psp.id.name)
                .or_else(|| {
                    psp.body
                        .lookup(["metadata", "name"])
                        .and_then(|n| n.origin.as_ref())
                })
                .or(psp.origin.as_ref());
            Diagnostic::error(
                "psp/use",
                format!(
                    "PodSecurityPolicy `{}` ({}) is granted to no one: no rendered ClusterRole or Role grants `use` on it",
                    psp.id.name, psp.source
                ),
            )
            .at(origin)
            .in_release(&view.cluster.name, &release.release)
            .note("add a ClusterRole rule {apiGroups: [policy], resources: [podsecuritypolicies], verbs: [use], resourceNames: [<name>]}, or drop the policy")
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::SourceFile;
    use crate::yaml::load_one;

    fn rule(text: &str) -> Node {
        load_one(&SourceFile::new("t", text)).unwrap()
    }

    #[test]
    fn use_grants() {
        let named = rule(
            "{apiGroups: [policy], resources: [podsecuritypolicies], verbs: [use], resourceNames: [restricted]}",
        );
        assert!(grants_use(&named, "restricted"));
        assert!(!grants_use(&named, "privileged"));
        let any = rule("{apiGroups: [extensions], resources: [podsecuritypolicies], verbs: [use]}");
        assert!(grants_use(&any, "privileged"));
        let wildcard = rule("{apiGroups: ['*'], resources: [podsecuritypolicies], verbs: ['*']}");
        assert!(grants_use(&wildcard, "x"));
        let every_resource = rule("{apiGroups: [extensions], resources: ['*'], verbs: ['*']}");
        assert!(!grants_use(&every_resource, "x"));
        let get_only =
            rule("{apiGroups: [policy], resources: [podsecuritypolicies], verbs: [get, list]}");
        assert!(!grants_use(&get_only, "x"));
        let wrong_group = rule("{apiGroups: [''], resources: [podsecuritypolicies], verbs: [use]}");
        assert!(!grants_use(&wrong_group, "x"));
    }
}
