//! Kubernetes' URL library: `url()` accepts what Go's `url.ParseRequestURI` does (an
//! absolute URI or an absolute path), and the getters read its parts.

use super::value::{Str, Value};

#[derive(Clone, Debug)]
pub struct Url {
    pub text: String,
    scheme: String,
    /// `host[:port]`, IPv6 hosts in brackets.
    host: String,
    path: String,
    query: String,
}

impl Url {
    pub fn parse(text: &str) -> Result<Url, String> {
        let invalid =
            |why: &str| format!("URL parse error during conversion from string: {text:?}: {why}");
        if text.is_empty() {
            return Err(invalid("empty url"));
        }
        if text.chars().any(|c| c.is_control() || c == ' ') {
            return Err(invalid("invalid character in URL"));
        }
        let (rest, query) = match text.split_once('?') {
            Some((r, q)) => (r, q.to_string()),
            None => (text, String::new()),
        };
        let (scheme, rest) = if rest.starts_with('/') {
            (String::new(), rest)
        } else {
            let Some((scheme, rest)) = rest.split_once(':') else {
                return Err(invalid("invalid URI for request"));
            };
            let valid = scheme
                .chars()
                .next()
                .is_some_and(|c| c.is_ascii_alphabetic())
                && scheme
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || "+-.".contains(c));
            if !valid {
                return Err(invalid("missing protocol scheme"));
            }
            (scheme.to_string(), rest)
        };
        let (host, path) = match rest.strip_prefix("//") {
            Some(authority_and_path) => {
                let end = authority_and_path
                    .find('/')
                    .unwrap_or(authority_and_path.len());
                let (authority, path) = authority_and_path.split_at(end);
                let host = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
                if let Some(inner) = host.strip_prefix('[') {
                    let Some((_, after)) = inner.split_once(']') else {
                        return Err(invalid("missing ']' in host"));
                    };
                    if !(after.is_empty() || after.starts_with(':')) {
                        return Err(invalid("invalid port after host"));
                    }
                }
                if let Some((_, port)) = host.rsplit_once(':')
                    && !host.ends_with(']')
                    && !port.chars().all(|c| c.is_ascii_digit())
                {
                    return Err(invalid(&format!("invalid port {port:?} after host")));
                }
                (host.to_string(), path.to_string())
            }
            None => (String::new(), rest.to_string()),
        };
        Ok(Url {
            text: text.to_string(),
            scheme,
            host,
            path,
            query,
        })
    }

    fn hostname(&self) -> &str {
        let host = &self.host;
        if let Some(inner) = host.strip_prefix('[') {
            return inner.split_once(']').map_or(inner, |(h, _)| h);
        }
        host.rsplit_once(':').map_or(host, |(h, _)| h)
    }

    fn port(&self) -> &str {
        let after_brackets = self
            .host
            .rsplit_once(']')
            .map_or(self.host.as_str(), |(_, a)| a);
        after_brackets.rsplit_once(':').map_or("", |(_, p)| p)
    }
}

/// A URL's methods; `None`: no such method.
pub(super) fn method<'a>(name: &str, u: &Url) -> Option<Value<'a>> {
    Some(match name {
        "getScheme" => Value::string(u.scheme.as_str()),
        "getHost" => Value::string(u.host.as_str()),
        "getHostname" => Value::string(u.hostname()),
        "getPort" => Value::string(u.port()),
        "getEscapedPath" => Value::string(u.path.as_str()),
        "getQuery" => {
            let mut entries: Vec<(String, Vec<String>)> = Vec::new();
            for pair in u.query.split(['&', ';']).filter(|p| !p.is_empty()) {
                let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
                let (k, v) = (unescape(k), unescape(v));
                match entries.iter_mut().find(|(key, _)| *key == k) {
                    Some((_, values)) => values.push(v),
                    None => entries.push((k, vec![v])),
                }
            }
            Value::map(
                entries
                    .into_iter()
                    .map(|(k, vs)| {
                        (
                            Value::Str(Str::Owned(k.into())),
                            Value::list(vs.into_iter().map(Value::string).collect()),
                        )
                    })
                    .collect(),
            )
        }
        _ => return None,
    })
}

/// Query unescaping: `+` is a space, `%XX` a byte.
fn unescape(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < bytes.len() => {
                let hex = |b: u8| (b as char).to_digit(16);
                match (hex(bytes[i + 1]), hex(bytes[i + 2])) {
                    (Some(h), Some(l)) => {
                        out.push((h * 16 + l) as u8);
                        i += 2;
                    }
                    _ => out.push(b'%'),
                }
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}
