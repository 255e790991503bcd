//! Runs of steps at `b = n - 1` under the Random and Cyclic schedules: one run alone, or four
//! at once in the four places of an AVX register.
//!
//! A batch that leaves out one index `k` is the reduced step's cheapest case: the complement,
//! one coordinate, is the side it touches. Here that step is written out for one index
//! ([`step_left_out`]) and driven by a loop that draws nothing but `k` ([`LeavesOneOut`]: the
//! Random schedule's partial shuffle of one position, or the Cyclic schedule's index after the
//! window, which needs no random numbers at all): about 150
//! instructions a step against the general step's 240 ([`advance_one`], the engine's own loop
//! for such a sampler). Alone, a step is then the latency of its chain of dependent operations
//! (the norm, the factors, the norm again); [`avx::advance_four`] takes four independent runs'
//! steps in one register, about 97 instructions a run-step, with the next step's indices drawn
//! while the current step's arithmetic runs (`benches/README.md`, session 7).
//!
//! Each run's steps are bit for bit those of the general step on its own: the same operations
//! on the same values in the same order, the same random words (tested in `tests/engines.rs`
//! against `Engine::step` and in `tests/groups.rs` against runs alone). This module neither
//! decides when a run stops (that is [`crate::run`](mod@crate::run)'s) nor handles any other
//! batch size or schedule. The complement of a cyclic window is `[k]` and an empty slice, as
//! for Random, so the general step's arithmetic on it is the same.

#[cfg(target_arch = "x86_64")]
use super::{ACTIVE_NORM_DROP, ACTIVE_SCALE_BAND, PASSIVE_SCALE_BAND, fold_due};
use super::{ReducedEngine, Scales, StepEnd, fold_test};
use crate::batch::LeavesOneOut;
use crate::engine::stop_if_past;
use rand::rngs::ChaCha8Rng;

/// One run of a left-out loop, borrowed for one stretch of steps, with its batches `D`.
pub(crate) struct LeftOutLane<'l, 'd, D> {
    /// The run's engine.
    pub(crate) engine: &'l mut ReducedEngine<'d>,
    /// The run's batches.
    pub(crate) draws: D,
    /// The run's generator.
    pub(crate) rng: &'l mut ChaCha8Rng,
}

/// The step of `fast_step::<RELU, COMPLEMENT>` on the batch that leaves out `k` alone.
///
/// The general step's mass of the complement is `kernels::active_mass` over `[k]` plus the
/// same over an empty slice: `((0 + x^2) + 0) + (0 + 0)` plus `0`, which is `x^2` exactly, as
/// `x^2` is never `-0`. Everything after it is the general step's arithmetic with a maximal
/// multiplicity of one.
#[inline(always)]
fn step_left_out<const RELU: bool>(
    s: &mut Scales,
    v: &mut [f64],
    k: usize,
    h: f64,
    fold_every: u64,
) -> StepEnd {
    let ca2 = s.active * s.active;
    let r = s.norm_sq();
    let base = h * (r - 2.0);
    let vk = v[k];
    let x = if RELU { vk.max(0.0) } else { vk };
    let outside = ca2 * (x * x);
    let s_batch = (s.norm_active - outside).max(0.0);
    let gamma = 1.0 - h * s_batch;
    let member_factor = gamma - base;
    // False for NaN too, as in the general step.
    if !(gamma > 0.0 && member_factor > 0.0) {
        return StepEnd::Fallback { gamma };
    }
    let (gamma2, member2) = (gamma * gamma, member_factor * member_factor);
    s.norm_passive *= gamma2;
    s.passive *= gamma;
    s.active *= member_factor;
    s.norm_active = member2 * (s.norm_active - outside) + gamma2 * outside;
    let ratio = gamma / member_factor;
    // `kernels::scale_active` on one index.
    v[k] = if RELU { vk.max(0.0) * ratio + vk.min(0.0) } else { vk * ratio };
    fold_test(s, fold_every)
}

/// Up to `steps` steps of one run with its scales in `scales`, stopping after the first step
/// past `stop_above`; returns the number of steps taken.
#[inline(always)]
fn advance_one_with<const RELU: bool, D: LeavesOneOut>(
    lane: &mut LeftOutLane<'_, '_, D>,
    scales: &mut Scales,
    steps: u64,
    stop_above: f64,
) -> u64 {
    let batch_size = lane.draws.members().len();
    let (h, fold_every) = (lane.engine.h(batch_size), lane.engine.fold_every);
    for step in 1..=steps {
        let k = lane.draws.next(lane.rng);
        let end = step_left_out::<RELU>(scales, &mut lane.engine.v, k, h, fold_every);
        lane.engine.finish_held(scales, end, lane.draws.members(), None, h);
        if stop_if_past(scales.norm_sq(), stop_above).is_break() {
            return step;
        }
    }
    steps
}

/// Up to `steps` steps of one run, stopping after the first step past `stop_above`; returns
/// the number of steps taken. [`ReducedEngine::advance`] for a sampler that leaves one out.
#[inline(always)]
pub(super) fn advance_one<const RELU: bool, D: LeavesOneOut>(
    lane: &mut LeftOutLane<'_, '_, D>,
    steps: u64,
    stop_above: f64,
) -> u64 {
    let mut scales = lane.engine.scales;
    let taken = advance_one_with::<RELU, D>(lane, &mut scales, steps, stop_above);
    lane.engine.scales = scales;
    taken
}

/// Four lanes in the four places of one AVX register, where the processor has AVX2 (pulp's
/// `V3`, detected at run time).
///
/// The step's arithmetic is that of [`step_left_out`], one instruction for the four lanes each:
/// IEEE operations without fused multiply-add give the same bits in a vector as alone, and
/// `max(x, 0)` and `min(x, 0)` are `vmaxpd` and `vminpd` with `0` as the second operand, which
/// return that operand for a NaN or a zero of either sign, as the compiled `f64::max(x, 0.0)`
/// and `f64::min(x, 0.0)` do (the compiler must, for NaN). The next step's indices are drawn
/// while the current step's arithmetic runs. A step in which some lane takes the fallback,
/// folds or stops is finished lane by lane.
#[cfg(target_arch = "x86_64")]
pub(super) mod avx {
    use super::{
        ACTIVE_NORM_DROP, ACTIVE_SCALE_BAND, LeftOutLane, PASSIVE_SCALE_BAND, Scales, StepEnd,
        advance_one_with, fold_due, step_left_out,
    };
    use crate::batch::LeavesOneOut;
    use crate::engine::stop_if_past;
    use core::arch::x86_64::{__m256d, _CMP_GT_OQ, _CMP_LT_OQ, _CMP_NGE_UQ, _CMP_NLE_UQ, _CMP_UNORD_Q};
    use pulp::x86::V3;
    use rand::rngs::ChaCha8Rng;

    /// Up to `steps` steps of each of the four lanes, stopping a lane after its first step past
    /// `stop_above`; returns the number of steps each took, or `None` where the processor lacks
    /// AVX2.
    pub(in crate::engine::reduced) fn advance_four<const RELU: bool, D: LeavesOneOut>(
        lanes: &mut [LeftOutLane<'_, '_, D>; 4],
        steps: u64,
        stop_above: f64,
    ) -> Option<[u64; 4]> {
        let simd = V3::try_new()?;
        Some(simd.vectorize(Stretch::<'_, '_, '_, RELU, D> { simd, lanes, steps, stop_above }))
    }

    /// The stretch of [`advance_four`], as pulp's closure: compiled for AVX2 and called where it
    /// is available.
    struct Stretch<'r, 'l, 'd, const RELU: bool, D> {
        simd: V3,
        lanes: &'r mut [LeftOutLane<'l, 'd, D>; 4],
        steps: u64,
        stop_above: f64,
    }

    impl<const RELU: bool, D: LeavesOneOut> pulp::NullaryFnOnce for Stretch<'_, '_, '_, RELU, D> {
        type Output = [u64; 4];

        #[inline(always)]
        fn call(self) -> [u64; 4] {
            stretch::<RELU, D>(self.simd, self.lanes, self.steps, self.stop_above)
        }
    }

    /// The four lanes' scales and per-lane constants, one register for each.
    struct Packed {
        active: __m256d,
        passive: __m256d,
        norm_active: __m256d,
        norm_passive: __m256d,
        /// `ACTIVE_NORM_DROP * norm_active_at_fold`, the threshold of `fold_due`.
        norm_floor: __m256d,
        h: __m256d,
    }

    /// What ended a run of [`packed_steps`].
    enum Exit {
        /// The stretch's steps are all taken.
        Done,
        /// Some lane's factor is not positive: the current step is not taken.
        Refused,
        /// The current step is taken, and some lane folds or stops after it.
        Due,
    }

    #[inline(always)]
    fn lanes_of(x: __m256d) -> [f64; 4] {
        pulp::cast(x)
    }

    /// The next step's random number and index on every lane.
    #[inline(always)]
    fn draw_all<D: LeavesOneOut>(
        draws: &mut [&mut D; 4],
        rngs: &mut [&mut ChaCha8Rng; 4],
        bounds: &[D::Bound; 4],
        drawn: &mut [u32; 4],
        k: &mut [usize; 4],
    ) {
        for i in 0..4 {
            drawn[i] = draws[i].draw_new(bounds[i], rngs[i]);
            k[i] = draws[i].apply(drawn[i]);
        }
    }

    /// Steps of the four lanes with the scales in `s` while no lane takes the fallback, folds or
    /// stops, up to `*step == steps`; the current step's indices `k` (with their numbers `drawn`)
    /// are drawn on entry and on exit after a step that is not the last. Counts the steps in
    /// `step` and `rounds`.
    #[inline(always)]
    #[allow(clippy::too_many_arguments)]
    fn packed_steps<const RELU: bool, D: LeavesOneOut>(
        simd: V3,
        s: &mut Packed,
        lanes: &mut [LeftOutLane<'_, '_, D>; 4],
        (drawn, k): (&mut [u32; 4], &mut [usize; 4]),
        (step, steps): (&mut u64, u64),
        rounds: &mut u64,
        rounds_to_fold: u64,
        stop_above: f64,
    ) -> Exit {
        let avx = simd.avx;
        let [a, b, c, d] = lanes;
        let (v, mut draws, mut rngs) = (
            [&mut a.engine.v[..], &mut b.engine.v[..], &mut c.engine.v[..], &mut d.engine.v[..]],
            [&mut a.draws, &mut b.draws, &mut c.draws, &mut d.draws],
            [&mut *a.rng, &mut *b.rng, &mut *c.rng, &mut *d.rng],
        );
        let bounds: [D::Bound; 4] = std::array::from_fn(|i| draws[i].bound());
        let (zero, one, two) = (avx._mm256_setzero_pd(), avx._mm256_set1_pd(1.0), avx._mm256_set1_pd(2.0));
        let stop = avx._mm256_set1_pd(stop_above);
        let (active_low, active_high) =
            (avx._mm256_set1_pd(ACTIVE_SCALE_BAND.0), avx._mm256_set1_pd(ACTIVE_SCALE_BAND.1));
        let (passive_low, passive_high) =
            (avx._mm256_set1_pd(PASSIVE_SCALE_BAND.0), avx._mm256_set1_pd(PASSIVE_SCALE_BAND.1));
        let h = s.h;
        let gather = |v: &[&mut [f64]; 4], k: &[usize; 4]| {
            avx._mm256_setr_pd(v[0][k[0]], v[1][k[1]], v[2][k[2]], v[3][k[3]])
        };
        let mut vk = gather(&v, k);
        // The counts in locals, so that they stay in registers (the draws may call out of
        // line to refill their words), and back in `step` and `rounds` on exit.
        let (mut taken, mut taken_rounds) = (*step, *rounds);
        let exit = loop {
            if taken == steps {
                break Exit::Done;
            }
            let ca2 = avx._mm256_mul_pd(s.active, s.active);
            let r = avx._mm256_add_pd(avx._mm256_max_pd(s.norm_active, zero), s.norm_passive);
            let base = avx._mm256_mul_pd(h, avx._mm256_sub_pd(r, two));
            let x = if RELU { avx._mm256_max_pd(vk, zero) } else { vk };
            let outside = avx._mm256_mul_pd(ca2, avx._mm256_mul_pd(x, x));
            let s_batch = avx._mm256_max_pd(avx._mm256_sub_pd(s.norm_active, outside), zero);
            let gamma = avx._mm256_sub_pd(one, avx._mm256_mul_pd(h, s_batch));
            let member_factor = avx._mm256_sub_pd(gamma, base);
            let positive = avx._mm256_and_pd(
                avx._mm256_cmp_pd::<_CMP_GT_OQ>(gamma, zero),
                avx._mm256_cmp_pd::<_CMP_GT_OQ>(member_factor, zero),
            );
            if avx._mm256_movemask_pd(positive) != 0b1111 {
                break Exit::Refused;
            }
            taken += 1;
            taken_rounds += 1;
            let gamma2 = avx._mm256_mul_pd(gamma, gamma);
            let member2 = avx._mm256_mul_pd(member_factor, member_factor);
            s.norm_passive = avx._mm256_mul_pd(s.norm_passive, gamma2);
            s.passive = avx._mm256_mul_pd(s.passive, gamma);
            s.active = avx._mm256_mul_pd(s.active, member_factor);
            s.norm_active = avx._mm256_add_pd(
                avx._mm256_mul_pd(member2, avx._mm256_sub_pd(s.norm_active, outside)),
                avx._mm256_mul_pd(gamma2, outside),
            );
            let ratio = avx._mm256_div_pd(gamma, member_factor);
            let scaled = if RELU {
                avx._mm256_add_pd(
                    avx._mm256_mul_pd(avx._mm256_max_pd(vk, zero), ratio),
                    avx._mm256_min_pd(vk, zero),
                )
            } else {
                avx._mm256_mul_pd(vk, ratio)
            };
            // The next step's draws (none after the stretch's last step), then this step's
            // values, then the next step's values: after the stores, as an index may come again.
            let this = *k;
            let more = taken < steps;
            if more {
                draw_all(&mut draws, &mut rngs, &bounds, drawn, k);
            }
            let scaled = lanes_of(scaled);
            for i in 0..4 {
                v[i][this[i]] = scaled[i];
            }
            vk = gather(&v, k);
            // `fold_due` but for the count, and `past_bound`.
            let norm_sq = avx._mm256_add_pd(avx._mm256_max_pd(s.norm_active, zero), s.norm_passive);
            let out_of_band = |x: __m256d, low: __m256d, high: __m256d| {
                avx._mm256_or_pd(
                    avx._mm256_cmp_pd::<_CMP_NGE_UQ>(x, low),
                    avx._mm256_cmp_pd::<_CMP_NLE_UQ>(x, high),
                )
            };
            let due = avx._mm256_or_pd(
                avx._mm256_or_pd(
                    avx._mm256_cmp_pd::<_CMP_LT_OQ>(s.norm_active, s.norm_floor),
                    out_of_band(s.active, active_low, active_high),
                ),
                avx._mm256_or_pd(
                    out_of_band(s.passive, passive_low, passive_high),
                    avx._mm256_or_pd(
                        avx._mm256_cmp_pd::<_CMP_UNORD_Q>(norm_sq, norm_sq),
                        avx._mm256_cmp_pd::<_CMP_GT_OQ>(norm_sq, stop),
                    ),
                ),
            );
            if avx._mm256_movemask_pd(due) != 0 || taken_rounds >= rounds_to_fold {
                break Exit::Due;
            }
        };
        (*step, *rounds) = (taken, taken_rounds);
        exit
    }

    #[inline(always)]
    fn stretch<const RELU: bool, D: LeavesOneOut>(
        simd: V3,
        lanes: &mut [LeftOutLane<'_, '_, D>; 4],
        steps: u64,
        stop_above: f64,
    ) -> [u64; 4] {
        let avx = simd.avx;
        let pack = |f: &dyn Fn(usize) -> f64| avx._mm256_setr_pd(f(0), f(1), f(2), f(3));
        let mut scales: [Scales; 4] = std::array::from_fn(|i| lanes[i].engine.scales);
        let h: [f64; 4] = std::array::from_fn(|i| {
            let batch_size = lanes[i].draws.members().len();
            lanes[i].engine.h(batch_size)
        });
        let fold_every: [u64; 4] = std::array::from_fn(|i| lanes[i].engine.fold_every);
        let mut taken = [steps; 4];
        let mut stopped = [false; 4];
        let mut step = 0;
        // The current step's random numbers and indices, drawn before its arithmetic;
        // `ahead` says that they are drawn.
        let (mut drawn, mut k, mut ahead) = ([0u32; 4], [0usize; 4], false);
        while step < steps {
            if !ahead {
                // The first draw of a lane takes up a number kept in its sampler, if any.
                for i in 0..4 {
                    let draws = &mut lanes[i].draws;
                    drawn[i] = draws.draw(lanes[i].rng);
                    k[i] = draws.apply(drawn[i]);
                }
            }
            // Drawn now: every exit of `packed_steps` below says whether the next step is.
            let mut s = Packed {
                active: pack(&|i| scales[i].active),
                passive: pack(&|i| scales[i].passive),
                norm_active: pack(&|i| scales[i].norm_active),
                norm_passive: pack(&|i| scales[i].norm_passive),
                norm_floor: pack(&|i| ACTIVE_NORM_DROP * scales[i].norm_active_at_fold),
                h: pack(&|i| h[i]),
            };
            let since_fold: [u64; 4] = std::array::from_fn(|i| scales[i].steps_since_fold);
            let rounds_to_fold =
                (0..4).map(|i| fold_every[i].saturating_sub(since_fold[i])).min().unwrap_or(0);
            let mut rounds = 0;
            let exit = packed_steps::<RELU, D>(
                simd,
                &mut s,
                lanes,
                (&mut drawn, &mut k),
                (&mut step, steps),
                &mut rounds,
                rounds_to_fold,
                stop_above,
            );
            let (a, p, na, np) =
                (lanes_of(s.active), lanes_of(s.passive), lanes_of(s.norm_active), lanes_of(s.norm_passive));
            for i in 0..4 {
                (scales[i].active, scales[i].passive) = (a[i], p[i]);
                (scales[i].norm_active, scales[i].norm_passive) = (na[i], np[i]);
                scales[i].steps_since_fold = since_fold[i] + rounds;
            }
            let mut any_stopped = false;
            match exit {
                // The stretch's last step drew nothing ahead.
                Exit::Done => {
                    ahead = false;
                    break;
                }
                Exit::Refused => {
                    // The step lane by lane, from the same state and indices.
                    step += 1;
                    ahead = false;
                    for i in 0..4 {
                        let lane = &mut lanes[i];
                        let end = step_left_out::<RELU>(
                            &mut scales[i],
                            &mut lane.engine.v,
                            k[i],
                            h[i],
                            fold_every[i],
                        );
                        lane.engine.finish_held(&mut scales[i], end, lane.draws.members(), None, h[i]);
                        any_stopped |= stop_if_past(scales[i].norm_sq(), stop_above).is_break();
                    }
                }
                Exit::Due => {
                    // `packed_steps` drew the next step's indices unless the stretch is done.
                    ahead = step < steps;
                    for i in 0..4 {
                        if fold_due(&scales[i], fold_every[i]) {
                            let lane = &mut lanes[i];
                            lane.engine.finish_held(
                                &mut scales[i],
                                StepEnd::Fold,
                                lane.draws.members(),
                                None,
                                h[i],
                            );
                        }
                        any_stopped |= stop_if_past(scales[i].norm_sq(), stop_above).is_break();
                    }
                }
            }
            if any_stopped {
                for i in 0..4 {
                    if stop_if_past(scales[i].norm_sq(), stop_above).is_break() {
                        (taken[i], stopped[i]) = (step, true);
                    }
                }
                break;
            }
        }
        if ahead {
            // Stopped with the next step drawn: its numbers go back to the samplers.
            for (lane, &drawn) in lanes.iter_mut().zip(&drawn) {
                lane.draws.undo(drawn);
            }
        }
        // After a stop, the other lanes finish the stretch one after the other.
        for ((lane, scales), (taken, stopped)) in
            lanes.iter_mut().zip(&mut scales).zip(taken.iter_mut().zip(stopped))
        {
            if !stopped && step < steps {
                *taken = step + advance_one_with::<RELU, D>(lane, scales, steps - step, stop_above);
            }
            lane.engine.scales = *scales;
        }
        taken
    }
}
