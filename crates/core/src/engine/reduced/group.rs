//! Several reduced runs of one configuration advanced together in one thread.
//!
//! Runs of the Random or the Cyclic schedule with `b = n - 1` (one index left out of every
//! batch; the four lanes share a schedule) are
//! stepped four at a time in the four places of a vector register where the processor has
//! AVX2 ([`super::left_out`]); every other run, and every run where there is no AVX2, is
//! advanced alone by [`Engine::advance`], one after the other. (Interleaving the general step
//! of several runs measured slower than running them one after the other, at every batch size:
//! see `benches/README.md`.)
//!
//! Each run takes exactly the steps of [`Engine::advance`] on its own, bit for bit. This module
//! neither decides when a run stops (that is [`crate::run`](mod@crate::run)'s) nor checks that
//! the runs share a configuration beyond what the packed loop needs.

use super::ReducedEngine;
use super::left_out::{self, LeftOutLane};
use crate::batch::{BatchSampler, LeavesOneOut};
use crate::config::{Activation, Schedule};
use crate::engine::Engine;
use rand::rngs::ChaCha8Rng;

/// How many runs the packed loop steps together.
pub(crate) const PACKED_LANES: usize = 4;

/// One run of a group, borrowed for one stretch of steps.
pub(crate) struct GroupMember<'m, 'd> {
    /// The run's engine.
    pub(crate) engine: &'m mut ReducedEngine<'d>,
    /// The run's sampler.
    pub(crate) sampler: &'m mut BatchSampler,
    /// The run's generator.
    pub(crate) rng: &'m mut ChaCha8Rng,
    /// Set by [`advance_group`]: the number of steps the run took.
    pub(crate) taken: u64,
}

/// [`Engine::advance`] on every member, each up to `steps` steps with its own sampler and
/// generator, stopping a member early after its first step past `stop_above`; sets each
/// member's `taken`. Bit for bit the same as advancing the members one after the other.
pub(crate) fn advance_group(members: &mut [GroupMember<'_, '_>], steps: u64, stop_above: f64) {
    for part in members.chunks_mut(PACKED_LANES) {
        // Three runs take the packed loop with a fourth lane of padding: three run-steps in the
        // time of four packed ones are still faster than three runs alone. One or two are not.
        let packed =
            part.len() + 1 >= PACKED_LANES && packable(part) && advance_packed(part, steps, stop_above);
        if !packed {
            advance_alone(part, steps, stop_above);
        }
    }
}

/// Whether the packed loop can take `part`: runs of one activation whose samplers leave one
/// index out of each batch.
fn packable(part: &[GroupMember<'_, '_>]) -> bool {
    let (activation, schedule) = (part[0].engine.activation, part[0].sampler.schedule());
    part.iter().all(|member| {
        member.sampler.leaves_one_out()
            && member.engine.activation == activation
            && member.sampler.schedule() == schedule
    })
}

/// Each member by [`Engine::advance`], one after the other.
fn advance_alone(members: &mut [GroupMember<'_, '_>], steps: u64, stop_above: f64) {
    for member in members {
        member.taken = member.engine.advance(member.sampler, member.rng, steps, stop_above);
    }
}

/// The four lanes of the packed loop: the members' runs, then the padding if there are three,
/// each with its batches as `left_out` gives them.
#[cfg(target_arch = "x86_64")]
fn packed_lanes<'l, 'd, D: LeavesOneOut>(
    part: &'l mut [GroupMember<'_, 'd>],
    mut padding: Option<(&'l mut ReducedEngine<'d>, &'l mut BatchSampler, &'l mut ChaCha8Rng)>,
    left_out: impl Fn(&'l mut BatchSampler) -> Option<D>,
) -> [LeftOutLane<'l, 'd, D>; PACKED_LANES] {
    let mut members = part.iter_mut();
    std::array::from_fn(|_| {
        let (engine, sampler, rng) = match members.next() {
            Some(member) => (&mut *member.engine, &mut *member.sampler, &mut *member.rng),
            None => padding.take().expect("one lane of padding"),
        };
        let draws = left_out(sampler).expect("a sampler that leaves one out");
        LeftOutLane { engine, draws, rng }
    })
}

/// The packed loop on `lanes`, for ReLU if `relu`; `None` where the processor cannot run it.
#[cfg(target_arch = "x86_64")]
fn advance_four<D: LeavesOneOut>(
    relu: bool,
    mut lanes: [LeftOutLane<'_, '_, D>; PACKED_LANES],
    steps: u64,
    stop_above: f64,
) -> Option<[u64; PACKED_LANES]> {
    if relu {
        left_out::avx::advance_four::<true, D>(&mut lanes, steps, stop_above)
    } else {
        left_out::avx::advance_four::<false, D>(&mut lanes, steps, stop_above)
    }
}

/// The packed loop on three or four [`packable`] members, the fourth lane of three being
/// padding whose steps are thrown away; false, with nothing done, where the processor cannot
/// run it.
fn advance_packed(part: &mut [GroupMember<'_, '_>], steps: u64, stop_above: f64) -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        debug_assert!(part.len() + 1 >= PACKED_LANES && part.len() <= PACKED_LANES);
        let relu = part[0].engine.activation == Activation::Relu;
        // The padding: the first member's engine and sampler, copied, with a generator of its
        // own (generators are not copied, so that no stream is ever drawn twice).
        let mut padding = (part.len() < PACKED_LANES).then(|| {
            (
                part[0].engine.clone(),
                part[0].sampler.clone(),
                <ChaCha8Rng as rand::SeedableRng>::seed_from_u64(0),
            )
        });
        let padding = padding.as_mut().map(|(engine, sampler, rng)| (engine, sampler, rng));
        let taken = if part[0].sampler.schedule() == Schedule::Cyclic {
            let lanes = packed_lanes(part, padding, |sampler| sampler.cyclic_left_out());
            advance_four(relu, lanes, steps, stop_above)
        } else {
            let lanes = packed_lanes(part, padding, |sampler| sampler.left_out());
            advance_four(relu, lanes, steps, stop_above)
        };
        let Some(taken) = taken else { return false };
        for (member, taken) in part.iter_mut().zip(taken) {
            member.taken = taken;
        }
        true
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        let _ = (part, steps, stop_above, Activation::Relu);
        false
    }
}
