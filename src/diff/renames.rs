//! Renames: an object removed and one of the same apiVersion and kind added whose bodies
//! are the same but for `metadata.name` and `metadata.namespace` are one object renamed,
//! told once rather than as a removal and an unrelated addition.

use std::collections::HashMap;

use super::Doc;
use crate::yaml::{Node, Value};

/// (renamed as (old, new), still removed, still added). Each removed object pairs with at
/// most one added object, the first in order.
pub(super) fn pair(removed: Vec<Doc>, added: Vec<Doc>) -> (Vec<(Doc, Doc)>, Vec<Doc>, Vec<Doc>) {
    if removed.is_empty() || added.is_empty() {
        return (Vec::new(), removed, added);
    }
    let mut by_body: HashMap<String, Vec<usize>> = HashMap::new();
    for (i, o) in removed.iter().enumerate().rev() {
        by_body.entry(anonymous(o)).or_default().push(i);
    }
    let mut partner: Vec<Option<usize>> = vec![None; removed.len()];
    let mut taken = vec![false; added.len()];
    for (j, n) in added.iter().enumerate() {
        if let Some(i) = by_body.get_mut(&anonymous(n)).and_then(Vec::pop) {
            partner[i] = Some(j);
            taken[j] = true;
        }
    }
    let mut added: Vec<Option<Doc>> = added.into_iter().map(Some).collect();
    let mut renamed = Vec::new();
    let mut still_removed = Vec::new();
    for (o, p) in removed.into_iter().zip(partner) {
        match p.and_then(|j| added[j].take()) {
            Some(n) => renamed.push((o, n)),
            None => still_removed.push(o),
        }
    }
    let still_added = added.into_iter().flatten().collect();
    (renamed, still_removed, still_added)
}

/// The object's apiVersion, kind and body without its name and namespace, as JSON text.
fn anonymous(doc: &Doc) -> String {
    let mut body = doc.body.clone();
    if let Value::Map(root) = &mut body.value
        && let Some(Node {
            value: Value::Map(meta),
            ..
        }) = root.get_mut("metadata")
    {
        meta.remove("name");
        meta.remove("namespace");
    }
    body.to_json().to_string()
}

#[cfg(test)]
mod tests {
    use crate::diff::{Status, diff_file};

    fn pvc(name: &str, size: &str) -> String {
        format!(
            "---\n# Source: c/templates/p.yaml\napiVersion: v1\nkind: PersistentVolumeClaim\nmetadata:\n  name: {name}\n  namespace: n\nspec:\n  resources:\n    requests:\n      storage: {size}\n"
        )
    }

    #[test]
    fn a_new_name_on_the_same_body_is_one_rename() {
        let old = pvc("data", "1Gi");
        let file = diff_file("golden/a/c.yaml", Some(&old), Some(&pvc("data-2", "1Gi"))).unwrap();
        assert_eq!(file.objects.len(), 1);
        let o = &file.objects[0];
        assert_eq!(o.status, Status::Renamed);
        assert_eq!(o.from.as_ref().unwrap().name, "data");
        assert_eq!(o.object.name, "data-2");
        assert_eq!(o.fields.len(), 1);
        assert_eq!(o.fields[0].path, "metadata.name");
        // A different body: a removal and an addition.
        let file = diff_file("golden/a/c.yaml", Some(&old), Some(&pvc("data-2", "2Gi"))).unwrap();
        let statuses: Vec<Status> = file.objects.iter().map(|o| o.status).collect();
        assert_eq!(statuses, [Status::Removed, Status::Added]);
    }
}
