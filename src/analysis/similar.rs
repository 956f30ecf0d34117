//! Records that look alike, from an embedding set: the k nearest records to a vector ("more like
//! this", semantic search) and near-duplicate groups (records whose vectors are within a cosine
//! threshold, joined transitively, plus exact duplicates after [`duplicate_key`]).
//!
//! Search is exact: a brute-force dot product over the set's unit vectors, sixteen lanes at a
//! time, compiled again for AVX2 and AVX-512 and chosen at run time (the same additions in the
//! same order on every path, so the same bits), split over the cores. Near-duplicate pairs are
//! the same products over every pair, four rows against one at a time.

use std::collections::HashMap;

use rayon::prelude::*;
use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::domain::annotation::{reference, Status};
use crate::domain::progress::{JobStage, Watch};
use crate::domain::text::duplicate_key;
use crate::error::{Error, Result};
use crate::store::Store;

/// Records whose embeddings have at least this cosine similarity are near-duplicates unless the
/// caller chooses otherwise. See ARCHITECTURE.md ("Decisions") for how it was chosen.
pub const NEAR_DUPLICATE_COSINE: f32 = 0.95;

/// A near-duplicate group holding at least one record in this many of the corpus is reported as
/// a sign that the embeddings cannot separate the records ([`DuplicateReport::warning`]).
const LARGE_GROUP_SHARE: u64 = 10;

/// Up to this many vectors, near-duplicate search compares every pair (about 2·10⁸ products, a
/// few seconds); above it, pairs come from hashing ([`Vectors::hashed_pairs`]).
pub const EXACT_PAIRS_UP_TO: usize = 20_000;

/// The least probability with which hashing finds a pair exactly at the threshold.
pub const LSH_RECALL: f64 = 0.99;

/// The seed of the hashing's random directions.
const LSH_SEED: u64 = 29;

/// How near-duplicate candidates are hashed: tables of `bits` random directions each.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LshPlan {
    pub bits: usize,
    pub tables: usize,
}

impl LshPlan {
    /// The most directions per table (keys of up to 20 bits) with at most 32 tables that find a
    /// pair at `threshold` with probability [`LSH_RECALL`]; for a low threshold, where no such
    /// plan exists, 32 tables of the fewest bits tried (8), which finds such a pair less often.
    pub fn for_threshold(threshold: f32) -> Self {
        let p = 1.0 - f64::from(threshold.clamp(-1.0, 1.0)).acos() / std::f64::consts::PI;
        let tables_for = |bits: i32| ((1.0 - LSH_RECALL).ln() / (1.0 - p.powi(bits)).ln()).ceil().max(1.0) as usize;
        (8..=20)
            .rev()
            .map(|bits| LshPlan { bits: bits as usize, tables: tables_for(bits) })
            .find(|plan| plan.tables <= 32)
            .unwrap_or(LshPlan { bits: 8, tables: 32 })
    }

    /// The probability that a pair at cosine `c` shares a key in at least one table.
    pub fn recall_at(&self, c: f32) -> f64 {
        let p = 1.0 - f64::from(c.clamp(-1.0, 1.0)).acos() / std::f64::consts::PI;
        1.0 - (1.0 - p.powi(self.bits as i32)).powi(self.tables as i32)
    }
}

/// Neighbours a search returns unless the caller asks for another number.
pub const DEFAULT_NEIGHBOURS: usize = 10;

/// The most neighbours one search returns.
pub const MAX_NEIGHBOURS: usize = 1000;

/// An embedding set's vectors in memory, each scaled to unit length (a zero vector stays zero),
/// so that a dot product is the cosine similarity. Rows are in record-id order.
pub struct Vectors {
    ids: Vec<i64>,
    dim: usize,
    data: Vec<f32>,
}

/// Pairs of rows (the first before the second) and their cosine similarity.
pub type Pairs = Vec<(usize, usize, f32)>;

/// One record near a query: its cosine similarity, in [-1, 1].
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct Neighbour {
    pub record_id: i64,
    pub similarity: f32,
}

impl Vectors {
    /// Vectors of `dim` numbers by record id (any order; each id once).
    pub fn new(dim: usize, rows: impl IntoIterator<Item = (i64, Vec<f32>)>) -> Result<Self> {
        if dim == 0 {
            return Err(Error::Input("embedding vectors have no numbers".into()));
        }
        let mut rows: Vec<(i64, Vec<f32>)> = rows.into_iter().collect();
        rows.sort_unstable_by_key(|r| r.0);
        let mut data = Vec::with_capacity(rows.len() * dim);
        let mut ids = Vec::with_capacity(rows.len());
        for (id, mut v) in rows {
            if v.len() != dim {
                return Err(Error::Input(format!("record {id}'s vector has {} numbers, not the set's {dim}", v.len())));
            }
            if ids.last() == Some(&id) {
                return Err(Error::Input(format!("record {id} has two vectors")));
            }
            if v.iter().any(|x| !x.is_finite()) {
                return Err(Error::Input(format!("record {id}'s vector has a number that is not finite; embed the corpus again")));
            }
            let norm = v.iter().map(|x| f64::from(*x) * f64::from(*x)).sum::<f64>().sqrt();
            if norm > 0.0 {
                v.iter_mut().for_each(|x| *x = (f64::from(*x) / norm) as f32);
            }
            ids.push(id);
            data.extend_from_slice(&v);
        }
        Ok(Vectors { ids, dim, data })
    }

    /// Every vector an embedding set has so far.
    pub fn load(store: &Store, set_id: i64) -> Result<Self> {
        let set = store.embedding_set(set_id)?;
        Vectors::new(set.dim, store.embeddings(set_id)?)
    }

    pub fn len(&self) -> usize {
        self.ids.len()
    }

    pub fn is_empty(&self) -> bool {
        self.ids.is_empty()
    }

    pub fn dim(&self) -> usize {
        self.dim
    }

    /// The record ids, in the rows' order (ascending).
    /// Every vector at unit length, row after row in record-id order (`dim` numbers each).
    pub fn data(&self) -> &[f32] {
        &self.data
    }

    pub fn ids(&self) -> &[i64] {
        &self.ids
    }

    /// A record's unit vector, if the set has one.
    pub fn vector_of(&self, record_id: i64) -> Option<&[f32]> {
        self.ids.binary_search(&record_id).ok().map(|i| self.row(i))
    }

    fn row(&self, i: usize) -> &[f32] {
        &self.data[i * self.dim..(i + 1) * self.dim]
    }

    /// The `k` records most similar to `query` (any length but the set's width is refused; it
    /// is scaled to unit length), most similar first, ties by record id; `skip` leaves one
    /// record out (the record a "more like this" starts from).
    pub fn nearest(&self, query: &[f32], k: usize, skip: Option<i64>) -> Result<Vec<Neighbour>> {
        if query.len() != self.dim {
            return Err(Error::Input(format!("the query has {} numbers; this embedding set's vectors have {}", query.len(), self.dim)));
        }
        if query.iter().any(|x| !x.is_finite()) {
            return Err(Error::Input("the query vector has a number that is not finite".into()));
        }
        let k = k.min(MAX_NEIGHBOURS);
        let norm = query.iter().map(|x| f64::from(*x) * f64::from(*x)).sum::<f64>().sqrt();
        let unit: Vec<f32> = query.iter().map(|x| if norm > 0.0 { (f64::from(*x) / norm) as f32 } else { 0.0 }).collect();
        if k == 0 || self.is_empty() {
            return Ok(Vec::new());
        }
        const CHUNK: usize = 8192;
        let best = self
            .data
            .par_chunks(CHUNK * self.dim)
            .enumerate()
            .map(|(c, block)| {
                let mut scores = vec![0f32; block.len() / self.dim];
                kernels::scores(block, self.dim, &unit, &mut scores);
                let mut top: Vec<(f32, usize)> = Vec::with_capacity(k + 1);
                for (i, &s) in scores.iter().enumerate() {
                    let index = c * CHUNK + i;
                    if skip == Some(self.ids[index]) {
                        continue;
                    }
                    if top.len() == k && !better((s, index), top[k - 1]) {
                        continue;
                    }
                    let at = top.partition_point(|&t| better(t, (s, index)));
                    top.insert(at, (s, index));
                    top.truncate(k);
                }
                top
            })
            .reduce(Vec::new, |mut a, b| {
                a.extend(b);
                a.sort_unstable_by(|x, y| if better(*x, *y) { std::cmp::Ordering::Less } else { std::cmp::Ordering::Greater });
                a.truncate(k);
                a
            });
        Ok(best.into_iter().map(|(s, i)| Neighbour { record_id: self.ids[i], similarity: s }).collect())
    }

    /// The pairs of rows at or above `threshold`: every pair compared up to
    /// [`EXACT_PAIRS_UP_TO`] rows, else the candidates of [`Vectors::hashed_pairs`] (each checked
    /// exactly). Returns the pairs and whether every pair was compared.
    pub fn near_pairs(&self, threshold: f32, watch: &mut Watch) -> Result<(Pairs, bool)> {
        if self.len() <= EXACT_PAIRS_UP_TO {
            return Ok((self.pairs_at_least(threshold, watch)?, true));
        }
        Ok((self.hashed_pairs(threshold, LshPlan::for_threshold(threshold), watch)?, false))
    }

    /// Pairs at or above `threshold` among the candidates of random-hyperplane hashing
    /// (SimHash): each of `plan.tables` tables keys a row by the signs of its products with
    /// `plan.bits` seeded random directions, rows that share a key in some table are compared
    /// exactly. A pair at cosine `c` shares a table's key with probability `p^bits`, `p = 1 −
    /// arccos(c)/π`, so it is found with probability `1 − (1 − p^bits)^tables` (the plan makes
    /// that at least [`LSH_RECALL`] at the threshold, and more above it). Same output shape as
    /// [`Vectors::pairs_at_least`]; the work is reported in rows hashed.
    pub fn hashed_pairs(&self, threshold: f32, plan: LshPlan, watch: &mut Watch) -> Result<Pairs> {
        use rand::{Rng, SeedableRng};
        let (n, dim) = (self.len(), self.dim);
        let planes = plan.bits * plan.tables;
        // Gaussian directions (Box–Muller), seeded: the same candidates on every run.
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(LSH_SEED);
        let directions: Vec<f32> = (0..planes * dim)
            .map(|_| {
                let (u, v): (f64, f64) = (rng.random::<f64>().max(f64::MIN_POSITIVE), rng.random());
                ((-2.0 * u.ln()).sqrt() * (std::f64::consts::TAU * v).cos()) as f32
            })
            .collect();
        // Each row's key in each table.
        let mut keys = vec![0u32; n * plan.tables];
        const CHUNK: usize = 2048;
        for (c, keys) in keys.chunks_mut(CHUNK * plan.tables).enumerate() {
            keys.par_chunks_mut(plan.tables).enumerate().for_each(|(i, row_keys)| {
                let mut signs = vec![0f32; planes];
                kernels::scores(&directions, dim, self.row(c * CHUNK + i), &mut signs);
                for (t, key) in row_keys.iter_mut().enumerate() {
                    *key = signs[t * plan.bits..(t + 1) * plan.bits].iter().enumerate().fold(0u32, |k, (b, &x)| k | (u32::from(x >= 0.0) << b));
                }
            });
            watch.advance((keys.len() / plan.tables) as u64)?;
        }
        let found: Vec<Vec<(usize, usize, f32)>> = (0..plan.tables)
            .into_par_iter()
            .map(|t| {
                let mut order: Vec<(u32, u32)> = (0..n).map(|i| (keys[i * plan.tables + t], i as u32)).collect();
                order.sort_unstable();
                let mut pairs = Vec::new();
                for bucket in order.chunk_by(|a, b| a.0 == b.0).filter(|b| b.len() > 1) {
                    for (x, &(_, a)) in bucket.iter().enumerate() {
                        for &(_, b) in &bucket[x + 1..] {
                            let (a, b) = (a as usize, b as usize);
                            let s = kernels::dot_one(self.row(a), self.row(b));
                            if s >= threshold {
                                pairs.push((a.min(b), a.max(b), s));
                            }
                        }
                    }
                }
                pairs
            })
            .collect();
        let mut pairs: Vec<(usize, usize, f32)> = found.into_iter().flatten().collect();
        pairs.sort_unstable_by_key(|p| (p.0, p.1));
        pairs.dedup_by_key(|p| (p.0, p.1));
        Ok(pairs)
    }

    /// Every pair of rows whose cosine similarity is at least `threshold`, as (row, row,
    /// similarity) with the first row before the second. The work is reported in rows.
    pub fn pairs_at_least(&self, threshold: f32, watch: &mut Watch) -> Result<Pairs> {
        let n = self.len();
        const BLOCK: usize = 64;
        const STEP: usize = 16 * BLOCK;
        let mut pairs = Vec::new();
        for start in (0..n).step_by(STEP) {
            let end = (start + STEP).min(n);
            let found: Vec<Vec<(usize, usize, f32)>> =
                (start..end).step_by(BLOCK).collect::<Vec<_>>().into_par_iter().map(|b| self.block_pairs(b, (b + BLOCK).min(n), threshold)).collect();
            pairs.extend(found.into_iter().flatten());
            watch.advance((end - start) as u64)?;
        }
        pairs.sort_unstable_by_key(|p| (p.0, p.1));
        Ok(pairs)
    }

    /// Pairs (i, j) with i in `from..to`, j > i, at or above `threshold`.
    fn block_pairs(&self, from: usize, to: usize, threshold: f32) -> Vec<(usize, usize, f32)> {
        let mut pairs = Vec::new();
        let mut out = [0f32; 4];
        for j in from + 1..self.len() {
            let b = self.row(j);
            let last = to.min(j);
            let mut i = from;
            while i < last {
                let take = (last - i).min(4);
                let rows: [&[f32]; 4] = std::array::from_fn(|r| self.row(i + r.min(take - 1)));
                kernels::dot4(rows, b, &mut out);
                for (r, &s) in out.iter().enumerate().take(take) {
                    if s >= threshold {
                        pairs.push((i + r, j, s));
                    }
                }
                i += take;
            }
        }
        pairs
    }
}

/// Whether `a` ranks before `b`: more similar, then the earlier row (record id order).
fn better(a: (f32, usize), b: (f32, usize)) -> bool {
    a.0 > b.0 || (a.0 == b.0 && a.1 < b.1)
}

/// The dot products, with one summation order on every instruction set: sixteen running sums
/// (element e goes to sum e mod 16), then the sums added left to right.
mod kernels {
    const LANES: usize = 16;

    /// The lanes of one chunk, as an array (a fixed length lets the compiler vectorize).
    #[inline(always)]
    fn lanes(chunk: &[f32]) -> &[f32; LANES] {
        chunk.try_into().expect("chunks_exact gives LANES")
    }

    #[inline(always)]
    fn dot_lanes(a: &[f32], b: &[f32]) -> f32 {
        let mut acc = [0f32; LANES];
        let (ca, cb) = (a.chunks_exact(LANES), b.chunks_exact(LANES));
        let (ra, rb) = (ca.remainder(), cb.remainder());
        for (x, y) in ca.zip(cb) {
            let (x, y) = (lanes(x), lanes(y));
            for l in 0..LANES {
                acc[l] += x[l] * y[l];
            }
        }
        for l in 0..ra.len() {
            acc[l] += ra[l] * rb[l];
        }
        acc.iter().sum()
    }

    #[inline(always)]
    fn dot4_lanes(a: [&[f32]; 4], b: &[f32], out: &mut [f32; 4]) {
        let (mut s0, mut s1, mut s2, mut s3) = ([0f32; LANES], [0f32; LANES], [0f32; LANES], [0f32; LANES]);
        let cb = b.chunks_exact(LANES);
        let rest = cb.remainder();
        let rows = a[0].chunks_exact(LANES).zip(a[1].chunks_exact(LANES)).zip(a[2].chunks_exact(LANES)).zip(a[3].chunks_exact(LANES));
        for (y, (((x0, x1), x2), x3)) in cb.zip(rows) {
            let (y, x0, x1, x2, x3) = (lanes(y), lanes(x0), lanes(x1), lanes(x2), lanes(x3));
            for l in 0..LANES {
                s0[l] += x0[l] * y[l];
                s1[l] += x1[l] * y[l];
                s2[l] += x2[l] * y[l];
                s3[l] += x3[l] * y[l];
            }
        }
        let whole = b.len() - rest.len();
        for (r, acc) in [&mut s0, &mut s1, &mut s2, &mut s3].into_iter().enumerate() {
            for (l, y) in rest.iter().enumerate() {
                acc[l] += a[r][whole + l] * y;
            }
            out[r] = acc.iter().sum();
        }
    }

    fn scores_generic(rows: &[f32], dim: usize, query: &[f32], out: &mut [f32]) {
        for (o, row) in out.iter_mut().zip(rows.chunks_exact(dim)) {
            *o = dot_lanes(row, query);
        }
    }

    /// The same sums with explicit vectors (the compiler does not vectorize the four-row form):
    /// sixteen lanes as two 8-lane halves (AVX2) or one 16-lane register (AVX-512), products
    /// added without fused multiply-add, so every lane rounds as the generic code does.
    #[cfg(target_arch = "x86_64")]
    mod simd {
        use std::arch::x86_64::*;

        use super::LANES;

        /// Adds the rows' tails (past the last whole chunk) into `lanes` and sums them left to right.
        #[inline(always)]
        fn finish(mut lanes: [f32; LANES], a: &[f32], b: &[f32], whole: usize) -> f32 {
            for l in 0..b.len() - whole {
                lanes[l] += a[whole + l] * b[whole + l];
            }
            lanes.iter().sum()
        }

        /// SAFETY (callers): the CPU has AVX2; every row of `a` is as long as `b`.
        #[target_feature(enable = "avx2")]
        pub(super) unsafe fn dot4_avx2(a: [&[f32]; 4], b: &[f32], out: &mut [f32; 4]) {
            let whole = b.len() / LANES * LANES;
            let mut acc = [[_mm256_setzero_ps(); 2]; 4];
            let mut i = 0;
            while i < whole {
                // SAFETY: i + 16 <= whole <= the length of b and of every row.
                unsafe {
                    let (y0, y1) = (_mm256_loadu_ps(b.as_ptr().add(i)), _mm256_loadu_ps(b.as_ptr().add(i + 8)));
                    for r in 0..4 {
                        let p = a[r].as_ptr().add(i);
                        acc[r][0] = _mm256_add_ps(acc[r][0], _mm256_mul_ps(_mm256_loadu_ps(p), y0));
                        acc[r][1] = _mm256_add_ps(acc[r][1], _mm256_mul_ps(_mm256_loadu_ps(p.add(8)), y1));
                    }
                }
                i += LANES;
            }
            for r in 0..4 {
                let mut lanes = [0f32; LANES];
                // SAFETY: two 8-float stores into 16 floats.
                unsafe {
                    _mm256_storeu_ps(lanes.as_mut_ptr(), acc[r][0]);
                    _mm256_storeu_ps(lanes.as_mut_ptr().add(8), acc[r][1]);
                }
                out[r] = finish(lanes, a[r], b, whole);
            }
        }

        /// SAFETY (callers): the CPU has AVX2; `rows` holds whole rows of `query`'s length.
        #[target_feature(enable = "avx2")]
        pub(super) unsafe fn scores_avx2(rows: &[f32], query: &[f32], out: &mut [f32]) {
            let whole = query.len() / LANES * LANES;
            for (o, row) in out.iter_mut().zip(rows.chunks_exact(query.len())) {
                let (mut acc0, mut acc1) = (_mm256_setzero_ps(), _mm256_setzero_ps());
                let mut i = 0;
                while i < whole {
                    // SAFETY: i + 16 <= whole <= the length of the row and of the query.
                    unsafe {
                        let (p, q) = (row.as_ptr().add(i), query.as_ptr().add(i));
                        acc0 = _mm256_add_ps(acc0, _mm256_mul_ps(_mm256_loadu_ps(p), _mm256_loadu_ps(q)));
                        acc1 = _mm256_add_ps(acc1, _mm256_mul_ps(_mm256_loadu_ps(p.add(8)), _mm256_loadu_ps(q.add(8))));
                    }
                    i += LANES;
                }
                let mut lanes = [0f32; LANES];
                // SAFETY: two 8-float stores into 16 floats.
                unsafe {
                    _mm256_storeu_ps(lanes.as_mut_ptr(), acc0);
                    _mm256_storeu_ps(lanes.as_mut_ptr().add(8), acc1);
                }
                *o = finish(lanes, row, query, whole);
            }
        }

        /// SAFETY (callers): the CPU has AVX-512F; every row of `a` is as long as `b`.
        #[target_feature(enable = "avx512f")]
        pub(super) unsafe fn dot4_avx512(a: [&[f32]; 4], b: &[f32], out: &mut [f32; 4]) {
            let whole = b.len() / LANES * LANES;
            let mut acc = [_mm512_setzero_ps(); 4];
            let mut i = 0;
            while i < whole {
                // SAFETY: i + 16 <= whole <= the length of b and of every row.
                unsafe {
                    let y = _mm512_loadu_ps(b.as_ptr().add(i));
                    for r in 0..4 {
                        acc[r] = _mm512_add_ps(acc[r], _mm512_mul_ps(_mm512_loadu_ps(a[r].as_ptr().add(i)), y));
                    }
                }
                i += LANES;
            }
            for r in 0..4 {
                let mut lanes = [0f32; LANES];
                // SAFETY: one 16-float store into 16 floats.
                unsafe { _mm512_storeu_ps(lanes.as_mut_ptr(), acc[r]) };
                out[r] = finish(lanes, a[r], b, whole);
            }
        }

        /// SAFETY (callers): the CPU has AVX-512F; `rows` holds whole rows of `query`'s length.
        #[target_feature(enable = "avx512f")]
        pub(super) unsafe fn scores_avx512(rows: &[f32], query: &[f32], out: &mut [f32]) {
            let whole = query.len() / LANES * LANES;
            for (o, row) in out.iter_mut().zip(rows.chunks_exact(query.len())) {
                let mut acc = _mm512_setzero_ps();
                let mut i = 0;
                while i < whole {
                    // SAFETY: i + 16 <= whole <= the length of the row and of the query.
                    unsafe { acc = _mm512_add_ps(acc, _mm512_mul_ps(_mm512_loadu_ps(row.as_ptr().add(i)), _mm512_loadu_ps(query.as_ptr().add(i)))) };
                    i += LANES;
                }
                let mut lanes = [0f32; LANES];
                // SAFETY: one 16-float store into 16 floats.
                unsafe { _mm512_storeu_ps(lanes.as_mut_ptr(), acc) };
                *o = finish(lanes, row, query, whole);
            }
        }
    }

    #[derive(Clone, Copy, PartialEq, Eq, Debug)]
    pub(super) enum Isa {
        Generic,
        #[cfg(target_arch = "x86_64")]
        Avx2,
        #[cfg(target_arch = "x86_64")]
        Avx512,
    }

    /// The widest instruction set the CPU has, checked once.
    pub(super) fn isa() -> Isa {
        static ISA: std::sync::OnceLock<Isa> = std::sync::OnceLock::new();
        *ISA.get_or_init(|| {
            #[cfg(target_arch = "x86_64")]
            {
                if std::is_x86_feature_detected!("avx512f") && std::is_x86_feature_detected!("avx2") {
                    return Isa::Avx512;
                }
                if std::is_x86_feature_detected!("avx2") {
                    return Isa::Avx2;
                }
            }
            Isa::Generic
        })
    }

    /// `out[i]` = row i of `rows` (row-major, `dim` wide) · `query`, on the given instruction set
    /// (one the CPU has).
    pub(super) fn scores_on(isa: Isa, rows: &[f32], dim: usize, query: &[f32], out: &mut [f32]) {
        assert!(query.len() == dim && rows.len() == out.len() * dim, "scores: shapes agree");
        match isa {
            // SAFETY: `isa()` only names instruction sets the CPU has; the shapes are checked above.
            #[cfg(target_arch = "x86_64")]
            Isa::Avx512 => unsafe { simd::scores_avx512(rows, query, out) },
            // SAFETY: as above.
            #[cfg(target_arch = "x86_64")]
            Isa::Avx2 => unsafe { simd::scores_avx2(rows, query, out) },
            Isa::Generic => scores_generic(rows, dim, query, out),
        }
    }

    pub(super) fn scores(rows: &[f32], dim: usize, query: &[f32], out: &mut [f32]) {
        scores_on(isa(), rows, dim, query, out)
    }

    /// The dot products of four rows with `b`, summed exactly as [`scores`] sums one.
    pub(super) fn dot4(a: [&[f32]; 4], b: &[f32], out: &mut [f32; 4]) {
        dot4_on(isa(), a, b, out)
    }

    pub(super) fn dot4_on(isa: Isa, a: [&[f32]; 4], b: &[f32], out: &mut [f32; 4]) {
        assert!(a.iter().all(|r| r.len() == b.len()), "dot4: rows as wide as b");
        match isa {
            // SAFETY: the CPU has the instruction set; the widths are checked above.
            #[cfg(target_arch = "x86_64")]
            Isa::Avx512 => unsafe { simd::dot4_avx512(a, b, out) },
            // SAFETY: as above.
            #[cfg(target_arch = "x86_64")]
            Isa::Avx2 => unsafe { simd::dot4_avx2(a, b, out) },
            Isa::Generic => dot4_lanes(a, b, out),
        }
    }

    #[cfg(test)]
    pub(super) fn dot(a: &[f32], b: &[f32]) -> f32 {
        dot_lanes(a, b)
    }

    /// One dot product, summed as [`scores`] sums (the same bits).
    pub(super) fn dot_one(a: &[f32], b: &[f32]) -> f32 {
        let mut out = [0f32; 1];
        scores(a, a.len(), b, &mut out);
        out[0]
    }
}

/// One record of a duplicate group.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct GroupMember {
    pub record_id: i64,
    #[cfg_attr(feature = "ts", ts(type = "number"))]
    pub row: u64,
    /// The id exports write.
    pub id: String,
    pub text: String,
    /// The record's reference labels (accepted annotation, else gold); empty when it has none.
    pub labels: Vec<String>,
    /// Whether its annotation is accepted (the record a group keeps, by preference).
    pub accepted: bool,
}

/// Records that are probably one text twice.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct DuplicateGroup {
    /// By row.
    pub records: Vec<GroupMember>,
    /// Every record has the same text after normalisation.
    pub exact: bool,
    /// The lowest similarity of a pair that joined the group (`None` when only exact matches
    /// joined it). Members join transitively, so two members may be less similar than this.
    pub least_similarity: Option<f32>,
    /// Members have different reference labels.
    pub labels_disagree: bool,
    /// The member that "keep one" keeps: the first with an accepted annotation, else the first.
    pub keep: i64,
}

impl DuplicateGroup {
    /// The members "keep one, discard the rest" discards.
    pub fn rest(&self) -> Vec<i64> {
        self.records.iter().map(|m| m.record_id).filter(|&r| r != self.keep).collect()
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct DuplicateReport {
    pub corpus: String,
    /// The embedding set near-duplicates came from (`None`: exact duplicates only).
    pub embeddings: Option<i64>,
    pub threshold: Option<f32>,
    /// Records looked at (discarded records are left out), and how many had a vector.
    #[cfg_attr(feature = "ts", ts(type = "number"))]
    pub records: u64,
    #[cfg_attr(feature = "ts", ts(type = "number"))]
    pub embedded: u64,
    /// Groups, largest first, then by first row.
    pub groups: Vec<DuplicateGroup>,
    /// Said when a near group holds a large part of the corpus: the embeddings do not tell those
    /// records apart at this threshold (a model without trained weights, one whose vectors all
    /// point one way, or a threshold too low), and keeping one of them would discard the rest.
    pub warning: Option<String>,
    /// Every pair of embedded records was compared; false when hashing chose the candidates
    /// (above [`EXACT_PAIRS_UP_TO`] records: a pair at the threshold is found with probability
    /// at least [`LSH_RECALL`]).
    pub exhaustive: bool,
}

impl DuplicateReport {
    /// Records in some group.
    pub fn in_groups(&self) -> u64 {
        self.groups.iter().map(|g| g.records.len() as u64).sum()
    }

    /// What "keep one in every group" discards: every group's members but its `keep`; refused
    /// while the report carries a warning (the embeddings do not tell those records apart).
    pub fn to_discard(&self) -> Result<Vec<i64>> {
        if let Some(warning) = &self.warning {
            return Err(Error::Input(format!("nothing discarded: {warning}")));
        }
        Ok(self.groups.iter().flat_map(DuplicateGroup::rest).collect())
    }
}

/// Union-find over row positions, smaller root wins (groups are named by their first row).
struct Groups(Vec<usize>);

impl Groups {
    fn root(&mut self, mut i: usize) -> usize {
        while self.0[i] != i {
            self.0[i] = self.0[self.0[i]];
            i = self.0[i];
        }
        i
    }

    fn join(&mut self, a: usize, b: usize) {
        let (ra, rb) = (self.root(a), self.root(b));
        let (lo, hi) = (ra.min(rb), ra.max(rb));
        self.0[hi] = lo;
    }
}

/// The duplicate groups of `corpus`'s records that are not discarded: exact duplicates after
/// normalisation ([`duplicate_key`]) and, with an embedding set, records whose vectors have a
/// cosine similarity of at least `threshold` (default [`NEAR_DUPLICATE_COSINE`]), joined
/// transitively. Progress is reported in records compared.
pub fn duplicate_groups(store: &Store, corpus: &str, embeddings: Option<i64>, threshold: Option<f32>, watch: &mut Watch) -> Result<DuplicateReport> {
    let threshold = match embeddings {
        Some(_) => {
            let t = threshold.unwrap_or(NEAR_DUPLICATE_COSINE);
            if !(t.is_finite() && t > 0.0 && t <= 1.0) {
                return Err(Error::Input(format!("a near-duplicate threshold is a cosine similarity in (0, 1]; {t} is not")));
            }
            Some(t)
        }
        None => None,
    };
    let vectors = match embeddings {
        Some(set) => {
            store.corpus_embedding_set(corpus, set)?;
            Some(Vectors::load(store, set)?)
        }
        None => None,
    };
    let mut members: Vec<GroupMember> = Vec::new();
    let mut by_key: HashMap<[u8; 32], usize> = HashMap::new();
    let mut exact_of: Vec<usize> = Vec::new();
    store.for_each_export_row(corpus, &mut |row| {
        if row.annotation.as_ref().is_some_and(|(_, s)| *s == Status::Discarded) {
            return Ok(());
        }
        let mut text = row.text.clone();
        if let Some(pair) = &row.text_pair {
            // A pair is the same pair only when both texts are.
            text.push('\u{1F}');
            text.push_str(pair);
        }
        let key: [u8; 32] = Sha256::digest(duplicate_key(&text).as_bytes()).into();
        let at = members.len();
        exact_of.push(*by_key.entry(key).or_insert(at));
        let labels = reference(row.annotation.as_ref().map(|(l, s)| (l.as_slice(), *s)), row.gold.as_deref(), false).map(|r| r.0).unwrap_or_default();
        let accepted = row.annotation.as_ref().is_some_and(|(_, s)| *s == Status::Accepted);
        members.push(GroupMember {
            record_id: row.record_id,
            row: row.row_number,
            id: row.export_id.clone(),
            text: row.text.clone(),
            labels,
            accepted,
        });
        Ok(())
    })?;
    let mut groups = Groups((0..members.len()).collect());
    for (i, &first) in exact_of.iter().enumerate() {
        if first != i {
            groups.join(first, i);
        }
    }
    let mut least: HashMap<usize, f32> = HashMap::new();
    let mut embedded = 0u64;
    let mut exhaustive = true;
    if let (Some(vectors), Some(t)) = (&vectors, threshold) {
        let position: HashMap<i64, usize> = members.iter().enumerate().map(|(i, m)| (m.record_id, i)).collect();
        // Only the records looked at (not discarded) take part.
        let kept = Vectors {
            ids: vectors.ids.iter().copied().filter(|id| position.contains_key(id)).collect(),
            dim: vectors.dim,
            data: vectors
                .ids
                .iter()
                .enumerate()
                .filter(|(_, id)| position.contains_key(id))
                .flat_map(|(i, _)| vectors.row(i).iter().copied())
                .collect(),
        };
        embedded = kept.len() as u64;
        watch.stage(JobStage::Computing, kept.len() as u64)?;
        let (pairs, every_pair) = kept.near_pairs(t, watch)?;
        exhaustive = every_pair;
        let mut near: Vec<(usize, usize, f32)> = Vec::with_capacity(pairs.len());
        for (a, b, s) in pairs {
            let (a, b) = (position[&kept.ids[a]], position[&kept.ids[b]]);
            groups.join(a, b);
            near.push((a, b, s));
        }
        for (a, _, s) in near {
            let root = groups.root(a);
            let entry = least.entry(root).or_insert(s);
            *entry = entry.min(s);
        }
    }
    let mut by_root: HashMap<usize, Vec<usize>> = HashMap::new();
    for i in 0..members.len() {
        let root = groups.root(i);
        by_root.entry(root).or_default().push(i);
    }
    let mut out: Vec<DuplicateGroup> = by_root
        .into_iter()
        .filter(|(_, m)| m.len() > 1)
        .map(|(root, positions)| {
            let exact = positions.iter().all(|&p| exact_of[p] == exact_of[positions[0]]);
            let records: Vec<GroupMember> = positions.iter().map(|&p| members[p].clone()).collect();
            let labelled: Vec<&Vec<String>> = records.iter().map(|m| &m.labels).filter(|l| !l.is_empty()).collect();
            let labels_disagree = labelled.windows(2).any(|w| w[0] != w[1]);
            let keep = records.iter().find(|m| m.accepted).unwrap_or(&records[0]).record_id;
            DuplicateGroup { least_similarity: if exact { None } else { least.get(&root).copied() }, exact, labels_disagree, keep, records }
        })
        .collect();
    out.sort_by(|a, b| b.records.len().cmp(&a.records.len()).then(a.records[0].row.cmp(&b.records[0].row)));
    let warning = out.iter().find(|g| !g.exact && g.records.len() as u64 * LARGE_GROUP_SHARE >= (members.len() as u64).max(LARGE_GROUP_SHARE)).map(|g| {
        format!(
            "one group holds {} of {} records: these embeddings do not tell them apart at cosine {}; raise the threshold, or embed with a sentence-embedding model, before discarding any of them",
            g.records.len(),
            members.len(),
            threshold.unwrap_or(NEAR_DUPLICATE_COSINE)
        )
    });
    Ok(DuplicateReport {
        corpus: corpus.to_string(),
        embeddings,
        threshold,
        records: members.len() as u64,
        embedded,
        groups: out,
        warning,
        exhaustive,
    })
}

/// The records nearest one record of the set ("more like this"), itself left out.
pub fn more_like(store: &Store, vectors: &Vectors, record_id: i64, k: usize) -> Result<Vec<Neighbour>> {
    let Some(query) = vectors.vector_of(record_id) else {
        let _ = store.record_text(record_id)?;
        return Err(Error::Input(format!("record {record_id} has no vector in this embedding set; embed the corpus (the rest of it) first")));
    };
    vectors.nearest(query, k, Some(record_id))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vectors(n: usize, dim: usize, seed: u64) -> Vec<(i64, Vec<f32>)> {
        use rand::{Rng, SeedableRng};
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
        (0..n).map(|i| (i as i64 * 3 + 1, (0..dim).map(|_| rng.random::<f32>() - 0.5).collect())).collect()
    }

    #[test]
    fn every_instruction_set_gives_the_same_bits() {
        let bits = |v: &[f32]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
        for dim in [37, 384, 8] {
            let rows = Vectors::new(dim, vectors(50, dim, 1)).unwrap();
            let query = rows.row(7).to_vec();
            let mut expected = vec![0f32; 50];
            kernels::scores_on(kernels::Isa::Generic, &rows.data, dim, &query, &mut expected);
            let mut here = vec![0f32; 50];
            kernels::scores_on(kernels::isa(), &rows.data, dim, &query, &mut here);
            assert_eq!(bits(&expected), bits(&here), "{dim} numbers, {:?}", kernels::isa());
            let (mut generic, mut four) = ([0f32; 4], [0f32; 4]);
            let block = [rows.row(0), rows.row(1), rows.row(2), rows.row(3)];
            kernels::dot4_on(kernels::Isa::Generic, block, &query, &mut generic);
            kernels::dot4(block, &query, &mut four);
            assert_eq!(bits(&four), bits(&generic));
            assert_eq!(bits(&four), bits(&expected[..4]));
            assert_eq!(four[0].to_bits(), kernels::dot(rows.row(0), &query).to_bits());
        }
    }

    #[test]
    fn nearest_equals_sorting_every_similarity() {
        let rows = Vectors::new(24, vectors(20_000, 24, 2)).unwrap();
        let query: Vec<f32> = vectors(1, 24, 3).remove(0).1;
        let found = rows.nearest(&query, 25, Some(rows.ids[0])).unwrap();
        let norm = query.iter().map(|x| x * x).sum::<f32>().sqrt();
        let unit: Vec<f32> = query.iter().map(|x| x / norm).collect();
        let mut all: Vec<(f32, usize)> = (1..rows.len()).map(|i| (kernels::dot(rows.row(i), &unit), i)).collect();
        all.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
        let expected: Vec<i64> = all[..25].iter().map(|(_, i)| rows.ids[*i]).collect();
        assert_eq!(found.iter().map(|n| n.record_id).collect::<Vec<_>>(), expected);
        assert!(found.windows(2).all(|w| w[0].similarity >= w[1].similarity));
        assert!(rows.nearest(&query[..3], 5, None).is_err());
        assert!(rows.nearest(&[f32::NAN; 24], 5, None).is_err());
    }

    #[test]
    fn hashing_finds_what_every_pair_finds_above_the_threshold() {
        use rand::{Rng, SeedableRng};
        // Pairs planted at cosines spread over [0.95, 1): a vector and its copy moved by noise.
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(5);
        let mut rows = vectors(3000, 32, 6);
        for k in 0..150 {
            let (from, to) = (k * 17 % 3000, (k * 17 + 1500) % 3000);
            let noise = 0.05 + 0.3 * rng.random::<f32>();
            let v: Vec<f32> = rows[from].1.iter().map(|x| x + noise * (rng.random::<f32>() - 0.5) * 0.3).collect();
            rows[to].1 = v;
        }
        let table = Vectors::new(32, rows).unwrap();
        let exact = table.pairs_at_least(0.95, &mut Watch::none()).unwrap();
        let plan = LshPlan::for_threshold(0.95);
        assert!(plan.recall_at(0.95) >= LSH_RECALL && plan.tables <= 32, "{plan:?}");
        let hashed = table.hashed_pairs(0.95, plan, &mut Watch::none()).unwrap();
        assert!(hashed.iter().all(|p| exact.contains(p)), "hashing only keeps pairs at the threshold, with their exact similarity");
        assert!(exact.len() >= 100, "{} planted pairs at the threshold", exact.len());
        let recall = hashed.len() as f64 / exact.len() as f64;
        assert!(recall >= 0.95, "recall {recall} of {} pairs", exact.len());
        // A low threshold gets the widest plan the limits allow.
        assert_eq!(LshPlan::for_threshold(0.3), LshPlan { bits: 8, tables: 32 });
    }

    #[test]
    fn pairs_equal_every_pair_compared() {
        let mut rows = vectors(300, 20, 4);
        // Plant near copies.
        for (from, to) in [(3usize, 250usize), (10, 11), (11, 299), (70, 71)] {
            let mut v = rows[from].1.clone();
            v[0] += 0.01;
            rows[to].1 = v;
        }
        let table = Vectors::new(20, rows).unwrap();
        let found = table.pairs_at_least(0.98, &mut Watch::none()).unwrap();
        let mut expected = Vec::new();
        for i in 0..table.len() {
            for j in i + 1..table.len() {
                let s = kernels::dot(table.row(i), table.row(j));
                if s >= 0.98 {
                    expected.push((i, j, s));
                }
            }
        }
        assert_eq!(found, expected);
        assert!(expected.len() >= 4);
    }
}
