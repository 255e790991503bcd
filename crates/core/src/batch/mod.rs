//! Mini-batch sampling for the four schedules of PAPER.md.
//!
//! Invariants: a batch always has exactly `b` draws (counting repeats under `Replacement`); a
//! draw costs O(min(b, n - b)) random numbers and never allocates after construction. For the
//! schedules without replacement the sampler also exposes the complement of the batch, so an
//! engine may update whichever side is smaller. Indices are drawn by the private `uniform`
//! module (exactly uniform, several from each random word). This module knows nothing of the
//! model.
//!
//! A batch is made in two phases: its random numbers are drawn, then applied to the sampler's
//! arrangement (swaps, counts or the next window). [`BatchSampler::next`] does both at once.
//! Inside the crate, the engines' runs of steps use the crate-private `BatchSampler::run`, which
//! hands each batch of a run to a step together with a `Lookahead`, through which the step may
//! draw the next batch's random numbers while it is still working on the current batch, so that
//! the processor overlaps the two. The random numbers, and their order in the stream, are the
//! same either way: each batch's numbers are drawn exactly once, after the previous batch's. A
//! sampler reads its generator a chunk of words ahead of its draws, so it owns the rest of the
//! generator's stream: draw nothing else from a generator once batches are drawn from it.

mod keystream;
mod uniform;

use crate::config::Schedule;
use rand::rngs::ChaCha8Rng;
use std::ops::ControlFlow;
use uniform::DrawPlan;
pub(crate) use uniform::SingleBound;

/// One mini-batch, borrowed from the sampler until the next draw.
#[derive(Debug, Clone, Copy)]
pub struct Batch<'a> {
    /// The distinct indices in the batch, in a deterministic order.
    pub members: &'a [usize],
    /// How often each member was drawn (`Replacement` only; otherwise every member counts once).
    pub multiplicity: Option<&'a [u32]>,
    /// The indices not in the batch, as two slices (schedules without replacement only).
    pub complement: Option<[&'a [usize]; 2]>,
    /// The batch size `b`: the number of draws the mean gradient divides by.
    pub size: usize,
}

impl Batch<'_> {
    /// How often `members[k]` was drawn.
    #[inline]
    pub fn count(&self, k: usize) -> u32 {
        self.multiplicity.map_or(1, |m| m[k])
    }

    /// The number of indices in the complement, or `usize::MAX` when it is not available.
    pub fn complement_len(&self) -> usize {
        self.complement.map_or(usize::MAX, |[a, b]| a.len() + b.len())
    }
}

/// Draws batches of size `b` from `0..n` under one schedule.
#[derive(Debug, Clone)]
pub struct BatchSampler {
    /// The random numbers of a batch (Random, Replacement) or of an epoch's shuffle (Epoch).
    draws: Draws,
    /// Where the draws are applied: the order of the points and the current batch.
    arrangement: Arrangement,
}

/// The random half of a sampler.
#[derive(Debug, Clone)]
struct Draws {
    /// Random: a partial shuffle of the smaller side; Replacement: `b` draws below `n`; Epoch: a
    /// full shuffle; empty for Cyclic.
    plan: DrawPlan,
    /// Whether `plan` holds the next batch's numbers, drawn ahead through a [`Lookahead`].
    ready: bool,
}

/// The deterministic half of a sampler: the state its draws are applied to.
#[derive(Debug, Clone)]
struct Arrangement {
    schedule: Schedule,
    n: usize,
    b: usize,
    /// A permutation of `0..n` (Random, Epoch) or `0..n` twice (Cyclic).
    order: Vec<usize>,
    /// Epoch: the end of the current window. Cyclic: the end of the current window, which may
    /// pass `n` (the next window wraps).
    position: usize,
    /// Scratch for `Replacement`: draw counts indexed by data point, all zero between draws.
    counts: Vec<u32>,
    distinct: Vec<usize>,
    distinct_counts: Vec<u32>,
}

/// The handle of [`BatchSampler::run`] on the sampler's random numbers, for the batch after the
/// current one.
pub(crate) struct Lookahead<'s, R: ?Sized> {
    plan: &'s mut DrawPlan,
    /// Whether `plan` holds the next batch's numbers (a local of the run, in a register).
    ready: &'s mut bool,
    rng: &'s mut R,
    /// Whether the run takes another batch and that batch needs random numbers.
    wanted: bool,
}

/// What [`BatchSampler::run`] hands each batch to: one step of a run. Closures are steppers;
/// an engine whose step must be inlined into the sampler's loop implements it on a type of its
/// own with an `#[inline(always)]` method (a closure's body may be left out of line).
pub(crate) trait Stepper<R: ?Sized> {
    /// Takes one step on `batch`; [`ControlFlow::Break`] ends the run after it.
    fn step(&mut self, batch: Batch<'_>, ahead: &mut Lookahead<'_, R>) -> ControlFlow<()>;
}

impl<R: ?Sized, F> Stepper<R> for F
where
    F: FnMut(Batch<'_>, &mut Lookahead<'_, R>) -> ControlFlow<()>,
{
    #[inline(always)]
    fn step(&mut self, batch: Batch<'_>, ahead: &mut Lookahead<'_, R>) -> ControlFlow<()> {
        self(batch, ahead)
    }
}

impl Lookahead<'_, ChaCha8Rng> {
    /// Draws the next batch's random numbers now, if the run takes a next batch and it needs
    /// any (otherwise, or if they were drawn already, nothing happens).
    ///
    /// If the current step then ends the run ([`ControlFlow::Break`]), the numbers stay with
    /// the sampler for its next batch: the batches are the same either way.
    #[inline(always)]
    pub(crate) fn draw_next(&mut self) {
        if self.wanted && !*self.ready {
            self.plan.draw_inlined(self.rng);
            *self.ready = true;
        }
    }
}

impl BatchSampler {
    /// A sampler of size-`b` batches from `0..n`; requires `1 <= b <= n < 2^32` (checked by the
    /// config).
    pub fn new(schedule: Schedule, n: usize, b: usize) -> Self {
        assert!(b >= 1 && b <= n, "batch size {b} outside 1..={n}: validate the config first");
        assert!(u32::try_from(n).is_ok(), "n = {n} is too large: validate the config first");
        let order = match schedule {
            Schedule::Cyclic => (0..n).chain(0..n).collect(),
            _ => (0..n).collect(),
        };
        let (counts, distinct, distinct_counts) = if schedule == Schedule::Replacement {
            (vec![0; n], Vec::with_capacity(b), Vec::with_capacity(b))
        } else {
            (Vec::new(), Vec::new(), Vec::new())
        };
        let plan = match schedule {
            Schedule::Random => DrawPlan::partial_shuffle(n, b.min(n - b)),
            Schedule::Replacement => DrawPlan::new(vec![n as u64; b]),
            Schedule::Epoch => DrawPlan::partial_shuffle(n, n),
            Schedule::Cyclic => DrawPlan::new(Vec::new()),
        };
        // Epoch and Cyclic start at the end of a pass, so the first batch starts a new one.
        let arrangement =
            Arrangement { schedule, n, b, order, position: n, counts, distinct, distinct_counts };
        Self { draws: Draws { plan, ready: false }, arrangement }
    }

    /// The batch size `b`.
    pub fn batch_size(&self) -> usize {
        self.arrangement.b
    }

    /// Whether batches are drawn with repeats (they then carry multiplicities and no
    /// complement).
    pub fn draws_repeats(&self) -> bool {
        self.arrangement.schedule == Schedule::Replacement
    }

    /// The length of every batch's complement, `n - b`, or `usize::MAX` when batches have none:
    /// what [`Batch::complement_len`] returns for each batch drawn.
    pub fn complement_len(&self) -> usize {
        if self.draws_repeats() { usize::MAX } else { self.arrangement.n - self.arrangement.b }
    }

    /// Draws the next batch (from numbers drawn ahead by the last run, if it left any).
    #[inline(always)]
    pub fn next(&mut self, rng: &mut ChaCha8Rng) -> Batch<'_> {
        if self.arrangement.next_needs_draws() && !self.draws.ready {
            self.draws.plan.draw(rng);
        }
        self.draws.ready = false;
        self.arrangement.apply(&self.draws.plan);
        self.arrangement.batch()
    }

    /// Up to `steps` batches, each handed to `stepper` with a [`Lookahead`] for the next one;
    /// stops after the first step that returns [`ControlFlow::Break`]. Returns the number of
    /// batches handed out, and the stepper. The batches are those of as many calls of
    /// [`BatchSampler::next`], from the same random numbers in the same order, whether or not
    /// the stepper draws ahead; so is the generator's position afterwards, unless the run
    /// stopped right after drawing ahead (see [`Lookahead::draw_next`]).
    #[inline(always)]
    pub(crate) fn run<S: Stepper<ChaCha8Rng>>(
        &mut self,
        rng: &mut ChaCha8Rng,
        steps: u64,
        stepper: S,
    ) -> (u64, S) {
        // The default schedule gets a loop of its own, without the dispatch on the schedule.
        if self.arrangement.schedule == Schedule::Random {
            self.run_as::<true, S>(rng, steps, stepper)
        } else {
            self.run_as::<false, S>(rng, steps, stepper)
        }
    }

    /// [`BatchSampler::run`]; `RANDOM` says that the schedule is [`Schedule::Random`].
    #[inline(always)]
    fn run_as<const RANDOM: bool, S: Stepper<ChaCha8Rng>>(
        &mut self,
        rng: &mut ChaCha8Rng,
        steps: u64,
        mut stepper: S,
    ) -> (u64, S) {
        let Self { draws, arrangement } = self;
        let needs_draws = |arrangement: &Arrangement| RANDOM || arrangement.next_needs_draws();
        let mut ready = draws.ready;
        let mut taken = 0;
        while taken < steps {
            if needs_draws(arrangement) && !ready {
                draws.plan.draw(rng);
            }
            ready = false;
            if RANDOM {
                draws.plan.swap_tail(&mut arrangement.order);
            } else {
                arrangement.apply(&draws.plan);
            }
            taken += 1;
            let wanted = taken < steps && needs_draws(arrangement);
            let mut ahead = Lookahead { plan: &mut draws.plan, ready: &mut ready, rng: &mut *rng, wanted };
            let batch = if RANDOM { arrangement.random_batch() } else { arrangement.batch() };
            if stepper.step(batch, &mut ahead).is_break() {
                break;
            }
        }
        draws.ready = ready;
        (taken, stepper)
    }
}

/// What a run of steps that needs only the index left out of each batch asks of its sampler:
/// the batches of the Random ([`LeftOut`]) or the Cyclic ([`CyclicLeftOut`]) schedule with
/// `b = n - 1 >= 2`, whose complement, one index, is the smaller side.
///
/// A batch is made in two phases, as by [`BatchSampler::next`]: its number is drawn (`draw`,
/// or `draw_new` with the sampler's `bound` when no number is kept), then applied (`apply`),
/// which returns the index left out. [`LeavesOneOut::next`] does both. `undo` takes back the
/// last batch made and keeps its number, so that the sampler is as it was before that draw.
pub(crate) trait LeavesOneOut {
    /// What `draw_new` needs of the sampler, the same for every batch.
    type Bound: Copy;

    /// The next batch; returns the index left out of it.
    #[inline(always)]
    fn next(&mut self, rng: &mut ChaCha8Rng) -> usize {
        let drawn = self.draw(rng);
        self.apply(drawn)
    }

    /// The number of the next batch: the one kept by [`LeavesOneOut::undo`] or by an earlier
    /// run's draw ahead, if there is one, otherwise a new one.
    fn draw(&mut self, rng: &mut ChaCha8Rng) -> u32;

    /// The bound of [`LeavesOneOut::draw_new`].
    fn bound(&self) -> Self::Bound;

    /// [`LeavesOneOut::draw`] when no number is kept (after a first `draw`, and without
    /// [`LeavesOneOut::undo`] since), with the sampler's [`LeavesOneOut::bound`].
    fn draw_new(&mut self, bound: Self::Bound, rng: &mut ChaCha8Rng) -> u32;

    /// Makes the next batch from its number `drawn`; returns the index left out of it.
    fn apply(&mut self, drawn: u32) -> usize;

    /// Takes back the batch made by `apply(drawn)`, the last one made, and keeps `drawn` for the
    /// next [`LeavesOneOut::draw`].
    fn undo(&mut self, drawn: u32);

    /// The members of the current batch: every index but the one left out.
    fn members(&self) -> &[usize];
}

/// The batches of the Random schedule with `b = n - 1`, one index left out of each:
/// [`BatchSampler::left_out`].
///
/// It makes the batches of [`BatchSampler::next`], from the same random words (the partial
/// shuffle of one position). It never draws ahead, and takes up a number drawn ahead by an
/// earlier run, so the batches are those of [`BatchSampler::next`] whatever came before.
pub(crate) struct LeftOut<'s> {
    plan: &'s mut DrawPlan,
    ready: &'s mut bool,
    order: &'s mut [usize],
}

impl LeavesOneOut for LeftOut<'_> {
    type Bound = SingleBound;

    #[inline(always)]
    fn draw(&mut self, rng: &mut ChaCha8Rng) -> u32 {
        if std::mem::take(self.ready) { self.plan.drawn()[0] } else { self.plan.draw_single(rng) }
    }

    #[inline(always)]
    fn bound(&self) -> SingleBound {
        self.plan.single_bound()
    }

    #[inline(always)]
    fn draw_new(&mut self, bound: SingleBound, rng: &mut ChaCha8Rng) -> u32 {
        debug_assert!(!*self.ready);
        self.plan.draw_single_by(bound, rng)
    }

    #[inline(always)]
    fn apply(&mut self, drawn: u32) -> usize {
        // The swap of `DrawPlan::swap_tail` for one position: `drawn <= last` by construction.
        let last = self.order.len() - 1;
        self.order.swap((drawn as usize).min(last), last);
        self.order[last]
    }

    fn undo(&mut self, drawn: u32) {
        let last = self.order.len() - 1;
        self.order.swap((drawn as usize).min(last), last);
        self.plan.keep_single(drawn);
        *self.ready = true;
    }

    #[inline(always)]
    fn members(&self) -> &[usize] {
        &self.order[..self.order.len() - 1]
    }
}

/// The batches of the Cyclic schedule with `b = n - 1`: [`BatchSampler::cyclic_left_out`].
///
/// It draws nothing: a batch's "number" is the window's end before the batch is made, so that
/// `undo` can put it back. The window moves as [`Arrangement::next_cyclic_window`] moves it, and
/// the index left out is the one after the window, the complement of [`Arrangement::batch`].
pub(crate) struct CyclicLeftOut<'s> {
    arrangement: &'s mut Arrangement,
}

impl LeavesOneOut for CyclicLeftOut<'_> {
    type Bound = ();

    #[inline(always)]
    fn draw(&mut self, rng: &mut ChaCha8Rng) -> u32 {
        self.draw_new((), rng)
    }

    #[inline(always)]
    fn bound(&self) {}

    #[inline(always)]
    fn draw_new(&mut self, (): (), _rng: &mut ChaCha8Rng) -> u32 {
        // `position < 2 n` and `n < 2^32` (validated): no truncation.
        self.arrangement.position as u32
    }

    #[inline(always)]
    fn apply(&mut self, _drawn: u32) -> usize {
        let Arrangement { position, order, n, b, .. } = &mut *self.arrangement;
        *position = cyclic_window_end(*position, *n, *b);
        // The complement of the window, `order[position..position + n - b]`: one index.
        order[*position]
    }

    fn undo(&mut self, drawn: u32) {
        self.arrangement.position = drawn as usize;
    }

    #[inline(always)]
    fn members(&self) -> &[usize] {
        self.arrangement.batch().members
    }
}

/// The end of the cyclic window of size `b` after the one that ends at `position` (at most
/// `n + b`, so that `0..n` twice holds the window whole).
#[inline(always)]
fn cyclic_window_end(position: usize, n: usize, b: usize) -> usize {
    (if position >= n { position - n } else { position }) + b
}

impl BatchSampler {
    /// The sampler as a [`LeftOut`], when its batches are those of the Random schedule with
    /// `b = n - 1 >= 2` (so that the complement, one index, is the smaller side).
    pub(crate) fn left_out(&mut self) -> Option<LeftOut<'_>> {
        let random = self.leaves_one_out() && self.arrangement.schedule == Schedule::Random;
        let Self { draws, arrangement } = self;
        random.then(|| {
            debug_assert!(draws.plan.draws_single());
            LeftOut { plan: &mut draws.plan, ready: &mut draws.ready, order: &mut arrangement.order }
        })
    }

    /// The sampler as a [`CyclicLeftOut`], when its batches are those of the Cyclic schedule
    /// with `b = n - 1 >= 2`.
    pub(crate) fn cyclic_left_out(&mut self) -> Option<CyclicLeftOut<'_>> {
        let cyclic = self.leaves_one_out() && self.arrangement.schedule == Schedule::Cyclic;
        cyclic.then_some(CyclicLeftOut { arrangement: &mut self.arrangement })
    }

    /// Whether [`BatchSampler::left_out`] or [`BatchSampler::cyclic_left_out`] gives a sampler
    /// that leaves one out.
    pub(crate) fn leaves_one_out(&self) -> bool {
        let (n, b) = (self.arrangement.n, self.arrangement.b);
        matches!(self.arrangement.schedule, Schedule::Random | Schedule::Cyclic) && b + 1 == n && b >= 2
    }

    /// The schedule.
    pub(crate) fn schedule(&self) -> Schedule {
        self.arrangement.schedule
    }
}

impl Arrangement {
    /// The current batch of the Random schedule: the end of `order` holds the smaller side.
    #[inline(always)]
    fn random_batch(&self) -> Batch<'_> {
        let (n, b) = (self.n, self.b);
        let (members, rest) = if b <= n - b {
            let (rest, members) = self.order.split_at(n - b);
            (members, rest)
        } else {
            self.order.split_at(b)
        };
        Batch { members, multiplicity: None, complement: Some([rest, &[]]), size: b }
    }

    /// Whether the next batch takes random numbers: always for Random and Replacement, at the
    /// start of each pass for Epoch, never for Cyclic.
    #[inline(always)]
    fn next_needs_draws(&self) -> bool {
        match self.schedule {
            Schedule::Random | Schedule::Replacement => true,
            Schedule::Epoch => self.position + self.b > self.n,
            Schedule::Cyclic => false,
        }
    }

    /// Moves to the next batch; `plan` holds its random numbers when
    /// [`Arrangement::next_needs_draws`].
    #[inline(always)]
    fn apply(&mut self, plan: &DrawPlan) {
        // The hot schedule inline (into an engine's run of steps); the others out of line, so
        // that a step of the default schedule does not pay for their stack frames.
        match self.schedule {
            // A partial shuffle leaves a uniform random subset of the requested size at the end
            // of the order in O(size) swaps: the smaller of the batch and its complement.
            Schedule::Random => plan.swap_tail(&mut self.order),
            Schedule::Replacement => self.count_draws(plan.drawn()),
            Schedule::Epoch => self.next_window(plan),
            Schedule::Cyclic => self.next_cyclic_window(),
        }
    }

    #[inline(never)]
    fn count_draws(&mut self, drawn: &[u32]) {
        self.distinct.clear();
        self.distinct_counts.clear();
        for &i in drawn {
            let i = i as usize;
            if self.counts[i] == 0 {
                self.distinct.push(i);
            }
            self.counts[i] += 1;
        }
        for &i in &self.distinct {
            self.distinct_counts.push(self.counts[i]);
            self.counts[i] = 0;
        }
    }

    #[inline(never)]
    fn next_window(&mut self, plan: &DrawPlan) {
        if self.position + self.b > self.n {
            plan.swap_tail(&mut self.order);
            self.position = 0;
        }
        self.position += self.b;
    }

    #[inline(never)]
    fn next_cyclic_window(&mut self) {
        self.position = cyclic_window_end(self.position, self.n, self.b);
    }

    /// The current batch.
    #[inline(always)]
    fn batch(&self) -> Batch<'_> {
        let (n, b) = (self.n, self.b);
        match self.schedule {
            Schedule::Random => self.random_batch(),
            Schedule::Replacement => Batch {
                members: &self.distinct,
                multiplicity: Some(&self.distinct_counts),
                complement: None,
                size: b,
            },
            Schedule::Epoch => {
                let (before, tail) = self.order.split_at(self.position - b);
                let (members, after) = tail.split_at(b);
                Batch { members, multiplicity: None, complement: Some([before, after]), size: b }
            }
            Schedule::Cyclic => {
                // `order` is 0..n twice, so any window of length n starting below n is contiguous.
                let start = self.position - b;
                let members = &self.order[start..start + b];
                let rest = &self.order[start + b..start + n];
                Batch { members, multiplicity: None, complement: Some([rest, &[]]), size: b }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use rand::rngs::ChaCha8Rng;

    fn check_partition(batch: &Batch<'_>, n: usize) {
        let mut seen = vec![0u32; n];
        for (k, &i) in batch.members.iter().enumerate() {
            seen[i] += batch.count(k);
        }
        assert_eq!(seen.iter().sum::<u32>() as usize, batch.size);
        if let Some([a, b]) = batch.complement {
            for &i in a.iter().chain(b) {
                assert_eq!(seen[i], 0, "index {i} is both in the batch and its complement");
                seen[i] = 1;
            }
            assert!(seen.iter().all(|&c| c == 1), "batch and complement do not cover 0..n");
        }
    }

    #[test]
    fn every_schedule_draws_b_and_partitions() {
        let mut rng = ChaCha8Rng::seed_from_u64(1);
        for schedule in [Schedule::Random, Schedule::Replacement, Schedule::Epoch, Schedule::Cyclic] {
            for n in [1, 2, 7, 10] {
                for b in 1..=n {
                    let mut sampler = BatchSampler::new(schedule, n, b);
                    let (complement_len, repeats) = (sampler.complement_len(), sampler.draws_repeats());
                    for _ in 0..50 {
                        let batch = sampler.next(&mut rng);
                        check_partition(&batch, n);
                        // What the sampler says of all its batches holds for each one.
                        assert_eq!(batch.complement_len(), complement_len, "{schedule} n={n} b={b}");
                        assert_eq!(batch.multiplicity.is_some(), repeats, "{schedule} n={n} b={b}");
                    }
                }
            }
        }
    }

    #[test]
    fn random_subsets_are_uniform() {
        // Each index should be in the batch with probability b/n, for b on both sides of n/2.
        let mut rng = ChaCha8Rng::seed_from_u64(2);
        let (n, draws) = (8usize, 40_000usize);
        for b in [1, 3, 6, 7] {
            let mut sampler = BatchSampler::new(Schedule::Random, n, b);
            let mut hits = vec![0usize; n];
            for _ in 0..draws {
                for &i in sampler.next(&mut rng).members {
                    hits[i] += 1;
                }
            }
            let p = b as f64 / n as f64;
            let sd = (draws as f64 * p * (1.0 - p)).sqrt();
            for &h in &hits {
                assert!((h as f64 - draws as f64 * p).abs() < 5.0 * sd, "b={b}: {hits:?}");
            }
        }
    }

    #[test]
    fn cyclic_visits_in_fixed_order() {
        let mut rng = ChaCha8Rng::seed_from_u64(3);
        let mut sampler = BatchSampler::new(Schedule::Cyclic, 5, 2);
        let seen: Vec<Vec<usize>> = (0..4).map(|_| sampler.next(&mut rng).members.to_vec()).collect();
        assert_eq!(seen, vec![vec![0, 1], vec![2, 3], vec![4, 0], vec![1, 2]]);
    }

    #[test]
    fn epoch_uses_each_point_once_per_epoch() {
        let mut rng = ChaCha8Rng::seed_from_u64(4);
        let mut sampler = BatchSampler::new(Schedule::Epoch, 9, 3);
        for _ in 0..5 {
            let mut seen: Vec<usize> = (0..3).flat_map(|_| sampler.next(&mut rng).members.to_vec()).collect();
            seen.sort_unstable();
            assert_eq!(seen, (0..9).collect::<Vec<_>>());
        }
    }

    /// A batch's members, multiplicities and complement, owned.
    type Contents = (Vec<usize>, Option<Vec<u32>>, Option<[Vec<usize>; 2]>);

    /// A batch's contents, for comparing batches drawn in different ways.
    fn contents(batch: &Batch<'_>) -> Contents {
        (
            batch.members.to_vec(),
            batch.multiplicity.map(<[u32]>::to_vec),
            batch.complement.map(|[a, b]| [a.to_vec(), b.to_vec()]),
        )
    }

    #[test]
    fn runs_that_draw_ahead_hand_out_the_batches_of_next() {
        // For every schedule and size: 64 batches from `next`, against the same 64 from runs of
        // uneven lengths whose steps draw the next batch ahead in an irregular pattern (never,
        // always, every third step), one of which stops early. Batches must agree exactly; the
        // generator must too, unless the run stopped right after drawing ahead (the numbers are
        // then kept for the next batch: the batches still agree).
        for schedule in [Schedule::Random, Schedule::Replacement, Schedule::Epoch, Schedule::Cyclic] {
            for n in [1, 2, 7, 10] {
                for b in 1..=n {
                    let case = format!("{schedule} n={n} b={b}");
                    let mut reference = BatchSampler::new(schedule, n, b);
                    let mut reference_rng = ChaCha8Rng::seed_from_u64(7);
                    let expected: Vec<_> =
                        (0..64).map(|_| contents(&reference.next(&mut reference_rng))).collect();

                    let mut sampler = BatchSampler::new(schedule, n, b);
                    let mut rng = ChaCha8Rng::seed_from_u64(7);
                    let mut seen = Vec::new();
                    for (chunk, (pattern, stop_at)) in [
                        (5u64, (0, None)),
                        (9, (1, None)),
                        (13, (3, Some(6))),
                        (17, (1, Some(4))),
                        (64, (2, None)),
                    ] {
                        let left = 64 - seen.len() as u64;
                        let mut step_in_run = 0;
                        let mut drew_ahead_at_stop = false;
                        let stepper = |batch: Batch<'_>, ahead: &mut Lookahead<'_, ChaCha8Rng>| {
                            step_in_run += 1;
                            check_partition(&batch, n);
                            seen.push(contents(&batch));
                            let draw = match pattern {
                                0 => false,
                                1 => true,
                                period => step_in_run % period == 0,
                            };
                            if draw {
                                ahead.draw_next();
                            }
                            if Some(step_in_run) == stop_at {
                                drew_ahead_at_stop = draw;
                                ControlFlow::Break(())
                            } else {
                                ControlFlow::Continue(())
                            }
                        };
                        let (taken, _) = sampler.run(&mut rng, chunk.min(left), stepper);
                        assert_eq!(
                            taken,
                            stop_at.map_or(chunk.min(left), |s| s.min(chunk.min(left))),
                            "{case}"
                        );
                        // With nothing drawn ahead of a stop, the generator is where `next` leaves it.
                        if !drew_ahead_at_stop || !sampler.arrangement.next_needs_draws() {
                            let mut replay = BatchSampler::new(schedule, n, b);
                            let mut replay_rng = ChaCha8Rng::seed_from_u64(7);
                            for _ in 0..seen.len() {
                                replay.next(&mut replay_rng);
                            }
                            assert_eq!(replay_rng.get_word_pos(), rng.get_word_pos(), "{case}: generator");
                        }
                        if seen.len() == 64 {
                            break;
                        }
                    }
                    assert_eq!(seen, expected, "{case}");
                }
            }
        }
    }
}
