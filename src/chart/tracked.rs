//! Values as templates see them, every read recorded: which value paths a render used is
//! what `values/unused`, `kcc explain` and the `secret/flow` check of private values need
//! to know, and only the template engine can tell.
//!
//! A map is handed to templates as an object that looks its keys up in kcc's value tree
//! when asked (nothing is converted up front) and notes each key fetched. A map or list
//! that is iterated, printed or serialized whole (`to_yaml`, `for k, v in m|items`) counts
//! as read down to its leaves; a map only tested (`if values.x`) or measured (`| length`)
//! does not count its leaves.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fmt;
use std::ptr::NonNull;
use std::sync::atomic::{AtomicU16, Ordering};
use std::sync::{Arc, Mutex};

use minijinja::value::{Enumerator, Object, ObjectExt, ObjectRepr, Value as Mj};

use super::to_template;
use crate::values::ReadTree;
use crate::yaml::{Node, Value};

/// Who read a value: a template of the chart (its index in `Chart::templates`), or one of
/// these.
pub const READER_INSTALLED: u16 = u16::MAX;
/// kcc itself (its `network:` facts, the chart version pins, `externalValues`).
pub const READER_KCC: u16 = u16::MAX - 1;

/// The reads of one render, as they happen.
#[derive(Default)]
pub struct Recorder {
    /// (node address, read whole, reader).
    events: Mutex<Vec<(usize, bool, u16)>>,
    reader: AtomicU16,
}

impl Recorder {
    /// Reads from now on are by `reader` (a template index or `READER_*`).
    pub fn reading_as(&self, reader: u16) {
        self.reader.store(reader, Ordering::Relaxed);
    }

    fn note(&self, node: &Node, whole: bool) {
        let reader = self.reader.load(Ordering::Relaxed);
        if let Ok(mut events) = self.events.lock() {
            events.push((node as *const Node as usize, whole, reader));
        }
    }

    /// What was read of `root` (the tree [`tracked`] was given), as paths.
    pub fn read_tree(&self, root: &Node) -> ReadTree {
        let events = self.events.lock().map(|e| e.clone()).unwrap_or_default();
        let mut by_node: HashMap<usize, (bool, Vec<u16>)> = HashMap::new();
        for (address, whole, reader) in events {
            let entry = by_node.entry(address).or_default();
            entry.0 |= whole;
            if !entry.1.contains(&reader) {
                entry.1.push(reader);
            }
        }
        let mut tree = ReadTree::default();
        if let Some((whole, readers)) = by_node.get(&(root as *const Node as usize)) {
            tree.whole = *whole;
            tree.readers = readers.clone();
        }
        build(root, &by_node, &mut tree);
        tree
    }
}

impl Recorder {
    /// For each reader that read a value of the private overlay (itself, or a map or list
    /// holding one read whole), the paths of the private values it read.
    pub fn private_reads(&self, root: &Node) -> BTreeMap<u16, BTreeSet<String>> {
        let events = self.events.lock().map(|e| e.clone()).unwrap_or_default();
        let mut direct: HashMap<usize, Vec<u16>> = HashMap::new();
        let mut whole: HashMap<usize, Vec<u16>> = HashMap::new();
        for (address, is_whole, reader) in events {
            direct.entry(address).or_default().push(reader);
            if is_whole {
                whole.entry(address).or_default().push(reader);
            }
        }
        let mut out = BTreeMap::new();
        private_walk(root, "", &[], &direct, &whole, &mut out);
        out
    }
}

fn private_walk(
    node: &Node,
    path: &str,
    inherited: &[u16],
    direct: &HashMap<usize, Vec<u16>>,
    whole: &HashMap<usize, Vec<u16>>,
    out: &mut BTreeMap<u16, BTreeSet<String>>,
) {
    let address = node as *const Node as usize;
    let mut below: Vec<u16> = inherited.to_vec();
    below.extend(whole.get(&address).into_iter().flatten());
    let child_path = |k: &dyn fmt::Display| {
        if path.is_empty() {
            k.to_string()
        } else {
            format!("{path}.{k}")
        }
    };
    match &node.value {
        Value::Map(map) => {
            for (key, child) in map {
                private_walk(child, &child_path(key), &below, direct, whole, out);
            }
        }
        Value::Seq(items) => {
            // A list is read whole: whoever read it read its items.
            below.extend(direct.get(&address).into_iter().flatten());
            for (i, child) in items.iter().enumerate() {
                private_walk(child, &format!("{path}[{i}]"), &below, direct, whole, out);
            }
        }
        _ if node.origin.as_ref().is_some_and(|o| o.file.private) => {
            for reader in below
                .iter()
                .chain(direct.get(&address).into_iter().flatten())
            {
                out.entry(*reader).or_default().insert(path.to_string());
            }
        }
        _ => {}
    }
}

fn build(node: &Node, by_node: &HashMap<usize, (bool, Vec<u16>)>, into: &mut ReadTree) {
    let Value::Map(map) = &node.value else {
        return;
    };
    for (key, child) in map {
        let mut sub = ReadTree::default();
        build(child, by_node, &mut sub);
        let read = by_node.get(&(child as *const Node as usize));
        if let Some((whole, readers)) = read {
            sub.whole = *whole;
            sub.readers = readers.clone();
        }
        if read.is_some() || !sub.children.is_empty() {
            into.children.insert(key.clone(), sub);
        }
    }
}

/// The value tree a render reads, kept whole while templates hold parts of it.
struct Shared {
    root: Arc<Node>,
    recorder: Arc<Recorder>,
}

/// `root` as a template value whose reads `recorder` notes.
pub fn tracked(root: Arc<Node>, recorder: Arc<Recorder>) -> Mj {
    let shared = Arc::new(Shared { root, recorder });
    let node = NonNull::from(&*shared.root);
    value_of(&shared, node)
}

fn value_of(shared: &Arc<Shared>, node: NonNull<Node>) -> Mj {
    // SAFETY: `node` points into `shared.root`, which is never mutated and lives as long
    // as `shared`.
    let n = unsafe { node.as_ref() };
    match &n.value {
        Value::Map(_) => Mj::from_object(TrackedMap {
            shared: Arc::clone(shared),
            node,
        }),
        // A list is not tracked item by item: read at all, it is read whole.
        Value::Seq(_) => {
            shared.recorder.note(n, true);
            to_template(n)
        }
        _ => to_template(n),
    }
}

/// A map of the value tree, as a template value.
struct TrackedMap {
    shared: Arc<Shared>,
    /// A map node inside `shared.root`.
    node: NonNull<Node>,
}

// SAFETY: the node is only read, and the tree it points into is kept alive (and never
// mutated) by `shared`, which is itself Send and Sync.
unsafe impl Send for TrackedMap {}
unsafe impl Sync for TrackedMap {}

impl TrackedMap {
    fn node(&self) -> &Node {
        // SAFETY: see `value_of`.
        unsafe { self.node.as_ref() }
    }

    fn map(&self) -> &std::collections::BTreeMap<String, Node> {
        match &self.node().value {
            Value::Map(m) => m,
            _ => unreachable!("a TrackedMap is made for map nodes only"),
        }
    }
}

impl fmt::Debug for TrackedMap {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&to_template(self.node()), f)
    }
}

impl Object for TrackedMap {
    fn repr(self: &Arc<Self>) -> ObjectRepr {
        ObjectRepr::Map
    }

    fn get_value(self: &Arc<Self>, key: &Mj) -> Option<Mj> {
        self.get_value_by_str(key.as_str()?)
    }

    fn get_value_by_str(self: &Arc<Self>, key: &str) -> Option<Mj> {
        let child = self.map().get(key)?;
        self.shared.recorder.note(child, false);
        Some(value_of(&self.shared, NonNull::from(child)))
    }

    fn enumerate(self: &Arc<Self>) -> Enumerator {
        self.shared.recorder.note(self.node(), true);
        self.mapped_enumerator(|this| Box::new(this.map().keys().map(|k| Mj::from(k.as_str()))))
    }

    fn enumerator_len(self: &Arc<Self>) -> Option<usize> {
        Some(self.map().len())
    }

    fn is_true(self: &Arc<Self>) -> bool {
        !self.map().is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::SourceFile;

    fn render(template: &str, values: &str) -> (String, ReadTree) {
        let root = Arc::new(crate::yaml::load_one(&SourceFile::new("v.yaml", values)).unwrap());
        let recorder = Arc::new(Recorder::default());
        let mut env = crate::chart::environment();
        env.add_template_owned("t", template.to_string()).unwrap();
        let out = env
            .get_template("t")
            .unwrap()
            .render(
                minijinja::context! { values => tracked(Arc::clone(&root), Arc::clone(&recorder)) },
            )
            .unwrap();
        (out, recorder.read_tree(&root))
    }

    fn paths(tree: &ReadTree) -> Vec<String> {
        fn walk(tree: &ReadTree, at: &str, out: &mut Vec<String>) {
            for (k, sub) in &tree.children {
                let path = if at.is_empty() {
                    k.clone()
                } else {
                    format!("{at}.{k}")
                };
                out.push(if sub.whole {
                    format!("{path}*")
                } else {
                    path.clone()
                });
                walk(sub, &path, out);
            }
        }
        let mut out = Vec::new();
        walk(tree, "", &mut out);
        out
    }

    #[test]
    fn a_fetched_leaf_is_read_and_its_siblings_are_not() {
        let (out, reads) = render(
            "{{ values.resources.limits.memory }}",
            "resources: {limits: {memory: 1Gi, memroy: 2Gi}}",
        );
        assert_eq!(out, "1Gi");
        assert_eq!(
            paths(&reads),
            ["resources", "resources.limits", "resources.limits.memory"]
        );
    }

    #[test]
    fn a_map_serialized_or_iterated_is_read_whole() {
        let (_, reads) = render("{{ values.a | to_yaml }}", "a: {b: {c: 1}}\nz: 1");
        assert_eq!(paths(&reads)[0], "a*");
        assert!(!reads.children.contains_key("z"));
        let (out, reads) = render(
            "{% for k, v in values.a|items %}{{ k }}{% endfor %}",
            "a: {x: 1, y: 2}",
        );
        assert_eq!(out, "xy");
        assert_eq!(paths(&reads)[0], "a*");
    }

    #[test]
    fn a_test_or_a_length_does_not_read_the_leaves() {
        let (out, reads) = render(
            "{% if values.a %}{{ values.a|length }}{% endif %}{% if values.e %}no{% endif %}",
            "a: {x: 1}\ne: {}",
        );
        assert_eq!(out, "1");
        assert_eq!(paths(&reads), ["a", "e"]);
    }

    #[test]
    fn a_list_is_read_whole_and_templates_see_the_same_values() {
        let (out, reads) = render(
            "{{ values.l[1] }} {{ values.n + 1 }} {{ values.s|upper }} {{ values.m is mapping }} {{ values.missing is defined }}",
            "l: [a, b]\nn: 1\ns: x\nm: {k: v}",
        );
        assert_eq!(out, "b 2 X true false");
        assert_eq!(paths(&reads), ["l*", "m", "n", "s"]);
    }

    #[test]
    fn private_reads_name_each_reader_and_path_read_directly_or_whole() {
        let private = crate::yaml::load_one(&SourceFile::private(
            "p.yaml",
            "auth: {key: s3cret, user: u}\nlist: [x]",
        ))
        .unwrap();
        let public = crate::yaml::load_one(&SourceFile::new("v.yaml", "name: n")).unwrap();
        let root = Arc::new(crate::values::coalesce(private, &public));
        let recorder = Arc::new(Recorder::default());
        let values = tracked(Arc::clone(&root), Arc::clone(&recorder));
        let mut env = crate::chart::environment();
        for (name, source) in [
            (
                "0",
                "{{ values.name }}{% if values.auth.key %}set{% endif %}",
            ),
            ("1", "{{ values.auth | to_json }}"),
            ("2", "{{ values.list }}"),
        ] {
            env.add_template_owned(name.to_string(), source.to_string())
                .unwrap();
        }
        for reader in 0..3u16 {
            recorder.reading_as(reader);
            env.get_template(&reader.to_string())
                .unwrap()
                .render(minijinja::context! { values => values.clone() })
                .unwrap();
        }
        let found = recorder.private_reads(&root);
        let names = |r: u16| found[&r].iter().cloned().collect::<Vec<_>>();
        assert_eq!(names(0), ["auth.key"]);
        assert_eq!(names(1), ["auth.key", "auth.user"]);
        assert_eq!(names(2), ["list[0]"]);
    }
}
