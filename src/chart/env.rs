//! The minijinja environment charts render in: strict undefined, bounded fuel and
//! recursion, no clock, randomness or environment, and the filters chart authors expect.

use base64::Engine as _;
use minijinja::value::{Value as Mj, ValueKind};
use minijinja::{Environment, Error, ErrorKind, UndefinedBehavior};
use sha2::{Digest, Sha256};

use super::convert::from_template;
use super::network;
use crate::yaml::emit_value_block;

/// Enough for the largest fleet chart many times over; an endless loop runs out quickly.
pub const FUEL: u64 = 5_000_000;
pub const RECURSION_LIMIT: usize = 100;

/// A fresh environment with kcc's settings, filters and functions, and no templates.
pub fn environment() -> Environment<'static> {
    let mut env = Environment::new();
    env.set_undefined_behavior(UndefinedBehavior::Strict);
    env.set_fuel(Some(FUEL));
    env.set_recursion_limit(RECURSION_LIMIT);
    env.set_debug(false);
    env.set_formatter(format_yaml_friendly);
    // minijinja would JSON-escape output of `.yaml` templates; charts write YAML by hand.
    env.set_auto_escape_callback(|_| minijinja::AutoEscape::None);
    // Templates are chart files, looked up by path relative to the chart root; names that
    // try to leave the chart are refused rather than merely not found.
    env.set_loader(|name| {
        if escapes_chart(name) {
            return Err(Error::new(
                ErrorKind::InvalidOperation,
                format!("`{name}` is outside the chart: templates may only load files of their own chart"),
            ));
        }
        Ok(None::<String>)
    });
    // Checks kcc's memory at each step, so that a loop building a huge value stops there.
    env.add_function("range", range);
    env.add_filter("to_yaml", to_yaml);
    env.add_filter("to_json", to_json);
    env.add_filter("nindent", nindent);
    env.add_filter("quote", quote);
    env.add_filter("b64encode", b64encode);
    env.add_filter("sha256", sha256);
    env.add_filter("required", required);
    env.add_function("required", |msg: String, v: Mj| required(v, msg));
    env.add_function("cidr_contains", network::cidr_contains);
    env.add_function("cidr_host", network::cidr_host);
    env.add_function("cidr_network", network::cidr_network);
    env.add_function("cidr_prefix", network::cidr_prefix);
    env.add_function("ip_family", network::ip_family);
    env.add_function("semver_compare", super::version_compare::semver_compare);
    env
}

pub fn escapes_chart(name: &str) -> bool {
    name.starts_with('/')
        || name.contains('\\')
        || name.split('/').any(|part| part == ".." || part == ".")
}

/// The error of a template render that went over its memory budget (see
/// [`crate::memory::over_budget`]); the renderer reports it as `resource/memory`.
fn memory_error() -> Error {
    Error::new(
        ErrorKind::InvalidOperation,
        format!(
            "kcc holds more than {} MiB, most of it built by this template",
            crate::memory::TEMPLATE_LIMIT >> 20
        ),
    )
}

/// Fails once the render is over its memory budget.
fn within_memory() -> Result<(), Error> {
    if crate::memory::over_budget() {
        Err(memory_error())
    } else {
        Ok(())
    }
}

/// minijinja's `range`, whose loops stop (with an error at the loop) once the render is over
/// its memory budget.
fn range(lower: isize, upper: Option<isize>, step: Option<isize>) -> Result<Mj, Error> {
    let items = minijinja::functions::range(lower, upper, step)?;
    Ok(Mj::make_object_iterable(items, |items| {
        match items.try_iter() {
            Ok(iter) => Box::new(WithinMemory(iter)),
            Err(e) => Box::new(std::iter::once(Mj::from(e))),
        }
    }))
}

/// An iterator that yields an invalid value (an error where it is used) once the render is
/// over its memory budget.
struct WithinMemory<I>(I);

impl<I: Iterator<Item = Mj>> Iterator for WithinMemory<I> {
    type Item = Mj;

    fn next(&mut self) -> Option<Mj> {
        match within_memory() {
            Ok(()) => self.0.next(),
            Err(e) => Some(Mj::from(e)),
        }
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        self.0.size_hint()
    }
}

/// `{{ x }}` prints what a YAML reader reads back as `x`: `true`, not Python's `True`;
/// `null` for none; lists and maps as JSON (valid flow YAML).
fn format_yaml_friendly(
    out: &mut minijinja::Output,
    state: &mut minijinja::State,
    value: &Mj,
) -> Result<(), Error> {
    within_memory()?;
    let text = match value.kind() {
        ValueKind::Bool => Some(if value.is_true() {
            "true".to_string()
        } else {
            "false".to_string()
        }),
        ValueKind::None => Some("null".to_string()),
        ValueKind::Seq | ValueKind::Map => Some(from_template(value)?.to_json().to_string()),
        _ => None,
    };
    match text {
        Some(text) => out
            .write_str(&text)
            .map_err(|_| Error::new(ErrorKind::WriteFailure, "cannot write template output")),
        None => minijinja::escape_formatter(out, state, value),
    }
}

fn to_yaml(value: Mj) -> Result<String, Error> {
    within_memory()?;
    Ok(emit_value_block(&from_template(&value)?))
}

fn to_json(value: Mj) -> Result<String, Error> {
    within_memory()?;
    Ok(from_template(&value)?.to_json().to_string())
}

/// Helm's nindent: a newline, then every line indented (blank ones too).
fn nindent(value: String, width: usize) -> Result<String, Error> {
    within_memory()?;
    let pad = " ".repeat(width);
    let mut out = String::with_capacity(value.len() + width * 8);
    for line in value.split('\n') {
        out.push('\n');
        out.push_str(&pad);
        out.push_str(line);
    }
    Ok(out)
}

fn quote(value: Mj) -> Result<String, Error> {
    if value.is_undefined() {
        return Err(Error::new(
            ErrorKind::UndefinedError,
            "cannot quote an undefined value",
        ));
    }
    let text = match value.kind() {
        ValueKind::None => String::new(),
        ValueKind::Bool => value.is_true().to_string(),
        _ => value.to_string(),
    };
    Ok(serde_json::Value::String(text).to_string())
}

fn b64encode(value: String) -> String {
    base64::engine::general_purpose::STANDARD.encode(value)
}

fn sha256(value: String) -> String {
    Sha256::digest(value.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn required(value: Mj, message: String) -> Result<Mj, Error> {
    if value.is_undefined() || value.is_none() {
        Err(Error::new(
            ErrorKind::InvalidOperation,
            format!("required value missing: {message}"),
        ))
    } else {
        Ok(value)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn render(src: &str) -> Result<String, Error> {
        environment().render_str(
            src,
            minijinja::context! { m => minijinja::context! { a => 1, b => 2 } },
        )
    }

    #[test]
    fn filters() {
        assert_eq!(render("{{ 'x' | quote }}").unwrap(), "\"x\"");
        assert_eq!(
            render("{{ true | quote }} {{ false }} {{ none }} {{ [1, 'a'] }}").unwrap(),
            "\"true\" false null [1,\"a\"]"
        );
        assert_eq!(render("{{ 'a\\nb' | nindent(2) }}").unwrap(), "\n  a\n  b");
        assert_eq!(render("{{ 'hi' | b64encode }}").unwrap(), "aGk=");
        assert_eq!(render("{{ '' | sha256 }}").unwrap().len(), 64);
        assert_eq!(render("{{ m | to_json }}").unwrap(), "{\"a\":1,\"b\":2}");
        assert_eq!(render("{{ m | to_yaml }}").unwrap(), "a: 1\nb: 2");
        assert_eq!(
            render("{{ cidr_host('10.0.0.0/24', 3) }}").unwrap(),
            "10.0.0.3"
        );
        assert!(
            render("{{ none | required('need x') }}")
                .unwrap_err()
                .to_string()
                .contains("need x")
        );
    }

    #[test]
    fn strict_undefined() {
        assert!(render("{{ m.missing }}").is_err());
        assert_eq!(render("{{ m.missing | default('d') }}").unwrap(), "d");
        assert_eq!(
            render("{% if m.missing is defined %}y{% else %}n{% endif %}").unwrap(),
            "n"
        );
    }

    #[test]
    fn endless_loops_run_out_of_fuel() {
        let err = render(
            "{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}",
        )
        .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::OutOfFuel);
    }

    #[test]
    fn paths_leaving_the_chart() {
        assert!(escapes_chart("../x.j2"));
        assert!(escapes_chart("templates/../../x"));
        assert!(escapes_chart("/etc/passwd"));
        assert!(!escapes_chart("templates/_helpers.j2"));
    }
}
