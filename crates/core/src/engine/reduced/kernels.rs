//! The two passes of a reduced step over a set of coordinates, without branches on data.
//!
//! For ReLU a coordinate is active exactly when its stored value is positive: the active set is
//! fixed between folds and every factor applied is positive, so signs never change between
//! folds (a value that underflows to zero contributes zero either way). The passes therefore
//! read the sign instead of a separate flag, and use `max`/`min` instead of branches: about half
//! of the coordinates are active in no predictable pattern, and a mispredicted branch costs more
//! than the arithmetic of a member. Sums use four accumulators in a fixed order, so the result
//! depends only on the indices, never on the machine or the thread count.

/// `sum sigma(v_i)^2` over `indices`: the squared values of the active entries.
#[inline(always)]
pub(super) fn active_mass<const RELU: bool>(v: &[f64], indices: &[usize]) -> f64 {
    let term = |i: usize| {
        let x = if RELU { v[i].max(0.0) } else { v[i] };
        x * x
    };
    let mut acc = [0.0; 4];
    let mut chunks = indices.chunks_exact(4);
    for chunk in &mut chunks {
        acc[0] += term(chunk[0]);
        acc[1] += term(chunk[1]);
        acc[2] += term(chunk[2]);
        acc[3] += term(chunk[3]);
    }
    for (slot, &i) in acc.iter_mut().zip(chunks.remainder()) {
        *slot += term(i);
    }
    (acc[0] + acc[1]) + (acc[2] + acc[3])
}

/// Multiplies the active entries of `indices` by `ratio` and leaves the others exactly as they
/// are: for ReLU `v <- max(v, 0) ratio + min(v, 0)`, which is `v ratio + 0` for `v > 0` and
/// `0 + v` otherwise.
#[inline(always)]
pub(super) fn scale_active<const RELU: bool>(v: &mut [f64], indices: &[usize], ratio: f64) {
    let scaled = |x: f64| if RELU { x.max(0.0) * ratio + x.min(0.0) } else { x * ratio };
    // Two a round: half the loop overhead. Indices are distinct, so the order does not matter.
    let mut pairs = indices.chunks_exact(2);
    for pair in &mut pairs {
        let (a, b) = (pair[0], pair[1]);
        v[a] = scaled(v[a]);
        v[b] = scaled(v[b]);
    }
    for &i in pairs.remainder() {
        v[i] = scaled(v[i]);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The straightforward definitions, with branches.
    fn mass_reference(v: &[f64], indices: &[usize], relu: bool) -> f64 {
        indices.iter().filter(|&&i| !relu || v[i] > 0.0).map(|&i| v[i] * v[i]).sum()
    }

    #[test]
    fn agree_with_the_branching_definitions() {
        // Positive, negative and zero entries; index sets of every length, with remainders of
        // every size after the chunks of four.
        let v: Vec<f64> = (0..23).map(|k| ((k * 7919) % 23) as f64 - 11.5 + 0.25 * (k % 3) as f64).collect();
        for len in 0..v.len() {
            let indices: Vec<usize> = (0..len).map(|k| (k * 5) % v.len()).collect();
            let scale = v.iter().map(|x| x * x).sum::<f64>();
            let tol = f64::EPSILON * (len as f64).sqrt().max(1.0) * scale;
            for relu in [false, true] {
                let mass =
                    if relu { active_mass::<true>(&v, &indices) } else { active_mass::<false>(&v, &indices) };
                assert!((mass - mass_reference(&v, &indices, relu)).abs() <= tol, "len {len}, relu {relu}");
            }
            let ratio = 0.75;
            let mut scaled = v.clone();
            scale_active::<true>(&mut scaled, &indices, ratio);
            for (j, (&after, &before)) in scaled.iter().zip(&v).enumerate() {
                let touched = indices.contains(&j);
                let expected = if touched && before > 0.0 { before * ratio } else { before };
                assert_eq!(after.to_bits(), expected.to_bits(), "entry {j} of {v:?}");
            }
        }
    }
}
