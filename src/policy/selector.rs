//! Kubernetes label selectors (`matchLabels`, `matchExpressions`), as namespace and
//! object selectors use them.

use std::collections::BTreeMap;

use crate::yaml::Node;

#[derive(Clone, Debug, Default)]
pub struct Selector {
    requirements: Vec<Requirement>,
}

#[derive(Clone, Debug)]
struct Requirement {
    key: String,
    operator: Operator,
    values: Vec<String>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Operator {
    In,
    NotIn,
    Exists,
    DoesNotExist,
}

/// Labels as a selector reads them.
pub type Labels<'a> = BTreeMap<&'a str, &'a str>;

impl Selector {
    /// Reads a `LabelSelector`; an error names what is wrong with it.
    pub fn parse(node: &Node) -> Result<Selector, String> {
        let mut requirements = Vec::new();
        if let Some(labels) = node.get("matchLabels").and_then(Node::as_map) {
            for (key, value) in labels {
                let value = value
                    .as_str()
                    .ok_or_else(|| format!("matchLabels.{key} must be a string"))?;
                requirements.push(Requirement {
                    key: key.clone(),
                    operator: Operator::In,
                    values: vec![value.to_string()],
                });
            }
        }
        for expression in node
            .get("matchExpressions")
            .and_then(Node::as_seq)
            .unwrap_or_default()
        {
            let key = expression
                .get("key")
                .and_then(Node::as_str)
                .ok_or("a matchExpression needs a key")?;
            let operator = match expression.get("operator").and_then(Node::as_str) {
                Some("In") => Operator::In,
                Some("NotIn") => Operator::NotIn,
                Some("Exists") => Operator::Exists,
                Some("DoesNotExist") => Operator::DoesNotExist,
                other => {
                    return Err(format!(
                        "matchExpressions operator {:?} is not In, NotIn, Exists or DoesNotExist",
                        other.unwrap_or("")
                    ));
                }
            };
            let values: Vec<String> = expression
                .get("values")
                .and_then(Node::as_seq)
                .unwrap_or_default()
                .iter()
                .filter_map(|v| v.as_str().map(str::to_string))
                .collect();
            let needs_values = matches!(operator, Operator::In | Operator::NotIn);
            if needs_values == values.is_empty() {
                return Err(format!(
                    "matchExpressions for {key:?}: {operator:?} {} values",
                    if needs_values { "needs" } else { "takes no" }
                ));
            }
            requirements.push(Requirement {
                key: key.to_string(),
                operator,
                values,
            });
        }
        Ok(Selector { requirements })
    }

    pub fn matches(&self, labels: &Labels) -> bool {
        self.requirements.iter().all(|r| {
            let value = labels.get(r.key.as_str());
            match r.operator {
                Operator::In => value.is_some_and(|v| r.values.iter().any(|x| x == v)),
                Operator::NotIn => value.is_none_or(|v| !r.values.iter().any(|x| x == v)),
                Operator::Exists => value.is_some(),
                Operator::DoesNotExist => value.is_none(),
            }
        })
    }
}

/// The labels of an object's body (`metadata.labels`), string values only.
pub fn labels_of(body: &Node) -> Labels<'_> {
    body.lookup(["metadata", "labels"])
        .and_then(Node::as_map)
        .map(|m| {
            m.iter()
                .filter_map(|(k, v)| Some((k.as_str(), v.as_str()?)))
                .collect()
        })
        .unwrap_or_default()
}
