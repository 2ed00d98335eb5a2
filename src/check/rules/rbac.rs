//! `rbac/role-ref`: every RoleBinding and ClusterRoleBinding refers to a role that exists:
//! one the cluster renders, or one Kubernetes itself provides.

use std::collections::BTreeSet;

use super::objects::{Scopes, release_namespace};
use crate::check::{ClusterView, trace_value};
use crate::diagnostic::Diagnostic;
use crate::render::Fleet;
use crate::yaml::Node;

const RBAC_GROUP: &str = "rbac.authorization.k8s.io";

/// ClusterRoles every Kubernetes cluster has: the user-facing ones and the `system:` ones.
pub fn is_builtin_cluster_role(name: &str) -> bool {
    matches!(name, "cluster-admin" | "admin" | "edit" | "view") || name.starts_with("system:")
}

pub fn role_refs(fleet: &Fleet, view: &ClusterView) -> Vec<Diagnostic> {
    let scopes = Scopes::of(view);
    let rbac = |kind: &'static str| {
        view.objects()
            .filter(move |(_, o)| o.id.kind == kind && o.id.group() == RBAC_GROUP)
    };
    let cluster_roles: BTreeSet<&str> = rbac("ClusterRole")
        .map(|(_, o)| o.id.name.as_str())
        .collect();
    let roles: BTreeSet<(&str, &str)> = rbac("Role")
        .filter_map(|(r, o)| {
            let (ns, _) = scopes.namespace(o, release_namespace(fleet, r))?;
            Some((ns, o.id.name.as_str()))
        })
        .collect();
    let mut out = Vec::new();
    for (release, binding) in rbac("RoleBinding").chain(rbac("ClusterRoleBinding")) {
        let role_ref = binding.body.get("roleRef");
        let field = |key: &str| role_ref.and_then(|r| r.get(key)).and_then(Node::as_str);
        let (Some(kind), Some(name)) = (field("kind"), field("name")) else {
            continue; // schema/kubernetes reports a missing roleRef
        };
        let namespace = scopes
            .namespace(binding, release_namespace(fleet, release))
            .map_or("", |(ns, _)| ns);
        let problem = match (binding.id.kind.as_str(), kind) {
            (_, "ClusterRole") if cluster_roles.contains(name) || is_builtin_cluster_role(name) => {
                continue;
            }
            (_, "ClusterRole") => format!(
                "refers to ClusterRole `{name}`, which the cluster does not render and Kubernetes does not provide"
            ),
            ("RoleBinding", "Role") if roles.contains(&(namespace, name)) => continue,
            ("RoleBinding", "Role") => format!(
                "refers to Role `{name}`, which the cluster does not render in namespace `{namespace}`"
            ),
            ("ClusterRoleBinding", "Role") => {
                format!(
                    "refers to Role `{name}`: a ClusterRoleBinding can only refer to a ClusterRole"
                )
            }
            (_, other) => {
                format!("refers to a `{other}`: roleRef.kind must be ClusterRole or Role")
            }
        };
        let origin = trace_value(&release.values, name)
            .or_else(|| {
                role_ref
                    .and_then(|r| r.get("name"))
                    .and_then(|n| n.origin.as_ref())
            })
            .or(binding.origin.as_ref());
        out.push(
            Diagnostic::error("rbac/role-ref", format!("{} {problem}", binding.id))
                .at(origin)
                .in_release(&view.cluster.name, &release.release)
                .note(format!("rendered by {}", binding.source)),
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtin_cluster_roles() {
        for name in [
            "cluster-admin",
            "admin",
            "edit",
            "view",
            "system:coredns",
            "system:node",
        ] {
            assert!(is_builtin_cluster_role(name), "{name}");
        }
        for name in [
            "deploy",
            "allow-restricted-psp",
            "cluster-admins",
            "systems:x",
        ] {
            assert!(!is_builtin_cluster_role(name), "{name}");
        }
    }
}
