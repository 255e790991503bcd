//! The dense engine: `w` in ambient coordinates, any data; a step is about `b/2 + 1` passes
//! over `w` ([`kernels`]: member coordinates two at a time, then one fused update), run with
//! the widest SIMD instruction set found at run time; the occasional state and stationarity
//! queries use faer.
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
    /// The instruction set the step runs with, detected once.
    arch: pulp::Arch,
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
            arch: pulp::Arch::new(),
        }
    }
}

impl Engine for DenseEngine<'_> {
    fn name(&self) -> &'static str {
        "dense"
    }

    fn step(&mut self, batch: &Batch<'_>) {
        // The kernels are inlined into a function compiled for the widest instruction set
        // this processor has (pulp's runtime dispatch); the arithmetic, and so the result, is
        // the same on every path (no fused multiply-add, the same order of additions).
        let arch = self.arch;
        arch.dispatch(StepOp { engine: self, batch });
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

    fn coords(&self) -> Vec<f64> {
        let u: Col<f64> = self.data.matrix().transpose() * ColRef::from_slice(&self.w);
        u.iter().copied().collect()
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
    /// The step itself; inlined into the SIMD dispatch of [`Engine::step`].
    #[inline(always)]
    fn step_body(&mut self, batch: &Batch<'_>) {
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
        for (k, &i) in members.iter().enumerate() {
            self.terms[count] = (-h * self.coef[k], self.data.point(i));
            count += usize::from(self.coef[k] != 0.0);
        }
        self.norm_sq = kernels::scale_add_norm(1.0 - h * s_batch, &self.terms[..count], &mut self.w);
    }

    /// `||w - X u||^2` for orthonormal data, computed from the residual vector itself.
    fn state_perp_sq(&self, u: &[f64]) -> f64 {
        let projection: Col<f64> = self.data.matrix() * ColRef::from_slice(u);
        (ColRef::from_slice(&self.w) - &projection).squared_norm_l2()
    }
}

/// One dense step as a pulp operation: `with_simd` is inlined into the dispatched function, so
/// the plain loops of the kernels are compiled for the instruction set found at run time.
struct StepOp<'e, 'a, 'b> {
    engine: &'e mut DenseEngine<'a>,
    batch: &'e Batch<'b>,
}

impl pulp::WithSimd for StepOp<'_, '_, '_> {
    type Output = ();

    #[inline(always)]
    fn with_simd<S: pulp::Simd>(self, _simd: S) {
        self.engine.step_body(self.batch);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::batch::BatchSampler;
    use crate::config::Schedule;
    use rand::SeedableRng;
    use rand::rngs::ChaCha8Rng;

    #[test]
    fn every_instruction_set_gives_the_same_iterates_bit_for_bit() {
        // The dispatched path (AVX2 where the processor has it) against the scalar fallback,
        // on data of every shape the kernels split: d a multiple of 8 or not, b odd or even.
        for (n, d, b) in [(7, 13, 3), (10, 64, 4), (12, 101, 7)] {
            let mut rng = ChaCha8Rng::seed_from_u64(5);
            let data = Data::gaussian(n, d, &mut rng).expect("valid sizes");
            let w0: Vec<f64> = (0..d).map(|k| ((k * 37 % 11) as f64 - 5.0) / 20.0).collect();
            let mut detected = DenseEngine::new(&data, Activation::Relu, 0.05, &w0);
            let mut scalar = DenseEngine::new(&data, Activation::Relu, 0.05, &w0);
            scalar.arch = pulp::Arch::Scalar;
            let mut sampler = BatchSampler::new(Schedule::Random, n, b);
            for _ in 0..2000 {
                let batch = sampler.next(&mut rng);
                detected.step(&batch);
                scalar.step(&batch);
            }
            let bits = |w: &[f64]| w.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
            assert_eq!(bits(&detected.w), bits(&scalar.w), "n={n} d={d} b={b} ({:?})", detected.arch);
            assert_eq!(detected.norm_sq.to_bits(), scalar.norm_sq.to_bits());
        }
    }
}
