//! Which requests a policy or binding applies to: `matchConstraints` and `matchResources`
//! (resource rules, exclusions, namespace and object selectors), decided for a CREATE of
//! the object.

use crate::manifest::Object;
use crate::yaml::Node;

use super::selector::{Labels, Selector, labels_of};

/// `matchResources` of a binding, or `matchConstraints` of a policy.
#[derive(Clone, Debug, Default)]
pub struct MatchResources {
    namespace_selector: Selector,
    object_selector: Selector,
    rules: Vec<Rule>,
    excluded: Vec<Rule>,
}

#[derive(Clone, Debug)]
struct Rule {
    groups: Vec<String>,
    versions: Vec<String>,
    operations: Vec<String>,
    resources: Vec<String>,
    names: Vec<String>,
    scope: String,
}

/// What a request is about, as matching sees it.
pub struct Request<'a> {
    pub object: &'a Object,
    pub group: &'a str,
    pub version: &'a str,
    /// The plural resource (`pods`).
    pub resource: &'a str,
    pub namespaced: bool,
    /// The labels of the object's namespace (or, for a Namespace, its own).
    pub namespace_labels: &'a Labels<'a>,
}

impl MatchResources {
    pub fn parse(node: &Node) -> Result<MatchResources, String> {
        let selector = |key: &str| match node.get(key) {
            Some(s) => Selector::parse(s).map_err(|e| format!("{key}: {e}")),
            None => Ok(Selector::default()),
        };
        let rules = |key: &str| -> Result<Vec<Rule>, String> {
            node.get(key)
                .and_then(Node::as_seq)
                .unwrap_or_default()
                .iter()
                .map(|r| Rule::parse(r).map_err(|e| format!("{key}: {e}")))
                .collect()
        };
        Ok(MatchResources {
            namespace_selector: selector("namespaceSelector")?,
            object_selector: selector("objectSelector")?,
            rules: rules("resourceRules")?,
            excluded: rules("excludeResourceRules")?,
        })
    }

    /// Whether the request matches. `rules_required`: no rule matches nothing (a policy's
    /// constraints) rather than everything (a binding's resources).
    pub fn matches(&self, request: &Request, rules_required: bool) -> bool {
        let ruled = if self.rules.is_empty() {
            !rules_required
        } else {
            self.rules.iter().any(|r| r.matches(request))
        };
        if !ruled || self.excluded.iter().any(|r| r.matches(request)) {
            return false;
        }
        let namespace_applies = request.namespaced || request.object.id.kind == "Namespace";
        if namespace_applies && !self.namespace_selector.matches(request.namespace_labels) {
            return false;
        }
        self.object_selector
            .matches(&labels_of(&request.object.body))
    }
}

/// The (group, resource) pairs some rule of a set of policies names, to pass over the
/// objects none of them is about without matching each rule.
#[derive(Clone, Debug, Default)]
pub struct ResourceIndex {
    any: bool,
    named: std::collections::HashSet<(String, String)>,
}

impl ResourceIndex {
    pub fn of<'m>(constraints: impl Iterator<Item = &'m MatchResources>) -> ResourceIndex {
        let mut index = ResourceIndex::default();
        for rule in constraints.flat_map(|c| &c.rules) {
            for group in &rule.groups {
                for resource in &rule.resources {
                    if group == "*" || resource == "*" || resource == "*/*" {
                        index.any = true;
                    } else {
                        index.named.insert((group.clone(), resource.clone()));
                    }
                }
            }
        }
        index
    }

    pub fn may_match(&self, group: &str, resource: &str) -> bool {
        self.any
            || self
                .named
                .contains(&(group.to_string(), resource.to_string()))
    }
}

impl Rule {
    fn parse(node: &Node) -> Result<Rule, String> {
        let list = |key: &str| -> Vec<String> {
            node.get(key)
                .and_then(Node::as_seq)
                .unwrap_or_default()
                .iter()
                .filter_map(|v| v.as_str().map(str::to_string))
                .collect()
        };
        let scope = node
            .get("scope")
            .and_then(Node::as_str)
            .unwrap_or("*")
            .to_string();
        if !["*", "Cluster", "Namespaced"].contains(&scope.as_str()) {
            return Err(format!("scope {scope:?} is not *, Cluster or Namespaced"));
        }
        Ok(Rule {
            groups: list("apiGroups"),
            versions: list("apiVersions"),
            operations: list("operations"),
            resources: list("resources"),
            names: list("resourceNames"),
            scope,
        })
    }

    fn matches(&self, request: &Request) -> bool {
        let has = |list: &[String], value: &str| list.iter().any(|x| x == "*" || x == value);
        has(&self.operations, "CREATE")
            && has(&self.groups, request.group)
            && has(&self.versions, request.version)
            // The object itself, never a subresource: `pods`, `*` or `*/*`.
            && self
                .resources
                .iter()
                .any(|r| r == "*" || r == "*/*" || r == request.resource)
            && (self.names.is_empty()
                || self.names.contains(&request.object.id.name))
            && match self.scope.as_str() {
                "Cluster" => !request.namespaced,
                "Namespaced" => request.namespaced,
                _ => true,
            }
    }
}

/// Whether `kind` is namespaced, by the API's built-in kinds or a CRD's `scope`.
pub fn is_namespaced(kind: &str, crd_scope: Option<&str>) -> bool {
    match crd_scope {
        Some(scope) => scope == "Namespaced",
        None => !crate::manifest::KUBERNETES_CLUSTER_SCOPED.contains(&kind),
    }
}

/// The plural resource name of a built-in kind (`NetworkPolicy` → `networkpolicies`).
pub fn resource_of(kind: &str) -> String {
    let lower = kind.to_ascii_lowercase();
    if lower == "endpoints" {
        return lower;
    }
    if let Some(stem) = lower.strip_suffix('y')
        && !stem.ends_with(['a', 'e', 'i', 'o', 'u'])
    {
        return format!("{stem}ies");
    }
    if lower.ends_with('s') || lower.ends_with("ch") || lower.ends_with('x') {
        return format!("{lower}es");
    }
    format!("{lower}s")
}
