//! SGD engines for `k` neurons: [`DenseNeurons`] keeps `W` in ambient coordinates and works for
//! any data (a step costs O(b k d)); [`ReducedNeurons`] is for orthonormal data and works in
//! data coordinates, with a step cost that does not grow with `d`.
//!
//! **The reduced step.** Write `U = W X` (`k x n`, column `u_i = W x_i`) and `W_perp = W (I -
//! X X^T)` for the part of the rows orthogonal to the data span, and `h = eta / b`. With the
//! gradient of the [parent module](super), `x_i^T X = e_i^T` and `r_i^T X = e_i^T - a_i^T U`
//! give, for a batch `B` (a member drawn `c_i` times counts `c_i` times),
//!
//! ```text
//! A_B    = sum_{i in B} c_i a_i a_i^T                         (k x k)
//! M      = W W^T = U U^T + W_perp W_perp^T                    (k x k)
//! U      <- (I - h A_B) U + h sum_{i in B} c_i (a_i + s_i * (u_i - M a_i)) e_i^T
//! W_perp <- (I - h A_B) W_perp
//! ```
//!
//! (`*` entrywise). The complement therefore only ever moves by a `k x k` linear map: the engine
//! keeps `W_perp = T W_perp(0)` as the product `T` of those maps and `P = W_perp(0) W_perp(0)^T`,
//! so that `W_perp W_perp^T = T P T^T`, and never stores the complement per coordinate. A step
//! costs O(k^2 n + b k^2). For `k = 1` this is the single neuron's step of
//! [`crate::engine::ReducedEngine`], without its lazy scales.
//!
//! Both engines draw batches from the shared [`BatchSampler`], so fed the same random stream
//! they follow the same trajectory up to rounding (tested in `tests/neurons.rs`). Engines only
//! step and report the iterate; when to stop and what to measure is not theirs.

use super::{Neurons, dot};
use crate::batch::Batch;
use crate::config::Activation;
use crate::data::Data;
use crate::engine::UpdateSet;
use crate::error::ConfigError;

/// One SGD engine for `k` neurons.
pub trait NeuronsEngine {
    /// `"dense"` or `"reduced"`.
    fn name(&self) -> &'static str;

    /// One SGD step `W <- W - eta * mean_{i in batch} grad l_i(W)`.
    fn step(&mut self, batch: &Batch<'_>);

    /// The data coordinates `U = W X`, `k x n`, row by row (row `j` is `<w_j, x_i>` over `i`).
    fn coords(&self) -> Vec<f64>;

    /// The current weights in ambient coordinates. Costs O(k n d) (reduced) or O(k d) (dense).
    fn weights(&self) -> Neurons;

    /// `||W||_F^2`, the quantity of the divergence rule. Costs O(k d) (dense) or O(k)
    /// (reduced).
    fn norm_sq(&self) -> f64;

    /// The stationarity measure of the update in use ([`super::orthonormal_stationarity`]):
    /// the largest norm of a batch gradient the schedule can draw.
    fn stationarity(&self, updates: UpdateSet) -> f64;
}

/// The rows' parts outside the span of orthonormal `data`, `W_perp = W - U X^T` with `u` the
/// data coordinates of `w` (formed directly, not as a difference of Gram matrices), row by row,
/// and their `k x k` Gram matrix `W_perp W_perp^T`.
fn perp_parts(data: &Data, w: &Neurons, u: &[f64]) -> (Vec<f64>, Vec<f64>) {
    let (k, n, d) = (w.k, data.n(), data.d());
    let mut perp = w.w.clone();
    for j in 0..k {
        for (p, q) in perp[j * d..(j + 1) * d].iter_mut().zip(data.combine(&u[j * n..(j + 1) * n])) {
            *p -= q;
        }
    }
    let gram = (0..k * k).map(|jm| dot(&perp[jm / k * d..][..d], &perp[jm % k * d..][..d])).collect();
    (perp, gram)
}

/// `W` in ambient coordinates, on any data.
#[derive(Debug, Clone)]
pub struct DenseNeurons<'d> {
    data: &'d Data,
    activation: Activation,
    eta: f64,
    w: Neurons,
}

impl<'d> DenseNeurons<'d> {
    /// Starts at `w0` on `data`; an error when the rows do not have the data's dimension.
    pub fn new(data: &'d Data, activation: Activation, eta: f64, w0: Neurons) -> Result<Self, ConfigError> {
        super::fits(data, &w0)?;
        Ok(Self { data, activation, eta, w: w0 })
    }
}

impl NeuronsEngine for DenseNeurons<'_> {
    fn name(&self) -> &'static str {
        "dense"
    }

    fn step(&mut self, batch: &Batch<'_>) {
        let g = super::counted_gradient(self.data, self.activation, &self.w, batch);
        for (w, g) in self.w.w.iter_mut().zip(g) {
            *w -= self.eta * g;
        }
    }

    fn coords(&self) -> Vec<f64> {
        (0..self.w.k).flat_map(|j| self.data.coords(self.w.row(j))).collect()
    }

    fn weights(&self) -> Neurons {
        self.w.clone()
    }

    fn norm_sq(&self) -> f64 {
        dot(&self.w.w, &self.w.w)
    }

    fn stationarity(&self, updates: UpdateSet) -> f64 {
        if !self.data.is_orthonormal() {
            return super::ambient_stationarity(self.data, self.activation, &self.w, updates)
                .expect("weights that fit the data, checked when the engine was built");
        }
        // The parts of the rows outside the data span, formed directly (not as W W^T - U U^T).
        let u = self.coords();
        let (_, gram) = perp_parts(self.data, &self.w, &u);
        super::orthonormal_stationarity(self.activation, self.w.k, &u, &gram, updates)
    }
}

/// `W` in data coordinates on orthonormal data, with the complement kept as a `k x k` map
/// (see the [module docs](self)).
///
/// The engine keeps `M = W W^T` of its current iterate, computed once after each step (a step
/// needs it, and `||W||_F^2 = tr M` is read after every step), and works in buffers it owns, so
/// a step allocates nothing.
#[derive(Debug, Clone)]
pub struct ReducedNeurons<'d> {
    data: &'d Data,
    activation: Activation,
    eta: f64,
    k: usize,
    /// `U`, `k x n`, row by row.
    u: Vec<f64>,
    /// `T`, `k x k`, row by row: `W_perp = T W_perp(0)`.
    t: Vec<f64>,
    /// `W_perp(0) W_perp(0)^T`, `k x k`.
    p0: Vec<f64>,
    /// `W_perp(0)`, row by row, for [`NeuronsEngine::weights`] only.
    perp0: Vec<f64>,
    /// `M = U U^T + T P T^T` of the current iterate, `k x k`.
    m: Vec<f64>,
    /// Scratch of a step: `A_B`, the batch's additive columns (`k` a member), the next `U` and
    /// `T`, `T P`, the sums of `U U^T`, and one sample's `z`, `a`, `s` and `M a`.
    a_batch: Vec<f64>,
    added: Vec<f64>,
    next_u: Vec<f64>,
    next_t: Vec<f64>,
    tp: Vec<f64>,
    sums: Vec<f64>,
    sample: [Vec<f64>; 4],
}

impl<'d> ReducedNeurons<'d> {
    /// Starts at `w0` on orthonormal `data`; an error when the data is not orthonormal or the
    /// rows do not have its dimension.
    pub fn new(data: &'d Data, activation: Activation, eta: f64, w0: &Neurons) -> Result<Self, ConfigError> {
        super::fits(data, w0)?;
        if !data.is_orthonormal() {
            return Err(ConfigError::new(
                "engine",
                "reduced",
                format!(
                    "needs orthonormal data; this data has max |X^T X - I| = {:.3e} (use dense or auto)",
                    data.orthonormality_error()
                ),
            ));
        }
        let k = w0.k;
        let n = data.n();
        let u: Vec<f64> = (0..k).flat_map(|j| data.coords(w0.row(j))).collect();
        let (perp0, p0) = perp_parts(data, w0, &u);
        let t = (0..k * k).map(|jm| if jm / k == jm % k { 1.0 } else { 0.0 }).collect();
        let mut engine = Self {
            data,
            activation,
            eta,
            k,
            u,
            t,
            p0,
            perp0,
            m: vec![0.0; k * k],
            a_batch: vec![0.0; k * k],
            added: Vec::with_capacity(k * n),
            next_u: vec![0.0; k * n],
            next_t: vec![0.0; k * k],
            tp: vec![0.0; k * k],
            sums: vec![0.0; k * k],
            sample: [vec![0.0; k], vec![0.0; k], vec![0.0; k], vec![0.0; k]],
        };
        engine.refresh_gram();
        Ok(engine)
    }

    /// `W_perp W_perp^T = T P T^T`, `k x k`.
    fn perp_gram(&self) -> Vec<f64> {
        let k = self.k;
        let tp: Vec<f64> = (0..k * k)
            .map(|jm| (0..k).map(|l| self.t[jm / k * k + l] * self.p0[l * k + jm % k]).sum())
            .collect();
        (0..k * k).map(|jm| (0..k).map(|l| tp[jm / k * k + l] * self.t[jm % k * k + l]).sum()).collect()
    }

    /// Sets `M = U U^T + T P T^T` for the current iterate (exactly symmetric). The sums of
    /// `U U^T` run over the data points in order, each entry's as [`dot`] adds, but all entries
    /// at once, so that they do not wait for one another.
    fn refresh_gram(&mut self) {
        self.refresh_gram_with(self.k);
    }

    /// [`Self::refresh_gram`] with `k` passed in, inlined where `k` is a constant.
    #[inline(always)]
    fn refresh_gram_with(&mut self, k: usize) {
        let n = self.data.n();
        for jm in 0..k * k {
            let (j, m) = (jm / k, jm % k);
            self.tp[jm] = (0..k).map(|l| self.t[j * k + l] * self.p0[l * k + m]).sum();
        }
        let (u, sums) = (&self.u[..k * n], &mut self.sums[..k * k]);
        sums.fill(0.0);
        for i in 0..n {
            for j in 0..k {
                let uj = u[j * n + i];
                for m in 0..=j {
                    sums[j * k + m] += uj * u[m * n + i];
                }
            }
        }
        for j in 0..k {
            for m in 0..=j {
                let perp: f64 = (0..k).map(|l| self.tp[j * k + l] * self.t[m * k + l]).sum();
                let value = self.sums[j * k + m] + perp;
                self.m[j * k + m] = value;
                self.m[m * k + j] = value;
            }
        }
    }

    /// One step with `k` passed in, inlined where `k` is a constant.
    #[inline(always)]
    fn step_with(&mut self, k: usize, batch: &Batch<'_>) {
        let n = self.data.n();
        let h = self.eta / batch.size as f64;
        // The fields as local slices, so that the compiler keeps them in registers.
        let Self { activation, u, t, m, a_batch, added, next_u, next_t, sample, .. } = self;
        let (activation, u, m) = (*activation, &u[..k * n], &m[..k * k]);
        let a_batch = &mut a_batch[..k * k];
        a_batch.fill(0.0);
        added.clear();
        // The additive part, from the iterate before the step.
        let [z, a, s, ma] = sample;
        let (z, a, s, ma) = (&mut z[..k], &mut a[..k], &mut s[..k], &mut ma[..k]);
        for (place, &i) in batch.members.iter().enumerate() {
            let count = f64::from(batch.count(place));
            for j in 0..k {
                let zj = u[j * n + i];
                z[j] = zj;
                a[j] = activation.value(zj);
                s[j] = activation.derivative(zj);
            }
            // A_B += count a a^T, and M a, column by column of the symmetric M so that the k
            // sums do not wait for one another. Written without a branch on a_l = 0: for ReLU
            // which neurons a sample activates follows no pattern.
            ma.fill(0.0);
            for l in 0..k {
                let al = a[l];
                let weighted = count * al;
                for (entry, &aj) in a_batch[l * k..(l + 1) * k].iter_mut().zip(a.iter()) {
                    *entry += weighted * aj;
                }
                for (sum, &mlj) in ma.iter_mut().zip(&m[l * k..(l + 1) * k]) {
                    *sum += mlj * al;
                }
            }
            for j in 0..k {
                added.push(count * (a[j] + s[j] * (z[j] - ma[j])));
            }
        }
        shrink(next_u, u, k, n, h, a_batch);
        for (place, &i) in batch.members.iter().enumerate() {
            for (j, &c) in added[place * k..(place + 1) * k].iter().enumerate() {
                next_u[j * n + i] += h * c;
            }
        }
        shrink(next_t, t, k, k, h, a_batch);
        std::mem::swap(&mut self.u, &mut self.next_u);
        std::mem::swap(&mut self.t, &mut self.next_t);
        self.refresh_gram_with(k);
    }
}

impl ReducedNeurons<'_> {
    /// [`Self::step_with`] for a `k = K` known when compiling: the same operations in the same
    /// order, with `A_B`, `M`, `M a` and the sums of `U U^T` held in local arrays instead of
    /// the engine's buffers. A sum kept in a buffer goes through memory at every addition, and
    /// its additions then wait on one another's stores; in a local array it stays in a
    /// register.
    #[inline(always)]
    fn step_fixed<const K: usize>(&mut self, batch: &Batch<'_>) {
        let n = self.data.n();
        let h = self.eta / batch.size as f64;
        let activation = self.activation;
        let mut m = [[0.0; K]; K];
        for (j, row) in m.iter_mut().enumerate() {
            row.copy_from_slice(&self.m[j * K..(j + 1) * K]);
        }
        let u = &self.u[..K * n];
        let mut a_batch = [[0.0; K]; K];
        let added = &mut self.added;
        added.clear();
        for (place, &i) in batch.members.iter().enumerate() {
            let count = f64::from(batch.count(place));
            let (mut z, mut a, mut s) = ([0.0; K], [0.0; K], [0.0; K]);
            for j in 0..K {
                z[j] = u[j * n + i];
                a[j] = activation.value(z[j]);
                s[j] = activation.derivative(z[j]);
            }
            let mut ma = [0.0; K];
            for l in 0..K {
                let al = a[l];
                let weighted = count * al;
                for j in 0..K {
                    a_batch[l][j] += weighted * a[j];
                }
                for j in 0..K {
                    ma[j] += m[l][j] * al;
                }
            }
            for j in 0..K {
                added.push(count * (a[j] + s[j] * (z[j] - ma[j])));
            }
        }
        for (l, row) in a_batch.iter().enumerate() {
            self.a_batch[l * K..(l + 1) * K].copy_from_slice(row);
        }
        shrink(&mut self.next_u, u, K, n, h, &self.a_batch[..K * K]);
        for (place, &i) in batch.members.iter().enumerate() {
            for (j, &c) in self.added[place * K..(place + 1) * K].iter().enumerate() {
                self.next_u[j * n + i] += h * c;
            }
        }
        shrink(&mut self.next_t, &self.t, K, K, h, &self.a_batch[..K * K]);
        std::mem::swap(&mut self.u, &mut self.next_u);
        std::mem::swap(&mut self.t, &mut self.next_t);
        self.refresh_gram_fixed::<K>();
    }

    /// [`Self::refresh_gram_with`] for `k = K`, its sums in local arrays (the same operations
    /// in the same order).
    #[inline(always)]
    fn refresh_gram_fixed<const K: usize>(&mut self) {
        let n = self.data.n();
        let (mut t, mut p0) = ([[0.0; K]; K], [[0.0; K]; K]);
        for j in 0..K {
            t[j].copy_from_slice(&self.t[j * K..(j + 1) * K]);
            p0[j].copy_from_slice(&self.p0[j * K..(j + 1) * K]);
        }
        let mut tp = [[0.0; K]; K];
        for j in 0..K {
            for m in 0..K {
                tp[j][m] = (0..K).map(|l| t[j][l] * p0[l][m]).sum();
            }
        }
        let u = &self.u[..K * n];
        let mut sums = [[0.0; K]; K];
        for i in 0..n {
            for j in 0..K {
                let uj = u[j * n + i];
                for m in 0..=j {
                    sums[j][m] += uj * u[m * n + i];
                }
            }
        }
        for j in 0..K {
            self.tp[j * K..(j + 1) * K].copy_from_slice(&tp[j]);
            for m in 0..=j {
                let perp: f64 = (0..K).map(|l| tp[j][l] * t[m][l]).sum();
                let value = sums[j][m] + perp;
                self.m[j * K + m] = value;
                self.m[m * K + j] = value;
            }
        }
    }
}

/// `out = (I - h A) y` for `y` with `k` rows of length `len`, row by row.
#[inline(always)]
fn shrink(out: &mut [f64], y: &[f64], k: usize, len: usize, h: f64, a: &[f64]) {
    out.copy_from_slice(y);
    for j in 0..k {
        let row = &mut out[j * len..(j + 1) * len];
        for l in 0..k {
            let factor = h * a[j * k + l];
            if factor != 0.0 {
                for (o, &v) in row.iter_mut().zip(&y[l * len..(l + 1) * len]) {
                    *o -= factor * v;
                }
            }
        }
    }
}

impl NeuronsEngine for ReducedNeurons<'_> {
    fn name(&self) -> &'static str {
        "reduced"
    }

    /// The step for `k` up to 8 is [`ReducedNeurons::step_fixed`], compiled once for each `k`
    /// with its `k x k` sums in local arrays, which the compiler keeps in registers; larger `k`
    /// take [`ReducedNeurons::step_with`]. Both do the same operations in the same order, so
    /// the result is the same to the bit (tested).
    fn step(&mut self, batch: &Batch<'_>) {
        match self.k {
            1 => self.step_fixed::<1>(batch),
            2 => self.step_fixed::<2>(batch),
            3 => self.step_fixed::<3>(batch),
            4 => self.step_fixed::<4>(batch),
            5 => self.step_fixed::<5>(batch),
            6 => self.step_fixed::<6>(batch),
            7 => self.step_fixed::<7>(batch),
            8 => self.step_fixed::<8>(batch),
            k => self.step_with(k, batch),
        }
    }

    fn coords(&self) -> Vec<f64> {
        self.u.clone()
    }

    fn weights(&self) -> Neurons {
        let (k, n, d) = (self.k, self.data.n(), self.data.d());
        let mut w = Vec::with_capacity(k * d);
        for j in 0..k {
            let mut row = self.data.combine(&self.u[j * n..(j + 1) * n]);
            for l in 0..k {
                let factor = self.t[j * k + l];
                for (r, &p) in row.iter_mut().zip(&self.perp0[l * d..(l + 1) * d]) {
                    *r += factor * p;
                }
            }
            w.extend(row);
        }
        Neurons { k, d, w }
    }

    /// `tr M`, kept with the iterate: O(k).
    fn norm_sq(&self) -> f64 {
        (0..self.k).map(|j| self.m[j * self.k + j]).sum()
    }

    fn stationarity(&self, updates: UpdateSet) -> f64 {
        super::orthonormal_stationarity(self.activation, self.k, &self.u, &self.perp_gram(), updates)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::batch::BatchSampler;
    use crate::config::Schedule;
    use crate::neurons::draw_init;
    use crate::run::run_rng;

    #[test]
    fn the_step_compiled_for_each_k_is_the_generic_step_to_the_bit() {
        let (n, d) = (7, 11);
        for k in 1..=8 {
            for activation in [Activation::Linear, Activation::Relu] {
                for (schedule, batch) in
                    [(Schedule::Random, 3), (Schedule::Replacement, 5), (Schedule::Random, n)]
                {
                    let mut g = run_rng(k as u64, batch as u64);
                    let data = Data::random_orthonormal(n, d, &mut g).unwrap();
                    let w0 = draw_init(k, d, 1.0, &mut g).unwrap();
                    let mut fixed = ReducedNeurons::new(&data, activation, 0.1, &w0).unwrap();
                    let mut generic = fixed.clone();
                    let mut sampler = BatchSampler::new(schedule, n, batch);
                    for _ in 0..2000 {
                        let b = sampler.next(&mut g);
                        fixed.step(&b);
                        generic.step_with(k, &b);
                    }
                    let bits = |e: &ReducedNeurons<'_>| {
                        e.u.iter().chain(&e.t).chain(&e.m).map(|x| x.to_bits()).collect::<Vec<_>>()
                    };
                    assert_eq!(
                        bits(&fixed),
                        bits(&generic),
                        "k = {k}, {activation:?}, {schedule:?}, b = {batch}"
                    );
                    assert!(fixed.u.iter().any(|&x| x != 0.0));
                }
            }
        }
    }
}
