//! Which value paths were read, and which leaves of a values file nothing read.

use std::collections::BTreeMap;

use crate::yaml::{Node, Value};

/// The paths of a value tree that something read. A path present was fetched; `whole`
/// means everything under it counts as read (it was iterated, printed or serialized).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ReadTree {
    pub whole: bool,
    /// Who read it (see `chart::tracked`): template indexes of the chart, or markers.
    pub readers: Vec<u16>,
    pub children: BTreeMap<String, ReadTree>,
}

impl ReadTree {
    /// Marks `path` (a `*` part stands for every key) as read whole by `reader`.
    pub fn read_whole(&mut self, path: &[&str], reader: u16, values: &Node) {
        let Some((first, rest)) = path.split_first() else {
            self.whole = true;
            if !self.readers.contains(&reader) {
                self.readers.push(reader);
            }
            return;
        };
        let keys: Vec<&String> = match values.as_map() {
            Some(map) if *first == "*" => map.keys().collect(),
            Some(map) => map
                .get_key_value(*first)
                .map(|(k, _)| k)
                .into_iter()
                .collect(),
            None => Vec::new(),
        };
        for key in keys {
            let child = &values.as_map().expect("keys come from a map")[key];
            self.children
                .entry(key.clone())
                .or_default()
                .read_whole(rest, reader, child);
        }
    }

    /// The node at `path`, if it was read (or lies under a path read whole: then the
    /// ancestor read whole).
    pub fn find(&self, path: &[&str]) -> Option<&ReadTree> {
        let mut tree = self;
        for part in path {
            if tree.whole {
                return Some(tree);
            }
            tree = tree.children.get(*part)?;
        }
        Some(tree)
    }
}

/// A key of a values file that nothing read, with the keys that were read beside it.
pub struct Unread<'a> {
    pub path: Vec<&'a str>,
    pub node: &'a Node,
    /// The keys read at the same level, for "did you mean".
    pub read_beside: Vec<&'a str>,
}

/// The highest keys of `layer` (a values file) under none of which anything was read:
/// a misspelt key is reported once, not once per leaf below it. Nulls (they delete a
/// chart default) and empty maps (they merge nothing) set no value and are not reported.
pub fn unread<'a>(layer: &'a Node, reads: &'a ReadTree) -> Vec<Unread<'a>> {
    let mut out = Vec::new();
    walk(layer, reads, &mut Vec::new(), &mut out);
    out
}

fn walk<'a>(
    node: &'a Node,
    reads: &'a ReadTree,
    path: &mut Vec<&'a str>,
    out: &mut Vec<Unread<'a>>,
) {
    if reads.whole {
        return;
    }
    let Value::Map(map) = &node.value else {
        return;
    };
    for (key, child) in map {
        let sets_nothing = match &child.value {
            Value::Null => true,
            Value::Map(m) => m.is_empty(),
            _ => false,
        };
        if sets_nothing {
            continue;
        }
        path.push(key);
        match reads.children.get(key) {
            Some(sub) => walk(child, sub, path, out),
            None => out.push(Unread {
                path: path.clone(),
                node: child,
                read_beside: reads.children.keys().map(String::as_str).collect(),
            }),
        }
        path.pop();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::SourceFile;

    fn yaml(text: &str) -> Node {
        crate::yaml::load_one(&SourceFile::new("v.yaml", text)).unwrap()
    }

    fn read(paths: &[&str], whole: &[&str]) -> ReadTree {
        let mut tree = ReadTree::default();
        for p in paths {
            let mut t = &mut tree;
            for part in p.split('.') {
                t = t.children.entry(part.to_string()).or_default();
            }
        }
        for p in whole {
            let mut t = &mut tree;
            for part in p.split('.') {
                t = t.children.entry(part.to_string()).or_default();
            }
            t.whole = true;
        }
        tree
    }

    fn names(layer: &Node, reads: &ReadTree) -> Vec<String> {
        unread(layer, reads)
            .iter()
            .map(|u| u.path.join("."))
            .collect()
    }

    #[test]
    fn a_typo_at_any_depth_is_found_once_at_its_highest_key() {
        let layer =
            yaml("resources:\n  limits:\n    memroy: 1Gi\n    cpu: 1\nextra:\n  a: {b: 1}\n");
        let reads = read(&["resources.limits.cpu"], &[]);
        assert_eq!(names(&layer, &reads), ["extra", "resources.limits.memroy"]);
        let found = unread(&layer, &reads);
        assert_eq!(found[1].read_beside, ["cpu"]);
        assert_eq!(found[1].node.origin.as_ref().unwrap().line, 3);
    }

    #[test]
    fn whole_reads_cover_everything_below_and_nulls_are_not_reported() {
        let layer = yaml("a: {b: {c: 1}}\nd: ~\ne: [1]\nf: {}\n");
        assert!(names(&layer, &read(&["e"], &["a"])).is_empty());
        assert_eq!(names(&layer, &read(&["a.b"], &[])), ["a.b.c", "e"]);
    }

    #[test]
    fn find_and_read_whole() {
        let a = read(&["x.y"], &["z"]);
        assert!(a.find(&["z", "deep", "er"]).is_some_and(|t| t.whole));
        assert!(a.find(&["x", "y"]).is_some());
        assert!(a.find(&["x", "q"]).is_none());
        let values = yaml("m: {a: {k: 1}, b: {k: 2}}");
        let mut t = ReadTree::default();
        t.read_whole(&["m", "*", "k"], 7, &values);
        assert_eq!(names(&values, &t), Vec::<String>::new());
        assert_eq!(t.find(&["m", "b", "k"]).unwrap().readers, [7]);
    }
}
