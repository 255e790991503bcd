//! Several reduced runs of one configuration advanced together in one thread.
//!
//! Runs of the Random schedule with `b = n - 1` (one index left out of every batch) are
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
use crate::batch::BatchSampler;
use crate::config::Activation;
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
    let activation = part[0].engine.activation;
    part.iter().all(|member| member.sampler.leaves_one_out() && member.engine.activation == activation)
}

/// Each member by [`Engine::advance`], one after the other.
fn advance_alone(members: &mut [GroupMember<'_, '_>], steps: u64, stop_above: f64) {
    for member in members {
        member.taken = member.engine.advance(member.sampler, member.rng, steps, stop_above);
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
        let taken = {
            let mut members = part.iter_mut();
            let mut padding = padding.as_mut();
            let mut lanes: [LeftOutLane<'_, '_>; PACKED_LANES] = std::array::from_fn(|_| {
                let (engine, sampler, rng) = match members.next() {
                    Some(member) => (&mut *member.engine, &mut *member.sampler, &mut *member.rng),
                    None => {
                        let (engine, sampler, rng) = padding.take().expect("one lane of padding");
                        (engine, sampler, rng)
                    }
                };
                let draws = sampler.left_out().expect("a sampler that leaves one out");
                LeftOutLane { engine, draws, rng }
            });
            if relu {
                left_out::avx::advance_four::<true>(&mut lanes, steps, stop_above)
            } else {
                left_out::avx::advance_four::<false>(&mut lanes, steps, stop_above)
            }
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
