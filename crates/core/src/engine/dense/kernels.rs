//! Vector kernels of the dense step on plain slices: dot products (one or two at a time) and
//! the fused update `y <- c y + sum_k alpha_k x_k` with its squared norm.
//!
//! The step works on vectors of length `d` a few hundred long, where a general linear-algebra
//! call (faer's) costs more in dispatch than in arithmetic. These are plain loops, always
//! inlined: the engine runs them inside pulp's runtime dispatch, so the compiler vectorises
//! them for the widest instruction set of the processor (AVX2 where present, SSE2 otherwise).
//! Reductions use eight accumulators in a fixed order and no fused multiply-add (Rust never
//! contracts `a * b + c`), so the results are the same bit for bit on every instruction set,
//! machine and thread count. They do not allocate and assume equal lengths (checked in debug
//! builds).

/// The number of partial sums of a reduction (enough to hide the addition latency).
const LANES: usize = 8;

/// The fixed summation tree that closes every reduction.
#[inline(always)]
fn reduce(acc: [f64; LANES]) -> f64 {
    ((acc[0] + acc[1]) + (acc[2] + acc[3])) + ((acc[4] + acc[5]) + (acc[6] + acc[7]))
}

/// `sum_k a_k b_k`.
#[inline(always)]
pub(super) fn dot(a: &[f64], b: &[f64]) -> f64 {
    debug_assert_eq!(a.len(), b.len());
    let mut acc = [0.0; LANES];
    let (a_chunks, b_chunks) = (a.chunks_exact(LANES), b.chunks_exact(LANES));
    let (a_rest, b_rest) = (a_chunks.remainder(), b_chunks.remainder());
    for (x, y) in a_chunks.zip(b_chunks) {
        for lane in 0..LANES {
            acc[lane] += x[lane] * y[lane];
        }
    }
    for (lane, (x, y)) in a_rest.iter().zip(b_rest).enumerate() {
        acc[lane] += x * y;
    }
    reduce(acc)
}

/// `(dot(a, w), dot(b, w))`, bit for bit, in one pass over `w`.
#[inline(always)]
pub(super) fn dot_pair(a: &[f64], b: &[f64], w: &[f64]) -> (f64, f64) {
    debug_assert!(a.len() == w.len() && b.len() == w.len());
    let (mut acc_a, mut acc_b) = ([0.0; LANES], [0.0; LANES]);
    let full = w.len() - w.len() % LANES;
    let chunks = a.chunks_exact(LANES).zip(b.chunks_exact(LANES)).zip(w.chunks_exact(LANES));
    for ((x, y), v) in chunks {
        for lane in 0..LANES {
            acc_a[lane] += x[lane] * v[lane];
        }
        for lane in 0..LANES {
            acc_b[lane] += y[lane] * v[lane];
        }
    }
    for (lane, j) in (full..w.len()).enumerate() {
        acc_a[lane] += a[j] * w[j];
        acc_b[lane] += b[j] * w[j];
    }
    (reduce(acc_a), reduce(acc_b))
}

/// `y <- c y + sum_k alpha_k x_k` in one pass over `y`, returning the new `||y||^2`.
///
/// Each entry is computed as `((c y_j + alpha_1 x_1j) + alpha_2 x_2j) + ...` in the order of
/// `terms`, so the result is the same as `b` separate `y += alpha x` passes after `y *= c`; one
/// pass loads and stores `y` once instead of `b + 1` times.
#[inline(always)]
pub(super) fn scale_add_norm(c: f64, terms: &[(f64, &[f64])], y: &mut [f64]) -> f64 {
    debug_assert!(terms.iter().all(|(_, x)| x.len() == y.len()));
    let mut acc = [0.0; LANES];
    let rest_start = y.len() - y.len() % LANES;
    let mut chunks = y.chunks_exact_mut(LANES);
    for (start, chunk) in (0..).step_by(LANES).zip(&mut chunks) {
        let mut block = [0.0; LANES];
        for lane in 0..LANES {
            block[lane] = c * chunk[lane];
        }
        for &(alpha, x) in terms {
            let x: &[f64; LANES] = x[start..start + LANES].try_into().expect("a full chunk");
            for lane in 0..LANES {
                block[lane] += alpha * x[lane];
            }
        }
        chunk.copy_from_slice(&block);
        for lane in 0..LANES {
            acc[lane] += block[lane] * block[lane];
        }
    }
    let rest = chunks.into_remainder();
    for (lane, yj) in rest.iter_mut().enumerate() {
        let mut value = c * *yj;
        for &(alpha, x) in terms {
            value += alpha * x[rest_start + lane];
        }
        *yj = value;
        acc[lane] += value * value;
    }
    reduce(acc)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dot_is_exact_when_every_partial_sum_is_representable() {
        // Integers times powers of two are summed exactly in any order, so the reference is
        // exact; every length exercises a different remainder after the chunks of eight.
        for len in 0..40 {
            let a: Vec<f64> = (0..len).map(|k| ((k * 37) % 11) as f64 - 5.0).collect();
            let b: Vec<f64> = (0..len).map(|k| ((k * 53) % 13) as f64 * 0.25).collect();
            let exact: f64 = (0..len).map(|k| a[k] * b[k]).sum();
            assert_eq!(dot(&a, &b), exact, "length {len}");
        }
    }

    #[test]
    fn dot_pair_equals_two_dots_bit_for_bit() {
        for len in [0, 1, 7, 8, 9, 100, 1001] {
            let w: Vec<f64> = (0..len).map(|k| (k as f64 * 0.37).sin()).collect();
            let a: Vec<f64> = (0..len).map(|k| (k as f64 * 0.11).cos()).collect();
            let b: Vec<f64> = (0..len).map(|k| 1.0 / (k as f64 + 1.5)).collect();
            let (da, db) = dot_pair(&a, &b, &w);
            assert_eq!((da.to_bits(), db.to_bits()), (dot(&a, &w).to_bits(), dot(&b, &w).to_bits()), "{len}");
        }
    }

    #[test]
    fn scale_add_norm_equals_separate_passes_bit_for_bit() {
        for len in [0, 1, 7, 8, 9, 17, 100] {
            let y0: Vec<f64> = (0..len).map(|k| (k as f64 * 0.37).sin()).collect();
            let xs: Vec<Vec<f64>> =
                (0..3).map(|m| (0..len).map(|k| ((k + 5 * m) as f64 * 0.11).cos()).collect()).collect();
            let alphas = [0.3, -1.7, 2.5e-3];
            let terms: Vec<(f64, &[f64])> = alphas.iter().zip(&xs).map(|(&a, x)| (a, x.as_slice())).collect();
            let mut fused = y0.clone();
            let norm = scale_add_norm(0.9, &terms, &mut fused);
            let mut separate: Vec<f64> = y0.iter().map(|v| 0.9 * v).collect();
            for (alpha, x) in &terms {
                for (s, xk) in separate.iter_mut().zip(x.iter()) {
                    *s += alpha * xk;
                }
            }
            assert_eq!(fused, separate, "length {len}");
            assert_eq!(norm, dot(&separate, &separate), "length {len}");
        }
    }
}
