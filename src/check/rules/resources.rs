//! `objects/resource-name`: a container's `resources.requests`/`limits` may name only
//! what Kubernetes accepts — `cpu`, `memory`, `ephemeral-storage`, `hugepages-<size>`, or
//! an extended resource with a domain (`example.com/gpu`). The API server refuses any
//! other name, yet the schema (a map of quantities) lets every key through, and a chart
//! that writes `values.resources` whole passes a misspelt key (`memroy`) straight on: the
//! limit the operator meant silently stays the chart's default until apply fails.

use crate::check::{ClusterView, trace_key};
use crate::diagnostic::Diagnostic;
use crate::yaml::Node;

const STANDARD: &[&str] = &["cpu", "memory", "ephemeral-storage"];

/// Whether Kubernetes accepts `name` as a container's resource.
fn accepted(name: &str) -> bool {
    STANDARD.contains(&name) || name.starts_with("hugepages-") || name.contains('/')
}

pub fn cluster(view: &ClusterView) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    for (release, object) in view.objects() {
        let pod_spec = match object.id.kind.as_str() {
            "Pod" => object.body.get("spec"),
            kind => crate::manifest::pod_template_path(kind)
                .and_then(|path| object.body.lookup(path.iter().copied()))
                .and_then(|template| template.get("spec")),
        };
        let Some(pod_spec) = pod_spec else { continue };
        let containers = ["initContainers", "containers"]
            .iter()
            .filter_map(|list| pod_spec.get(list).and_then(Node::as_seq))
            .flatten();
        for container in containers {
            for kind in ["requests", "limits"] {
                let Some(amounts) = container.lookup(["resources", kind]).and_then(Node::as_map)
                else {
                    continue;
                };
                for (name, node) in amounts.iter().filter(|(name, _)| !accepted(name)) {
                    let origin = trace_key(&release.values, name).or(node.origin.as_ref());
                    let mut d = Diagnostic::error(
                        "objects/resource-name",
                        format!(
                            "{}: `resources.{kind}.{name}` names no resource a container can have: the API server refuses it",
                            object.id
                        ),
                    )
                    .at(origin)
                    .in_release(&view.cluster.name, &release.release);
                    if let Some(near) = crate::suggest::similar_key(name, STANDARD.iter().copied())
                    {
                        d = d.note(format!("did you mean `{near}`?"));
                    }
                    out.push(d.note(
                        "a container may request cpu, memory, ephemeral-storage, hugepages-<size>, or an extended resource with a domain (example.com/gpu)",
                    ));
                }
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn accepted_names() {
        for ok in [
            "cpu",
            "memory",
            "ephemeral-storage",
            "hugepages-2Mi",
            "nvidia.com/gpu",
        ] {
            assert!(super::accepted(ok), "{ok}");
        }
        for bad in ["memroy", "CPU", "storage", ""] {
            assert!(!super::accepted(bad), "{bad}");
        }
    }
}
