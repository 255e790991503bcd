//! The reduced engine: orthonormal data only, `w` in data coordinates, O(min(b, n - b)) a step.
//!
//! On orthonormal data a step multiplies every coordinate by a factor: with `h = eta / b`,
//! `S_B = sum_{i in B} m_i sigma(u_i)^2` and `gamma = 1 - h S_B`,
//!
//! ```text
//! u_i <- (gamma - h m_i (r - 2)) u_i    for an active batch member drawn m_i times,
//! u_j <- gamma u_j                      for every other coordinate,
//! p   <- gamma p                        for the part orthogonal to the data span.
//! ```
//!
//! The state is `u_i = c_A v_i` for active coordinates (ReLU: `u_i > 0`; linear: all) and
//! `u_j = c_P v_j`, `p = c_P q` for the passive group (inactive coordinates and the orthogonal
//! part), so a step touches two scales and the smaller of the batch and its complement.
//!
//! Invariants: `c_A > 0` and `c_P > 0` between steps, so signs and the active set only change in
//! the exact O(n) fallback taken when some factor is not positive (only for very large steps);
//! `sum_active = sum_A v_i^2` and `sum_passive = sum_P v_j^2 + q^2` are kept incrementally and
//! recomputed exactly at every fold. A fold multiplies the scales into `v` and happens every
//! `max(n, 1024)` steps, as soon as `c_A` leaves `[1/4, 4]` (which bounds the relative error of
//! the incremental sum) or `c_P` leaves `[1e-150, 1e150]`, so nothing under- or overflows through
//! the scales. The scale drifts by about `h` a step, so folds cost O(eta) a step amortised.
//! Coordinates that decay for ever reach subnormals and then exact zero, which is well defined
//! (zero stays zero).

use super::stationarity::orthonormal_stationarity;
use super::{Engine, IterateState, UpdateSet};
use crate::batch::Batch;
use crate::config::Activation;
use crate::data::Data;
use crate::model::sample_terms;

/// The band the active scale stays in between folds. `sum_active` is kept in units of `v`; if
/// `c_A` drifted far, `sum_active` would shrink or grow by `c_A^-2` while the rounding errors of
/// earlier updates stayed, and its relative error would grow exponentially. Inside this band
/// the amplification is at most 16.
const ACTIVE_SCALE_BAND: (f64, f64) = (0.25, 4.0);
/// The band of the passive scale: its sum only changes at folds, so only range matters.
const PASSIVE_SCALE_BAND: (f64, f64) = (1e-150, 1e150);

/// SGD in data coordinates on orthonormal data.
#[derive(Debug, Clone)]
pub struct ReducedEngine<'a> {
    data: &'a Data,
    activation: Activation,
    eta: f64,
    v: Vec<f64>,
    active: Vec<bool>,
    scale_active: f64,
    scale_passive: f64,
    q: f64,
    sum_active: f64,
    sum_passive: f64,
    steps_since_fold: u64,
    fold_every: u64,
    /// Scratch for the O(n) fallback step: the factor of every coordinate.
    factors: Vec<f64>,
    u0: Vec<f64>,
    p0: f64,
    /// The unit vector along the initial orthogonal part (empty when there is none).
    perp_dir: Vec<f64>,
}

impl<'a> ReducedEngine<'a> {
    /// Starts at the ambient point `w0`. `data` must be orthonormal (the caller checks).
    pub fn new(data: &'a Data, activation: Activation, eta: f64, w0: &[f64]) -> Self {
        assert!(data.is_orthonormal(), "the reduced engine needs orthonormal data");
        assert_eq!(w0.len(), data.d(), "initial point has the wrong dimension");
        let n = data.n();
        let u0 = data.coords(w0);
        let (p0, perp_dir) = if data.d() > n {
            let span_part = data.combine(&u0);
            let residual: Vec<f64> = w0.iter().zip(&span_part).map(|(a, b)| a - b).collect();
            let p0 = residual.iter().map(|x| x * x).sum::<f64>().sqrt();
            let dir = if p0 > 0.0 { residual.iter().map(|x| x / p0).collect() } else { Vec::new() };
            (p0, dir)
        } else {
            (0.0, Vec::new())
        };
        let mut engine = Self {
            data,
            activation,
            eta,
            v: u0.clone(),
            active: vec![false; n],
            scale_active: 1.0,
            scale_passive: 1.0,
            q: p0,
            sum_active: 0.0,
            sum_passive: 0.0,
            steps_since_fold: 0,
            fold_every: (n as u64).max(1024),
            factors: vec![0.0; n],
            u0,
            p0,
            perp_dir,
        };
        engine.fold();
        engine
    }

    /// Multiplies the scales into `v`, recomputes the active set and the sums exactly.
    fn fold(&mut self) {
        for (vj, &act) in self.v.iter_mut().zip(&self.active) {
            *vj *= if act { self.scale_active } else { self.scale_passive };
        }
        self.q *= self.scale_passive;
        self.scale_active = 1.0;
        self.scale_passive = 1.0;
        self.sum_active = 0.0;
        self.sum_passive = self.q * self.q;
        for (vj, act) in self.v.iter().zip(self.active.iter_mut()) {
            *act = self.activation.is_active(*vj);
            if *act {
                self.sum_active += vj * vj;
            } else {
                self.sum_passive += vj * vj;
            }
        }
        self.steps_since_fold = 0;
    }

    fn coordinate(&self, j: usize) -> f64 {
        self.v[j] * if self.active[j] { self.scale_active } else { self.scale_passive }
    }

    fn coords(&self) -> Vec<f64> {
        (0..self.v.len()).map(|j| self.coordinate(j)).collect()
    }

    fn perp(&self) -> f64 {
        self.scale_passive * self.q
    }

    /// `sum v_i^2` over the active entries of `indices`. Written with selects rather than
    /// branches: for ReLU about half the coordinates are active in no predictable pattern.
    #[inline]
    fn active_mass(&self, indices: &[usize]) -> f64 {
        indices
            .iter()
            .map(|&i| {
                let v = self.v[i];
                if self.active[i] { v * v } else { 0.0 }
            })
            .sum()
    }

    /// Multiplies the active entries of `indices` by `ratio` (inactive ones by exactly 1).
    #[inline]
    fn scale_active_entries(&mut self, indices: &[usize], ratio: f64) {
        for &i in indices {
            let factor = if self.active[i] { ratio } else { 1.0 };
            self.v[i] *= factor;
        }
    }

    /// The exact O(n) step, used when a factor is not positive (signs may change).
    fn fallback_step(&mut self, batch: &Batch<'_>, h: f64, r: f64, gamma: f64) {
        self.fold();
        self.factors.fill(gamma);
        for (k, &i) in batch.members.iter().enumerate() {
            if self.active[i] {
                self.factors[i] = gamma - h * f64::from(batch.count(k)) * (r - 2.0);
            }
        }
        for (vj, f) in self.v.iter_mut().zip(&self.factors) {
            *vj *= f;
        }
        self.q *= gamma;
        self.fold();
    }
}

impl Engine for ReducedEngine<'_> {
    fn name(&self) -> &'static str {
        "reduced"
    }

    fn step(&mut self, batch: &Batch<'_>) {
        let h = self.eta / batch.size as f64;
        let ca2 = self.scale_active * self.scale_active;
        let r = self.norm_sq();
        let base = h * (r - 2.0);
        let via_complement = batch.multiplicity.is_none() && batch.complement_len() < batch.members.len();

        // First pass: the active mass of the side we touch (in units of v), and the largest
        // multiplicity among active members (for the sign check).
        let (touched_mass, s_batch, max_count) = if via_complement {
            let [a, b] = batch.complement.unwrap_or([&[], &[]]);
            let outside = self.active_mass(a) + self.active_mass(b);
            (outside, ca2 * (self.sum_active - outside).max(0.0), 1u32)
        } else if let Some(counts) = batch.multiplicity {
            let mut s = 0.0;
            let mut most = 1u32;
            for (&i, &m) in batch.members.iter().zip(counts) {
                if self.active[i] {
                    s += f64::from(m) * self.v[i] * self.v[i];
                    most = most.max(m);
                }
            }
            (f64::NAN, ca2 * s, most)
        } else {
            let s = self.active_mass(batch.members);
            (s, ca2 * s, 1u32)
        };
        let gamma = 1.0 - h * s_batch;
        let smallest_factor = (gamma - base).min(gamma - base * f64::from(max_count));
        if gamma.is_nan() || smallest_factor.is_nan() || gamma <= 0.0 || smallest_factor <= 0.0 {
            self.fallback_step(batch, h, r, gamma);
            return;
        }

        // Second pass. Without repeats every active member gets the same factor, so the side
        // we touch is multiplied by one ratio and its mass changes by (ratio^2 - 1) times the
        // mass summed in the first pass.
        if via_complement {
            // Members get `gamma - base` through the active scale; the rest is corrected back.
            let member_factor = gamma - base;
            self.scale_active *= member_factor;
            self.scale_passive *= gamma;
            let ratio = gamma / member_factor;
            let [a, b] = batch.complement.unwrap_or([&[], &[]]);
            self.scale_active_entries(a, ratio);
            self.scale_active_entries(b, ratio);
            self.sum_active += (ratio * ratio - 1.0) * touched_mass;
        } else if let Some(counts) = batch.multiplicity {
            self.scale_active *= gamma;
            self.scale_passive *= gamma;
            for (&i, &m) in batch.members.iter().zip(counts) {
                if self.active[i] {
                    let old = self.v[i];
                    self.v[i] = old * ((gamma - base * f64::from(m)) / gamma);
                    self.sum_active += self.v[i] * self.v[i] - old * old;
                }
            }
        } else {
            self.scale_active *= gamma;
            self.scale_passive *= gamma;
            let ratio = (gamma - base) / gamma;
            self.scale_active_entries(batch.members, ratio);
            self.sum_active += (ratio * ratio - 1.0) * touched_mass;
        }

        self.steps_since_fold += 1;
        let scales_ok = (ACTIVE_SCALE_BAND.0..=ACTIVE_SCALE_BAND.1).contains(&self.scale_active)
            && (PASSIVE_SCALE_BAND.0..=PASSIVE_SCALE_BAND.1).contains(&self.scale_passive);
        if self.steps_since_fold >= self.fold_every || !scales_ok {
            self.fold();
        }
    }

    fn norm_sq(&self) -> f64 {
        let ca = self.scale_active;
        let cp = self.scale_passive;
        ca * ca * self.sum_active.max(0.0) + cp * cp * self.sum_passive
    }

    fn stationarity(&self, updates: UpdateSet) -> f64 {
        orthonormal_stationarity(self.activation, &self.coords(), self.perp().abs(), updates)
    }

    fn state(&self) -> IterateState {
        let u = self.coords();
        let perp = self.perp();
        let perp_sq = perp * perp;
        let norm_sq = u.iter().map(|x| x * x).sum::<f64>() + perp_sq;
        let loss = u.iter().map(|&ui| sample_terms(self.activation, ui, norm_sq, 1.0).loss).sum::<f64>()
            / u.len() as f64;
        let dot_init = u.iter().zip(&self.u0).map(|(a, b)| a * b).sum::<f64>() + perp * self.p0;
        IterateState { u, norm_sq, perp_sq: Some(perp_sq), dot_init, loss }
    }

    fn ambient(&self) -> Vec<f64> {
        let mut w = self.data.combine(&self.coords());
        let perp = self.perp();
        for (wk, ek) in w.iter_mut().zip(&self.perp_dir) {
            *wk += perp * ek;
        }
        w
    }
}
