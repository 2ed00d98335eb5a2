//! JSON Schema errors as people read them. A failed `oneOf`/`anyOf` says only that no
//! alternative matched, quoting the whole object: kcc reports instead the errors of the
//! alternative that came closest (the one whose errors lie deepest in the value, then the
//! fewest), each at its own place, as Python's jsonschema `best_match` does. Objects and
//! lists are never quoted whole in a message.

use jsonschema::ValidationError;
use jsonschema::error::ValidationErrorKind;

/// One problem: the JSON pointer of the offending value and the message.
pub struct Problem {
    pub pointer: String,
    pub message: String,
    /// For a missing required property: its name (a layer may have deleted it with `~`).
    pub missing: Option<String>,
}

/// The problems `error` stands for. `masked(pointer)`: never quote the value there (secrets).
pub fn problems(error: &ValidationError<'_>, masked: &dyn Fn(&str) -> bool) -> Vec<Problem> {
    let alternatives = match error.kind() {
        ValidationErrorKind::OneOfNotValid { context } | ValidationErrorKind::AnyOf { context } => {
            Some(context)
        }
        _ => None,
    };
    let own_depth = pointer_depth(error.instance_path().as_str());
    if let Some(best) = alternatives.and_then(|c| best_alternative(c, own_depth)) {
        return best.iter().flat_map(|e| problems(e, masked)).collect();
    }
    let pointer = error.instance_path().as_str();
    let composite = error.instance().is_object() || error.instance().is_array();
    let message = if composite || masked(pointer) {
        error.masked().to_string()
    } else {
        error.to_string()
    };
    let missing = match error.kind() {
        ValidationErrorKind::Required { property } => property.as_str().map(str::to_string),
        _ => None,
    };
    vec![Problem {
        pointer: pointer.to_string(),
        message,
        missing,
    }]
}

/// The alternative whose errors lie deepest below the failing value (then: the fewest
/// errors). None when every alternative fails at the value itself (a wrong type, say):
/// then the summary says more.
fn best_alternative<'e>(
    alternatives: &'e [Vec<ValidationError<'static>>],
    own_depth: usize,
) -> Option<&'e Vec<ValidationError<'static>>> {
    let depth = |errors: &Vec<ValidationError<'static>>| {
        errors
            .iter()
            .map(|e| pointer_depth(e.instance_path().as_str()))
            .min()
            .unwrap_or(0)
    };
    alternatives
        .iter()
        .filter(|errors| !errors.is_empty())
        .max_by(|a, b| depth(a).cmp(&depth(b)).then(b.len().cmp(&a.len())))
        .filter(|best| depth(best) > own_depth)
}

fn pointer_depth(pointer: &str) -> usize {
    pointer.matches('/').count()
}
