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

use super::stationarity::{orthonormal_stationarity, orthonormal_stationarity_unless_above};
use super::{Engine, IterateState, UpdateSet, stop_if_past};
use crate::batch::{Batch, BatchSampler, LeavesOneOut, Lookahead, Stepper};
use crate::config::Activation;
use crate::data::Data;
use crate::model::sample_terms;
use rand::rngs::ChaCha8Rng;
use std::ops::ControlFlow;

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

/// The per-step state besides `v`. A run of steps ([`Engine::advance`]) copies it into locals,
/// so that it stays in registers from one step to the next.
#[derive(Debug, Clone, Copy)]
struct Scales {
    /// `c_A`.
    active: f64,
    /// `c_P`.
    passive: f64,
    /// `sum_A u_i^2`, the squared norm of the active coordinates.
    norm_active: f64,
    /// `sum_P u_j^2 + p^2`, the squared norm of the passive group.
    norm_passive: f64,
    /// `norm_active` right after the last fold.
    norm_active_at_fold: f64,
    steps_since_fold: u64,
}

impl Scales {
    fn norm_sq(&self) -> f64 {
        self.norm_active.max(0.0) + self.norm_passive
    }
}

/// Which coordinates a step touches, a const parameter of [`fast_step`]: the batch's members,
/// the complement (when it is the smaller side) or the members with their draw counts
/// (sampling with replacement). It is fixed for a run, so a run of steps decides it once.
mod route {
    pub(super) const MEMBERS: u8 = 0;
    pub(super) const COMPLEMENT: u8 = 1;
    pub(super) const COUNTS: u8 = 2;
}

/// The route of a batch of `members` distinct indices, drawn with repeats or not, whose
/// complement has `complement_len` indices.
fn route_of(repeats: bool, complement_len: usize, members: usize) -> u8 {
    if repeats {
        route::COUNTS
    } else if complement_len < members {
        route::COMPLEMENT
    } else {
        route::MEMBERS
    }
}

/// The route of one batch.
fn batch_route(batch: &Batch<'_>) -> u8 {
    route_of(batch.multiplicity.is_some(), batch.complement_len(), batch.members.len())
}

/// Calls `function::<RELU, ROUTE>(args)` for a run-time activation and route: the one
/// dispatch of [`Engine::step`] and [`Engine::advance`], whose loops are then compiled for one
/// activation and one route.
macro_rules! specialised {
    ($activation:expr, $route:expr, $($function:ident)::+ ($($arg:expr),*)) => {
        match ($activation, $route) {
            (Activation::Relu, route::MEMBERS) => $($function)::+::<true, { route::MEMBERS }>($($arg),*),
            (Activation::Relu, route::COMPLEMENT) => $($function)::+::<true, { route::COMPLEMENT }>($($arg),*),
            (Activation::Relu, _) => $($function)::+::<true, { route::COUNTS }>($($arg),*),
            (Activation::Linear, route::MEMBERS) => $($function)::+::<false, { route::MEMBERS }>($($arg),*),
            (Activation::Linear, route::COMPLEMENT) => {
                $($function)::+::<false, { route::COMPLEMENT }>($($arg),*)
            }
            (Activation::Linear, _) => $($function)::+::<false, { route::COUNTS }>($($arg),*),
        }
    };
}

mod group;
mod left_out;

pub(crate) use group::{GroupMember, PACKED_LANES, advance_group};
use left_out::LeftOutLane;

/// What is left to do after [`fast_step`].
#[derive(Clone, Copy)]
enum StepEnd {
    /// Nothing: the step is done.
    Done,
    /// The step is done and a fold is due.
    Fold,
    /// Nothing was changed: some factor is not positive, so the exact O(n) step must be taken
    /// with this `gamma`.
    Fallback { gamma: f64 },
}

/// SGD in data coordinates on orthonormal data.
#[derive(Debug, Clone)]
pub struct ReducedEngine<'a> {
    data: &'a Data,
    activation: Activation,
    eta: f64,
    v: Vec<f64>,
    q: f64,
    scales: Scales,
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
            q: p0,
            scales: Scales {
                active: 1.0,
                passive: 1.0,
                norm_active: 0.0,
                norm_passive: 0.0,
                norm_active_at_fold: 0.0,
                steps_since_fold: 0,
            },
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
        self.q *= self.scales.passive;
        let (mut norm_active, mut norm_passive) = (0.0, self.q * self.q);
        for &vj in &self.v {
            if self.activation.is_active(vj) {
                norm_active += vj * vj;
            } else {
                norm_passive += vj * vj;
            }
        }
        self.scales = Scales {
            active: 1.0,
            passive: 1.0,
            norm_active,
            norm_passive,
            norm_active_at_fold: norm_active,
            steps_since_fold: 0,
        };
    }

    fn coordinate(&self, j: usize) -> f64 {
        let vj = self.v[j];
        vj * if self.activation.is_active(vj) { self.scales.active } else { self.scales.passive }
    }

    fn perp(&self) -> f64 {
        self.scales.passive * self.q
    }

    /// `eta / b`, divided once per batch size.
    fn h(&mut self, batch_size: usize) -> f64 {
        if batch_size != self.h_batch_size {
            self.h = self.eta / batch_size as f64;
            self.h_batch_size = batch_size;
        }
        self.h
    }

    /// Completes a step that [`fast_step`] left unfinished.
    ///
    /// It takes the batch's members and counts rather than the batch, so that the hot loop
    /// need not build a `Batch` in memory for this rarely taken call.
    #[cold]
    fn finish_step(&mut self, end: StepEnd, members: &[usize], counts: Option<&[u32]>, h: f64) {
        match end {
            StepEnd::Done => {}
            StepEnd::Fold => self.fold(),
            StepEnd::Fallback { gamma } => self.fallback_step(members, counts, h, gamma),
        }
    }

    /// [`ReducedEngine::finish_step`] for a run of steps that holds the scales in `scales`
    /// rather than in the engine: they go in before and come back after, when there is
    /// anything to finish.
    #[inline(always)]
    fn finish_held(
        &mut self,
        scales: &mut Scales,
        end: StepEnd,
        members: &[usize],
        counts: Option<&[u32]>,
        h: f64,
    ) {
        if !matches!(end, StepEnd::Done) {
            self.scales = *scales;
            self.finish_step(end, members, counts, h);
            *scales = self.scales;
        }
    }

    /// Up to `steps` steps with the scales held in locals; see [`Engine::advance`]. Every
    /// batch the sampler draws takes route `ROUTE`.
    #[inline(always)]
    fn advance_as<const RELU: bool, const ROUTE: u8>(
        &mut self,
        sampler: &mut BatchSampler,
        rng: &mut ChaCha8Rng,
        steps: u64,
        stop_above: f64,
    ) -> u64 {
        let (h, fold_every) = (self.h(sampler.batch_size()), self.fold_every);
        let run = RunOfSteps::<RELU, ROUTE> { scales: self.scales, engine: self, h, fold_every, stop_above };
        let (taken, run) = sampler.run(rng, steps, run);
        let scales = run.scales;
        self.scales = scales;
        taken
    }

    /// [`Engine::advance`] for a sampler that leaves one index out of each batch.
    fn advance_left_out<D: LeavesOneOut>(
        &mut self,
        draws: D,
        rng: &mut ChaCha8Rng,
        steps: u64,
        stop_above: f64,
    ) -> u64 {
        let activation = self.activation;
        let mut lane = LeftOutLane { engine: self, draws, rng };
        match activation {
            Activation::Relu => left_out::advance_one::<true, D>(&mut lane, steps, stop_above),
            Activation::Linear => left_out::advance_one::<false, D>(&mut lane, steps, stop_above),
        }
    }

    /// The exact O(n) step, used when a factor is not positive (signs may change).
    fn fallback_step(&mut self, members: &[usize], counts: Option<&[u32]>, h: f64, gamma: f64) {
        let r = self.norm_sq();
        self.fold();
        self.factors.fill(gamma);
        for (k, &i) in members.iter().enumerate() {
            if self.activation.is_active(self.v[i]) {
                let count = counts.map_or(1, |c| c[k]);
                self.factors[i] = gamma - h * f64::from(count) * (r - 2.0);
            }
        }
        for (vj, f) in self.v.iter_mut().zip(&self.factors) {
            *vj *= f;
        }
        self.q *= gamma;
        self.fold();
    }
}

/// A run of steps of [`Engine::advance`], handed each batch by [`BatchSampler::run`]: the
/// engine, with its scales and norms held here (in registers once inlined) until the run ends.
/// Every batch takes route `ROUTE`.
struct RunOfSteps<'r, 'd, const RELU: bool, const ROUTE: u8> {
    engine: &'r mut ReducedEngine<'d>,
    scales: Scales,
    h: f64,
    fold_every: u64,
    stop_above: f64,
}

impl<const RELU: bool, const ROUTE: u8> Stepper<ChaCha8Rng> for RunOfSteps<'_, '_, RELU, ROUTE> {
    /// One step, drawing the next batch's random numbers in the middle of it (see [`fast_step`]).
    #[inline(always)]
    fn step(&mut self, batch: Batch<'_>, ahead: &mut Lookahead<'_, ChaCha8Rng>) -> ControlFlow<()> {
        debug_assert_eq!(batch_route(&batch), ROUTE);
        let (v, h, fold_every) = (&mut self.engine.v, self.h, self.fold_every);
        let end = fast_step::<RELU, ROUTE>(&mut self.scales, v, &batch, h, fold_every, Some(ahead));
        self.engine.finish_held(&mut self.scales, end, batch.members, batch.multiplicity, self.h);
        stop_if_past(self.scales.norm_sq(), self.stop_above)
    }
}

/// One step on the scales and `v`, unless a factor is not positive; `RELU` says whether the
/// activation is ReLU, `ROUTE` is the batch's [`route`].
///
/// With a `lookahead` ([`Engine::advance`]) the next batch's random numbers are drawn as soon
/// as the step's factors are known: before the division's result is used and before the
/// rescaling pass over `v` (members, complement; with counts the members are rescaled first,
/// as their norm needs them), so that the processor overlaps the draw's multiplications with
/// them (drawing after the fold and stop tests instead measured 46 against 41 ns a step at
/// d = 100, b = 10, and at the top of the loop slower still; see `benches/README.md`). A step
/// that takes the fallback draws nothing ahead.
#[inline(always)]
fn fast_step<const RELU: bool, const ROUTE: u8>(
    s: &mut Scales,
    v: &mut [f64],
    batch: &Batch<'_>,
    h: f64,
    fold_every: u64,
    lookahead: Option<&mut Lookahead<'_, ChaCha8Rng>>,
) -> StepEnd {
    let ca2 = s.active * s.active;
    let r = s.norm_sq();
    let base = h * (r - 2.0);
    let via_complement = ROUTE == route::COMPLEMENT;
    let counts = if ROUTE == route::COUNTS { batch.multiplicity } else { None };

    // First pass: the squared norm of the active coordinates on the side we touch (ambient
    // units), the batch's `S_B`, and the largest multiplicity among active members (for the
    // sign check).
    let (touched_norm, s_batch, max_count) = if via_complement {
        let [a, b] = batch.complement.unwrap_or([&[], &[]]);
        let outside = ca2 * (kernels::active_mass::<RELU>(v, a) + kernels::active_mass::<RELU>(v, b));
        (outside, (s.norm_active - outside).max(0.0), 1u32)
    } else if let Some(counts) = counts {
        let (mut touched, mut sum) = (0.0, 0.0);
        let mut most = 1u32;
        for (&i, &m) in batch.members.iter().zip(counts) {
            if !RELU || v[i] > 0.0 {
                touched += v[i] * v[i];
                sum += f64::from(m) * v[i] * v[i];
                most = most.max(m);
            }
        }
        (ca2 * touched, ca2 * sum, most)
    } else {
        let touched = ca2 * kernels::active_mass::<RELU>(v, batch.members);
        (touched, touched, 1u32)
    };
    let gamma = 1.0 - h * s_batch;
    let member_factor = gamma - base;
    // Every factor must be positive (false for NaN too): `gamma`, and `gamma - base m` for each
    // multiplicity `m` drawn, whose smallest is at `m = 1` or the largest count.
    let factors_positive =
        gamma > 0.0 && member_factor > 0.0 && (max_count == 1 || gamma - base * f64::from(max_count) > 0.0);
    if !factors_positive {
        return StepEnd::Fallback { gamma };
    }

    // Second pass. Without repeats every active member gets the same factor, so the side we
    // touch is multiplied by one ratio; the norms follow in closed form: members' squared norm
    // times `member_factor^2`, everything else times `gamma^2`.
    let (gamma2, member2) = (gamma * gamma, member_factor * member_factor);
    s.norm_passive *= gamma2;
    s.passive *= gamma;
    // Without repeats, members get their factor through the active scale when the complement
    // is touched, and the complement gets it back through `ratio`; the other way round when
    // the members are touched. With repeats each member is rescaled here, by its own factor.
    let ratio = if let Some(counts) = counts {
        s.active *= gamma;
        let mut members_after = 0.0;
        for (&i, &m) in batch.members.iter().zip(counts) {
            if !RELU || v[i] > 0.0 {
                let (old, factor) = (v[i], gamma - base * f64::from(m));
                v[i] = old * (factor / gamma);
                members_after += factor * factor * old * old;
            }
        }
        s.norm_active = gamma2 * (s.norm_active - touched_norm) + ca2 * members_after;
        1.0
    } else if via_complement {
        s.active *= member_factor;
        s.norm_active = member2 * (s.norm_active - touched_norm) + gamma2 * touched_norm;
        gamma / member_factor
    } else {
        s.active *= gamma;
        s.norm_active = gamma2 * (s.norm_active - touched_norm) + member2 * touched_norm;
        member_factor / gamma
    };
    if let Some(ahead) = lookahead {
        ahead.draw_next();
    }
    if via_complement {
        let [a, b] = batch.complement.unwrap_or([&[], &[]]);
        kernels::scale_active::<RELU>(v, a, ratio);
        kernels::scale_active::<RELU>(v, b, ratio);
    } else if counts.is_none() {
        kernels::scale_active::<RELU>(v, batch.members, ratio);
    }
    fold_test(s, fold_every)
}

/// Counts a step since the last fold and says whether a fold is due.
#[inline(always)]
fn fold_test(s: &mut Scales, fold_every: u64) -> StepEnd {
    s.steps_since_fold += 1;
    if fold_due(s, fold_every) { StepEnd::Fold } else { StepEnd::Done }
}

/// Whether a fold is due after a step that left the scales `s` (its step counted).
#[inline(always)]
fn fold_due(s: &Scales, fold_every: u64) -> bool {
    s.steps_since_fold >= fold_every
        || s.norm_active < ACTIVE_NORM_DROP * s.norm_active_at_fold
        || !(ACTIVE_SCALE_BAND.0..=ACTIVE_SCALE_BAND.1).contains(&s.active)
        || !(PASSIVE_SCALE_BAND.0..=PASSIVE_SCALE_BAND.1).contains(&s.passive)
}

impl Engine for ReducedEngine<'_> {
    fn name(&self) -> &'static str {
        "reduced"
    }

    fn step(&mut self, batch: &Batch<'_>) {
        let h = self.h(batch.size);
        let (scales, v, fold_every) = (&mut self.scales, &mut self.v[..], self.fold_every);
        let end = specialised!(
            self.activation,
            batch_route(batch),
            fast_step(scales, v, batch, h, fold_every, None)
        );
        self.finish_step(end, batch.members, batch.multiplicity, h);
    }

    fn advance(
        &mut self,
        sampler: &mut BatchSampler,
        rng: &mut ChaCha8Rng,
        steps: u64,
        stop_above: f64,
    ) -> u64 {
        if let Some(draws) = sampler.left_out() {
            return self.advance_left_out(draws, rng, steps, stop_above);
        }
        if let Some(draws) = sampler.cyclic_left_out() {
            return self.advance_left_out(draws, rng, steps, stop_above);
        }
        // The route of every batch this sampler draws: its schedule and sizes fix it.
        let route = route_of(sampler.draws_repeats(), sampler.complement_len(), sampler.batch_size());
        specialised!(self.activation, route, Self::advance_as(self, sampler, rng, steps, stop_above))
    }

    fn norm_sq(&self) -> f64 {
        self.scales.norm_sq()
    }

    fn stationarity(&self, updates: UpdateSet) -> f64 {
        orthonormal_stationarity(self.activation, &self.coords(), self.perp().abs(), updates)
    }

    fn stationarity_unless_above(&self, updates: UpdateSet, floor: f64) -> f64 {
        orthonormal_stationarity_unless_above(
            self.activation,
            &self.coords(),
            self.perp().abs(),
            updates,
            floor,
        )
    }

    fn coords(&self) -> Vec<f64> {
        (0..self.v.len()).map(|j| self.coordinate(j)).collect()
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
