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

/// The candidate most like `key` when a key may be a typo or a shortening of another
/// (`replicas` for `replicaCount`, `memroy` for `memory`): Jaro-Winkler, which weighs a
/// shared start, at 0.85 or more, case aside; the best wins, ties to the first.
pub fn similar_key<'a>(
    key: &str,
    candidates: impl IntoIterator<Item = &'a str>,
) -> Option<&'a str> {
    let key = key.to_lowercase();
    candidates
        .into_iter()
        .map(|c| (strsim::jaro_winkler(&key, &c.to_lowercase()), c))
        .filter(|(score, _)| *score >= 0.85)
        .fold(None, |best: Option<(f64, &str)>, (score, c)| match best {
            Some((b, _)) if b >= score => best,
            _ => Some((score, c)),
        })
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

    #[test]
    fn shortened_and_misspelt_keys_find_theirs() {
        let keys = ["replicaCount", "resources", "service", "image"];
        assert_eq!(similar_key("replicas", keys), Some("replicaCount"));
        assert_eq!(similar_key("memroy", ["memory", "cpu"]), Some("memory"));
        assert_eq!(similar_key("tolerations", keys), None);
    }
}
