//! Mini-batch sampling for the four schedules of PAPER.md.
//!
//! Invariants: a batch always has exactly `b` draws (counting repeats under `Replacement`); a
//! draw costs O(min(b, n - b)) random numbers and never allocates after construction. For the
//! schedules without replacement the sampler also exposes the complement of the batch, so an
//! engine may update whichever side is smaller. Indices are drawn by the private `uniform`
//! module (exactly uniform, several from each random word). This module knows nothing of the
//! model.

mod uniform;

use crate::config::Schedule;
use rand::Rng;
use uniform::DrawPlan;

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
    schedule: Schedule,
    n: usize,
    b: usize,
    /// A permutation of `0..n` (Random, Epoch) or `0..n` twice (Cyclic).
    order: Vec<usize>,
    /// The position of the next window (Epoch, Cyclic).
    position: usize,
    /// The draws of one batch (Random: a partial shuffle of the smaller side; Replacement: `b`
    /// draws below `n`) or of one epoch (Epoch: a full shuffle); empty for Cyclic.
    plan: DrawPlan,
    /// Scratch for `Replacement`: draw counts indexed by data point, all zero between draws.
    counts: Vec<u32>,
    distinct: Vec<usize>,
    distinct_counts: Vec<u32>,
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
        Self { schedule, n, b, order, position: n, plan, counts, distinct, distinct_counts }
    }

    /// The batch size `b`.
    pub fn batch_size(&self) -> usize {
        self.b
    }

    /// Whether batches are drawn with repeats (they then carry multiplicities and no
    /// complement).
    pub fn draws_repeats(&self) -> bool {
        self.schedule == Schedule::Replacement
    }

    /// The length of every batch's complement, `n - b`, or `usize::MAX` when batches have none:
    /// what [`Batch::complement_len`] returns for each batch drawn.
    pub fn complement_len(&self) -> usize {
        if self.draws_repeats() { usize::MAX } else { self.n - self.b }
    }

    /// Draws the next batch.
    #[inline(always)]
    pub fn next<R: Rng + ?Sized>(&mut self, rng: &mut R) -> Batch<'_> {
        // The hot schedule inline (into an engine's run of steps); the others out of line, so
        // that a step of the default schedule does not pay for their stack frames.
        match self.schedule {
            Schedule::Random => self.next_random(rng),
            Schedule::Replacement => self.next_with_replacement(rng),
            Schedule::Epoch => self.next_in_epoch(rng),
            Schedule::Cyclic => self.next_cyclic(),
        }
    }

    #[inline(always)]
    fn next_random<R: Rng + ?Sized>(&mut self, rng: &mut R) -> Batch<'_> {
        let (n, b) = (self.n, self.b);
        // A partial shuffle leaves a uniform random subset of the requested size at the end of
        // the slice in O(size) swaps; draw the smaller of the batch and its complement.
        self.plan.shuffle_tail(rng, &mut self.order);
        let (members, rest) = if b <= n - b {
            let (rest, members) = self.order.split_at(n - b);
            (members, rest)
        } else {
            self.order.split_at(b)
        };
        Batch { members, multiplicity: None, complement: Some([rest, &[]]), size: b }
    }

    #[inline(never)]
    fn next_with_replacement<R: Rng + ?Sized>(&mut self, rng: &mut R) -> Batch<'_> {
        self.distinct.clear();
        self.distinct_counts.clear();
        for &i in self.plan.draw(rng) {
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
        Batch {
            members: &self.distinct,
            multiplicity: Some(&self.distinct_counts),
            complement: None,
            size: self.b,
        }
    }

    #[inline(never)]
    fn next_in_epoch<R: Rng + ?Sized>(&mut self, rng: &mut R) -> Batch<'_> {
        let (n, b) = (self.n, self.b);
        if self.position + b > n {
            self.plan.shuffle_tail(rng, &mut self.order);
            self.position = 0;
        }
        let start = self.position;
        self.position += b;
        let (before, tail) = self.order.split_at(start);
        let (members, after) = tail.split_at(b);
        Batch { members, multiplicity: None, complement: Some([before, after]), size: b }
    }

    #[inline(never)]
    fn next_cyclic(&mut self) -> Batch<'_> {
        let (n, b) = (self.n, self.b);
        if self.position >= n {
            self.position -= n;
        }
        let start = self.position;
        self.position += b;
        // `order` is 0..n twice, so any window of length n starting below n is contiguous.
        let members = &self.order[start..start + b];
        let rest = &self.order[start + b..start + n];
        Batch { members, multiplicity: None, complement: Some([rest, &[]]), size: b }
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
}
