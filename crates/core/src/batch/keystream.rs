//! The ChaCha8 keystream of a [`ChaCha8Rng`], eight blocks at a time, computed here rather than
//! through the generator, where the processor has AVX2.
//!
//! `rand`'s `ChaCha8Rng` (the `chacha20` crate) computes four blocks at a time and hands them
//! out through a buffer that `fill_bytes` copies from: about 18.5 instructions a 64-bit word,
//! copies included. At `b = n - 1`, where a step takes one word, that was a fifth of a
//! run-step's instructions (`benches/README.md`, session 15). Here the eight blocks of a chunk
//! are computed side by side: one 256-bit register per state word, block `t` in place `t`, so
//! the rounds need no shuffles between columns and diagonals, and the words are written
//! straight into the caller's chunk. (pulp's AVX-512 level, with sixteen blocks a register and
//! one-instruction rotations, is not enabled: it would also switch faer's kernels, and with
//! them the Hessian's rounding.)
//!
//! The words are those of the generator, bit for bit: the state is the generator's (ChaCha's
//! constants, its seed as the key, its 64-bit block counter, its 64-bit stream), the rounds are
//! ChaCha's eight, and a 64-bit word is two consecutive 32-bit outputs, low first, as in
//! `next_u64` (tested against the generator, across the counter's 32-bit carry). This module
//! computes blocks and nothing else: which words a draw takes, and keeping the generator's
//! position, are [`super::uniform`]'s.

use rand::rngs::ChaCha8Rng;

/// The blocks of one chunk.
pub(super) const CHUNK_BLOCKS: usize = 8;
/// The 32-bit words of a block.
pub(super) const BLOCK_WORDS: usize = 16;
/// The 64-bit words of one chunk.
pub(super) const CHUNK_WORDS: usize = CHUNK_BLOCKS * BLOCK_WORDS / 2;

/// ChaCha's constants, "expand 32-byte k".
#[cfg(target_arch = "x86_64")]
const SIGMA: [u32; 4] = [0x6170_7865, 0x3320_646e, 0x7962_2d32, 0x6b20_6574];

/// What the blocks of a stream share: the key (the generator's seed) and the stream number.
#[derive(Debug, Clone, Copy)]
pub(super) struct ChunkKey {
    key: [u32; 8],
    stream: u64,
}

/// The key and stream of `rng`, and its position in 32-bit words from the start of its stream.
pub(super) fn position(rng: &ChaCha8Rng) -> (ChunkKey, u128) {
    let seed = rng.get_seed();
    let key = std::array::from_fn(|i| {
        u32::from_le_bytes([seed[4 * i], seed[4 * i + 1], seed[4 * i + 2], seed[4 * i + 3]])
    });
    (ChunkKey { key, stream: rng.get_stream() }, rng.get_word_pos())
}

/// Writes the eight blocks `counter, counter + 1, ...` (mod 2^64) of the stream `key` to `out`
/// in stream order (64-bit word `w` of block `t` at `8 t + w`); false, with nothing written,
/// where the processor lacks AVX2.
pub(super) fn chunk(key: &ChunkKey, counter: u64, out: &mut [u64; CHUNK_WORDS]) -> bool {
    #[cfg(target_arch = "x86_64")]
    if let Some(simd) = pulp::x86::V3::try_new() {
        simd.vectorize(avx::Chunk { simd, key, counter, out });
        return true;
    }
    let _ = (key, counter, out);
    false
}

#[cfg(target_arch = "x86_64")]
mod avx {
    use super::{BLOCK_WORDS, CHUNK_BLOCKS, CHUNK_WORDS, ChunkKey, SIGMA};
    use core::arch::x86_64::__m256i;
    use pulp::x86::V3;

    /// [`super::chunk`] as pulp's closure: compiled for AVX2 and called where it is available.
    pub(super) struct Chunk<'k, 'o> {
        pub(super) simd: V3,
        pub(super) key: &'k ChunkKey,
        pub(super) counter: u64,
        pub(super) out: &'o mut [u64; CHUNK_WORDS],
    }

    impl pulp::NullaryFnOnce for Chunk<'_, '_> {
        type Output = ();

        #[inline(always)]
        fn call(self) {
            rows(self.simd, self.key, self.counter, self.out);
        }
    }

    /// The byte shuffle of `_mm256_shuffle_epi8` that rotates every 32-bit word left by `bits`
    /// (a multiple of 8): within each word (little-endian bytes `b0 b1 b2 b3`), byte `i` of the
    /// result is byte `i - bits / 8` of the word, mod 4. The shuffle indexes within each
    /// 128-bit half.
    const fn rotation_shuffle(bits: i8) -> [i8; 32] {
        let mut shuffle = [0; 32];
        let mut i = 0;
        while i < 32 {
            let word_start = (i as i8 % 16) / 4 * 4;
            shuffle[i] = word_start + (i as i8 % 4 - bits / 8 + 4) % 4;
            i += 1;
        }
        shuffle
    }
    const ROTATE_BY_16: [i8; 32] = rotation_shuffle(16);
    const ROTATE_BY_8: [i8; 32] = rotation_shuffle(8);

    /// The rotations of ChaCha's quarter round on eight lanes: by 16 and 8 a byte shuffle, by
    /// 12 and 7 two shifts and an or.
    #[derive(Clone, Copy)]
    struct Rotations {
        simd: V3,
        by_16: __m256i,
        by_8: __m256i,
    }

    impl Rotations {
        #[inline(always)]
        fn new(simd: V3) -> Self {
            Self { simd, by_16: pulp::cast(ROTATE_BY_16), by_8: pulp::cast(ROTATE_BY_8) }
        }

        #[inline(always)]
        fn quarter_round(self, x: &mut [__m256i; BLOCK_WORDS], a: usize, b: usize, c: usize, d: usize) {
            let avx2 = self.simd.avx2;
            x[a] = avx2._mm256_add_epi32(x[a], x[b]);
            x[d] = avx2._mm256_shuffle_epi8(avx2._mm256_xor_si256(x[d], x[a]), self.by_16);
            x[c] = avx2._mm256_add_epi32(x[c], x[d]);
            let t = avx2._mm256_xor_si256(x[b], x[c]);
            x[b] = avx2._mm256_or_si256(avx2._mm256_slli_epi32::<12>(t), avx2._mm256_srli_epi32::<20>(t));
            x[a] = avx2._mm256_add_epi32(x[a], x[b]);
            x[d] = avx2._mm256_shuffle_epi8(avx2._mm256_xor_si256(x[d], x[a]), self.by_8);
            x[c] = avx2._mm256_add_epi32(x[c], x[d]);
            let t = avx2._mm256_xor_si256(x[b], x[c]);
            x[b] = avx2._mm256_or_si256(avx2._mm256_slli_epi32::<7>(t), avx2._mm256_srli_epi32::<25>(t));
        }
    }

    #[inline(always)]
    fn rows(simd: V3, key: &ChunkKey, counter: u64, out: &mut [u64; CHUNK_WORDS]) {
        let (avx, avx2) = (simd.avx, simd.avx2);
        let mut start = [avx._mm256_setzero_si256(); BLOCK_WORDS];
        for (row, &word) in start.iter_mut().zip(SIGMA.iter().chain(&key.key)) {
            *row = avx._mm256_set1_epi32(word as i32);
        }
        let mut blocks = [0u64; CHUNK_BLOCKS];
        for (t, block) in blocks.iter_mut().enumerate() {
            *block = counter.wrapping_add(t as u64);
        }
        start[12] = pulp::cast(blocks.map(|b| b as u32));
        start[13] = pulp::cast(blocks.map(|b| (b >> 32) as u32));
        start[14] = avx._mm256_set1_epi32(key.stream as i32);
        start[15] = avx._mm256_set1_epi32((key.stream >> 32) as i32);
        let rotations = Rotations::new(simd);
        let mut x = start;
        for _ in 0..4 {
            rotations.quarter_round(&mut x, 0, 4, 8, 12);
            rotations.quarter_round(&mut x, 1, 5, 9, 13);
            rotations.quarter_round(&mut x, 2, 6, 10, 14);
            rotations.quarter_round(&mut x, 3, 7, 11, 15);
            rotations.quarter_round(&mut x, 0, 5, 10, 15);
            rotations.quarter_round(&mut x, 1, 6, 11, 12);
            rotations.quarter_round(&mut x, 2, 7, 8, 13);
            rotations.quarter_round(&mut x, 3, 4, 9, 14);
        }
        // `words[h][w]`: 64-bit word `w` of blocks `4 h..4 h + 4`. (Loops rather than
        // closures here and above: a closure is not compiled for AVX2, and the intrinsics in it
        // would become calls.)
        let mut words = [[avx._mm256_setzero_si256(); BLOCK_WORDS / 2]; 2];
        for w in 0..BLOCK_WORDS / 2 {
            let low = avx2._mm256_add_epi32(x[2 * w], start[2 * w]);
            let high = avx2._mm256_add_epi32(x[2 * w + 1], start[2 * w + 1]);
            // Interleaved per 128-bit half: the 64-bit words of blocks 0, 1, 4, 5 and 2, 3, 6, 7.
            let (even, odd) = (avx2._mm256_unpacklo_epi32(low, high), avx2._mm256_unpackhi_epi32(low, high));
            words[0][w] = avx2._mm256_permute2x128_si256::<0x20>(even, odd);
            words[1][w] = avx2._mm256_permute2x128_si256::<0x31>(even, odd);
        }
        // Four words of four blocks at a time, transposed into stream order: block `t`'s words
        // `w..w + 4` at `8 t + w`.
        for (half, words) in words.iter().enumerate() {
            for first_word in [0, 4] {
                let column =
                    [words[first_word], words[first_word + 1], words[first_word + 2], words[first_word + 3]];
                let rows = transpose(simd, column);
                for (i, row) in rows.into_iter().enumerate() {
                    let at = (4 * half + i) * 8 + first_word;
                    out[at..at + 4].copy_from_slice(&pulp::cast::<__m256i, [u64; 4]>(row));
                }
            }
        }
    }

    /// The transpose of four registers of four 64-bit numbers: `result[i][j] = a[j][i]`.
    #[inline(always)]
    fn transpose(simd: V3, a: [__m256i; 4]) -> [__m256i; 4] {
        let avx2 = simd.avx2;
        let (t0, t1) = (avx2._mm256_unpacklo_epi64(a[0], a[1]), avx2._mm256_unpackhi_epi64(a[0], a[1]));
        let (t2, t3) = (avx2._mm256_unpacklo_epi64(a[2], a[3]), avx2._mm256_unpackhi_epi64(a[2], a[3]));
        [
            avx2._mm256_permute2x128_si256::<0x20>(t0, t2),
            avx2._mm256_permute2x128_si256::<0x20>(t1, t3),
            avx2._mm256_permute2x128_si256::<0x31>(t0, t2),
            avx2._mm256_permute2x128_si256::<0x31>(t1, t3),
        ]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{Rng, SeedableRng};

    #[test]
    fn chunks_are_the_generators_blocks() {
        // Block-aligned positions, one of them just before the counter's low word wraps, and a
        // nonzero stream: every word of the chunk is the generator's next_u64 from there.
        for (seed, stream, block) in [(1u64, 0u64, 0u64), (7, 3, 5), (11, u64::MAX, (1 << 32) - 3)] {
            let mut rng = ChaCha8Rng::seed_from_u64(seed);
            rng.set_stream(stream);
            rng.set_word_pos(u128::from(block) * BLOCK_WORDS as u128);
            let (key, at) = position(&rng);
            assert_eq!(at, u128::from(block) * BLOCK_WORDS as u128);
            let mut out = [0; CHUNK_WORDS];
            if !chunk(&key, block, &mut out) {
                // Only where the processor lacks AVX2 (the words then come from the generator).
                #[cfg(target_arch = "x86_64")]
                assert!(pulp::x86::V3::try_new().is_none(), "AVX2 is present, yet no chunk");
                return;
            }
            for (word, &computed) in out.iter().enumerate() {
                assert_eq!(computed, rng.next_u64(), "seed {seed}, block {block}, word {word}");
            }
        }
    }
}
