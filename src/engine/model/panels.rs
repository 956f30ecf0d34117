//! Exact f32 products on AVX-512, from weights kept in the kernel's own layout.
//!
//! gemm (the library candle's CPU matmul uses) packs a weight into its panel layout on every
//! call, and each thread packs the same panels. At the sizes inspect and small batches run (a
//! hundred rows) that packing was 17.5% of an inspect call (perf, medium, 126 tokens, Zen 4).
//! Here each weight is packed once, at load, in place of the transposed copy gemm would read:
//! 32-column panels, each the panel's columns for every row of the inner dimension (32 f32
//! values, two 16-lane registers, per row). A block of up to 8 output rows × one panel is
//! accumulated in 16 registers, one fused multiply-add per value of the panel and row
//! (docs/benchmarks.md has the speed against gemm and PyTorch).
//!
//! Each output value is summed in one order, whatever rows share the call and however the work
//! is split: start (bias + residual), then the inner dimension in order, stored and reloaded
//! between passes of [`DEPTH`]. A record's result therefore does not depend on its batch.
//! Without AVX-512 (or with `SELECTRA_NO_AVX512_PANELS` set, for comparing), [`available`] is
//! false and dense layers keep gemm.

use std::mem::MaybeUninit;

use rayon::prelude::*;

/// Output columns per panel: two 16-lane registers.
pub(super) const PANEL: usize = 32;
/// Output rows per register block (16 accumulators; with 12 rows' 24, LLVM kept a copy of every
/// accumulator on the stack, a store per multiply-add).
const BLOCK_ROWS: usize = 8;
const _: () = assert!(BLOCK_ROWS <= 8, "the kernels are compiled for blocks of 1 to 8 rows");
/// Inner-dimension values per pass over a panel: 512 rows of a 32-column panel are 64 KiB, read
/// from L2 by every row block of a task (two loads per 16 multiply-adds: L2 keeps up).
const DEPTH: usize = 512;
/// A task's activations take at most about this many bytes, so they stay in L2 across the
/// task's panels.
const TASK_BYTES: usize = 256 * 1024;

/// What runs on each finished stretch of an output row (an activation).
pub type Finish<'a> = &'a (dyn Fn(&mut [f32]) + Sync);

/// Whether exact products run on this kernel here (AVX-512F, not turned off).
pub fn available() -> bool {
    static AVAILABLE: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    *AVAILABLE.get_or_init(|| cpu_has_it() && std::env::var_os("SELECTRA_NO_AVX512_PANELS").is_none())
}

fn cpu_has_it() -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        std::is_x86_feature_detected!("avx512f")
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        false
    }
}

/// A weight in 32-column panels: panel `p`'s values for inner row `i` are
/// `data[(p * k + i) * 32..][..32]`, columns past `n` zeros.
pub struct PanelWeight {
    data: Vec<f32>,
    k: usize,
    n: usize,
    panels: usize,
}

impl PanelWeight {
    /// From a weight as transformers stores it, `(n, k)` row-major (the product is `x · Wᵀ`).
    /// Panels are filled in parallel, each read as 32 rows of `weight` in order.
    pub fn new(weight: &[f32], n: usize, k: usize) -> Self {
        let panels = n.div_ceil(PANEL);
        let mut data = vec![0f32; panels * k * PANEL];
        let fill = |(p, panel): (usize, &mut [f32])| {
            for c in 0..PANEL.min(n - p * PANEL) {
                let row = &weight[(p * PANEL + c) * k..(p * PANEL + c + 1) * k];
                for (i, &v) in row.iter().enumerate() {
                    panel[i * PANEL + c] = v;
                }
            }
        };
        if panels * k * PANEL >= 64 * 1024 {
            data.par_chunks_mut(k * PANEL).enumerate().for_each(fill);
        } else {
            data.chunks_mut(k * PANEL).enumerate().for_each(fill);
        }
        Self { data, k, n, panels }
    }

    /// `Wᵀ[i][c]`: the weight's value for inner row `i` and output column `c`.
    pub fn get(&self, i: usize, c: usize) -> f32 {
        self.data[((c / PANEL) * self.k + i) * PANEL + c % PANEL]
    }

    /// Writes `out[r * n + c] = start[r][c] + x[r] · Wᵀ[:, c]` for the `rows` rows of `x`
    /// (`(rows, k)` row-major), where `start` is the bias plus the residual's row (either may be
    /// absent: zeros), then `finish` (an activation) on each finished stretch of a row. `out`
    /// may be uninitialized: every value is written before any is read.
    /// Panics unless the CPU has AVX-512 and the sizes fit.
    pub fn compute(
        &self,
        x: &[f32],
        rows: usize,
        bias: Option<&[f32]>,
        residual: Option<&[f32]>,
        finish: Option<Finish>,
        out: &mut [MaybeUninit<f32>],
    ) {
        let (k, n) = (self.k, self.n);
        assert!(cpu_has_it(), "the f32 panel kernel needs AVX-512");
        assert!(x.len() >= rows * k && out.len() >= rows * n, "f32 product: buffers too small");
        assert!(bias.is_none_or(|b| b.len() >= n) && residual.is_none_or(|r| r.len() >= rows * n), "f32 product: bias or residual too small");
        // Tasks: chunks of rows whose activations fit in L2, times groups of panels, enough of
        // them to keep every thread busy when there are few rows.
        let chunk_rows = (TASK_BYTES / (4 * k.max(1))).max(4 * BLOCK_ROWS).next_multiple_of(BLOCK_ROWS);
        let chunks = rows.div_ceil(chunk_rows);
        let threads = rayon::current_num_threads();
        let groups = if threads > 1 { (2 * threads).div_ceil(chunks.max(1)).min(self.panels) } else { 1 };
        let out = SharedOut(out.as_mut_ptr().cast::<f32>());
        let task = |t: usize| {
            let (chunk, group) = (t / groups, t % groups);
            let (first, last) = (chunk * chunk_rows, ((chunk + 1) * chunk_rows).min(rows));
            let panels = group * self.panels / groups..(group + 1) * self.panels / groups;
            // SAFETY: the CPU has AVX-512 (asserted); `x`, bias and residual cover `rows` rows
            // (asserted); each task writes only its own rows × panels of `out`, which holds
            // `rows * n` values, and reads back only what it wrote.
            unsafe { self.task(x, first..last, panels, bias, residual, finish, out.get()) };
        };
        let tasks = chunks * groups;
        if threads > 1 && tasks > 1 {
            (0..tasks).into_par_iter().for_each(task);
        } else {
            (0..tasks).for_each(task);
        }
    }

    /// Rows `rows` × panels `panels` of [`PanelWeight::compute`]: for each panel and pass over
    /// the inner dimension, every block of rows.
    ///
    /// # Safety
    /// As `compute` checks; `out` holds the call's `rows * n` values.
    #[allow(clippy::too_many_arguments)]
    unsafe fn task(
        &self,
        x: &[f32],
        rows: std::ops::Range<usize>,
        panels: std::ops::Range<usize>,
        bias: Option<&[f32]>,
        residual: Option<&[f32]>,
        finish: Option<Finish>,
        out: *mut f32,
    ) {
        let (k, n) = (self.k, self.n);
        // Where a block's rows, `k` values apart, would fall into a few L1 sets (a multiple of
        // 2 KiB apart: k = 512, 1024, 1536, 3072), the kernel would miss L1 on every step; there
        // the task's rows are first copied one cache line further apart.
        let mut copy = SCRATCH.take();
        let (a, lda) = if crowded(k) {
            let lda = k + 16;
            copy.clear();
            copy.resize(rows.len() * lda, 0.0);
            for (dst, src) in copy.chunks_exact_mut(lda).zip(x[rows.start * k..rows.end * k].chunks_exact(k)) {
                dst[..k].copy_from_slice(src);
            }
            (copy.as_ptr(), lda)
        } else {
            (x.as_ptr().add(rows.start * k), k)
        };
        for p in panels.clone() {
            let cols = (n - p * PANEL).min(PANEL);
            for start in (0..k).step_by(DEPTH) {
                let depth = DEPTH.min(k - start);
                for r in rows.clone().step_by(BLOCK_ROWS) {
                    let block = BLOCK_ROWS.min(rows.end - r);
                    // The first pass starts from bias + residual; the others from what the
                    // previous pass wrote.
                    let init = (start == 0).then(|| Start {
                        bias: bias.map_or(std::ptr::null(), |b| b[p * PANEL..].as_ptr()),
                        residual: residual.map_or(std::ptr::null(), |res| res[r * n + p * PANEL..].as_ptr()),
                        ld: n,
                    });
                    let operands = Block {
                        a: a.add((r - rows.start) * lda + start),
                        lda,
                        b: self.data.as_ptr().add((p * k + start) * PANEL),
                        depth,
                        c: out.add(r * n + p * PANEL),
                        ldc: n,
                        cols,
                        start: init,
                    };
                    kernels::block(block, operands);
                }
            }
        }
        SCRATCH.set(copy);
        // The activation on each row's stretch of the task's panels, in one call (a call per
        // block's row, 32 values, cost GELU twice its time).
        if let Some(finish) = finish {
            let (first, last) = (panels.start * PANEL, (panels.end * PANEL).min(n));
            for r in rows {
                finish(std::slice::from_raw_parts_mut(out.add(r * n + first), last - first));
            }
        }
    }
}

/// Whether a block's rows, `k` floats apart, would crowd L1: more than three of them in one of
/// its 64 sets (of 64-byte lines, 4 KiB apart; a set has 8 ways, which the weights' panel shares).
fn crowded(k: usize) -> bool {
    let mut per_set = [0usize; 64];
    for r in 0..BLOCK_ROWS {
        per_set[(r * k * 4 / 64) % 64] += 1;
    }
    per_set.iter().any(|&rows| rows > 3)
}

thread_local! {
    /// Each thread's buffer for its task's rows where they are copied (kept: a fresh one per
    /// task would be a fresh mapping, and its page faults, on every product).
    static SCRATCH: std::cell::Cell<Vec<f32>> = const { std::cell::Cell::new(Vec::new()) };
}

/// The output buffer, shared by tasks that write disjoint parts of it.
#[derive(Clone, Copy)]
struct SharedOut(*mut f32);
// SAFETY: tasks write disjoint rows × panels of the buffer (see `compute`).
unsafe impl Send for SharedOut {}
unsafe impl Sync for SharedOut {}

impl SharedOut {
    /// The pointer (a method, so that closures capture the whole `SharedOut`, not its field).
    fn get(self) -> *mut f32 {
        self.0
    }
}

/// Where a block's first pass starts: bias (one row, the block's columns) plus residual (rows of
/// `ld`, from the block's first row and column); null pointers are zeros.
#[derive(Clone, Copy)]
pub(super) struct Start {
    pub bias: *const f32,
    pub residual: *const f32,
    pub ld: usize,
}

/// One output block's operands: `R` rows of `a` (`lda` apart, `depth` values read), the panel's `depth` rows of `b` (32 values each), and `c` (`ldc` apart, `cols ≤ 32`
/// columns), started from `start` or, when `None`, from `c`'s own values (a later pass).
#[derive(Clone, Copy)]
struct Block {
    a: *const f32,
    lda: usize,
    b: *const f32,
    depth: usize,
    c: *mut f32,
    ldc: usize,
    cols: usize,
    start: Option<Start>,
}

/// `$rows::<R>($block)` with `R = $count`, for the block sizes both kernels compile (1 to 8 rows).
#[cfg(target_arch = "x86_64")]
macro_rules! by_count {
    ($count:expr, $rows:ident, $block:expr) => {
        match $count {
            1 => $rows::<1>($block),
            2 => $rows::<2>($block),
            3 => $rows::<3>($block),
            4 => $rows::<4>($block),
            5 => $rows::<5>($block),
            6 => $rows::<6>($block),
            7 => $rows::<7>($block),
            8 => $rows::<8>($block),
            _ => unreachable!("blocks have 1 to 8 rows"),
        }
    };
}
#[cfg(target_arch = "x86_64")]
pub(super) use by_count;

#[cfg(target_arch = "x86_64")]
pub(super) mod kernels {
    use std::arch::x86_64::*;

    use super::{Block, Start, PANEL};

    /// The masks of a panel's two registers for a block `cols` wide.
    #[inline]
    pub fn masks(cols: usize) -> [__mmask16; 2] {
        let lanes = |half: usize| {
            let valid = cols.saturating_sub(half * 16).min(16);
            ((1u32 << valid) - 1) as __mmask16
        };
        [lanes(0), lanes(1)]
    }

    /// A block's `R` rows of accumulators as a pass begins: `start`'s values, or `c`'s own (`ldc`
    /// apart) when `None`.
    ///
    /// # Safety
    /// AVX-512F; the pointers valid for `R` rows of the masked columns.
    #[inline]
    #[target_feature(enable = "avx512f")]
    pub unsafe fn begin<const R: usize>(start: Option<Start>, c: *const f32, ldc: usize, [low, high]: [__mmask16; 2]) -> [[__m512; 2]; R] {
        let mut acc = [[_mm512_setzero_ps(); 2]; R];
        match start {
            None => {
                for (r, acc) in acc.iter_mut().enumerate() {
                    acc[0] = _mm512_maskz_loadu_ps(low, c.add(r * ldc));
                    acc[1] = _mm512_maskz_loadu_ps(high, c.add(r * ldc + 16));
                }
            }
            Some(s) => {
                let bias = if s.bias.is_null() {
                    [_mm512_setzero_ps(); 2]
                } else {
                    [_mm512_maskz_loadu_ps(low, s.bias), _mm512_maskz_loadu_ps(high, s.bias.add(16))]
                };
                for (r, acc) in acc.iter_mut().enumerate() {
                    *acc = bias;
                    if !s.residual.is_null() {
                        acc[0] = _mm512_add_ps(acc[0], _mm512_maskz_loadu_ps(low, s.residual.add(r * s.ld)));
                        acc[1] = _mm512_add_ps(acc[1], _mm512_maskz_loadu_ps(high, s.residual.add(r * s.ld + 16)));
                    }
                }
            }
        }
        acc
    }

    /// Stores a block's accumulators into `c` (`ldc` apart), masked to its columns.
    ///
    /// # Safety
    /// AVX-512F; `c` writable for `R` rows of the masked columns.
    #[inline]
    #[target_feature(enable = "avx512f")]
    pub unsafe fn end<const R: usize>(acc: &[[__m512; 2]; R], c: *mut f32, ldc: usize, [low, high]: [__mmask16; 2]) {
        for (r, acc) in acc.iter().enumerate() {
            _mm512_mask_storeu_ps(c.add(r * ldc), low, acc[0]);
            _mm512_mask_storeu_ps(c.add(r * ldc + 16), high, acc[1]);
        }
    }

    /// `R` rows of the output, one panel wide: `c[r][0..cols] = s[r] + Σ_i a[r][i] · b[i]`, summed
    /// in order of `i`, where `s` is `start`'s values, or `c`'s own when `start` is `None`.
    ///
    /// # Safety
    /// AVX-512F; the block's pointers valid as [`Block`] describes for `R` rows.
    #[target_feature(enable = "avx512f")]
    unsafe fn rows<const R: usize>(Block { a, lda, b, depth, c, ldc, cols, start }: Block) {
        let masks = masks(cols);
        let mut acc = begin::<R>(start, c, ldc, masks);
        for i in 0..depth {
            let b0 = _mm512_loadu_ps(b.add(i * PANEL));
            let b1 = _mm512_loadu_ps(b.add(i * PANEL + 16));
            for (r, acc) in acc.iter_mut().enumerate() {
                let x = _mm512_set1_ps(*a.add(r * lda + i));
                acc[0] = _mm512_fmadd_ps(x, b0, acc[0]);
                acc[1] = _mm512_fmadd_ps(x, b1, acc[1]);
            }
        }
        end::<R>(&acc, c, ldc, masks);
    }

    /// [`rows`] for a block of 1 to 8 rows.
    ///
    /// # Safety
    /// As [`rows`], with `R = count`.
    pub(super) unsafe fn block(count: usize, block: Block) {
        by_count!(count, rows, block)
    }
}

#[cfg(not(target_arch = "x86_64"))]
mod kernels {
    use super::Block;

    pub(super) unsafe fn block(_: usize, _: Block) {
        unreachable!("available() is false off x86-64")
    }
}

/// `n` pseudo-random values in [-1, 1) from `seed`, the kernels' tests' operands.
#[cfg(test)]
pub(super) fn test_values(n: usize, seed: u64) -> Vec<f32> {
    let mut s = seed;
    (0..n)
        .map(|_| {
            s = s.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            ((s >> 40) as f32 / (1u64 << 24) as f32) * 2.0 - 1.0
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::test_values as values;
    use super::*;

    fn compute(w: &PanelWeight, x: &[f32], rows: usize, bias: Option<&[f32]>, residual: Option<&[f32]>, finish: Option<Finish>) -> Vec<f32> {
        let mut out = Vec::with_capacity(rows * w.n);
        w.compute(x, rows, bias, residual, finish, &mut out.spare_capacity_mut()[..rows * w.n]);
        // SAFETY: `compute` writes every value.
        unsafe { out.set_len(rows * w.n) };
        out
    }

    /// Sizes with a partial panel, block, pass and task, and several of each.
    const SIZES: [(usize, usize, usize); 6] = [(1, 3, 1), (13, 33, 31), (70, 300, 65), (130, 1030, 40), (25, 129, 96), (300, 1536, 70)];

    /// Inner dimensions whose rows are copied (a multiple of 2 KiB apart, as the docs say), and
    /// some read in place.
    #[test]
    fn rows_a_multiple_of_2_kib_apart_are_copied() {
        assert!([512, 1024, 1536, 3072].into_iter().all(crowded));
        assert!(![256, 384, 768, 700, 1030].into_iter().any(crowded));
    }

    /// Every value within the standard bound of an f32 dot product's rounding (`(k + 2) · 2⁻²⁴ ·
    /// Σ|terms|`) of the same sum in f64, and the weight read back as it was given.
    #[test]
    fn products_are_the_sums_within_f32_rounding() {
        if !cpu_has_it() {
            eprintln!("skipped: this CPU has no AVX-512");
            return;
        }
        assert!(SIZES.iter().any(|s| crowded(s.1)) && SIZES.iter().any(|s| !crowded(s.1)), "rows read in place and copied");
        for (rows, k, n) in SIZES {
            let (x, w) = (values(rows * k, 1), values(n * k, 2));
            let (bias, residual) = (values(n, 3), values(rows * n, 4));
            let packed = PanelWeight::new(&w, n, k);
            assert!((0..n).all(|c| (0..k).all(|i| packed.get(i, c) == w[c * k + i])), "({n}, {k}): the weight reads back");
            let out = compute(&packed, &x, rows, Some(&bias), Some(&residual), None);
            for r in 0..rows {
                for c in 0..n {
                    let terms = (0..k).map(|i| f64::from(x[r * k + i]) * f64::from(w[c * k + i]));
                    let start = f64::from(bias[c]) + f64::from(residual[r * n + c]);
                    let (want, size) = terms.fold((start, start.abs()), |(s, m), t| (s + t, m + t.abs()));
                    let bound = (k + 2) as f64 * f64::from(f32::EPSILON) / 2.0 * size;
                    let got = f64::from(out[r * n + c]);
                    assert!((got - want).abs() <= bound, "({rows}, {k}, {n}) at [{r}][{c}]: {got} vs {want}");
                }
            }
        }
    }

    /// A row's values are the same bits alone, among a few and among hundreds (other tasks,
    /// chunks and panel groups), on one thread and on several, with rows read in place (k = 700)
    /// and copied further apart (k = 1024); the activation runs once on each value; bias and residual
    /// start the sums.
    #[test]
    fn a_rows_result_does_not_depend_on_the_other_rows_or_threads() {
        if !cpu_has_it() {
            eprintln!("skipped: this CPU has no AVX-512");
            return;
        }
        for k in [700, 1024] {
            rows_alone_and_among_others(k, 200);
        }
    }

    fn rows_alone_and_among_others(k: usize, n: usize) {
        let (x, w) = (values(400 * k, 4), values(n * k, 5));
        let packed = PanelWeight::new(&w, n, k);
        let bias = values(n, 6);
        let all = compute(&packed, &x, 400, Some(&bias), None, None);
        for (first, rows) in [(0, 1), (7, 3), (64, 65), (100, 300)] {
            let part = compute(&packed, &x[first * k..], rows, Some(&bias), None, None);
            assert_eq!(part[..], all[first * n..(first + rows) * n], "k {k}: rows {first}..{}", first + rows);
        }
        let one_thread = rayon::ThreadPoolBuilder::new().num_threads(1).build().unwrap();
        assert_eq!(one_thread.install(|| compute(&packed, &x, 400, Some(&bias), None, None)), all, "k {k}: one thread");
        let three = rayon::ThreadPoolBuilder::new().num_threads(3).build().unwrap();
        assert_eq!(three.install(|| compute(&packed, &x, 400, Some(&bias), None, None)), all, "k {k}: three threads");
        let plain = compute(&packed, &x, 400, None, None, None);
        assert!(plain.iter().zip(&all).any(|(p, a)| p != a));
        let with_residual = compute(&packed, &x, 400, None, Some(&bias.repeat(400)), None);
        assert_eq!(with_residual, all, "a residual of the bias's rows is the bias");
        let doubled = compute(&packed, &x, 400, Some(&bias), None, Some(&|v: &mut [f32]| v.iter_mut().for_each(|v| *v *= 2.0)));
        assert!(doubled.iter().zip(&all).all(|(d, a)| *d == 2.0 * a), "the activation runs once on each value");
    }
}
