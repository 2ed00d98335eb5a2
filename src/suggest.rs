//! "Did you mean …?": the known name closest to a mistyped one.

/// The candidate nearest `word` by edit distance (a transposition counts one), if it is
/// near enough to be a typo: at most 2 edits, and fewer than the word's length. Ties go to
/// the first candidate, so callers get a stable answer from an ordered list.
pub fn closest<'a>(word: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    let limit = 2.min(word.chars().count().saturating_sub(1));
    candidates
        .into_iter()
        .map(|c| (strsim::damerau_levenshtein(word, c), c))
        .filter(|(d, _)| *d <= limit)
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| c)
}

/// `; did you mean `x`?` for a message, or nothing.
pub fn hint<'a>(word: &str, candidates: impl IntoIterator<Item = &'a str>) -> String {
    closest(word, candidates)
        .map(|c| format!(" (did you mean `{c}`?)"))
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn typos_find_their_word() {
        let clusters = ["eqiad", "codfw", "staging-eqiad"];
        assert_eq!(closest("eqaid", clusters), Some("eqiad"));
        assert_eq!(closest("codwf", clusters), Some("codfw"));
        assert_eq!(closest("staging-eqiaf", clusters), Some("staging-eqiad"));
        assert_eq!(closest("ulsfo", clusters), None);
        // One letter is not a typo of another one-letter word's neighbour.
        assert_eq!(closest("a", ["b"]), None);
        assert_eq!(closest("eqiad", ["eqiab", "eqiac"]), Some("eqiab"));
    }
}
