//! Plain scalars: what a YAML 1.2 core-schema reader makes of them (how kcc reads), and
//! which strings a YAML 1.1 reader (Go's yaml, so helm and kubectl) would read as
//! something else (how kcc decides to quote).

use super::Value;

/// Resolves an unquoted scalar with the YAML 1.2 core schema.
pub fn resolve_plain(text: &str) -> Value {
    resolve_non_string(text).unwrap_or_else(|| Value::Str(text.to_string()))
}

/// What an unquoted scalar is when the core schema reads it as something other than a
/// string; None for a string (so that asking costs no allocation).
fn resolve_non_string(text: &str) -> Option<Value> {
    // Fast path: a plain scalar starting with a letter other than those of true, false,
    // null is a string.
    if let Some(first) = text.bytes().next()
        && first.is_ascii_alphabetic()
        && !b"tTfFnN".contains(&first)
    {
        return None;
    }
    match text {
        "" | "~" | "null" | "Null" | "NULL" => return Some(Value::Null),
        "true" | "True" | "TRUE" => return Some(Value::Bool(true)),
        "false" | "False" | "FALSE" => return Some(Value::Bool(false)),
        ".inf" | ".Inf" | ".INF" | "+.inf" | "+.Inf" | "+.INF" => {
            return Some(Value::Float(f64::INFINITY));
        }
        "-.inf" | "-.Inf" | "-.INF" => return Some(Value::Float(f64::NEG_INFINITY)),
        ".nan" | ".NaN" | ".NAN" => return Some(Value::Float(f64::NAN)),
        _ => {}
    }
    if let Some(int) = parse_int(text) {
        return Some(Value::Int(int));
    }
    // A float too large for f64 (`1e400`) is a string, as Go's YAML reader (helm,
    // kubectl) makes it: it never becomes infinity.
    if is_core_float(text)
        && let Ok(f) = text.parse::<f64>()
        && f.is_finite()
    {
        return Some(Value::Float(f));
    }
    None
}

fn parse_int(text: &str) -> Option<i64> {
    if let Some(oct) = text.strip_prefix("0o") {
        return i64::from_str_radix(oct, 8).ok();
    }
    if let Some(hex) = text.strip_prefix("0x") {
        return i64::from_str_radix(hex, 16).ok();
    }
    let digits = text.strip_prefix(['-', '+']).unwrap_or(text);
    if !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()) {
        return text.parse().ok();
    }
    None
}

/// `[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?`
fn is_core_float(text: &str) -> bool {
    let s = text.strip_prefix(['-', '+']).unwrap_or(text);
    let (mantissa, exponent) = match s.find(['e', 'E']) {
        Some(i) => (&s[..i], Some(&s[i + 1..])),
        None => (s, None),
    };
    let mantissa_ok = match mantissa.split_once('.') {
        Some((int, frac)) => {
            (!int.is_empty() || !frac.is_empty())
                && int.bytes().all(|b| b.is_ascii_digit())
                && frac.bytes().all(|b| b.is_ascii_digit())
        }
        None => !mantissa.is_empty() && mantissa.bytes().all(|b| b.is_ascii_digit()),
    };
    let exponent_ok = exponent.is_none_or(|e| {
        let e = e.strip_prefix(['-', '+']).unwrap_or(e);
        !e.is_empty() && e.bytes().all(|b| b.is_ascii_digit())
    });
    mantissa_ok && exponent_ok
}

/// True if a YAML 1.1 reader would not read `text`, written plain, as this same string:
/// booleans (yes/no/on/off/y/n), null, numbers including leading-zero octals, sexagesimal
/// (`1:20`), underscores in numbers, and `.inf`/`.nan`.
pub fn is_yaml11_ambiguous(text: &str) -> bool {
    // Fast path: most strings start with a letter no 1.1 keyword starts with.
    if let Some(first) = text.bytes().next()
        && first.is_ascii_alphabetic()
        && !b"yYnNtTfFoO".contains(&first)
    {
        return false;
    }
    const WORDS: &[&str] = &[
        "y", "Y", "yes", "Yes", "YES", "n", "N", "no", "No", "NO", "true", "True", "TRUE", "false",
        "False", "FALSE", "on", "On", "ON", "off", "Off", "OFF", "~", "null", "Null", "NULL", "",
        "=", "<<",
    ];
    if WORDS.contains(&text) {
        return true;
    }
    // A letter first (after a sign) starts no number, `.inf` or `.nan`: the checks below
    // cannot hold, and this spares their allocations for keys such as `name` or `type`.
    if text
        .strip_prefix(['-', '+'])
        .unwrap_or(text)
        .bytes()
        .next()
        .is_some_and(|b| b.is_ascii_alphabetic())
    {
        return false;
    }
    let lower = text.to_ascii_lowercase();
    let unsigned = lower.strip_prefix(['-', '+']).unwrap_or(&lower);
    if matches!(unsigned, ".inf" | ".nan") {
        return true;
    }
    let unsigned = unsigned.replace('_', "");
    if unsigned.is_empty() {
        return false;
    }
    // Integers in any base 1.1 knows, and floats (1.1 floats need no digits after the dot).
    if unsigned.bytes().all(|b| b.is_ascii_digit())
        || unsigned
            .strip_prefix("0x")
            .is_some_and(|h| !h.is_empty() && h.bytes().all(|b| b.is_ascii_hexdigit()))
        || unsigned
            .strip_prefix("0b")
            .is_some_and(|h| !h.is_empty() && h.bytes().all(|b| b == b'0' || b == b'1'))
        || unsigned
            .strip_prefix("0o")
            .is_some_and(|h| !h.is_empty() && h.bytes().all(|b| (b'0'..=b'7').contains(&b)))
        || is_core_float(&unsigned)
    {
        return true;
    }
    // Sexagesimal: 190:20:30 or 1:20.5
    let parts: Vec<&str> = unsigned.split(':').collect();
    parts.len() > 1
        && parts.iter().enumerate().all(|(i, p)| {
            !p.is_empty()
                && if i == parts.len() - 1 {
                    is_core_float(p)
                } else {
                    p.bytes().all(|b| b.is_ascii_digit())
                }
        })
}

/// True if `text` cannot be written as a plain scalar and read back as the same string by
/// both YAML 1.1 and 1.2 readers.
pub fn needs_quotes(text: &str) -> bool {
    if is_yaml11_ambiguous(text) || resolve_non_string(text).is_some() {
        return true;
    }
    let first = text.chars().next().unwrap_or(' ');
    let last = text.chars().last().unwrap_or(' ');
    if first.is_whitespace() || last.is_whitespace() || last == ':' {
        return true;
    }
    if "-?:,[]{}#&*!|>'\"%@`".contains(first) {
        return true;
    }
    text.contains(": ")
        || text.contains(" #")
        || text.chars().any(|c| c.is_control() || c == '\u{feff}')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn core_schema_resolution() {
        assert_eq!(resolve_plain("42"), Value::Int(42));
        assert_eq!(resolve_plain("-7"), Value::Int(-7));
        assert_eq!(resolve_plain("0x1f"), Value::Int(31));
        assert_eq!(resolve_plain("1.5"), Value::Float(1.5));
        assert_eq!(resolve_plain("1e3"), Value::Float(1000.0));
        assert_eq!(resolve_plain("1e400"), Value::Str("1e400".into()));
        assert_eq!(resolve_plain("~"), Value::Null);
        assert_eq!(resolve_plain("true"), Value::Bool(true));
        // YAML 1.1 booleans are strings to a 1.2 reader.
        assert_eq!(resolve_plain("yes"), Value::Str("yes".into()));
        assert_eq!(resolve_plain("1.2.3"), Value::Str("1.2.3".into()));
        assert_eq!(resolve_plain("10.64.72.3"), Value::Str("10.64.72.3".into()));
    }

    #[test]
    fn yaml11_ambiguity() {
        for s in [
            "yes", "No", "on", "OFF", "y", "0755", "1.23", "1:20", "1_000", "~", "", ".5", "0x1F",
            "1e3",
        ] {
            assert!(is_yaml11_ambiguous(s), "{s:?} should be ambiguous");
        }
        for s in [
            "eqiad",
            "10.64.72.3",
            "1.2.3",
            "v1",
            "100Mi",
            "kube-system",
            "2620:0:861:306::/116",
        ] {
            assert!(!is_yaml11_ambiguous(s), "{s:?} should not be ambiguous");
        }
    }

    #[test]
    fn quoting() {
        for s in [
            "*", "yes", "8", "- x", "a: b", "a #b", " lead", "trail ", "{x}", "key:", "@x", "'",
        ] {
            assert!(needs_quotes(s), "{s:?} needs quotes");
        }
        for s in [
            "100Mi",
            "10.0.0.1/32",
            "a:b",
            "system:node",
            "http://x",
            "a-b",
            "x#y",
        ] {
            assert!(!needs_quotes(s), "{s:?} is fine plain");
        }
    }
}
