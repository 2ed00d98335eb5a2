//! kcc's values against the real helm 3.15's: the chart's values.yaml and values files
//! `-f a.yaml -f b.yaml ...`, rendered by `helm template` through a chart that prints
//! `.Values` as JSON, and merged by kcc with `kcc::values::merge_layers`.
//!
//! - named cases: every disagreement found, and the rules around it, with helm's answer
//!   written down, so kcc is held to it even where helm is not installed (helm, when it is,
//!   must still give that answer);
//! - deliberate deviations (README, "Value semantics"): what each side reads;
//! - random layer stacks (proptest, fixed seeds, so a failure is reproducible and shrunk to
//!   a small stack), each rendered by its own helm run: a top-level null only behaves as it
//!   does at the top of a real values file, so stacks are not batched under keys of one run.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Arc, OnceLock};

use kcc::source::SourceFile;
use kcc::values::{merge_layers, parse_layer};
use proptest::prelude::*;
use proptest::test_runner::{Config, RngSeed, TestCaseError, TestError, TestRunner};
use serde_json::Value as Json;

/// helm, or None (once: the SKIPPED line is printed once per run, not per test).
fn helm() -> Option<&'static Path> {
    static HELM: OnceLock<Option<PathBuf>> = OnceLock::new();
    HELM.get_or_init(|| crate::common::tools().map(|dir| dir.join("helm")))
        .as_deref()
}

/// kcc's merged values of a chart's `defaults` and `files`, as JSON; Err if a file is
/// refused.
fn kcc_values(defaults: &str, files: &[&str]) -> Result<Json, String> {
    let mut layers = vec![Arc::new(
        parse_layer("chart defaults", SourceFile::new("values.yaml", defaults))
            .map_err(|d| d.to_string())?,
    )];
    for (i, text) in files.iter().enumerate() {
        let file = SourceFile::new(format!("f{}.yaml", i + 1), *text);
        layers.push(Arc::new(
            parse_layer("file", file).map_err(|d| d.to_string())?,
        ));
    }
    Ok(merge_layers(&layers).to_json())
}

/// A chart whose one template prints `.Values` as JSON, in a directory of its own.
struct Chart {
    helm: PathBuf,
    dir: tempfile::TempDir,
}

impl Chart {
    fn new(helm: &Path) -> Chart {
        let dir = tempfile::tempdir().unwrap();
        let chart = dir.path().join("chart");
        crate::common::write(
            &chart.join("Chart.yaml"),
            "apiVersion: v2\nname: values\nversion: 0.1.0\n",
        );
        crate::common::write(
            &chart.join("templates/values.yaml"),
            "{{ toJson .Values }}\n",
        );
        Chart {
            helm: helm.to_path_buf(),
            dir,
        }
    }

    /// helm's `.Values` for these defaults and files, as JSON; Err(stderr) if helm fails.
    fn values(&self, defaults: &str, files: &[&str]) -> Result<Json, String> {
        let chart = self.dir.path().join("chart");
        std::fs::write(chart.join("values.yaml"), defaults).unwrap();
        let mut cmd = Command::new(&self.helm);
        cmd.args(["template", "r"]).arg(&chart);
        for (i, text) in files.iter().enumerate() {
            let path = self.dir.path().join(format!("f{}.yaml", i + 1));
            std::fs::write(&path, text).unwrap();
            cmd.arg("-f").arg(path);
        }
        let out = cmd.output().expect("run helm");
        if !out.status.success() {
            return Err(String::from_utf8_lossy(&out.stderr).into_owned());
        }
        // `---`, `# Source: ...`, then the one line of JSON.
        let text = String::from_utf8(out.stdout).unwrap();
        let json = text.lines().rev().find(|l| !l.trim().is_empty()).unwrap();
        Ok(serde_json::from_str(json).unwrap_or_else(|e| panic!("{e}: {text}")))
    }
}

/// helm reads every number as a float64; kcc keeps integers apart. Compare numbers as f64.
fn numbers_as_f64(json: Json) -> Json {
    match json {
        Json::Number(n) => {
            serde_json::Number::from_f64(n.as_f64().unwrap()).map_or(Json::Null, Json::Number)
        }
        Json::Array(items) => Json::Array(items.into_iter().map(numbers_as_f64).collect()),
        Json::Object(m) => {
            Json::Object(m.into_iter().map(|(k, v)| (k, numbers_as_f64(v))).collect())
        }
        other => other,
    }
}

fn parse_expected(text: &str) -> Result<Json, ()> {
    if text == "error" {
        Err(())
    } else {
        Ok(serde_json::from_str(text).unwrap_or_else(|e| panic!("{e}: {text}")))
    }
}

/// `name`: helm's answer for `defaults` + `files` is `expected` (JSON, or `error` for a
/// file helm refuses), and kcc's is the same.
fn agree(name: &str, defaults: &str, files: &[&str], expected: &str) {
    let expected = parse_expected(expected).map(numbers_as_f64);
    let kcc = kcc_values(defaults, files).map(numbers_as_f64);
    assert_eq!(
        kcc.clone().map_err(|_| ()),
        expected,
        "{name}: kcc: {kcc:?}"
    );
    if let Some(helm) = helm() {
        let actual = Chart::new(helm).values(defaults, files).map(numbers_as_f64);
        assert_eq!(
            actual.clone().map_err(|_| ()),
            expected,
            "{name}: helm: {actual:?}"
        );
    }
}

/// `name`: helm reads `defaults` + `files` as `helm_reads` and kcc, deliberately, as
/// `kcc_reads` (exact JSON: integers and floats apart).
fn differ(name: &str, defaults: &str, files: &[&str], helm_reads: &str, kcc_reads: &str) {
    let kcc = kcc_values(defaults, files);
    assert_eq!(
        kcc.clone().map_err(|_| ()),
        parse_expected(kcc_reads),
        "{name}: kcc: {kcc:?}"
    );
    if let Some(helm) = helm() {
        let actual = Chart::new(helm).values(defaults, files);
        assert_eq!(
            actual.clone().map_err(|_| ()),
            parse_expected(helm_reads),
            "{name}: helm: {actual:?}"
        );
    }
}

/// One `#[test]` per case: `name: defaults, [files...] => helm's .Values as JSON;`.
macro_rules! agree {
    ($($(#[doc = $doc:literal])* $name:ident: $defaults:expr, [$($file:expr),* $(,)?] => $json:expr;)*) => {$(
        $(#[doc = $doc])*
        #[test]
        fn $name() {
            agree(stringify!($name), $defaults, &[$($file),*], $json);
        }
    )*};
}

/// One `#[test]` per deviation: `name: defaults, [files...] => helm JSON, kcc JSON;`.
macro_rules! differ {
    ($($(#[doc = $doc:literal])* $name:ident: $defaults:expr, [$($file:expr),* $(,)?] => $helm:expr, $kcc:expr;)*) => {$(
        $(#[doc = $doc])*
        #[test]
        fn $name() {
            differ(stringify!($name), $defaults, &[$($file),*], $helm, $kcc);
        }
    )*};
}

// `~` and null. Between values files a null is a value (helm's mergeMaps); against the
// chart's values.yaml it deletes the key (helm's coalesceValues).
agree! {
    /// Issue 9: kcc gave `{"a":{"b":null}}`, which a schema then rejected.
    a_key_deleted_twice_stays_deleted: "a: {b: 1}\n", ["a: {b: ~}\n", "a: {b: ~}\n"] => r#"{"a":{}}"#;
    top_level_key_deleted_twice_stays_deleted: "a: 1\nx: 1\n", ["a: ~\n", "a: ~\n"] => r#"{"x":1}"#;
    null_over_nothing_stays_null: "x: 1\n", ["fresh: ~\n"] => r#"{"fresh":null,"x":1}"#;
    null_twice_over_nothing_stays_null: "x: 1\n", ["fresh: ~\n", "fresh: ~\n"] => r#"{"fresh":null,"x":1}"#;
    /// kcc deleted the key: a null deletes only the chart's defaults.
    null_over_an_earlier_file_stays_null: "x: 1\n", ["a: {b: 2}\n", "a: {b: ~}\n"] => r#"{"a":{"b":null},"x":1}"#;
    null_then_a_value_keeps_the_value: "a: {b: 1}\n", ["a: {b: ~}\n", "a: {b: 2}\n"] => r#"{"a":{"b":2}}"#;
    null_beside_a_default_stays_null: "a: {c: 1}\n", ["a: {b: ~}\n"] => r#"{"a":{"b":null,"c":1}}"#;
    null_deletes_a_default_map: "a: {b: 1}\nx: 1\n", ["a: ~\n"] => r#"{"x":1}"#;
    null_deletes_a_default_list: "a: [1]\nx: 1\n", ["a: ~\n"] => r#"{"x":1}"#;
    null_over_an_earlier_map_deletes_the_default: "a: {c: 1}\n", ["a: {b: 1}\n", "a: ~\n"] => r#"{}"#;
    map_after_a_null_merges_with_the_default: "a: {c: 1}\n", ["a: ~\n", "a: {b: 1}\n"] => r#"{"a":{"b":1,"c":1}}"#;
    /// Found by the random stacks: kcc's null deleted the default for good.
    empty_map_after_a_null_brings_the_default_back: "b: {a: ~}\n", ["b: ~\n", "b: {}\n"] => r#"{"b":{"a":null}}"#;
    nested_nulls_delete_only_defaults: "a: {b: {c: 1, d: 1}}\n", ["a: {b: {c: ~, e: ~}}\n"] => r#"{"a":{"b":{"d":1,"e":null}}}"#;
    nulls_in_the_chart_defaults_stay: "a: ~\nb: {c: ~}\n", [] => r#"{"a":null,"b":{"c":null}}"#;
    null_over_a_null_default_deletes_it: "a: ~\nb: {c: ~}\n", ["a: ~\nb: {c: ~}\n"] => r#"{"b":{}}"#;
    map_over_a_null_default_keeps_its_nulls: "a: ~\n", ["a: {b: ~}\n"] => r#"{"a":{"b":null}}"#;
    nulls_in_lists_are_values: "a: [1, 2]\n", ["a: [1, ~, {b: ~}]\n"] => r#"{"a":[1,null,{"b":null}]}"#;
    null_under_a_new_key_stays: "a: {b: 1}\n", ["m: {k: {j: ~}, l: ~}\n"] => r#"{"a":{"b":1},"m":{"k":{"j":null},"l":null}}"#;
    quoted_tilde_is_a_string: "a: 1\n", ["a: \"~\"\n"] => r#"{"a":"~"}"#;
    empty_and_null_files_change_nothing: "x: 1\n", ["", "~\n"] => r#"{"x":1}"#;
}

// `{}`, `[]`, lists, and types that change between layers.
agree! {
    empty_map_keeps_the_default_map: "a: {b: 1}\n", ["a: {}\n"] => r#"{"a":{"b":1}}"#;
    empty_map_then_null_deletes: "a: {b: 1}\n", ["a: {}\n", "a: {b: ~}\n"] => r#"{"a":{}}"#;
    empty_map_over_a_default_scalar: "a: 1\n", ["a: {}\n"] => r#"{"a":{}}"#;
    empty_list_replaces_a_list: "a: [1]\n", ["a: []\n"] => r#"{"a":[]}"#;
    lists_of_maps_replace: "a: [{b: 1, c: 1}]\n", ["a: [{b: 2}]\n"] => r#"{"a":[{"b":2}]}"#;
    scalar_over_a_default_map: "a: {b: 1}\n", ["a: 5\n"] => r#"{"a":5}"#;
    map_over_a_default_scalar: "a: 5\n", ["a: {b: 1}\n"] => r#"{"a":{"b":1}}"#;
    map_over_a_default_list: "a: [1]\n", ["a: {b: 1}\n"] => r#"{"a":{"b":1}}"#;
    list_over_a_default_map: "a: {b: 1}\n", ["a: [1]\n"] => r#"{"a":[1]}"#;
    nested_scalar_over_a_default_map: "a: {b: {c: 1}}\n", ["a: {b: 5}\n"] => r#"{"a":{"b":5}}"#;
    nested_map_over_a_default_scalar: "a: {b: 5}\n", ["a: {b: {c: 1}}\n"] => r#"{"a":{"b":{"c":1}}}"#;
    later_scalar_over_an_earlier_map: "a: {c: 1}\n", ["a: {b: 1}\n", "a: 5\n"] => r#"{"a":5}"#;
    later_map_over_an_earlier_scalar_merges_with_the_default: "a: {c: 1}\n", ["a: 5\n", "a: {b: 1}\n"] => r#"{"a":{"b":1,"c":1}}"#;
}

// YAML merge keys and numbers, as helm's go-yaml v2 reads them.
agree! {
    merge_key_fills_in_what_the_map_lacks: "x: 1\n", ["base: &b {p: 1, q: 2}\nover:\n  <<: *b\n  q: 3\n"]
        => r#"{"base":{"p":1,"q":2},"over":{"p":1,"q":3},"x":1}"#;
    /// kcc let the map's own `q: 3` win wherever the `<<` was written.
    merge_key_after_a_key_overrides_it: "x: 1\n", ["base: &b {p: 1, q: 2}\nover:\n  q: 3\n  <<: *b\n"]
        => r#"{"base":{"p":1,"q":2},"over":{"p":1,"q":2},"x":1}"#;
    merge_key_list_first_map_wins: "x: 1\n", ["a: &a {p: 1, q: 1}\nb: &b {q: 2, r: 2}\nover:\n  <<: [*a, *b]\n"]
        => r#"{"a":{"p":1,"q":1},"b":{"q":2,"r":2},"over":{"p":1,"q":1,"r":2},"x":1}"#;
    merge_key_is_shallow: "x: 1\n", ["base: &b {p: {deep: 1}}\nover:\n  <<: *b\n  p: {other: 2}\n"]
        => r#"{"base":{"p":{"deep":1}},"over":{"p":{"other":2}},"x":1}"#;
    merged_nulls_delete_defaults: "k: {p: 1, q: 1}\n", ["base: &b {p: ~}\nk:\n  <<: *b\n"]
        => r#"{"base":{"p":null},"k":{"q":1}}"#;
    /// kcc merged a quoted `"<<"`; go-yaml only merges a plain one.
    quoted_merge_key_is_a_key: "x: 1\n", ["over:\n  \"<<\": {a: 1}\n"] => r#"{"over":{"<<":{"a":1}},"x":1}"#;
    merge_key_of_a_scalar_is_refused: "x: 1\n", ["over:\n  <<: 1\n"] => "error";
    numbers_both_read_alike: "a: 1e3\nb: 1.0\nc: 2.50\nd: 0x1F\ne: 0o17\nf: -0\ng: +1\nh: 0.1\ni: 1.5e300\n", []
        => r#"{"a":1000,"b":1,"c":2.5,"d":31,"e":15,"f":0,"g":1,"h":0.1,"i":1.5e300}"#;
    /// kcc read `1e400` as infinity; go-yaml cannot parse it as a float, so it is a string.
    a_float_too_large_is_a_string: "x: 1\n", ["a: 1e400\n"] => r#"{"a":"1e400","x":1}"#;
    /// kcc read `.inf`; helm refuses the file (values go through JSON).
    infinity_is_refused: "x: 1\n", ["a: .inf\n"] => "error";
    nan_in_the_defaults_is_refused: "a: .nan\n", [] => "error";
    sexagesimal_is_a_string: "x: 1\n", ["a: 1:20\n"] => r#"{"a":"1:20","x":1}"#;
}

// Deliberate deviations: kcc reads YAML 1.2 (and warns `yaml/ambiguous` on values where
// YAML 1.1 readers differ), keeps integers exact, and refuses duplicate keys.
differ! {
    yaml11_booleans: "x: 1\n", ["a: yes\nb: on\nc: y\n"]
        => r#"{"a":true,"b":true,"c":true,"x":1}"#, r#"{"a":"yes","b":"on","c":"y","x":1}"#;
    yaml11_integers: "x: 1\n", ["a: 017\nb: 1_000\nc: 0b101\n"]
        => r#"{"a":15,"b":1000,"c":5,"x":1}"#, r#"{"a":17,"b":"1_000","c":"0b101","x":1}"#;
    yaml11_keys: "x: 1\n", ["on: 1\nn: 2\n0x10: 3\n"]
        => r#"{"true":1,"false":2,"16":3,"x":1}"#, r#"{"on":1,"n":2,"0x10":3,"x":1}"#;
    integers_beyond_2_pow_53: "x: 1\n", ["a: 9007199254740993\n"]
        => r#"{"a":9007199254740992,"x":1}"#, r#"{"a":9007199254740993,"x":1}"#;
    duplicate_keys: "x: 1\n", ["a: 1\na: 2\n"] => r#"{"a":2,"x":1}"#, "error";
    null_key: "x: 1\n", ["~: 1\n"] => "error", r#"{"~":1,"x":1}"#;
    /// helm renders 1e+23, which no Kubernetes integer field takes: kcc refuses the literal.
    integers_beyond_64_bits: "x: 1\n", ["a: 100000000000000000000000\n"]
        => r#"{"a":1e23,"x":1}"#, "error";
}

// Random stacks.

/// A generated value; written out as YAML for both sides.
#[derive(Clone, Debug)]
enum V {
    Null,
    Int(i64),
    Float(f64),
    Bool(bool),
    Str(&'static str),
    Seq(Vec<V>),
    Map(BTreeMap<&'static str, V>),
}

/// Few keys, so layers collide often. None that YAML 1.1 reads as a boolean (`y`, `n`).
const KEYS: &[&str] = &["a", "b", "c", "d"];
const STRINGS: &[&str] = &["x", "", "yes", "1", "~", "null"];

fn map_of(values: impl Strategy<Value = V>) -> impl Strategy<Value = V> {
    prop::collection::btree_map(prop::sample::select(KEYS), values, 0..4).prop_map(V::Map)
}

fn tree() -> impl Strategy<Value = V> {
    let leaf = prop_oneof![
        3 => Just(V::Null),
        2 => (-2i64..100).prop_map(V::Int),
        1 => prop::sample::select(&[1.5, -0.25, 2.0, 1e3][..]).prop_map(V::Float),
        1 => any::<bool>().prop_map(V::Bool),
        1 => prop::sample::select(STRINGS).prop_map(V::Str),
    ];
    leaf.prop_recursive(3, 24, 4, |inner| {
        prop_oneof![
            3 => map_of(inner.clone()),
            1 => prop::collection::vec(inner, 0..3).prop_map(V::Seq),
        ]
    })
}

/// The chart's values.yaml, then 2 to 4 values files: each a map at the top.
#[derive(Clone, Debug)]
struct Stack {
    defaults: String,
    files: Vec<String>,
}

fn stack() -> impl Strategy<Value = Stack> {
    let layer = || map_of(tree()).prop_map(|v| document(&v));
    (layer(), prop::collection::vec(layer(), 2..=4))
        .prop_map(|(defaults, files)| Stack { defaults, files })
}

/// Block maps, flow lists (flow maps inside them): both styles get read.
fn document(v: &V) -> String {
    let mut out = String::new();
    match v {
        V::Map(m) if !m.is_empty() => block(m, 0, &mut out),
        _ => out.push_str(&flow(v)),
    }
    out.push('\n');
    out
}

fn block(map: &BTreeMap<&str, V>, indent: usize, out: &mut String) {
    for (i, (key, value)) in map.iter().enumerate() {
        if i > 0 {
            out.push('\n');
        }
        out.push_str(&format!("{:indent$}{key}:", ""));
        match value {
            V::Map(m) if !m.is_empty() => {
                out.push('\n');
                block(m, indent + 2, out);
            }
            other => out.push_str(&format!(" {}", flow(other))),
        }
    }
}

fn flow(v: &V) -> String {
    match v {
        V::Null => "~".into(),
        V::Int(i) => i.to_string(),
        V::Float(f) => format!("{f:?}"),
        V::Bool(b) => b.to_string(),
        V::Str(s) => serde_json::to_string(s).unwrap(),
        V::Seq(items) => format!(
            "[{}]",
            items.iter().map(flow).collect::<Vec<_>>().join(", ")
        ),
        V::Map(m) => format!(
            "{{{}}}",
            m.iter()
                .map(|(k, v)| format!("{k}: {}", flow(v)))
                .collect::<Vec<_>>()
                .join(", ")
        ),
    }
}

fn describe(s: &Stack) -> String {
    let mut text = format!("--- values.yaml\n{}", s.defaults);
    for (i, f) in s.files.iter().enumerate() {
        text.push_str(&format!("--- -f f{}.yaml\n{f}", i + 1));
    }
    text
}

/// Runs `cases` random stacks from `seed` through helm and kcc; the shrunk failure, if any.
fn run_stacks(helm: &Path, seed: u64, cases: u32) -> Result<(), String> {
    let chart = Chart::new(helm);
    let config = Config {
        cases,
        rng_seed: RngSeed::Fixed(seed),
        failure_persistence: None,
        ..Config::default()
    };
    let result = TestRunner::new(config).run(&stack(), |s| {
        let files: Vec<&str> = s.files.iter().map(String::as_str).collect();
        let expected = chart.values(&s.defaults, &files).map(numbers_as_f64);
        let actual = kcc_values(&s.defaults, &files).map(numbers_as_f64);
        if expected != actual {
            return Err(TestCaseError::fail(format!(
                "helm: {expected:?}\nkcc:  {actual:?}"
            )));
        }
        Ok(())
    });
    match result {
        Ok(()) => Ok(()),
        Err(TestError::Fail(why, s)) => Err(format!(
            "seed {seed}: kcc differs from helm on\n{}{why}",
            describe(&s)
        )),
        Err(e) => Err(format!("seed {seed}: {e}")),
    }
}

/// Stacks of the chart's values.yaml and 2–4 values files, with nested maps, lists,
/// scalars and nulls over four keys. PROPTEST_CASES sets the stacks per thread (256);
/// KCC_HELM_SEED the first seed.
#[test]
#[ignore = "interop: needs helm and helmfile (scripts/install-helm-tools.sh); `cargo test -- --ignored` runs it"]
fn random_layer_stacks_merge_as_helm_does() {
    let Some(helm) = helm() else { return };
    let cases: u32 = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|c| c.parse().ok())
        .unwrap_or(256);
    let seed: u64 = std::env::var("KCC_HELM_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(9);
    // helm is one process per stack (~40 ms): one runner per core, each with its own seed.
    let threads = std::thread::available_parallelism().map_or(2, |n| n.get().min(4)) as u64;
    let failures: Vec<String> = std::thread::scope(|scope| {
        let runs: Vec<_> = (0..threads)
            .map(|t| scope.spawn(move || run_stacks(helm, seed + t, cases)))
            .collect();
        runs.into_iter()
            .filter_map(|r| r.join().unwrap().err())
            .collect()
    });
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}
