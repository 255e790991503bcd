//! Uniform random indices, several from each 64-bit random word (batched Lemire method).
//!
//! `rand`'s `partial_shuffle` draws its indices through a chooser that divides once per index;
//! at the batch sizes of this project that division, and a generator call per index, were most
//! of the cost of a step (see `benches/README.md`). Here a run of consecutive bounds
//! `m_1, ..., m_k` whose product `P` is at most [`GROUP_PRODUCT_LIMIT`] shares one word `r`:
//! Lemire's method ("Fast random integer generation in an interval", ACM TOMACS 29(1), 2019)
//! maps `r` to `floor(r P / 2^64)`, exactly uniform on `0..P` once words with
//! `r P mod 2^64 < 2^64 mod P` are rejected, and the digits of that number in the mixed radix
//! `(m_1, ..., m_k)` come out one multiplication each: `(x_1, r_1) = (hi, lo)(r m_1)`,
//! `(x_2, r_2) = (hi, lo)(r_1 m_2)`, ... (Brackett-Rozinsky and Lemire, "Batched ranged random
//! integer generation", arXiv:2408.06213).
//!
//! Invariants: every tuple of draws is exactly uniform (rejection, not approximation), which
//! the tests check exhaustively on a 12-bit word; words are taken from the generator's stream
//! in order, one per group, so the indices depend only on that stream and the bounds. The
//! words are fetched [`CHUNK_WORDS`] at a time ([`Words`], computed by the private `keystream`
//! module), the same words as one `next_u64` call each (tested), so the generator runs ahead of
//! the draws by less than a chunk: a plan owns the rest of its generator's stream. Bounds are
//! at least 1 and below `2^32` (the sizes are validated). This module draws indices and nothing
//! else.

use super::keystream::{self, CHUNK_WORDS};
use rand::Rng;
use rand::rngs::ChaCha8Rng;
use std::cell::Cell;

/// The largest product of bounds that shares one word. A group of bounds with product `P`
/// rejects a word with probability `(2^64 mod P) / 2^64 < 2^-16` under this limit.
const GROUP_PRODUCT_LIMIT: u64 = 1 << 48;

/// The generator's 64-bit words, a chunk of [`CHUNK_WORDS`] at a time.
///
/// A draw then takes its words from memory, and the refill (a function call, rare but inside
/// the loop) stays out of the hot path, so the compiler does not keep a caller's floating-point
/// state in memory around it (40.7 -> 38.6 ns a reduced step, see `benches/README.md`). The
/// chunk is computed by [`keystream::chunk`] from the generator's key, stream and position, and
/// the generator is then moved past it: the words are those of `next_u64` calls, in order.
#[derive(Debug, Clone)]
struct Words {
    /// The chunk, in stream order.
    block: [u64; CHUNK_WORDS],
    /// The next word of the chunk to hand out (`CHUNK_WORDS`: none left).
    next: usize,
}

impl Words {
    fn new() -> Self {
        Self { block: [0; CHUNK_WORDS], next: CHUNK_WORDS }
    }

    /// The next word of the generator's stream: what `rng.next_u64()` would have returned.
    #[inline(always)]
    fn next(&mut self, rng: &mut ChaCha8Rng) -> u64 {
        let mut next = self.next;
        if next >= CHUNK_WORDS {
            next = self.refill(rng) % CHUNK_WORDS;
        }
        // `next < CHUNK_WORDS` on both paths: no bounds check.
        let word = self.block[next];
        self.next = next + 1;
        word
    }

    /// The next chunk; returns the first word to hand out.
    ///
    /// `next_u64` reads two 32-bit outputs, low first. Where the generator stands at an even
    /// output, those are the two halves of one 64-bit word of a block, so the chunk starts at
    /// the generator's block, its words before the generator's position are skipped, and the
    /// generator is set to the block after the chunk (a position at a block's start, which the
    /// generator takes without computing anything). At an odd output (a caller drew a 32-bit
    /// number first), or without AVX2, the words come from `next_u64` itself.
    #[cold]
    #[inline(never)]
    fn refill(&mut self, rng: &mut ChaCha8Rng) -> usize {
        const BLOCK: u128 = keystream::BLOCK_WORDS as u128;
        let (key, position) = keystream::position(rng);
        let block = (position / BLOCK) as u64;
        if position % 2 == 0 && keystream::chunk(&key, block, &mut self.block) {
            let after = block.wrapping_add(keystream::CHUNK_BLOCKS as u64);
            rng.set_word_pos(u128::from(after) * BLOCK);
            return (position % BLOCK) as usize / 2;
        }
        for word in &mut self.block {
            *word = rng.next_u64();
        }
        0
    }
}

/// `2^BITS mod product`: words whose `r P mod 2^BITS` falls below it are rejected.
fn rejection_threshold<const BITS: u32>(product: u64) -> u64 {
    ((1u128 << BITS) % u128::from(product)) as u64
}

/// Whether the word `word` (of `BITS` bits) gives an unbiased draw for a range of size `product`.
#[inline]
fn accepts<const BITS: u32>(word: u64, product: u64, threshold: u64) -> bool {
    let mask = u64::MAX >> (64 - BITS);
    word.wrapping_mul(product) & mask >= threshold
}

/// The mixed-radix digits of an accepted word: for each `(bound, slot)` in order, the next
/// digit (in `0..bound`) is written to `slot`.
#[inline(always)]
fn digits<'s, const BITS: u32>(word: u64, pairs: impl Iterator<Item = (&'s u64, &'s mut u32)>) {
    let mask = u64::MAX >> (64 - BITS);
    let mut rest = word;
    for (&bound, slot) in pairs {
        let product = u128::from(rest) * u128::from(bound);
        *slot = (product >> BITS) as u32;
        rest = product as u64 & mask;
    }
}

/// A run of `len` consecutive bounds drawn from one word.
#[derive(Debug, Clone)]
struct Group {
    len: usize,
    product: u64,
    threshold: u64,
}

/// The one bound of a plan that draws one index: see [`DrawPlan::draw_single_by`].
#[derive(Debug, Clone, Copy)]
pub(crate) struct SingleBound {
    product: u64,
    threshold: u64,
}

/// A fixed sequence of bounds, split once into groups that share a word, so that drawing does
/// no divisions and no bookkeeping beyond one multiplication per index.
#[derive(Debug, Clone)]
pub(crate) struct DrawPlan {
    words: Words,
    bounds: Vec<u64>,
    groups: Vec<Group>,
    /// The indices of the last draw.
    scratch: Vec<u32>,
}

impl DrawPlan {
    /// A plan for independent draws, the `k`-th uniform in `0..bounds[k]`. Every bound must be
    /// in `1..2^32` (the sizes are validated), so every group has at least one bound.
    pub(crate) fn new(bounds: Vec<u64>) -> Self {
        assert!(bounds.iter().all(|&m| (1..=u64::from(u32::MAX)).contains(&m)), "bounds outside 1..2^32");
        let mut groups = Vec::new();
        let mut first = 0;
        while first < bounds.len() {
            // The longest run of bounds from `first` whose product stays within the limit.
            let mut product = bounds[first];
            let mut end = first + 1;
            while let Some(p) = bounds.get(end).and_then(|&m| product.checked_mul(m)) {
                if p > GROUP_PRODUCT_LIMIT {
                    break;
                }
                product = p;
                end += 1;
            }
            groups.push(Group { len: end - first, product, threshold: rejection_threshold::<64>(product) });
            first = end;
        }
        let scratch = vec![0; bounds.len()];
        Self { words: Words::new(), bounds, groups, scratch }
    }

    /// A plan for the last `amount` steps of a Fisher-Yates shuffle of a slice of length `len`:
    /// position `i` swaps with a uniform position in `0..=i`, for `i` in `len - amount..len`.
    pub(crate) fn partial_shuffle(len: usize, amount: usize) -> Self {
        Self::new((len - amount + 1..=len).map(|m| m as u64).collect())
    }

    /// The accepted word of one group: one word, more only on a rejection.
    #[inline(always)]
    fn word(words: &mut Words, rng: &mut ChaCha8Rng, group: &Group) -> u64 {
        loop {
            let word = words.next(rng);
            if accepts::<64>(word, group.product, group.threshold) {
                return word;
            }
        }
    }

    /// Draws every index, the `k`-th uniform in `0..bounds[k]`, into [`DrawPlan::drawn`].
    ///
    /// Inlined where it is called: used by [`DrawPlan::draw`] and by a caller's run of steps that
    /// draws the next batch while it finishes the current one (see `BatchSampler::run`).
    #[inline(always)]
    pub(crate) fn draw_inlined(&mut self, rng: &mut ChaCha8Rng) {
        // Split off each group's bounds and slots in turn: one length check a group, none an index.
        let (mut bounds, mut slots) = (&self.bounds[..], &mut self.scratch[..]);
        for group in &self.groups {
            let word = Self::word(&mut self.words, rng, group);
            let (group_bounds, rest_bounds) = bounds.split_at(group.len);
            let (group_slots, rest_slots) = std::mem::take(&mut slots).split_at_mut(group.len);
            digits::<64>(word, group_bounds.iter().zip(group_slots));
            (bounds, slots) = (rest_bounds, rest_slots);
        }
    }

    /// The one index of a plan of one bound (a partial shuffle of one position), returned
    /// rather than stored: the draw of [`DrawPlan::draw_inlined`] on the same words, without
    /// its loops. [`DrawPlan::drawn`] is left as it was.
    #[inline(always)]
    pub(crate) fn draw_single(&mut self, rng: &mut ChaCha8Rng) -> u32 {
        self.draw_single_by(self.single_bound(), rng)
    }

    /// [`DrawPlan::draw_single`] with the plan's bound given, so that a caller's loop holds it
    /// in a register.
    #[inline(always)]
    pub(crate) fn draw_single_by(&mut self, bound: SingleBound, rng: &mut ChaCha8Rng) -> u32 {
        loop {
            let word = self.words.next(rng);
            if accepts::<64>(word, bound.product, bound.threshold) {
                return ((u128::from(word) * u128::from(bound.product)) >> 64) as u32;
            }
        }
    }

    /// The bound of a plan of one bound, and its rejection threshold.
    #[inline(always)]
    pub(crate) fn single_bound(&self) -> SingleBound {
        debug_assert!(self.bounds.len() == 1 && self.groups.len() == 1, "a plan of one bound");
        let group = &self.groups[0];
        SingleBound { product: group.product, threshold: group.threshold }
    }

    /// Makes `drawn` the last draw of a plan of one bound, as if [`DrawPlan::draw`] had drawn it.
    pub(crate) fn keep_single(&mut self, drawn: u32) {
        debug_assert!(self.bounds.len() == 1 && u64::from(drawn) < self.bounds[0]);
        self.scratch[0] = drawn;
    }

    /// Whether the plan draws exactly one index.
    pub(crate) fn draws_single(&self) -> bool {
        self.bounds.len() == 1
    }

    /// [`DrawPlan::draw_inlined`], out of line: for draws not taken ahead (the first of a run,
    /// every draw of a stepper that does not draw ahead). Inlined at the top of a run of steps,
    /// the whole step measured about 40% slower, for no fewer instructions (session 3).
    #[inline(never)]
    pub(crate) fn draw(&mut self, rng: &mut ChaCha8Rng) {
        self.draw_inlined(rng);
    }

    /// The indices of the last draw (zeros before the first).
    #[inline]
    pub(crate) fn drawn(&self) -> &[u32] {
        &self.scratch
    }

    /// Applies the last draw of a [`DrawPlan::partial_shuffle`] plan to `slice`: afterwards its
    /// last entries (as many as the plan draws) are a uniform random subset of its entries, in
    /// uniform random order.
    ///
    /// The entries are swapped through [`Cell`]s, so that the loop needs no bounds check on the
    /// tail and the clamp `j <= last` (true by construction, `j <= i`) is the only one on the
    /// other side: 3 instructions an index fewer than `slice.swap(i, j)`.
    #[inline(always)]
    pub(crate) fn swap_tail<T: Copy>(&self, slice: &mut [T]) {
        let cells = Cell::from_mut(slice).as_slice_of_cells();
        let Some(last) = cells.len().checked_sub(1) else { return };
        let start = cells.len() - self.scratch.len();
        for (here, &j) in cells[start..].iter().zip(&self.scratch) {
            let there = &cells[(j as usize).min(last)];
            let moved = here.get();
            here.set(there.get());
            there.set(moved);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use rand::rngs::ChaCha8Rng;
    use std::collections::BTreeMap;

    /// Every accepted 12-bit word, split into digits for `bounds`.
    fn all_tuples(bounds: &[u64]) -> BTreeMap<Vec<u32>, usize> {
        let product: u64 = bounds.iter().product();
        let threshold = rejection_threshold::<12>(product);
        let mut counts = BTreeMap::new();
        for word in 0..1u64 << 12 {
            if accepts::<12>(word, product, threshold) {
                let mut tuple = vec![0; bounds.len()];
                digits::<12>(word, bounds.iter().zip(tuple.iter_mut()));
                *counts.entry(tuple).or_insert(0) += 1;
            }
        }
        counts
    }

    #[test]
    fn every_tuple_gets_the_same_number_of_words() {
        // Exhaustive over all 2^12 words of a 12-bit version of the same code: each of the P
        // tuples must come from exactly floor(2^12 / P) words, and no digit may reach its bound.
        for bounds in [vec![1], vec![3], vec![7], vec![2, 3, 4], vec![5, 6, 7], vec![10, 1, 9], vec![64, 64]]
        {
            let product: u64 = bounds.iter().product();
            let counts = all_tuples(&bounds);
            assert_eq!(counts.len() as u64, product, "bounds {bounds:?}: some tuple never drawn");
            for (tuple, &count) in &counts {
                assert!(
                    tuple.iter().zip(&bounds).all(|(&x, &m)| u64::from(x) < m),
                    "{tuple:?} out of {bounds:?}"
                );
                assert_eq!(count as u64, (1 << 12) / product, "bounds {bounds:?}, tuple {tuple:?}");
            }
        }
    }

    #[test]
    fn rejects_exactly_the_uneven_words() {
        // Bound 3 with 64-bit words: 2^64 mod 3 = 1, so the word 0 alone is rejected. The word
        // 2^64 - 1 gives the top digit, 2^63 the middle one.
        let threshold = rejection_threshold::<64>(3);
        assert_eq!(threshold, 1);
        assert!(!accepts::<64>(0, 3, threshold));
        assert!(accepts::<64>(1, 3, threshold) && accepts::<64>(u64::MAX, 3, threshold));
        let digit = |word: u64| {
            let mut out = [0];
            digits::<64>(word, [3].iter().zip(out.iter_mut()));
            out[0]
        };
        assert_eq!((digit(u64::MAX), digit(1 << 63), digit(5)), (2, 1, 0));
    }

    #[test]
    fn groups_never_exceed_the_limit_and_use_one_word_each() {
        // Bounds 2^16 each: three make 2^48 (one group), so six draws use two words.
        let mut rng = ChaCha8Rng::seed_from_u64(3);
        let mut plan = DrawPlan::new(vec![1 << 16; 6]);
        assert_eq!(plan.groups.len(), 2);
        plan.draw(&mut rng);
        assert_eq!(plan.words.next, 2);
        let drawn = plan.drawn().to_vec();
        assert_eq!(drawn.len(), 6);
        assert!(drawn.iter().all(|&x| x < 1 << 16));
    }

    #[test]
    fn words_are_those_of_next_u64() {
        // Whatever the generator's position: at an even or an odd 32-bit output, inside a block
        // or at its start, across several chunks, and across the block counter's 32-bit carry.
        for (start_block, offsets) in [(0u128, 0..40), ((1 << 32) - 20, 0..3)] {
            for offset in offsets {
                let (mut direct, mut buffered) = (ChaCha8Rng::seed_from_u64(9), ChaCha8Rng::seed_from_u64(9));
                for rng in [&mut direct, &mut buffered] {
                    rng.set_stream(5);
                    rng.set_word_pos(start_block * 16);
                    for _ in 0..offset {
                        rng.next_u32();
                    }
                }
                let mut words = Words::new();
                for k in 0..3 * CHUNK_WORDS {
                    assert_eq!(
                        words.next(&mut buffered),
                        direct.next_u64(),
                        "block {start_block}, offset {offset}, word {k}"
                    );
                }
            }
        }
    }

    #[test]
    fn partial_shuffle_gives_every_ordered_pair_equally_often() {
        // The last two entries of a partial shuffle of 0..4 are a uniform ordered pair of
        // distinct entries: 12 outcomes. Chi-square with 11 degrees of freedom, 0.999 quantile 31.26.
        let mut rng = ChaCha8Rng::seed_from_u64(12);
        let mut slice = [0usize, 1, 2, 3];
        let mut hits = [[0usize; 4]; 4];
        let draws = 48_000;
        let mut plan = DrawPlan::partial_shuffle(4, 2);
        for _ in 0..draws {
            plan.draw(&mut rng);
            plan.swap_tail(&mut slice);
            hits[slice[2]][slice[3]] += 1;
        }
        let expected = draws as f64 / 12.0;
        let mut chi2 = 0.0;
        for (a, row) in hits.iter().enumerate() {
            for (b, &h) in row.iter().enumerate() {
                if a == b {
                    assert_eq!(h, 0, "an index drawn twice");
                } else {
                    chi2 += (h as f64 - expected).powi(2) / expected;
                }
            }
        }
        assert!(chi2 < 31.26, "chi-square {chi2:.2} for {hits:?}");
    }
}
