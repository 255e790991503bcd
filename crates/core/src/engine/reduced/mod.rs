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
//! the active set is therefore read off the signs of `v` (see [`kernels`]). The squared norms
//! of the two groups, `norm_active = sum_A u_i^2` and `norm_passive = sum_P u_j^2 + p^2`, are
//! kept in ambient units, updated in closed form from the batch's mass (no division on the
//! chain from one step to the next) and recomputed exactly at every fold. A fold multiplies the
//! scales into `v`; it happens every `max(n, 1024)` steps, as soon as `c_A` leaves `[1/4, 4]`
//! or `norm_active` falls below 1/16 of its value at the last fold (both bound how much the
//! rounding errors of earlier updates are amplified; see [`ACTIVE_SCALE_BAND`]), or when `c_P`
//! leaves `[1e-150, 1e150]`, so nothing under- or overflows through the scales. Coordinates
//! that decay for ever reach subnormals and then exact zero, which is well defined (zero stays
//! zero).

mod kernels;

use super::stationarity::orthonormal_stationarity;
use super::{Engine, IterateState, UpdateSet};
use crate::batch::Batch;
use crate::config::Activation;
use crate::data::Data;
use crate::model::sample_terms;

/// The band the active scale stays in between folds. Every update of `norm_active` multiplies
/// the rounding errors already in it by the squared factor of the side that carries the scale,
/// which is exactly how `c_A^2` changes: since the last fold those errors have been amplified by
/// at most `(4 / (1/4))^2`. Left unbounded, the amplification is exponential (for example the
/// linear activation with `b > n/2`, whose member factor exceeds 1 near the minimum).
const ACTIVE_SCALE_BAND: (f64, f64) = (0.25, 4.0);
/// The band of the passive scale: `norm_passive` is only ever multiplied, so only range matters.
const PASSIVE_SCALE_BAND: (f64, f64) = (1e-150, 1e150);
/// How far `norm_active` may fall between folds: its accumulated rounding error is relative to
/// its size at the last fold, so this bounds that error's amplification when the norm shrinks
/// faster than the scale (members shrinking, `r > 2`).
const ACTIVE_NORM_DROP: f64 = 1.0 / 16.0;

/// SGD in data coordinates on orthonormal data.
#[derive(Debug, Clone)]
pub struct ReducedEngine<'a> {
    data: &'a Data,
    activation: Activation,
    eta: f64,
    v: Vec<f64>,
    scale_active: f64,
    scale_passive: f64,
    q: f64,
    /// `sum_A u_i^2`, the squared norm of the active coordinates.
    norm_active: f64,
    /// `sum_P u_j^2 + p^2`, the squared norm of the passive group.
    norm_passive: f64,
    /// `norm_active` right after the last fold.
    norm_active_at_fold: f64,
    steps_since_fold: u64,
    fold_every: u64,
    /// `eta / b` for the batch size `h_batch_size` (0 before the first step): a division
    /// saved on every step, since a run's batch size never changes.
    h: f64,
    h_batch_size: usize,
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
            scale_active: 1.0,
            scale_passive: 1.0,
            q: p0,
            norm_active: 0.0,
            norm_passive: 0.0,
            norm_active_at_fold: 0.0,
            steps_since_fold: 0,
            fold_every: (n as u64).max(1024),
            h: f64::NAN,
            h_batch_size: 0,
            factors: vec![0.0; n],
            u0,
            p0,
            perp_dir,
        };
        engine.fold();
        engine
    }

    /// Multiplies the scales into `v` and recomputes the norms exactly.
    fn fold(&mut self) {
        for j in 0..self.v.len() {
            self.v[j] = self.coordinate(j);
        }
        self.q *= self.scale_passive;
        self.scale_active = 1.0;
        self.scale_passive = 1.0;
        self.norm_active = 0.0;
        self.norm_passive = self.q * self.q;
        for &vj in &self.v {
            if self.activation.is_active(vj) {
                self.norm_active += vj * vj;
            } else {
                self.norm_passive += vj * vj;
            }
        }
        self.norm_active_at_fold = self.norm_active;
        self.steps_since_fold = 0;
    }

    fn coordinate(&self, j: usize) -> f64 {
        let vj = self.v[j];
        vj * if self.activation.is_active(vj) { self.scale_active } else { self.scale_passive }
    }

    fn coords(&self) -> Vec<f64> {
        (0..self.v.len()).map(|j| self.coordinate(j)).collect()
    }

    fn perp(&self) -> f64 {
        self.scale_passive * self.q
    }

    /// One step; `RELU` must be `self.activation == Activation::Relu`.
    #[inline(always)]
    fn step_as<const RELU: bool>(&mut self, batch: &Batch<'_>) {
        if batch.size != self.h_batch_size {
            self.h = self.eta / batch.size as f64;
            self.h_batch_size = batch.size;
        }
        let h = self.h;
        let ca2 = self.scale_active * self.scale_active;
        let r = self.norm_sq();
        let base = h * (r - 2.0);
        let via_complement = batch.multiplicity.is_none() && batch.complement_len() < batch.members.len();

        // First pass: the squared norm of the active coordinates on the side we touch (ambient
        // units), the batch's `S_B`, and the largest multiplicity among active members (for
        // the sign check).
        let (touched_norm, s_batch, max_count) = if via_complement {
            let [a, b] = batch.complement.unwrap_or([&[], &[]]);
            let outside =
                ca2 * (kernels::active_mass::<RELU>(&self.v, a) + kernels::active_mass::<RELU>(&self.v, b));
            (outside, (self.norm_active - outside).max(0.0), 1u32)
        } else if let Some(counts) = batch.multiplicity {
            let (mut touched, mut s) = (0.0, 0.0);
            let mut most = 1u32;
            for (&i, &m) in batch.members.iter().zip(counts) {
                if self.activation.is_active(self.v[i]) {
                    touched += self.v[i] * self.v[i];
                    s += f64::from(m) * self.v[i] * self.v[i];
                    most = most.max(m);
                }
            }
            (ca2 * touched, ca2 * s, most)
        } else {
            let touched = ca2 * kernels::active_mass::<RELU>(&self.v, batch.members);
            (touched, touched, 1u32)
        };
        let gamma = 1.0 - h * s_batch;
        let member_factor = gamma - base;
        // Every factor must be positive (false for NaN too): `gamma`, and `gamma - base m` for
        // each multiplicity `m` drawn, whose smallest is at `m = 1` or the largest count.
        let factors_positive = gamma > 0.0
            && member_factor > 0.0
            && (max_count == 1 || gamma - base * f64::from(max_count) > 0.0);
        if !factors_positive {
            self.fallback_step(batch, h, r, gamma);
            return;
        }

        // Second pass. Without repeats every active member gets the same factor, so the side
        // we touch is multiplied by one ratio; the norms follow in closed form:
        // members' squared norm times `member_factor^2`, everything else times `gamma^2`.
        let (gamma2, member2) = (gamma * gamma, member_factor * member_factor);
        self.norm_passive *= gamma2;
        self.scale_passive *= gamma;
        if via_complement {
            // Members get their factor through the active scale; the rest is corrected back.
            self.scale_active *= member_factor;
            let ratio = gamma / member_factor;
            let [a, b] = batch.complement.unwrap_or([&[], &[]]);
            kernels::scale_active::<RELU>(&mut self.v, a, ratio);
            kernels::scale_active::<RELU>(&mut self.v, b, ratio);
            self.norm_active = member2 * (self.norm_active - touched_norm) + gamma2 * touched_norm;
        } else if let Some(counts) = batch.multiplicity {
            self.scale_active *= gamma;
            let mut members_after = 0.0;
            for (&i, &m) in batch.members.iter().zip(counts) {
                if self.activation.is_active(self.v[i]) {
                    let (old, factor) = (self.v[i], gamma - base * f64::from(m));
                    self.v[i] = old * (factor / gamma);
                    members_after += factor * factor * old * old;
                }
            }
            self.norm_active = gamma2 * (self.norm_active - touched_norm) + ca2 * members_after;
        } else {
            self.scale_active *= gamma;
            kernels::scale_active::<RELU>(&mut self.v, batch.members, member_factor / gamma);
            self.norm_active = gamma2 * (self.norm_active - touched_norm) + member2 * touched_norm;
        }

        self.steps_since_fold += 1;
        if self.steps_since_fold >= self.fold_every
            || self.norm_active < ACTIVE_NORM_DROP * self.norm_active_at_fold
            || !(ACTIVE_SCALE_BAND.0..=ACTIVE_SCALE_BAND.1).contains(&self.scale_active)
            || !(PASSIVE_SCALE_BAND.0..=PASSIVE_SCALE_BAND.1).contains(&self.scale_passive)
        {
            self.fold();
        }
    }

    /// The exact O(n) step, used when a factor is not positive (signs may change).
    fn fallback_step(&mut self, batch: &Batch<'_>, h: f64, r: f64, gamma: f64) {
        self.fold();
        self.factors.fill(gamma);
        for (k, &i) in batch.members.iter().enumerate() {
            if self.activation.is_active(self.v[i]) {
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
        // One dispatch on the activation a step; the passes over the batch are specialised.
        match self.activation {
            Activation::Relu => self.step_as::<true>(batch),
            Activation::Linear => self.step_as::<false>(batch),
        }
    }

    fn norm_sq(&self) -> f64 {
        self.norm_active.max(0.0) + self.norm_passive
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
