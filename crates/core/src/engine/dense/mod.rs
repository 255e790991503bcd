//! The dense engine: `w` in ambient coordinates, any data; a step is `2b + 2` vector passes of
//! length `d` ([`kernels`]), the occasional state and stationarity queries use faer.
//!
//! Invariant: `norm_sq` is `||w||^2` of the current `w`, recomputed after every step. A step
//! allocates nothing. This engine does not sample batches or decide when to stop.
//!
//! Numerics: a component that decays geometrically passes into subnormal range, where a product
//! with a factor close to one can round back to the same value; it then stalls at a subnormal
//! (below `f64::MIN_POSITIVE`, finite) instead of reaching zero. The reduced engine, which
//! applies such decay through a scale, reaches exact zero.

use super::stationarity::{ambient_stationarity, orthonormal_stationarity};
use super::{Engine, IterateState, UpdateSet};
use crate::batch::Batch;
use crate::config::Activation;
use crate::data::Data;
use crate::model::sample_terms;
use faer::{Col, ColRef};

mod kernels;

/// SGD on `w` in `R^d`; a step costs O(b d).
#[derive(Debug, Clone)]
pub struct DenseEngine<'a> {
    data: &'a Data,
    activation: Activation,
    eta: f64,
    w: Vec<f64>,
    w0: Vec<f64>,
    norm_sq: f64,
    /// Scratch: each batch member's coordinate `u_k`, then its coefficient in the gradient.
    coef: Vec<f64>,
    /// Scratch: the non-zero terms `(-h m_k a_k, x_k)` of the update, in the first entries.
    terms: Vec<(f64, &'a [f64])>,
}

impl<'a> DenseEngine<'a> {
    /// Starts at `w0` (length `d`).
    pub fn new(data: &'a Data, activation: Activation, eta: f64, w0: &[f64]) -> Self {
        assert_eq!(w0.len(), data.d(), "initial point has the wrong dimension");
        let norm_sq = kernels::dot(w0, w0);
        Self {
            data,
            activation,
            eta,
            w: w0.to_vec(),
            w0: w0.to_vec(),
            norm_sq,
            coef: vec![0.0; data.n()],
            terms: vec![(0.0, &[][..]); data.n()],
        }
    }

    fn coords(&self) -> Vec<f64> {
        let u: Col<f64> = self.data.matrix().transpose() * ColRef::from_slice(&self.w);
        u.iter().copied().collect()
    }
}

impl Engine for DenseEngine<'_> {
    fn name(&self) -> &'static str {
        "dense"
    }

    fn step(&mut self, batch: &Batch<'_>) {
        let norms = self.data.norms_sq();
        let h = self.eta / batch.size as f64;
        // The coordinates of the members, two per pass over `w` (bit for bit the same as one
        // dot product each).
        let members = batch.members;
        for k in (0..members.len()).step_by(2) {
            let x = self.data.point(members[k]);
            if let Some(&next) = members.get(k + 1) {
                (self.coef[k], self.coef[k + 1]) = kernels::dot_pair(x, self.data.point(next), &self.w);
            } else {
                self.coef[k] = kernels::dot(x, &self.w);
            }
        }
        let mut s_batch = 0.0;
        for (k, &i) in members.iter().enumerate() {
            let m = f64::from(batch.count(k));
            let t = sample_terms(self.activation, self.coef[k], self.norm_sq, norms[i]);
            self.coef[k] = m * t.a;
            s_batch += m * t.s;
        }
        // w <- w - h (sum_k m_k a_k x_k + S_B w) = (1 - h S_B) w - h sum_k m_k a_k x_k.
        // Members with a zero coefficient (inactive ReLU samples) are skipped without a branch:
        // every term is written, and only non-zero ones advance the count.
        let mut count = 0;
        for (k, &i) in batch.members.iter().enumerate() {
            self.terms[count] = (-h * self.coef[k], self.data.point(i));
            count += usize::from(self.coef[k] != 0.0);
        }
        self.norm_sq = kernels::scale_add_norm(1.0 - h * s_batch, &self.terms[..count], &mut self.w);
    }

    fn norm_sq(&self) -> f64 {
        self.norm_sq
    }

    fn stationarity(&self, updates: UpdateSet) -> f64 {
        if self.data.is_orthonormal() {
            let u = self.coords();
            let perp = self.state_perp_sq(&u).sqrt();
            return orthonormal_stationarity(self.activation, &u, perp, updates);
        }
        ambient_stationarity(self.data, self.activation, &self.w, updates)
    }

    fn state(&self) -> IterateState {
        let u = self.coords();
        let r = self.norm_sq;
        let loss = u
            .iter()
            .zip(self.data.norms_sq())
            .map(|(&ui, &ci)| sample_terms(self.activation, ui, r, ci).loss)
            .sum::<f64>()
            / self.data.n() as f64;
        let perp_sq = self.data.is_orthonormal().then(|| self.state_perp_sq(&u));
        let dot_init = kernels::dot(&self.w, &self.w0);
        IterateState { u, norm_sq: r, perp_sq, dot_init, loss }
    }

    fn ambient(&self) -> Vec<f64> {
        self.w.clone()
    }
}

impl DenseEngine<'_> {
    /// `||w - X u||^2` for orthonormal data, computed from the residual vector itself.
    fn state_perp_sq(&self, u: &[f64]) -> f64 {
        let projection: Col<f64> = self.data.matrix() * ColRef::from_slice(u);
        (ColRef::from_slice(&self.w) - &projection).squared_norm_l2()
    }
}
