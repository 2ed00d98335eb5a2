//! `semver_compare(constraint, version)`: helm's `semverCompare` for the constraints
//! charts and `installed` conditions write about Kubernetes versions (`">1.24"`,
//! `"<=1.31"`). Missing parts are zeros and a `v` prefix is allowed, so `"1.31"` is
//! 1.31.0, as helm's semver library reads it.

use minijinja::{Error, ErrorKind};

/// A version's numeric parts, padded to three.
fn parse(version: &str) -> Option<[u64; 3]> {
    let version = version.trim().trim_start_matches('v');
    // Pre-release and build suffixes (`1.31.2-gke.1`) do not matter at this grain.
    let core = version.split(['-', '+']).next()?;
    let mut parts = [0u64; 3];
    let mut count = 0;
    for (i, part) in core.split('.').enumerate() {
        *parts.get_mut(i)? = part.parse().ok()?;
        count += 1;
    }
    (count > 0).then_some(parts)
}

pub fn semver_compare(constraint: String, version: String) -> Result<bool, Error> {
    let bad = |what: &str| {
        Error::new(
            ErrorKind::InvalidOperation,
            format!("semver_compare: {what}"),
        )
    };
    let constraint = constraint.trim();
    let (op, wanted) = [">=", "<=", "!=", ">", "<", "="]
        .into_iter()
        .find_map(|op| constraint.strip_prefix(op).map(|rest| (op, rest)))
        .unwrap_or(("=", constraint));
    let wanted = parse(wanted).ok_or_else(|| {
        bad(&format!(
            "`{constraint}` is not a constraint such as `>1.24`"
        ))
    })?;
    let have = parse(&version).ok_or_else(|| bad(&format!("`{version}` is not a version")))?;
    Ok(match op {
        ">=" => have >= wanted,
        "<=" => have <= wanted,
        "!=" => have != wanted,
        ">" => have > wanted,
        "<" => have < wanted,
        _ => have == wanted,
    })
}

#[cfg(test)]
mod tests {
    use super::semver_compare;

    fn cmp(c: &str, v: &str) -> bool {
        semver_compare(c.into(), v.into()).unwrap()
    }

    #[test]
    fn compares_like_helm_for_kubernetes_versions() {
        assert!(cmp(">1.24", "1.31"));
        assert!(!cmp(">1.24", "1.23"));
        assert!(!cmp(">1.24", "1.24"));
        assert!(cmp(">1.24", "1.24.3"));
        assert!(cmp("<=1.31", "v1.31"));
        assert!(cmp(">=1.9", "1.10"), "numeric, not text");
        assert!(cmp("1.31", "1.31.0"));
        assert!(cmp("!=1.30", "1.31"));
    }

    #[test]
    fn refuses_what_is_not_a_version() {
        assert!(semver_compare(">1.x".into(), "1.31".into()).is_err());
        assert!(semver_compare(">1.24".into(), "latest".into()).is_err());
    }
}
