//! The functions a policy may call: CEL's standard ones, cel-go's string and optional
//! extensions, and Kubernetes' libraries (regex, lists, sets, quantity, URL, IP/CIDR), as
//! the API server of Kubernetes 1.31 declares them. Each is declared once in `DECLS`
//! (what the checker accepts) and implemented in `call`.

use std::rc::Rc;

use regex::Regex;

use super::ast::Ty;
use super::eval::{Evaluation, Fail, no_overload};
use super::value::{Value, equal, order};
use super::{net, quantity, url};

/// A resolved call: the function's name (static, for dispatch) and result type.
pub struct Signature {
    pub name: &'static str,
    pub returns: Ty,
}

/// How a function is called: `f(x)` or `x.f()` on one of the receiver types.
enum Style {
    Global,
    Member(&'static [Ty]),
}

struct Decl {
    name: &'static str,
    style: Style,
    arities: &'static [usize],
    returns: Ty,
}

const fn global(name: &'static str, arities: &'static [usize], returns: Ty) -> Decl {
    Decl {
        name,
        style: Style::Global,
        arities,
        returns,
    }
}

const fn member(
    name: &'static str,
    on: &'static [Ty],
    arities: &'static [usize],
    returns: Ty,
) -> Decl {
    Decl {
        name,
        style: Style::Member(on),
        arities,
        returns,
    }
}

const STRING: &[Ty] = &[Ty::String];
const LIST: &[Ty] = &[Ty::List];
const SIZED: &[Ty] = &[Ty::String, Ty::Bytes, Ty::List, Ty::Map];
const STRING_OR_LIST: &[Ty] = &[Ty::String, Ty::List];
const OPTIONAL: &[Ty] = &[Ty::Optional];
const QUANTITY: &[Ty] = &[Ty::Quantity];
const URL: &[Ty] = &[Ty::Url];
const IP: &[Ty] = &[Ty::Ip];
const CIDR: &[Ty] = &[Ty::Cidr];

const DECLS: &[Decl] = &[
    // standard
    global("size", &[1], Ty::Int),
    member("size", SIZED, &[0], Ty::Int),
    global("int", &[1], Ty::Int),
    global("uint", &[1], Ty::Uint),
    global("double", &[1], Ty::Double),
    global("string", &[1], Ty::String),
    global("bool", &[1], Ty::Bool),
    global("bytes", &[1], Ty::Bytes),
    global("dyn", &[1], Ty::Dyn),
    global("type", &[1], Ty::Type),
    global("matches", &[2], Ty::Bool),
    member("matches", STRING, &[1], Ty::Bool),
    member("contains", STRING, &[1], Ty::Bool),
    member("startsWith", STRING, &[1], Ty::Bool),
    member("endsWith", STRING, &[1], Ty::Bool),
    // cel-go strings extension
    member("charAt", STRING, &[1], Ty::String),
    member("indexOf", STRING_OR_LIST, &[1, 2], Ty::Int),
    member("lastIndexOf", STRING_OR_LIST, &[1, 2], Ty::Int),
    member("lowerAscii", STRING, &[0], Ty::String),
    member("upperAscii", STRING, &[0], Ty::String),
    member("replace", STRING, &[2, 3], Ty::String),
    member("split", STRING, &[1, 2], Ty::List),
    member("substring", STRING, &[1, 2], Ty::String),
    member("trim", STRING, &[0], Ty::String),
    member("join", LIST, &[0, 1], Ty::String),
    global("strings.quote", &[1], Ty::String),
    // Kubernetes regex
    member("find", STRING, &[1], Ty::String),
    member("findAll", STRING, &[1, 2], Ty::List),
    // Kubernetes lists
    member("isSorted", LIST, &[0], Ty::Bool),
    member("sum", LIST, &[0], Ty::Dyn),
    member("min", LIST, &[0], Ty::Dyn),
    member("max", LIST, &[0], Ty::Dyn),
    // Kubernetes sets
    global("sets.contains", &[2], Ty::Bool),
    global("sets.equivalent", &[2], Ty::Bool),
    global("sets.intersects", &[2], Ty::Bool),
    // optional types
    global("optional.of", &[1], Ty::Optional),
    global("optional.ofNonZeroValue", &[1], Ty::Optional),
    global("optional.none", &[0], Ty::Optional),
    member("hasValue", OPTIONAL, &[0], Ty::Bool),
    member("value", OPTIONAL, &[0], Ty::Dyn),
    member("orValue", OPTIONAL, &[1], Ty::Dyn),
    member("or", OPTIONAL, &[1], Ty::Optional),
    // Kubernetes quantity
    global("quantity", &[1], Ty::Quantity),
    global("isQuantity", &[1], Ty::Bool),
    member("sign", QUANTITY, &[0], Ty::Int),
    member("isInteger", QUANTITY, &[0], Ty::Bool),
    member("asInteger", QUANTITY, &[0], Ty::Int),
    member("asApproximateFloat", QUANTITY, &[0], Ty::Double),
    member("add", QUANTITY, &[1], Ty::Quantity),
    member("sub", QUANTITY, &[1], Ty::Quantity),
    member("isGreaterThan", QUANTITY, &[1], Ty::Bool),
    member("isLessThan", QUANTITY, &[1], Ty::Bool),
    member("compareTo", QUANTITY, &[1], Ty::Int),
    // Kubernetes URL
    global("url", &[1], Ty::Url),
    global("isURL", &[1], Ty::Bool),
    member("getScheme", URL, &[0], Ty::String),
    member("getHost", URL, &[0], Ty::String),
    member("getHostname", URL, &[0], Ty::String),
    member("getPort", URL, &[0], Ty::String),
    member("getEscapedPath", URL, &[0], Ty::String),
    member("getQuery", URL, &[0], Ty::Map),
    // Kubernetes IP and CIDR
    global("ip", &[1], Ty::Ip),
    global("isIP", &[1], Ty::Bool),
    global("ip.isCanonical", &[1], Ty::Bool),
    member("family", IP, &[0], Ty::Int),
    member("isUnspecified", IP, &[0], Ty::Bool),
    member("isLoopback", IP, &[0], Ty::Bool),
    member("isLinkLocalMulticast", IP, &[0], Ty::Bool),
    member("isLinkLocalUnicast", IP, &[0], Ty::Bool),
    member("isGlobalUnicast", IP, &[0], Ty::Bool),
    global("cidr", &[1], Ty::Cidr),
    global("isCIDR", &[1], Ty::Bool),
    member("containsIP", CIDR, &[1], Ty::Bool),
    member("containsCIDR", CIDR, &[1], Ty::Bool),
    member("ip", CIDR, &[0], Ty::Ip),
    member("masked", CIDR, &[0], Ty::Cidr),
    member("prefixLength", CIDR, &[0], Ty::Int),
];

/// Functions Kubernetes 1.31 offers that kcc does not evaluate: named as unsupported
/// rather than unknown, so that a policy using one is reported, never passed.
const UNSUPPORTED: &[&str] = &[
    "timestamp",
    "duration",
    "getFullYear",
    "getMonth",
    "getDayOfYear",
    "getDayOfMonth",
    "getDate",
    "getDayOfWeek",
    "getHours",
    "getMinutes",
    "getSeconds",
    "getMilliseconds",
    "format",
    "reverse",
    "base64.encode",
    "base64.decode",
    "math.greatest",
    "math.least",
    "isSubsetOf",
    "named",
    "validate",
    "path",
    "group",
    "resource",
    "check",
    "allowed",
    "reason",
    "errored",
    "error",
    "serviceAccount",
    "subresource",
    "namespace",
    "name",
];

/// Resolves a call by name, style and arity, checking a receiver of known type.
pub fn resolve(
    name: &str,
    receiver: Option<Ty>,
    args: &[Ty],
) -> std::result::Result<Signature, String> {
    let candidates: Vec<&Decl> = DECLS.iter().filter(|d| d.name == name).collect();
    if candidates.is_empty() {
        if UNSUPPORTED.contains(&name) {
            return Err(format!(
                "unsupported: kcc does not evaluate the function '{name}'"
            ));
        }
        return Err(format!("undeclared reference to '{name}'"));
    }
    let fitting = candidates.iter().find(|d| match (&d.style, receiver) {
        (Style::Global, None) => d.arities.contains(&args.len()),
        (Style::Member(on), Some(r)) => {
            d.arities.contains(&args.len()) && (r == Ty::Dyn || on.contains(&r))
        }
        _ => false,
    });
    match fitting {
        Some(d) => Ok(Signature {
            name: d.name,
            returns: d.returns,
        }),
        None => {
            let types: Vec<&str> = args.iter().map(|t| t.name()).collect();
            Err(match receiver {
                Some(r) => format!(
                    "found no matching overload for '{name}' applied to '{}.({})'",
                    r.name(),
                    types.join(", ")
                ),
                None => format!(
                    "found no matching overload for '{name}' applied to '({})'",
                    types.join(", ")
                ),
            })
        }
    }
}

type Result<T> = std::result::Result<T, Fail>;

/// Calls `name` (as resolved) on evaluated arguments.
pub(super) fn call<'p, 'a>(
    ev: &mut Evaluation<'p, 'a>,
    name: &'static str,
    target: Option<Value<'a>>,
    args: Vec<Value<'a>>,
    regex: Option<&Regex>,
) -> Result<Value<'a>>
where
    'p: 'a,
{
    let fail = |values: &[&Value]| no_overload(name, values);
    let Some(this) = target else {
        return global_call(ev, name, args, regex);
    };
    let arg = |i: usize| args.get(i);
    let string_arg = |i: usize| -> Result<&str> {
        arg(i)
            .and_then(Value::as_str)
            .ok_or_else(|| no_overload(name, &[&this]))
    };
    let int_arg = |i: usize| -> Result<i64> {
        match arg(i) {
            Some(Value::Int(n)) => Ok(*n),
            _ => Err(no_overload(name, &[&this])),
        }
    };
    match (&this, name) {
        (_, "size") => size(&this).ok_or_else(|| fail(&[&this])),
        (Value::Str(s), _) => {
            let s = s.as_str();
            ev.charge(s.len() as u64 / 10)?;
            if name == "replace" {
                // Charged for what it would build, before building it.
                let (old, new) = (string_arg(0)?, string_arg(1)?);
                let count = if old.is_empty() {
                    s.chars().count() + 1
                } else {
                    s.matches(old).count()
                };
                ev.charge((count as u64).saturating_mul(new.len() as u64) / 10)?;
            }
            strings(name, s, &args, regex, &string_arg, &int_arg).map_err(|e| match e {
                Some(f) => f,
                None => fail(&[&this]),
            })
        }
        (Value::List(list), _) => {
            ev.charge(list.len() as u64)?;
            lists(name, list.iter().collect(), arg(0))
                .map_err(|e| e.unwrap_or_else(|| fail(&[&this])))
        }
        (Value::Optional(o), _) => match (name, o) {
            ("hasValue", _) => Ok(Value::Bool(o.is_some())),
            ("value", Some(v)) => Ok((**v).clone()),
            ("value", None) => Err(Fail::new("optional.none() dereference")),
            ("orValue", Some(v)) => Ok((**v).clone()),
            ("orValue", None) => Ok(args[0].clone()),
            ("or", Some(_)) => Ok(this.clone()),
            ("or", None) => match &args[0] {
                v @ Value::Optional(_) => Ok(v.clone()),
                other => Err(fail(&[&this, other])),
            },
            _ => Err(fail(&[&this])),
        },
        (Value::Quantity(q), _) => {
            quantity::method(name, q, arg(0)).map_err(|e| e.unwrap_or_else(|| fail(&[&this])))
        }
        (Value::Url(u), _) => url::method(name, u).ok_or_else(|| fail(&[&this])),
        (Value::Ip(ip), _) => net::ip_method(name, ip).ok_or_else(|| fail(&[&this])),
        (Value::Cidr(c), _) => {
            net::cidr_method(name, c, arg(0)).map_err(|e| e.unwrap_or_else(|| fail(&[&this])))
        }
        _ => Err(fail(&[&this])),
    }
}

fn size<'a>(v: &Value<'a>) -> Option<Value<'a>> {
    let n = match v {
        Value::Str(s) => s.as_str().chars().count(),
        Value::Bytes(b) => b.len(),
        Value::List(l) => l.len(),
        Value::Map(m) => m.len(),
        _ => return None,
    };
    Some(Value::Int(n as i64))
}

fn global_call<'p, 'a>(
    ev: &mut Evaluation<'p, 'a>,
    name: &'static str,
    args: Vec<Value<'a>>,
    regex: Option<&Regex>,
) -> Result<Value<'a>>
where
    'p: 'a,
{
    let fail = |values: &[&Value]| no_overload(name, values);
    let mut args = args.into_iter();
    let first = args.next();
    let second = args.next();
    let x = first.as_ref().unwrap_or(&Value::Null);
    let text = x.as_str();
    if let Some(s) = text {
        ev.charge(s.len() as u64 / 10)?;
    }
    Ok(match name {
        "size" => size(x).ok_or_else(|| fail(&[x]))?,
        "dyn" => x.clone(),
        "type" => Value::Type(x.type_name()),
        "int" => convert_int(x)?,
        "uint" => convert_uint(x)?,
        "double" => match x {
            Value::Int(i) => Value::Double(*i as f64),
            Value::Uint(u) => Value::Double(*u as f64),
            Value::Double(d) => Value::Double(*d),
            Value::Str(s) => Value::Double(
                s.as_str()
                    .parse()
                    .map_err(|_| Fail::new(format!("cannot convert {x} to double")))?,
            ),
            _ => return Err(fail(&[x])),
        },
        "string" => match x {
            Value::Str(_) => x.clone(),
            Value::Int(i) => Value::string(i.to_string()),
            Value::Uint(u) => Value::string(u.to_string()),
            Value::Double(d) => Value::string(d.to_string()),
            Value::Bool(b) => Value::string(b.to_string()),
            Value::Bytes(b) => Value::string(
                std::str::from_utf8(b)
                    .map_err(|_| Fail::new("invalid UTF-8 in bytes"))?
                    .to_string(),
            ),
            Value::Ip(ip) => Value::string(ip.to_string()),
            Value::Cidr(c) => Value::string(c.to_string()),
            Value::Quantity(q) => Value::string(q.text.clone()),
            Value::Url(u) => Value::string(u.text.clone()),
            _ => return Err(fail(&[x])),
        },
        "bool" => match x {
            Value::Bool(_) => x.clone(),
            Value::Str(s) => Value::Bool(match s.as_str() {
                "1" | "t" | "T" | "true" | "TRUE" | "True" => true,
                "0" | "f" | "F" | "false" | "FALSE" | "False" => false,
                other => return Err(Fail::new(format!("cannot convert {other:?} to bool"))),
            }),
            _ => return Err(fail(&[x])),
        },
        "bytes" => match x {
            Value::Bytes(_) => x.clone(),
            Value::Str(s) => Value::Bytes(Rc::from(s.as_str().as_bytes())),
            _ => return Err(fail(&[x])),
        },
        "matches" => {
            let (Some(s), Some(p)) = (text, second.as_ref().and_then(Value::as_str)) else {
                return Err(fail(&[x]));
            };
            Value::Bool(pattern(ev, regex, p)?.is_match(s))
        }
        "strings.quote" => Value::string(quote(text.ok_or_else(|| fail(&[x]))?)),
        "sets.contains" | "sets.equivalent" | "sets.intersects" => {
            let (Value::List(a), Some(Value::List(b))) = (x, &second) else {
                return Err(fail(&[x]));
            };
            ev.charge((a.len() * b.len()) as u64)?;
            let a: Vec<Value> = a.iter().collect();
            let b: Vec<Value> = b.iter().collect();
            let within = |outer: &[Value], inner: &[Value]| {
                inner
                    .iter()
                    .all(|i| outer.iter().any(|o| equal(o, i).unwrap_or(false)))
            };
            Value::Bool(match name {
                "sets.contains" => within(&a, &b),
                "sets.equivalent" => within(&a, &b) && within(&b, &a),
                _ => a
                    .iter()
                    .any(|i| b.iter().any(|o| equal(o, i).unwrap_or(false))),
            })
        }
        "optional.of" => Value::some(x.clone()),
        "optional.none" => Value::Optional(None),
        "optional.ofNonZeroValue" => {
            if x.is_zero() {
                Value::Optional(None)
            } else {
                Value::some(x.clone())
            }
        }
        "quantity" => Value::Quantity(Rc::new(
            quantity::Quantity::parse(text.ok_or_else(|| fail(&[x]))?).map_err(Fail::new)?,
        )),
        "isQuantity" => {
            Value::Bool(quantity::Quantity::parse(text.ok_or_else(|| fail(&[x]))?).is_ok())
        }
        "url" => Value::Url(Rc::new(
            url::Url::parse(text.ok_or_else(|| fail(&[x]))?).map_err(Fail::new)?,
        )),
        "isURL" => Value::Bool(url::Url::parse(text.ok_or_else(|| fail(&[x]))?).is_ok()),
        "ip" => Value::Ip(net::parse_ip(text.ok_or_else(|| fail(&[x]))?).map_err(Fail::new)?),
        "isIP" => Value::Bool(net::parse_ip(text.ok_or_else(|| fail(&[x]))?).is_ok()),
        "ip.isCanonical" => {
            Value::Bool(net::is_canonical(text.ok_or_else(|| fail(&[x]))?).map_err(Fail::new)?)
        }
        "cidr" => Value::Cidr(net::parse_cidr(text.ok_or_else(|| fail(&[x]))?).map_err(Fail::new)?),
        "isCIDR" => Value::Bool(net::parse_cidr(text.ok_or_else(|| fail(&[x]))?).is_ok()),
        _ => return Err(fail(&[x])),
    })
}

fn convert_int<'a>(x: &Value<'a>) -> Result<Value<'a>> {
    let range = || Fail::new(format!("integer overflow converting {x} to int"));
    Ok(Value::Int(match x {
        Value::Int(i) => *i,
        Value::Uint(u) => i64::try_from(*u).map_err(|_| range())?,
        Value::Double(d) => {
            if !d.is_finite() || *d <= -9.223372036854776e18 || *d >= 9.223372036854776e18 {
                return Err(range());
            }
            d.trunc() as i64
        }
        Value::Str(s) => s
            .as_str()
            .parse()
            .map_err(|_| Fail::new(format!("cannot convert {x} to int")))?,
        _ => return Err(no_overload("int", &[x])),
    }))
}

fn convert_uint<'a>(x: &Value<'a>) -> Result<Value<'a>> {
    let range = || Fail::new(format!("integer overflow converting {x} to uint"));
    Ok(Value::Uint(match x {
        Value::Int(i) => u64::try_from(*i).map_err(|_| range())?,
        Value::Uint(u) => *u,
        Value::Double(d) => {
            if !d.is_finite() || *d < 0.0 || *d >= 1.8446744073709552e19 {
                return Err(range());
            }
            d.trunc() as u64
        }
        Value::Str(s) => s
            .as_str()
            .parse()
            .map_err(|_| Fail::new(format!("cannot convert {x} to uint")))?,
        _ => return Err(no_overload("uint", &[x])),
    }))
}

/// The compiled pattern: the constant one, or `p` compiled now (and charged).
fn pattern<'r, 'p: 'a, 'a>(
    ev: &mut Evaluation<'p, 'a>,
    compiled: Option<&'r Regex>,
    p: &str,
) -> Result<std::borrow::Cow<'r, Regex>> {
    match compiled {
        Some(r) => Ok(std::borrow::Cow::Borrowed(r)),
        None => {
            ev.charge(p.len() as u64)?;
            Regex::new(p)
                .map(std::borrow::Cow::Owned)
                .map_err(|e| Fail::new(format!("invalid regular expression: {e}")))
        }
    }
}

/// String methods. `Err(None)`: no overload for these arguments.
fn strings<'a, 's>(
    name: &str,
    s: &str,
    args: &[Value<'a>],
    regex: Option<&Regex>,
    string_arg: &dyn Fn(usize) -> Result<&'s str>,
    int_arg: &dyn Fn(usize) -> Result<i64>,
) -> std::result::Result<Value<'a>, Option<Fail>> {
    let chars: Vec<char>;
    let bad_index = |i: i64| Some(Fail::new(format!("index out of range: {i}")));
    Ok(match name {
        "contains" => Value::Bool(s.contains(string_arg(0)?)),
        "startsWith" => Value::Bool(s.starts_with(string_arg(0)?)),
        "endsWith" => Value::Bool(s.ends_with(string_arg(0)?)),
        "matches" | "find" | "findAll" => {
            let owned;
            let re = match regex {
                Some(r) => r,
                None => {
                    owned = Regex::new(string_arg(0)?)
                        .map_err(|e| Fail::new(format!("invalid regular expression: {e}")))?;
                    &owned
                }
            };
            match name {
                "matches" => Value::Bool(re.is_match(s)),
                "find" => Value::string(re.find(s).map_or("", |m| m.as_str())),
                _ => {
                    let limit = if args.len() > 1 { int_arg(1)? } else { -1 };
                    let found: Vec<Value> = re
                        .find_iter(s)
                        .take(if limit < 0 {
                            usize::MAX
                        } else {
                            limit as usize
                        })
                        .map(|m| Value::string(m.as_str()))
                        .collect();
                    Value::list(found)
                }
            }
        }
        "lowerAscii" => Value::string(s.to_ascii_lowercase()),
        "upperAscii" => Value::string(s.to_ascii_uppercase()),
        "trim" => Value::string(s.trim()),
        "charAt" => {
            let i = int_arg(0)?;
            chars = s.chars().collect();
            if i < 0 || i as usize > chars.len() {
                return Err(bad_index(i));
            }
            Value::string(
                chars
                    .get(i as usize)
                    .map_or(String::new(), |c| c.to_string()),
            )
        }
        "indexOf" | "lastIndexOf" => {
            let needle: Vec<char> = string_arg(0)?.chars().collect();
            chars = s.chars().collect();
            let last = name == "lastIndexOf";
            let offset = if args.len() > 1 {
                int_arg(1)?
            } else if last {
                chars.len() as i64
            } else {
                0
            };
            if offset < 0 || offset as usize > chars.len() {
                return Err(bad_index(offset));
            }
            let offset = offset as usize;
            let at = |i: usize| chars[i..].starts_with(&needle);
            let found = if last {
                (0..=offset.min(chars.len().saturating_sub(needle.len())))
                    .rev()
                    .find(|&i| i + needle.len() <= chars.len() && at(i))
            } else {
                (offset..=chars.len()).find(|&i| i + needle.len() <= chars.len() && at(i))
            };
            Value::Int(found.map_or(-1, |i| i as i64))
        }
        "replace" => {
            let (old, new) = (string_arg(0)?, string_arg(1)?);
            let limit = if args.len() > 2 { int_arg(2)? } else { -1 };
            match limit {
                n if n < 0 => Value::string(s.replace(old, new)),
                n => Value::string(s.replacen(old, new, n as usize)),
            }
        }
        "split" => {
            let sep = string_arg(0)?;
            let limit = if args.len() > 1 { int_arg(1)? } else { -1 };
            let parts: Vec<Value> = match (limit, sep) {
                (0, _) => Vec::new(),
                (n, "") => {
                    let chars: Vec<char> = s.chars().collect();
                    let n = if n < 0 { chars.len() } else { n as usize };
                    let mut out: Vec<Value> = Vec::new();
                    for (i, c) in chars.iter().enumerate() {
                        if i + 1 == n && i + 1 < chars.len() {
                            out.push(Value::string(chars[i..].iter().collect::<String>()));
                            break;
                        }
                        out.push(Value::string(c.to_string()));
                    }
                    out
                }
                (n, sep) if n < 0 => s.split(sep).map(Value::string).collect(),
                (n, sep) => s.splitn(n as usize, sep).map(Value::string).collect(),
            };
            Value::list(parts)
        }
        "substring" => {
            chars = s.chars().collect();
            let start = int_arg(0)?;
            let end = if args.len() > 1 {
                int_arg(1)?
            } else {
                chars.len() as i64
            };
            if start < 0 || start as usize > chars.len() {
                return Err(bad_index(start));
            }
            if end < start || end as usize > chars.len() {
                return Err(bad_index(end));
            }
            Value::string(
                chars[start as usize..end as usize]
                    .iter()
                    .collect::<String>(),
            )
        }
        _ => return Err(None),
    })
}

/// List methods (Kubernetes' lists library and cel-go's `join`).
fn lists<'a>(
    name: &str,
    items: Vec<Value<'a>>,
    arg: Option<&Value<'a>>,
) -> std::result::Result<Value<'a>, Option<Fail>> {
    Ok(match name {
        "join" => {
            let sep = match arg {
                Some(Value::Str(s)) => s.as_str(),
                Some(_) => return Err(None),
                None => "",
            };
            let mut parts = Vec::with_capacity(items.len());
            for item in &items {
                parts.push(item.as_str().ok_or(None)?);
            }
            Value::string(parts.join(sep))
        }
        "isSorted" => {
            for pair in items.windows(2) {
                let ord = order(&pair[0], &pair[1]).ok_or(None)?;
                if ord.is_gt() {
                    return Ok(Value::Bool(false));
                }
            }
            Value::Bool(true)
        }
        "sum" => {
            let mut total = match items.first() {
                Some(Value::Double(_)) => Value::Double(0.0),
                Some(Value::Uint(_)) => Value::Uint(0),
                _ => Value::Int(0),
            };
            for item in &items {
                total = match (&total, item) {
                    (Value::Int(a), Value::Int(b)) => Value::Int(
                        a.checked_add(*b)
                            .ok_or_else(|| Some(Fail::new("integer overflow")))?,
                    ),
                    (Value::Uint(a), Value::Uint(b)) => Value::Uint(
                        a.checked_add(*b)
                            .ok_or_else(|| Some(Fail::new("integer overflow")))?,
                    ),
                    (Value::Double(a), Value::Double(b)) => Value::Double(a + b),
                    _ => return Err(None),
                };
            }
            total
        }
        "min" | "max" => {
            let mut best: Option<&Value> = None;
            for item in &items {
                best = Some(match best {
                    None => item,
                    Some(b) => {
                        let ord = order(item, b).ok_or(None)?;
                        if (name == "min" && ord.is_lt()) || (name == "max" && ord.is_gt()) {
                            item
                        } else {
                            b
                        }
                    }
                });
            }
            best.cloned()
                .ok_or_else(|| Some(Fail::new(format!("{name} called on an empty list"))))?
        }
        "indexOf" | "lastIndexOf" => {
            let needle = arg.ok_or(None)?;
            let matches = |v: &Value| equal(v, needle).unwrap_or(false);
            let found = if name == "indexOf" {
                items.iter().position(matches)
            } else {
                items.iter().rposition(matches)
            };
            Value::Int(found.map_or(-1, |i| i as i64))
        }
        _ => return Err(None),
    })
}

/// cel-go's `strings.quote`: a double-quoted literal with escapes.
fn quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '\u{7}' => out.push_str("\\a"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{b}' => out.push_str("\\v"),
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}
