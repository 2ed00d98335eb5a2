//! Between kcc's value tree and minijinja's values.

use std::collections::BTreeMap;

use minijinja::value::{Value as Mj, ValueKind};
use minijinja::{Error, ErrorKind};

use crate::yaml::{Node, Value};

pub fn to_template(node: &Node) -> Mj {
    match &node.value {
        Value::Null => Mj::from(()),
        Value::Bool(b) => Mj::from(*b),
        Value::Int(i) => Mj::from(*i),
        Value::Float(f) => Mj::from(*f),
        Value::Str(s) => Mj::from(s.as_str()),
        Value::Seq(items) => items.iter().map(to_template).collect(),
        Value::Map(map) => {
            let m: BTreeMap<String, Mj> = map
                .iter()
                .map(|(k, v)| (k.clone(), to_template(v)))
                .collect();
            Mj::from_object(m)
        }
    }
}

/// A template value as data, for `to_yaml`/`to_json`. Undefined is an error (strict mode).
pub fn from_template(value: &Mj) -> Result<Node, Error> {
    let v = match value.kind() {
        ValueKind::Undefined => {
            return Err(Error::new(
                ErrorKind::UndefinedError,
                "cannot serialize an undefined value",
            ));
        }
        ValueKind::None => Value::Null,
        ValueKind::Bool => Value::Bool(value.is_true()),
        ValueKind::Number => match value.as_i64() {
            Some(i) if !is_float(value) => Value::Int(i),
            _ => Value::Float(f64::try_from(value.clone())?),
        },
        ValueKind::String => Value::Str(value.as_str().unwrap_or_default().to_string()),
        ValueKind::Seq | ValueKind::Iterable => Value::Seq(
            value
                .try_iter()?
                .map(|v| from_template(&v))
                .collect::<Result<_, _>>()?,
        ),
        ValueKind::Map => {
            let mut map = BTreeMap::new();
            for key in value.try_iter()? {
                let item = value.get_item(&key)?;
                map.insert(key.to_string(), from_template(&item)?);
            }
            Value::Map(map)
        }
        other => {
            return Err(Error::new(
                ErrorKind::InvalidOperation,
                format!("cannot serialize a value of type {other}"),
            ));
        }
    };
    Ok(Node::new(v, None))
}

fn is_float(value: &Mj) -> bool {
    // minijinja prints floats with a dot or exponent; integers never have one.
    let s = value.to_string();
    s.contains(['.', 'e', 'E']) || s.contains("inf") || s.contains("NaN")
}
