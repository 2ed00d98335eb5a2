//! How two versions of a list correspond, item by item: by the list's merge key where it
//! has one, else by the longest common subsequence of the items; items that only changed
//! place are moves. The result is a plan of JSON patch steps that turn the old list into
//! the new one, each index valid at the moment its step applies.

use std::collections::HashMap;

use similar::{Algorithm, DiffOp, capture_diff_slices};

use crate::yaml::Node;

/// The steps, in the order they apply.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct ListPlan {
    /// Old items with no counterpart, by old index, last first (so each index is still
    /// the old one when it is removed).
    pub removed: Vec<usize>,
    /// Items that change place: (index to take it from, index to put it at), each counted
    /// in the list as the steps before left it, and the item's old index.
    pub moved: Vec<(usize, usize, usize)>,
    /// New items with no counterpart, by new index, first first.
    pub added: Vec<usize>,
    /// (old index, new index) of every item both sides have, by new index: once the steps
    /// above are done, the old item is at its new index, to be compared with the new one.
    pub pairs: Vec<(usize, usize)>,
}

/// The plan for `old` → `new`; `keys`: the fields that identify an item (empty: none).
pub fn plan(old: &[Node], new: &[Node], keys: &[String]) -> ListPlan {
    let pairs = match by_keys(old, new, keys) {
        Some(pairs) => pairs,
        None => by_content(old, new),
    };
    steps(old.len(), new.len(), pairs)
}

/// Items matched by their key fields; None when an item lacks every key, is not a map, or
/// shares its key with another (then the key does not identify items of this list).
fn by_keys(old: &[Node], new: &[Node], keys: &[String]) -> Option<Vec<(usize, usize)>> {
    if keys.is_empty() {
        return None;
    }
    let identity = |item: &Node| -> Option<Vec<String>> {
        let map = item.as_map()?;
        let values: Vec<String> = keys
            .iter()
            .map(|k| {
                map.get(k)
                    .map(|v| v.to_json().to_string())
                    .unwrap_or_default()
            })
            .collect();
        values.iter().any(|v| !v.is_empty()).then_some(values)
    };
    let index = |items: &[Node]| -> Option<HashMap<Vec<String>, usize>> {
        let mut by_id = HashMap::new();
        for (i, item) in items.iter().enumerate() {
            if by_id.insert(identity(item)?, i).is_some() {
                return None;
            }
        }
        Some(by_id)
    };
    let (old_ids, new_ids) = (index(old)?, index(new)?);
    let mut pairs: Vec<(usize, usize)> = new_ids
        .iter()
        .filter_map(|(id, &j)| Some((*old_ids.get(id)?, j)))
        .collect();
    pairs.sort_by_key(|&(_, j)| j);
    Some(pairs)
}

/// Items matched by content: the longest common subsequence of equal items; then an item
/// removed in one place and added, equal, in another is one item moved; then what is left
/// of a run replaced by another is paired in order (an item changed in place).
fn by_content(old: &[Node], new: &[Node]) -> Vec<(usize, usize)> {
    let text =
        |items: &[Node]| -> Vec<String> { items.iter().map(|n| n.to_json().to_string()).collect() };
    let (old_text, new_text) = (text(old), text(new));
    let mut old_pair: Vec<Option<usize>> = vec![None; old.len()];
    let mut new_pair: Vec<Option<usize>> = vec![None; new.len()];
    let ops = capture_diff_slices(Algorithm::Myers, &old_text, &new_text);
    for op in &ops {
        if let DiffOp::Equal {
            old_index,
            new_index,
            len,
        } = *op
        {
            for k in 0..len {
                old_pair[old_index + k] = Some(new_index + k);
                new_pair[new_index + k] = Some(old_index + k);
            }
        }
    }
    // Moves: an unmatched old item equal to an unmatched new one.
    let mut unmatched_old: HashMap<&str, Vec<usize>> = HashMap::new();
    for (i, t) in old_text.iter().enumerate().rev() {
        if old_pair[i].is_none() {
            unmatched_old.entry(t).or_default().push(i);
        }
    }
    for (j, t) in new_text.iter().enumerate() {
        if new_pair[j].is_some() {
            continue;
        }
        if let Some(i) = unmatched_old.get_mut(t.as_str()).and_then(Vec::pop) {
            old_pair[i] = Some(j);
            new_pair[j] = Some(i);
        }
    }
    // Runs replaced by others: what is left of them, paired in order.
    for op in &ops {
        if let DiffOp::Replace {
            old_index,
            old_len,
            new_index,
            new_len,
        } = *op
        {
            let olds: Vec<usize> = (old_index..old_index + old_len)
                .filter(|&i| old_pair[i].is_none())
                .collect();
            let news: Vec<usize> = (new_index..new_index + new_len)
                .filter(|&j| new_pair[j].is_none())
                .collect();
            for (i, j) in olds.into_iter().zip(news) {
                old_pair[i] = Some(j);
                new_pair[j] = Some(i);
            }
        }
    }
    new_pair
        .iter()
        .enumerate()
        .filter_map(|(j, i)| Some(((*i)?, j)))
        .collect()
}

/// The steps for lists of `old_len` and `new_len` items whose matched items are `pairs`
/// (sorted by new index): removals, then moves of the items out of order (those not in the
/// longest run that keeps its order stay put), then additions.
fn steps(old_len: usize, new_len: usize, pairs: Vec<(usize, usize)>) -> ListPlan {
    let mut new_of_old: Vec<Option<usize>> = vec![None; old_len];
    let mut old_of_new: Vec<Option<usize>> = vec![None; new_len];
    for &(i, j) in &pairs {
        new_of_old[i] = Some(j);
        old_of_new[j] = Some(i);
    }
    let removed: Vec<usize> = (0..old_len)
        .rev()
        .filter(|&i| new_of_old[i].is_none())
        .collect();
    // The list as the steps leave it: old indexes of the items it holds, in order.
    let mut list: Vec<usize> = (0..old_len).filter(|&i| new_of_old[i].is_some()).collect();
    let olds_in_new_order: Vec<usize> = pairs.iter().map(|&(i, _)| i).collect();
    let stay = longest_increasing(&olds_in_new_order);
    let mut moved = Vec::new();
    for (k, &(i, j)) in pairs.iter().enumerate() {
        if stay[k] {
            continue;
        }
        let from = list
            .iter()
            .position(|&x| x == i)
            .expect("a matched item is listed");
        list.remove(from);
        // Right after the item before it in the new list (placed already: it stays or
        // moved before it), or first.
        let before = (0..j).rev().find_map(|b| old_of_new[b]);
        let to = before.map_or(0, |b| {
            list.iter().position(|&x| x == b).expect("placed before") + 1
        });
        list.insert(to, i);
        if from != to {
            moved.push((from, to, i));
        }
    }
    let added = (0..new_len).filter(|&j| old_of_new[j].is_none()).collect();
    ListPlan {
        removed,
        moved,
        added,
        pairs,
    }
}

/// Which elements of `seq` belong to one longest strictly increasing subsequence (patience
/// sorting, O(n log n)).
fn longest_increasing(seq: &[usize]) -> Vec<bool> {
    // tails[k]: index in seq of the smallest tail of an increasing run of length k + 1.
    let mut tails: Vec<usize> = Vec::new();
    let mut prev: Vec<Option<usize>> = vec![None; seq.len()];
    for (n, &x) in seq.iter().enumerate() {
        let at = tails.partition_point(|&t| seq[t] < x);
        prev[n] = at.checked_sub(1).map(|a| tails[a]);
        if at == tails.len() {
            tails.push(n);
        } else {
            tails[at] = n;
        }
    }
    let mut keep = vec![false; seq.len()];
    let mut at = tails.last().copied();
    while let Some(n) = at {
        keep[n] = true;
        at = prev[n];
    }
    keep
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::diff::tests::node;

    fn items(text: &str) -> Vec<Node> {
        node(text).as_seq().unwrap().to_vec()
    }

    #[test]
    fn a_removed_middle_item_is_one_removal() {
        let old = items("[a, b, c, d, e]");
        let new = items("[a, b, d, e]");
        let p = plan(&old, &new, &[]);
        assert_eq!(p.removed, [2]);
        assert!(p.moved.is_empty() && p.added.is_empty());
        assert_eq!(p.pairs, [(0, 0), (1, 1), (3, 2), (4, 3)]);
    }

    #[test]
    fn a_reordering_is_moves_not_changes() {
        // The first item to the end: one move.
        let p = plan(&items("[a, b, c, d, e]"), &items("[b, c, d, e, a]"), &[]);
        assert_eq!(p.moved, [(0, 4, 0)]);
        assert!(p.removed.is_empty() && p.added.is_empty());
        // Two swapped: one move.
        let p = plan(&items("[a, b, c]"), &items("[a, c, b]"), &[]);
        assert_eq!(p.moved.len(), 1);
    }

    #[test]
    fn keyed_items_are_matched_by_key_and_changed_in_place() {
        let old = items("[{name: a, v: 1}, {name: b, v: 1}, {name: c, v: 1}]");
        let new = items("[{name: c, v: 1}, {name: a, v: 2}, {name: d, v: 1}]");
        let p = plan(&old, &new, &["name".to_string()]);
        assert_eq!(p.removed, [1]);
        assert_eq!(p.added, [2]);
        assert_eq!(p.moved.len(), 1);
        assert_eq!(p.pairs, [(2, 0), (0, 1)]);
        // A key two items share does not identify them: matched by content instead.
        let dup = items("[{name: a, v: 1}, {name: a, v: 2}]");
        let p = plan(&dup, &items("[{name: a, v: 2}]"), &["name".to_string()]);
        assert_eq!(p.removed, [0]);
    }

    #[test]
    fn longest_increasing_keeps_one_longest_run() {
        assert_eq!(
            longest_increasing(&[1, 2, 3, 4, 0]),
            [true, true, true, true, false]
        );
        assert_eq!(longest_increasing(&[]), Vec::<bool>::new());
    }
}
