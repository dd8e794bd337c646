//! Finding exactly the bad items of a failed batch by bisection.

/// Returns, for each of `len` items, whether it is good, given a check of any sub-range.
///
/// `check(range)` must be true exactly when every item in `range` is good. A batch with k bad items
/// among n costs about `2k·log2(n/k)` checks instead of n.
pub fn find_good(len: usize, check: &mut impl FnMut(std::ops::Range<usize>) -> bool) -> Vec<bool> {
    let mut good = vec![true; len];
    if len > 0 && !check(0..len) {
        split(0..len, check, &mut good);
    }
    good
}

/// `range` is known to hold at least one bad item.
fn split(
    range: std::ops::Range<usize>,
    check: &mut impl FnMut(std::ops::Range<usize>) -> bool,
    good: &mut [bool],
) {
    if range.len() == 1 {
        good[range.start] = false;
        return;
    }
    let middle = range.start + range.len() / 2;
    let left = range.start..middle;
    let right = middle..range.end;
    let left_ok = check(left.clone());
    if !left_ok {
        split(left, check, good);
    }
    // When the left half is clean, the right half must hold the bad item: no need to check it.
    if left_ok || !check(right.clone()) {
        split(right, check, good);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_exactly_the_bad_items() {
        for len in 0..40 {
            for bad_mask in [0u64, 1, 0b1010, u64::MAX, 1 << 39, 0x8000_0001] {
                let is_bad = |i: usize| i < 64 && bad_mask >> i & 1 == 1;
                let mut check = |r: std::ops::Range<usize>| r.clone().all(|i| !is_bad(i));
                let good = find_good(len, &mut check);
                for (i, g) in good.iter().enumerate() {
                    assert_eq!(*g, !is_bad(i), "len {len} mask {bad_mask:#x} item {i}");
                }
            }
        }
    }
}
