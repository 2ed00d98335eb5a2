//! CEL values. An object under admission is read where it lies: a YAML node becomes a
//! value that borrows it (`List::Node`, `Map::Node`, `Str::Borrowed`), so evaluating a
//! policy against an object copies nothing but what expressions compute.

use std::cmp::Ordering;
use std::fmt;
use std::net::IpAddr;
use std::rc::Rc;

use ipnet::IpNet;

use super::quantity::Quantity;
use super::url::Url;
use crate::yaml::{Node, Value as Yaml};

#[derive(Clone, Debug)]
pub enum Value<'a> {
    Null,
    Bool(bool),
    Int(i64),
    Uint(u64),
    Double(f64),
    Str(Str<'a>),
    Bytes(Rc<[u8]>),
    List(List<'a>),
    Map(Map<'a>),
    /// `optional.of(x)` or `optional.none()`.
    Optional(Option<Rc<Value<'a>>>),
    /// A type as a value: `type(x)`, `int`.
    Type(&'static str),
    Quantity(Rc<Quantity>),
    Url(Rc<Url>),
    Ip(IpAddr),
    Cidr(IpNet),
}

#[derive(Clone, Debug)]
pub enum Str<'a> {
    Borrowed(&'a str),
    Owned(Rc<str>),
}

impl Str<'_> {
    pub fn as_str(&self) -> &str {
        match self {
            Str::Borrowed(s) => s,
            Str::Owned(s) => s,
        }
    }
}

#[derive(Clone, Debug)]
pub enum List<'a> {
    Node(&'a [Node]),
    Owned(Rc<Vec<Value<'a>>>),
}

#[derive(Clone, Debug)]
pub enum Map<'a> {
    /// A YAML map; a key whose value is null is absent, as the API server drops it.
    Node(&'a std::collections::BTreeMap<String, Node>),
    Owned(Rc<Vec<(Value<'a>, Value<'a>)>>),
}

impl<'a> List<'a> {
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub fn len(&self) -> usize {
        match self {
            List::Node(n) => n.len(),
            List::Owned(v) => v.len(),
        }
    }

    pub fn get(&self, i: usize) -> Option<Value<'a>> {
        match self {
            List::Node(n) => n.get(i).map(Value::of_node),
            List::Owned(v) => v.get(i).cloned(),
        }
    }

    pub fn iter(&self) -> impl Iterator<Item = Value<'a>> + '_ {
        (0..self.len()).map(|i| self.get(i).expect("index in range"))
    }
}

impl<'a> Map<'a> {
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub fn len(&self) -> usize {
        match self {
            Map::Node(m) => m.values().filter(|v| !is_null(v)).count(),
            Map::Owned(v) => v.len(),
        }
    }

    /// The value at a string key.
    pub fn field(&self, key: &str) -> Option<Value<'a>> {
        match self {
            Map::Node(m) => m.get(key).filter(|v| !is_null(v)).map(Value::of_node),
            Map::Owned(v) => v
                .iter()
                .find(|(k, _)| matches!(k, Value::Str(s) if s.as_str() == key))
                .map(|(_, v)| v.clone()),
        }
    }

    /// The value at any key (numeric keys compare across int, uint and double).
    pub fn get(&self, key: &Value) -> Option<Value<'a>> {
        match (self, key) {
            (_, Value::Str(s)) => self.field(s.as_str()),
            (Map::Node(_), _) => None,
            (Map::Owned(v), key) => v
                .iter()
                .find(|(k, _)| equal(k, key).unwrap_or(false))
                .map(|(_, v)| v.clone()),
        }
    }

    pub fn keys(&self) -> Vec<Value<'a>> {
        match self {
            Map::Node(m) => m
                .iter()
                .filter(|(_, v)| !is_null(v))
                .map(|(k, _)| Value::Str(Str::Borrowed(k.as_str())))
                .collect(),
            Map::Owned(v) => v.iter().map(|(k, _)| k.clone()).collect(),
        }
    }

    pub fn entries(&self) -> Vec<(Value<'a>, Value<'a>)> {
        match self {
            Map::Node(m) => m
                .iter()
                .filter(|(_, v)| !is_null(v))
                .map(|(k, v)| (Value::Str(Str::Borrowed(k.as_str())), Value::of_node(v)))
                .collect(),
            Map::Owned(v) => v.as_ref().clone(),
        }
    }
}

fn is_null(node: &Node) -> bool {
    matches!(node.value, Yaml::Null)
}

impl<'a> Value<'a> {
    /// A YAML node as a CEL value, borrowing it.
    pub fn of_node(node: &'a Node) -> Value<'a> {
        match &node.value {
            Yaml::Null => Value::Null,
            Yaml::Bool(b) => Value::Bool(*b),
            Yaml::Int(i) => Value::Int(*i),
            Yaml::Float(f) => Value::Double(*f),
            Yaml::Str(s) => Value::Str(Str::Borrowed(s)),
            Yaml::Seq(s) => Value::List(List::Node(s)),
            Yaml::Map(m) => Value::Map(Map::Node(m)),
        }
    }

    pub fn string(s: impl Into<Rc<str>>) -> Value<'a> {
        Value::Str(Str::Owned(s.into()))
    }

    pub fn list(items: Vec<Value<'a>>) -> Value<'a> {
        Value::List(List::Owned(Rc::new(items)))
    }

    pub fn map(entries: Vec<(Value<'a>, Value<'a>)>) -> Value<'a> {
        Value::Map(Map::Owned(Rc::new(entries)))
    }

    pub fn some(value: Value<'a>) -> Value<'a> {
        Value::Optional(Some(Rc::new(value)))
    }

    /// The CEL type name, as `type(x)` gives it.
    pub fn type_name(&self) -> &'static str {
        match self {
            Value::Null => "null_type",
            Value::Bool(_) => "bool",
            Value::Int(_) => "int",
            Value::Uint(_) => "uint",
            Value::Double(_) => "double",
            Value::Str(_) => "string",
            Value::Bytes(_) => "bytes",
            Value::List(_) => "list",
            Value::Map(_) => "map",
            Value::Optional(_) => "optional_type",
            Value::Type(_) => "type",
            Value::Quantity(_) => "kubernetes.Quantity",
            Value::Url(_) => "kubernetes.URL",
            Value::Ip(_) => "net.IP",
            Value::Cidr(_) => "net.CIDR",
        }
    }

    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::Str(s) => Some(s.as_str()),
            _ => None,
        }
    }

    /// The zero value of its type (for `optional.ofNonZeroValue`).
    pub fn is_zero(&self) -> bool {
        match self {
            Value::Null => true,
            Value::Bool(b) => !b,
            Value::Int(i) => *i == 0,
            Value::Uint(u) => *u == 0,
            Value::Double(d) => *d == 0.0,
            Value::Str(s) => s.as_str().is_empty(),
            Value::Bytes(b) => b.is_empty(),
            Value::List(l) => l.is_empty(),
            Value::Map(m) => m.is_empty(),
            Value::Optional(o) => o.is_none(),
            _ => false,
        }
    }

    /// A rough size, for the cost of operations that walk a value.
    pub fn cost_size(&self) -> u64 {
        match self {
            Value::Str(s) => s.as_str().len() as u64,
            Value::Bytes(b) => b.len() as u64,
            Value::List(l) => l.len() as u64,
            Value::Map(m) => m.len() as u64,
            _ => 1,
        }
    }
}

/// CEL equality, heterogeneous as cel-go's: values of different types are unequal, numbers
/// compare by value across int, uint and double. `None` when the types cannot be compared
/// for equality at all (never, today: kept for the operator's error path).
pub fn equal(a: &Value, b: &Value) -> Option<bool> {
    use Value::*;
    Some(match (a, b) {
        (Null, Null) => true,
        (Bool(x), Bool(y)) => x == y,
        (Str(x), Str(y)) => x.as_str() == y.as_str(),
        (Bytes(x), Bytes(y)) => x == y,
        (Int(_) | Uint(_) | Double(_), Int(_) | Uint(_) | Double(_)) => {
            numeric_order(a, b) == Some(Ordering::Equal)
        }
        (List(x), List(y)) => {
            x.len() == y.len()
                && x.iter()
                    .zip(y.iter())
                    .all(|(p, q)| equal(&p, &q).unwrap_or(false))
        }
        (Map(x), Map(y)) => {
            x.len() == y.len()
                && x.entries()
                    .iter()
                    .all(|(k, v)| y.get(k).is_some_and(|w| equal(v, &w).unwrap_or(false)))
        }
        (Optional(x), Optional(y)) => match (x, y) {
            (None, None) => true,
            (Some(p), Some(q)) => equal(p, q).unwrap_or(false),
            _ => false,
        },
        (Type(x), Type(y)) => x == y,
        (Quantity(x), Quantity(y)) => x.cmp(y) == Ordering::Equal,
        (Url(x), Url(y)) => x.text == y.text,
        (Ip(x), Ip(y)) => x == y,
        (Cidr(x), Cidr(y)) => x == y,
        _ => false,
    })
}

/// Order of two numbers of any numeric types, exact for int against uint.
pub fn numeric_order(a: &Value, b: &Value) -> Option<Ordering> {
    use Value::*;
    match (a, b) {
        (Int(x), Int(y)) => Some(x.cmp(y)),
        (Uint(x), Uint(y)) => Some(x.cmp(y)),
        (Int(x), Uint(y)) => Some(if *x < 0 {
            Ordering::Less
        } else {
            (*x as u64).cmp(y)
        }),
        (Uint(_), Int(_)) => numeric_order(b, a).map(Ordering::reverse),
        (Double(x), Double(y)) => x.partial_cmp(y),
        (Double(x), Int(y)) => x.partial_cmp(&(*y as f64)),
        (Double(x), Uint(y)) => x.partial_cmp(&(*y as f64)),
        (Int(_) | Uint(_), Double(_)) => numeric_order(b, a).map(Ordering::reverse),
        _ => None,
    }
}

/// `<` and friends: numbers, strings, bytes, booleans; `None` for other pairs.
pub fn order(a: &Value, b: &Value) -> Option<Ordering> {
    use Value::*;
    match (a, b) {
        (Str(x), Str(y)) => Some(x.as_str().cmp(y.as_str())),
        (Bytes(x), Bytes(y)) => Some(x.cmp(y)),
        (Bool(x), Bool(y)) => Some(x.cmp(y)),
        _ => numeric_order(a, b),
    }
}

/// How a value prints in a message (`string(x)` for scalars, CEL literal syntax otherwise).
impl fmt::Display for Value<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Value::Null => write!(f, "null"),
            Value::Bool(b) => write!(f, "{b}"),
            Value::Int(i) => write!(f, "{i}"),
            Value::Uint(u) => write!(f, "{u}u"),
            Value::Double(d) => write!(f, "{d}"),
            Value::Str(s) => write!(f, "{:?}", s.as_str()),
            Value::Bytes(b) => write!(f, "b{:?}", String::from_utf8_lossy(b)),
            Value::List(l) => {
                write!(f, "[")?;
                for (i, v) in l.iter().enumerate() {
                    if i > 0 {
                        write!(f, ", ")?;
                    }
                    write!(f, "{v}")?;
                }
                write!(f, "]")
            }
            Value::Map(m) => {
                write!(f, "{{")?;
                for (i, (k, v)) in m.entries().iter().enumerate() {
                    if i > 0 {
                        write!(f, ", ")?;
                    }
                    write!(f, "{k}: {v}")?;
                }
                write!(f, "}}")
            }
            Value::Optional(None) => write!(f, "optional.none()"),
            Value::Optional(Some(v)) => write!(f, "optional.of({v})"),
            Value::Type(t) => write!(f, "{t}"),
            Value::Quantity(q) => write!(f, "quantity({:?})", q.text),
            Value::Url(u) => write!(f, "url({:?})", u.text),
            Value::Ip(ip) => write!(f, "ip({:?})", ip.to_string()),
            Value::Cidr(c) => write!(f, "cidr({:?})", c.to_string()),
        }
    }
}
