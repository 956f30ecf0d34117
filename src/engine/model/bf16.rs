//! The reduced-precision products of the fast mode: weights and activations rounded to bfloat16,
//! products summed in f32, on the CPU's AVX512_BF16 dot-product instruction (`vdpbf16ps`, two
//! bf16 products added to an f32 lane; twice the f32 FMA rate per instruction).
//!
//! No maintained Rust kernel library has bf16 products on the CPU (gemm's f16 path converts to
//! f32 first; candle 0.11 has no bf16 CPU matmul), so this is one small kernel: weights packed at
//! first use into 32-column panels of bf16 pairs along the inner dimension (the operand layout
//! `vdpbf16ps` takes), activations converted to pairs per call, an 8 × 32 block of the output
//! accumulated in 16 registers. Measured on the reference machine (2 Zen 4 cores), SELECTRA-medium
//! shapes with 2,048 rows: 300–390 GFLOP/s, against 190–210 for gemm's f32.
//!
//! Each output row is summed in the same order whatever rows share the call (rows are split into
//! blocks, never the inner dimension differently), so a record's result does not depend on its
//! batch here either. Where the instruction is missing, [`available`] is false and the fast mode
//! falls back to f32 (see `crate::domain::precision`).

use rayon::prelude::*;

/// Output columns per panel: two 16-lane registers.
const PANEL: usize = 32;
/// Output rows per register block.
const BLOCK_ROWS: usize = 8;
/// Inner-dimension pairs per pass over a panel: 128 pairs of a 32-column panel are 16 KiB,
/// which stay in L1 while every row block of a chunk reuses them.
const DEPTH_PAIRS: usize = 128;
/// Rows per parallel task (their converted activations stay in L2 across the panels).
const CHUNK_ROWS: usize = 64;

/// Whether this CPU has the instructions the fast mode needs.
pub fn available() -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        std::is_x86_feature_detected!("avx512f") && std::is_x86_feature_detected!("avx512bf16")
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        false
    }
}

/// What runs on each finished stretch of an output row (an activation).
pub type Finish<'a> = &'a (dyn Fn(&mut [f32]) + Sync);

/// A weight `(k, n)` (the layer's transpose, as `Linear` keeps it) in bf16 panels: for each
/// panel of 32 columns, for each pair of rows `(2q, 2q + 1)`, each column's two values side by
/// side. Missing rows and columns are zeros.
pub struct PackedWeight {
    data: Vec<u16>,
    k: usize,
    n: usize,
    pairs: usize,
    panels: usize,
}

impl PackedWeight {
    /// `weight_t` is `(k, cols)` row-major; the first `n` columns are packed.
    pub fn new(weight_t: &[f32], k: usize, cols: usize, n: usize) -> Self {
        let pairs = k.div_ceil(2);
        let panels = n.div_ceil(PANEL);
        let mut data = vec![0u16; panels * pairs * PANEL * 2];
        for (p, panel) in data.chunks_exact_mut(pairs * PANEL * 2).enumerate() {
            for (q, pair) in panel.chunks_exact_mut(PANEL * 2).enumerate() {
                for (c, values) in pair.chunks_exact_mut(2).enumerate() {
                    let col = p * PANEL + c;
                    if col >= n {
                        break;
                    }
                    for (h, v) in values.iter_mut().enumerate() {
                        let row = 2 * q + h;
                        if row < k {
                            *v = half::bf16::from_f32(weight_t[row * cols + col]).to_bits();
                        }
                    }
                }
            }
        }
        Self { data, k, n, pairs, panels }
    }

    /// Writes `out[r * n + c] = start[r][c] + x[r] · W[:, c]` for the `rows` rows of `x`
    /// (`(rows, k)` row-major), where `start` is the bias plus the residual's row (either may be
    /// absent: zeros), then `finish` (an activation) on each finished stretch of a row.
    /// `out` may be uninitialized: every value is written, before any is read.
    /// Panics unless [`available`] and the sizes fit.
    pub fn compute(
        &self,
        x: &[f32],
        rows: usize,
        bias: Option<&[f32]>,
        residual: Option<&[f32]>,
        finish: Option<Finish>,
        out: &mut [std::mem::MaybeUninit<f32>],
    ) {
        assert!(available(), "the bf16 kernel needs AVX512_BF16");
        let (k, n, pairs) = (self.k, self.n, self.pairs);
        assert!(x.len() >= rows * k && out.len() >= rows * n, "bf16 product: buffers too small");
        assert!(bias.is_none_or(|b| b.len() >= n) && residual.is_none_or(|r| r.len() >= rows * n), "bf16 product: bias or residual too small");
        let work = |(chunk, (out, x)): (usize, (&mut [std::mem::MaybeUninit<f32>], &[f32]))| {
            let rows = x.len() / k;
            let first_row = chunk * CHUNK_ROWS;
            let mut a = vec![0u32; rows * pairs];
            // SAFETY: `available()` was checked above; `a` holds `rows * pairs` pairs for `rows`
            // rows of `k` values.
            unsafe { kernels::to_pairs(x, k, &mut a) };
            for start in (0..pairs).step_by(DEPTH_PAIRS) {
                let depth = DEPTH_PAIRS.min(pairs - start);
                for p in 0..self.panels {
                    let cols = (n - p * PANEL).min(PANEL);
                    let b = &self.data[(p * pairs + start) * PANEL * 2..];
                    for r in (0..rows).step_by(BLOCK_ROWS) {
                        let block = BLOCK_ROWS.min(rows - r);
                        // The first pass over the inner dimension starts from bias + residual;
                        // the others from what the previous pass wrote.
                        let init = (start == 0).then(|| Start {
                            bias: bias.map_or(std::ptr::null(), |b| b[p * PANEL..].as_ptr()),
                            residual: residual.map_or(std::ptr::null(), |res| res[(first_row + r) * n + p * PANEL..].as_ptr()),
                            ld: n,
                        });
                        // SAFETY: `a` has `rows` rows of `pairs` pairs, read from `start` for
                        // `depth`; `b` is this panel's pairs from `start` on (`depth` of them, 64
                        // values each); `out` has `rows` rows of `n` values, written at columns
                        // p*32..p*32+cols of rows r..r+block, and read there only after the first
                        // pass wrote them; bias and residual cover the same columns and rows.
                        unsafe {
                            kernels::block(
                                block,
                                Block {
                                    a: a.as_ptr().add(r * pairs + start),
                                    lda: pairs,
                                    b: b.as_ptr(),
                                    pairs: depth,
                                    c: out.as_mut_ptr().add(r * n + p * PANEL).cast(),
                                    ldc: n,
                                    cols,
                                    start: init,
                                },
                            )
                        };
                        if let Some(finish) = finish.filter(|_| start + depth == pairs) {
                            for row in r..r + block {
                                let at = row * n + p * PANEL;
                                // SAFETY: the last pass just wrote these `cols` values.
                                let values = unsafe { std::slice::from_raw_parts_mut(out.as_mut_ptr().add(at).cast::<f32>(), cols) };
                                finish(values);
                            }
                        }
                    }
                }
            }
        };
        let out = &mut out[..rows * n];
        let x = &x[..rows * k];
        if rayon::current_num_threads() > 1 && rows > CHUNK_ROWS {
            out.par_chunks_mut(CHUNK_ROWS * n).zip(x.par_chunks(CHUNK_ROWS * k)).enumerate().for_each(work);
        } else {
            out.chunks_mut(CHUNK_ROWS * n).zip(x.chunks(CHUNK_ROWS * k)).enumerate().for_each(work);
        }
    }
}

/// Where a block's first pass starts: bias (one row, the block's columns) plus residual (rows of
/// `ld`, from the block's first row and column); null pointers are zeros.
#[derive(Clone, Copy)]
struct Start {
    bias: *const f32,
    residual: *const f32,
    ld: usize,
}

/// One output block's operands: `R` rows of `a` (`lda` pairs apart, `pairs` of them read), the
/// panel's `pairs` pairs of `b` (64 values each), and `c` (`ldc` apart, `cols ≤ 32` columns),
/// started from `start` or, when `None`, from `c`'s own values (a later pass).
#[derive(Clone, Copy)]
struct Block {
    a: *const u32,
    lda: usize,
    b: *const u16,
    pairs: usize,
    c: *mut f32,
    ldc: usize,
    cols: usize,
    start: Option<Start>,
}

#[cfg(target_arch = "x86_64")]
mod kernels {
    use std::arch::x86_64::*;

    use super::{Block, PANEL};

    /// Each row of `x` (`k` values) as bf16 pairs, rounded to nearest even: the low half of each
    /// u32 holds the even element.
    ///
    /// # Safety
    /// The CPU must have AVX512F and AVX512_BF16; `out` must hold `x.len() / k * ceil(k/2)` pairs.
    #[target_feature(enable = "avx512f,avx512bf16")]
    pub unsafe fn to_pairs(x: &[f32], k: usize, out: &mut [u32]) {
        let pairs = k.div_ceil(2);
        for (row, dst) in x.chunks_exact(k).zip(out.chunks_exact_mut(pairs)) {
            let mut q = 0;
            while 2 * q + 32 <= k {
                let lo = _mm512_loadu_ps(row.as_ptr().add(2 * q));
                let hi = _mm512_loadu_ps(row.as_ptr().add(2 * q + 16));
                // The first 16 results come from the second operand.
                let both = _mm512_cvtne2ps_pbh(hi, lo);
                _mm512_storeu_si512(dst.as_mut_ptr().add(q).cast(), std::mem::transmute::<__m512bh, __m512i>(both));
                q += 16;
            }
            while q < pairs {
                let even = u32::from(half::bf16::from_f32(row[2 * q]).to_bits());
                let odd = if 2 * q + 1 < k { u32::from(half::bf16::from_f32(row[2 * q + 1]).to_bits()) } else { 0 };
                dst[q] = even | (odd << 16);
                q += 1;
            }
        }
    }

    fn lanes(cols: usize, half: usize) -> __mmask16 {
        let valid = cols.saturating_sub(half * 16).min(16);
        ((1u32 << valid) - 1) as __mmask16
    }

    /// `R` rows of the output, one panel wide: `c[r][0..cols] = s[r] + Σ_q a[r][q] · b[q]`, where
    /// `s` is `start`'s values, or `c`'s own when `start` is `None` (a later pass).
    ///
    /// # Safety
    /// AVX512F and AVX512_BF16; the block's pointers valid as [`Block`] describes for `R` rows
    /// (`c` readable too when `start` is `None`; `start`'s pointers over the same block).
    #[target_feature(enable = "avx512f,avx512bf16")]
    unsafe fn rows<const R: usize>(Block { a, lda, b, pairs, c, ldc, cols, start }: Block) {
        let (low, high) = (lanes(cols, 0), lanes(cols, 1));
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
        for q in 0..pairs {
            let b0 = std::mem::transmute::<__m512i, __m512bh>(_mm512_loadu_si512(b.add(q * PANEL * 2).cast()));
            let b1 = std::mem::transmute::<__m512i, __m512bh>(_mm512_loadu_si512(b.add(q * PANEL * 2 + 32).cast()));
            for (r, acc) in acc.iter_mut().enumerate() {
                let x = std::mem::transmute::<__m512i, __m512bh>(_mm512_set1_epi32(*a.add(r * lda + q) as i32));
                acc[0] = _mm512_dpbf16_ps(acc[0], x, b0);
                acc[1] = _mm512_dpbf16_ps(acc[1], x, b1);
            }
        }
        for (r, acc) in acc.iter().enumerate() {
            _mm512_mask_storeu_ps(c.add(r * ldc), low, acc[0]);
            _mm512_mask_storeu_ps(c.add(r * ldc + 16), high, acc[1]);
        }
    }

    /// [`rows`] for a block of 1 to 8 rows.
    ///
    /// # Safety
    /// As [`rows`], with `R = count`.
    pub unsafe fn block(count: usize, block: Block) {
        match count {
            1 => rows::<1>(block),
            2 => rows::<2>(block),
            3 => rows::<3>(block),
            4 => rows::<4>(block),
            5 => rows::<5>(block),
            6 => rows::<6>(block),
            7 => rows::<7>(block),
            8 => rows::<8>(block),
            _ => unreachable!("blocks have 1 to {} rows", super::BLOCK_ROWS),
        }
    }
}

#[cfg(not(target_arch = "x86_64"))]
mod kernels {
    use super::Block;

    pub unsafe fn to_pairs(_: &[f32], _: usize, _: &mut [u32]) {
        unreachable!("available() is false off x86-64")
    }

    pub unsafe fn block(_: usize, _: Block) {
        unreachable!("available() is false off x86-64")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn values(n: usize, seed: u64) -> Vec<f32> {
        let mut s = seed;
        (0..n)
            .map(|_| {
                s = s.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
                ((s >> 40) as f32 / (1u64 << 24) as f32) * 2.0 - 1.0
            })
            .collect()
    }

    fn compute(packed: &PackedWeight, x: &[f32], rows: usize, bias: Option<&[f32]>, residual: Option<&[f32]>) -> Vec<f32> {
        let mut out = Vec::with_capacity(rows * packed.n);
        packed.compute(x, rows, bias, residual, None, &mut out.spare_capacity_mut()[..rows * packed.n]);
        // SAFETY: `compute` wrote every value.
        unsafe { out.set_len(rows * packed.n) };
        out
    }

    /// Against the same sums in f64 over the bf16-rounded operands: the kernel's only error is
    /// its f32 accumulation. Odd sizes cover the partial pair, panel, block and chunk.
    #[test]
    fn products_equal_the_rounded_operands_sums() {
        if !available() {
            eprintln!("skipped: this CPU has no AVX512_BF16");
            return;
        }
        for (rows, k, n) in [(1, 3, 1), (9, 33, 31), (70, 300, 65), (130, 1030, 40)] {
            let (x, w) = (values(rows * k, 1), values(k * n, 2));
            let (bias, residual) = (values(n, 3), values(rows * n, 4));
            let packed = PackedWeight::new(&w, k, n, n);
            let out = compute(&packed, &x, rows, Some(&bias), Some(&residual));
            let round = |v: f32| f64::from(half::bf16::from_f32(v).to_f32());
            for r in 0..rows {
                for c in 0..n {
                    let start = f64::from(bias[c] + residual[r * n + c]);
                    let want = start + (0..k).map(|i| round(x[r * k + i]) * round(w[i * n + c])).sum::<f64>();
                    let got = f64::from(out[r * n + c]);
                    assert!((got - want).abs() < 1e-5 * (k as f64).sqrt() * 4.0, "({rows}, {k}, {n}) at [{r}][{c}]: {got} vs {want}");
                }
            }
        }
    }

    /// A row's result is bit-identical alone and among many (the chunks and blocks differ).
    #[test]
    fn a_rows_result_does_not_depend_on_the_other_rows() {
        if !available() {
            eprintln!("skipped: this CPU has no AVX512_BF16");
            return;
        }
        let (k, n) = (300, 96);
        let (x, w) = (values(200 * k, 4), values(k * n, 5));
        let packed = PackedWeight::new(&w, k, n, n);
        let bias = values(n, 6);
        let all = compute(&packed, &x, 200, Some(&bias), None);
        for (first, rows) in [(0, 1), (7, 3), (64, 65)] {
            let part = compute(&packed, &x[first * k..], rows, Some(&bias), None);
            assert_eq!(part[..], all[first * n..(first + rows) * n], "rows {first}..{}", first + rows);
        }
        // No bias and no residual: the product alone.
        let plain = compute(&packed, &x, 200, None, None);
        let with_residual = compute(&packed, &x, 200, None, Some(&bias.repeat(200)));
        assert_eq!(with_residual, all, "a residual of the bias's rows is the bias");
        assert!(plain.iter().zip(&all).any(|(p, a)| p != a));
    }
}
