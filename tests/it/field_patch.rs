//! The field changes kcc reports for an object are a JSON patch (RFC 6902) from its old
//! version to its new one: applied in order to the old object, they give the new object.
//! Held on every object that changed between the 2023 and 2024 fixture fleets, on random
//! pairs of trees, and on `kcc diff --format json` output.

use std::collections::BTreeMap;
use std::path::Path;

use crate::common::*;
use kcc::diff::{FieldChange, Files, Status, field_changes};
use kcc::yaml::{Node, Value as Yaml};
use proptest::prelude::*;
use serde_json::Value;

/// One JSON patch operation, as kcc reports it (status, pointer, from, value).
struct Op {
    status: String,
    pointer: String,
    from: Option<String>,
    value: Option<Value>,
}

impl From<&FieldChange> for Op {
    fn from(f: &FieldChange) -> Op {
        let status = match f.status {
            Status::Added => "added",
            Status::Removed => "removed",
            Status::Changed => "changed",
            Status::Moved => "moved",
            Status::Renamed => "renamed",
        };
        Op {
            status: status.to_string(),
            pointer: f.pointer.clone(),
            from: f.from.clone(),
            value: f.value.as_ref().map(|v| v.to_json()),
        }
    }
}

impl From<&Value> for Op {
    fn from(f: &Value) -> Op {
        let text = |k: &str| f.get(k).and_then(Value::as_str).map(str::to_string);
        Op {
            status: text("status").unwrap(),
            pointer: text("pointer").unwrap(),
            from: text("from"),
            value: f.get("value").cloned(),
        }
    }
}

fn tokens(pointer: &str) -> Vec<String> {
    pointer
        .split('/')
        .skip(1)
        .map(|t| t.replace("~1", "/").replace("~0", "~"))
        .collect()
}

fn parent<'a>(doc: &'a mut Value, path: &[String]) -> Result<&'a mut Value, String> {
    let mut at = doc;
    for t in path {
        at = match at {
            Value::Object(m) => m.get_mut(t).ok_or(format!("no key {t}"))?,
            Value::Array(a) => {
                let i: usize = t.parse().map_err(|_| format!("bad index {t}"))?;
                a.get_mut(i).ok_or(format!("no index {i}"))?
            }
            _ => return Err(format!("{t} under a scalar")),
        };
    }
    Ok(at)
}

fn remove(doc: &mut Value, pointer: &str) -> Result<Value, String> {
    let t = tokens(pointer);
    let (last, path) = t.split_last().ok_or("remove the root")?;
    match parent(doc, path)? {
        Value::Object(m) => m.remove(last).ok_or(format!("no key {last} to remove")),
        Value::Array(a) => {
            let i: usize = last.parse().map_err(|_| format!("bad index {last}"))?;
            (i < a.len())
                .then(|| a.remove(i))
                .ok_or(format!("no index {i} to remove"))
        }
        _ => Err("remove under a scalar".into()),
    }
}

fn add(doc: &mut Value, pointer: &str, value: Value) -> Result<(), String> {
    let t = tokens(pointer);
    let Some((last, path)) = t.split_last() else {
        *doc = value;
        return Ok(());
    };
    match parent(doc, path)? {
        Value::Object(m) => {
            m.insert(last.clone(), value);
        }
        Value::Array(a) => {
            let i: usize = last.parse().map_err(|_| format!("bad index {last}"))?;
            if i > a.len() {
                return Err(format!("index {i} past the end"));
            }
            a.insert(i, value);
        }
        _ => return Err("add under a scalar".into()),
    }
    Ok(())
}

/// Applies `ops` in order (an implementation of RFC 6902's add, remove, replace and move).
fn apply(doc: &mut Value, ops: &[Op]) -> Result<(), String> {
    for op in ops {
        let value = || op.value.clone().ok_or(format!("{}: no value", op.pointer));
        match op.status.as_str() {
            "added" => add(doc, &op.pointer, value()?)?,
            "removed" => {
                remove(doc, &op.pointer)?;
            }
            "changed" => {
                if op.pointer.is_empty() {
                    *doc = value()?;
                } else {
                    remove(doc, &op.pointer)?;
                    add(doc, &op.pointer, value()?)?;
                }
            }
            "moved" => {
                let item = remove(doc, op.from.as_deref().ok_or("move without from")?)?;
                add(doc, &op.pointer, item)?;
            }
            other => return Err(format!("unknown status {other}")),
        }
    }
    Ok(())
}

fn assert_patch_holds(what: &str, old: &Node, new: &Node) {
    let changes = field_changes(old, new);
    let ops: Vec<Op> = changes.iter().map(Op::from).collect();
    let mut doc = old.to_json();
    apply(&mut doc, &ops).unwrap_or_else(|e| panic!("{what}: {e}\n{changes:#?}"));
    assert_eq!(doc, new.to_json(), "{what}: {changes:#?}");
}

/// Every golden file of a fixture fleet, by path (`golden/<cluster>/<file>`).
fn goldens(fleet: &Path) -> Files {
    let mut out = Files::new();
    let golden = fleet.join("golden");
    for cluster in std::fs::read_dir(&golden).unwrap() {
        let cluster = cluster.unwrap().path();
        for file in std::fs::read_dir(&cluster).unwrap() {
            let file = file.unwrap().path();
            let rel = file
                .strip_prefix(fleet)
                .unwrap()
                .to_string_lossy()
                .into_owned();
            out.insert(rel, std::fs::read_to_string(&file).unwrap());
        }
    }
    out
}

#[test]
fn field_changes_are_a_json_patch_on_every_object_changed_from_2023_to_2024() {
    let (old, new) = (goldens(&fleet_2023()), goldens(&fleet_2024()));
    let d = kcc::diff::diff(&old, &new);
    let mut checked = 0;
    let mut lists = 0;
    for file in &d.files {
        let (Some(o), Some(n)) = (old.get(&file.path), new.get(&file.path)) else {
            continue;
        };
        if file.path.ends_with("/helmfile.yaml") {
            continue;
        }
        let (olds, news) = (objects_by_id(&file.path, o), objects_by_id(&file.path, n));
        for object in file.objects.iter().filter(|o| o.status != Status::Added) {
            if object.status == Status::Removed {
                continue;
            }
            let from = object.from.as_ref().unwrap_or(&object.object);
            let what = format!("{} {}", file.path, object.object);
            assert_patch_holds(&what, &olds[from], &news[&object.object]);
            checked += 1;
            lists += usize::from(object.fields.iter().any(|f| f.pointer.contains("/0")));
        }
    }
    eprintln!("{checked} changed objects hold the patch ({lists} with list changes)");
    assert!(checked > 100, "only {checked} changed objects");
    assert!(lists > 10, "only {lists} objects with list changes");
}

/// A YAML node of a JSON value (no floats: YAML `1` and `1.0` are one number to kcc).
fn node(v: &Value) -> Node {
    let value = match v {
        Value::Null => Yaml::Null,
        Value::Bool(b) => Yaml::Bool(*b),
        Value::Number(n) => Yaml::Int(n.as_i64().unwrap()),
        Value::String(s) => Yaml::Str(s.clone()),
        Value::Array(a) => Yaml::Seq(a.iter().map(node).collect()),
        Value::Object(m) => Yaml::Map(m.iter().map(|(k, v)| (k.clone(), node(v))).collect()),
    };
    Node::new(value, None)
}

/// Small trees from a small alphabet, so that random pairs share much; keys include list
/// fields kcc matches by merge key (`containers`, `env`: by `name`).
fn tree() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        (0i64..4).prop_map(Value::from),
        prop::sample::select(vec!["a", "b", "c"]).prop_map(Value::from),
    ];
    leaf.prop_recursive(4, 40, 6, |inner| {
        let key = prop::sample::select(vec!["a", "b", "name", "containers", "env", "x/y~z"]);
        let named = (
            prop::sample::select(vec!["p", "q", "r", "s"]),
            inner.clone(),
        )
            .prop_map(|(name, v)| serde_json::json!({"name": name, "v": v}));
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::vec(named, 0..5).prop_map(Value::Array),
            prop::collection::btree_map(key, inner, 0..4).prop_map(|m| Value::Object(
                m.into_iter().map(|(k, v)| (k.to_string(), v)).collect()
            )),
        ]
    })
}

/// A list and the same list edited: items removed, added and shuffled.
fn edited_list() -> impl Strategy<Value = (Value, Value)> {
    prop::collection::vec(0i64..8, 0..10).prop_flat_map(|items| {
        let n = items.len();
        (
            Just(items),
            prop::collection::vec(any::<bool>(), n),
            prop::collection::vec(0i64..8, 0..3),
            any::<prop::sample::Index>(),
        )
            .prop_map(|(items, keep, extra, at)| {
                let mut new: Vec<i64> = items
                    .iter()
                    .zip(&keep)
                    .filter(|(_, k)| **k)
                    .map(|(i, _)| *i)
                    .collect();
                if !new.is_empty() {
                    let i = at.index(new.len());
                    new.rotate_left(i);
                }
                new.extend(extra);
                (
                    serde_json::json!({"rules": items}),
                    serde_json::json!({"rules": new}),
                )
            })
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn field_changes_are_a_json_patch_on_random_pairs(a in tree(), b in tree()) {
        let wrap = |v: Value| serde_json::json!({"apiVersion": "example.org/v1", "kind": "Widget", "spec": v});
        assert_patch_holds("random pair", &node(&wrap(a)), &node(&wrap(b)));
    }

    #[test]
    fn field_changes_are_a_json_patch_on_edited_lists((a, b) in edited_list()) {
        assert_patch_holds("edited list", &node(&a), &node(&b));
    }
}

/// The same through the binary: `kcc diff --format json` fields, applied to the old render.
#[test]
fn json_output_fields_are_a_json_patch() {
    let dir = copy_project(&fixture("demo"));
    let p = dir.path();
    let values = p.join("values/alpha/values.yaml");
    edit_file(&values, "ports: [8080]", "ports: [8080, 8443, 9090]");
    commit_all(p);
    let old = objects_by_id("old", &stdout(&kcc(p, &["render", "-c", "alpha"])));
    edit_file(&values, "ports: [8080, 8443, 9090]", "ports: [9090, 8080]");
    let new = objects_by_id("new", &stdout(&kcc(p, &["render", "-c", "alpha"])));
    let out = kcc(p, &["diff", "--base", "HEAD", "--format", "json"]);
    assert_exit(&out, 1);
    let report: Value = serde_json::from_str(&stdout(&out)).unwrap();
    let mut statuses = BTreeMap::new();
    for file in report["files"].as_array().unwrap() {
        for o in file["objects"].as_array().unwrap() {
            let id = kcc::manifest::Identity {
                api_version: o["object"]["apiVersion"].as_str().unwrap().into(),
                kind: o["object"]["kind"].as_str().unwrap().into(),
                namespace: o["object"]["namespace"].as_str().unwrap_or("").into(),
                name: o["object"]["name"].as_str().unwrap().into(),
            };
            let ops: Vec<Op> = o["fields"]
                .as_array()
                .unwrap()
                .iter()
                .map(Op::from)
                .collect();
            let mut doc = old[&id].to_json();
            apply(&mut doc, &ops).unwrap();
            assert_eq!(doc, new[&id].to_json(), "{id}");
            let s: Vec<String> = ops.iter().map(|o| o.status.clone()).collect();
            statuses.insert(format!("{id}"), s);
        }
    }
    // One port removed and one moved, in the container's ports and the Service's: matched
    // by port (their merge key), not compared by index.
    assert_eq!(
        statuses["Deployment apps/web"],
        ["removed", "moved"],
        "{report:#}"
    );
    assert_eq!(
        statuses["Service apps/web"],
        ["removed", "moved"],
        "{report:#}"
    );
}
