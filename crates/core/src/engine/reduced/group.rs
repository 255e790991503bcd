//! Several reduced runs stepped in lockstep in one thread, so that their chains of dependent
//! operations overlap.
//!
//! A reduced step is a short chain of dependent floating-point operations (the batch's mass,
//! the factors, the rescaling, the norms), and at large batch sizes it is the chain's latency,
//! not the processor's width, that sets its time. Runs of one configuration are independent, so
//! here up to [`MAX_LANES`] of them take their steps in turn, one step each a round, from one
//! loop the compiler sees whole: the processor then works on several chains at once.
//!
//! Each run takes exactly the steps of [`Engine::advance`] on its own: the same step function
//! on the same batches, drawn from its own sampler and generator with the next batch drawn
//! ahead in the same place; only the order in which the runs' instructions are issued differs,
//! and the runs share no data. This module neither decides when a run stops (that is
//! [`crate::run`](mod@crate::run)'s) nor checks that the runs share a configuration beyond
//! what the loop needs: runs that differ in activation or in their batches' route are
//! advanced one after the other.

use super::{ReducedEngine, RunOfSteps, route, route_of};
use crate::batch::BatchSampler;
use crate::config::Activation;
use crate::engine::Engine;
use rand::rngs::ChaCha8Rng;

/// The most runs one lockstep loop steps together; a larger group is advanced in parts of at
/// most this many, one part after the other.
pub(crate) const MAX_LANES: usize = 8;

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

/// What selects a lockstep loop: the activation, the batches' route and whether the schedule
/// is the random one.
fn kind(member: &GroupMember<'_, '_>) -> (Activation, u8, bool) {
    let sampler = &*member.sampler;
    let route = route_of(sampler.draws_repeats(), sampler.complement_len(), sampler.batch_size());
    (member.engine.activation, route, sampler.is_random())
}

/// [`Engine::advance`] on every member, each up to `steps` steps with its own sampler and
/// generator, stopping a member early after its first step past `stop_above`; sets each
/// member's `taken`. Bit for bit the same as advancing the members one after the other.
pub(crate) fn advance_group(members: &mut [GroupMember<'_, '_>], steps: u64, stop_above: f64) {
    let alike = members.first().is_some_and(|first| {
        let first = kind(first);
        members.iter().all(|member| kind(member) == first)
    });
    if !alike {
        for member in members.iter_mut() {
            member.taken = member.engine.advance(member.sampler, member.rng, steps, stop_above);
        }
        return;
    }
    for part in members.chunks_mut(MAX_LANES) {
        let (activation, route, random) = kind(&part[0]);
        match activation {
            Activation::Relu => by_route::<true>(part, route, random, steps, stop_above),
            Activation::Linear => by_route::<false>(part, route, random, steps, stop_above),
        }
    }
}

/// The dispatch on the route, the schedule and the number of lanes (2, 4 or 8; a part of 3
/// runs takes the 4-lane loop with one lane empty, and so on). A single run takes the engine's
/// own loop, which keeps its state in registers.
fn by_route<const RELU: bool>(
    part: &mut [GroupMember<'_, '_>],
    route: u8,
    random: bool,
    steps: u64,
    stop_above: f64,
) {
    macro_rules! lanes {
        ($route:expr) => {
            match (part.len(), random) {
                (1, _) => {
                    let member = &mut part[0];
                    member.taken = member.engine.advance(member.sampler, member.rng, steps, stop_above);
                }
                (2, true) => lockstep::<RELU, { $route }, true, 2>(part, steps, stop_above),
                (2, false) => lockstep::<RELU, { $route }, false, 2>(part, steps, stop_above),
                (3 | 4, true) => lockstep::<RELU, { $route }, true, 4>(part, steps, stop_above),
                (3 | 4, false) => lockstep::<RELU, { $route }, false, 4>(part, steps, stop_above),
                (_, true) => lockstep::<RELU, { $route }, true, MAX_LANES>(part, steps, stop_above),
                (_, false) => lockstep::<RELU, { $route }, false, MAX_LANES>(part, steps, stop_above),
            }
        };
    }
    match route {
        route::MEMBERS => lanes!(route::MEMBERS),
        route::COMPLEMENT => lanes!(route::COMPLEMENT),
        _ => lanes!(route::COUNTS),
    }
}

/// One lane of [`lockstep`]: a run of steps of one engine, with its sampler and generator.
struct Lane<'l, 'd, const RELU: bool, const ROUTE: u8> {
    run: RunOfSteps<'l, 'd, RELU, ROUTE>,
    sampler: &'l mut BatchSampler,
    rng: &'l mut ChaCha8Rng,
}

/// Up to `steps` steps of each of the (at most `K`) members, one step of each a round, every
/// step the one of [`ReducedEngine::advance_as`]: scales in the lane between steps, the next
/// batch drawn ahead while the step finishes, a member leaving the loop after a step past
/// `stop_above`.
#[inline(never)]
fn lockstep<const RELU: bool, const ROUTE: u8, const RANDOM: bool, const K: usize>(
    part: &mut [GroupMember<'_, '_>],
    steps: u64,
    stop_above: f64,
) {
    let mut taken = [steps; K];
    {
        let mut members = part.iter_mut();
        let mut lanes: [Option<Lane<'_, '_, RELU, ROUTE>>; K] = std::array::from_fn(|_| {
            members.next().map(|member| {
                let h = member.engine.h(member.sampler.batch_size());
                let fold_every = member.engine.fold_every;
                let scales = member.engine.scales;
                Lane {
                    run: RunOfSteps { engine: &mut *member.engine, scales, h, fold_every, stop_above },
                    sampler: &mut *member.sampler,
                    rng: &mut *member.rng,
                }
            })
        });
        let mut unfinished = lanes.iter().filter(|lane| lane.is_some()).count();
        let mut step = 0;
        'steps: while step < steps {
            step += 1;
            let more = step < steps;
            for (slot, taken) in lanes.iter_mut().zip(&mut taken) {
                let Some(lane) = slot else { continue };
                let flow = lane.sampler.step_once::<RANDOM, _, _>(&mut *lane.rng, more, &mut lane.run);
                if flow.is_break() {
                    lane.run.engine.scales = lane.run.scales;
                    *taken = step;
                    *slot = None;
                    unfinished -= 1;
                    if unfinished == 0 {
                        break 'steps;
                    }
                }
            }
        }
        for lane in lanes.iter_mut().flatten() {
            lane.run.engine.scales = lane.run.scales;
        }
    }
    for (member, taken) in part.iter_mut().zip(taken) {
        member.taken = taken;
    }
}
