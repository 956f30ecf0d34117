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
//! On CPUs with AMX the same panels feed the tile kernel of [`amx`] instead (eight times the
//! work per instruction); [`kernel`] says which one runs.
//!
//! Each output row is summed in the same order whatever rows share the call (rows are split into
//! blocks, never the inner dimension differently), so a record's result does not depend on its
//! batch here either. Where the instruction is missing, [`available`] is false and the fast mode
//! falls back to f32 (see `crate::domain::precision`).

use rayon::prelude::*;

mod amx;

/// Output columns per panel: two 16-lane registers.
const PANEL: usize = super::panels::PANEL;
/// Output rows per register block.
const BLOCK_ROWS: usize = 8;
const _: () = assert!(BLOCK_ROWS <= 8, "the kernels are compiled for blocks of 1 to 8 rows");
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

/// The kernel the fast mode's products run on in this process ("AMX" or "AVX512_BF16"), `None`
/// without the instructions.
pub fn kernel() -> Option<&'static str> {
    if !available() {
        None
    } else if amx::available() {
        Some("AMX")
    } else {
        Some("AVX512_BF16")
    }
}

/// Why AMX does not run the fast mode here, `None` where it does (for people: the benchmark
/// harness prints it).
pub fn why_not_amx() -> Option<&'static str> {
    amx::state().as_ref().err().map(String::as_str)
}

use super::panels::{Finish, Start};

/// A weight `(k, n)` (the layer's transpose) in bf16 panels: for each
/// panel of 32 columns, for each pair of rows `(2q, 2q + 1)`, each column's two values side by
/// side. Missing rows and columns are zeros, and each panel's pairs are padded with zeros to a
/// multiple of 16 (`stride`), whole tiles for [`amx`].
pub struct PackedWeight {
    data: Vec<u16>,
    k: usize,
    n: usize,
    pairs: usize,
    stride: usize,
    panels: usize,
}

impl PackedWeight {
    /// The weight `(k, n)` whose value at inner row `i` and output column `c` is `value(i, c)`.
    pub fn new(k: usize, n: usize, value: impl Fn(usize, usize) -> f32) -> Self {
        let pairs = k.div_ceil(2);
        let stride = pairs.next_multiple_of(amx::TILE);
        let panels = n.div_ceil(PANEL);
        let mut data = vec![0u16; panels * stride * PANEL * 2];
        for (p, panel) in data.chunks_exact_mut(stride * PANEL * 2).enumerate() {
            for (q, pair) in panel.chunks_exact_mut(PANEL * 2).take(pairs).enumerate() {
                for (c, values) in pair.chunks_exact_mut(2).enumerate() {
                    let col = p * PANEL + c;
                    if col >= n {
                        break;
                    }
                    for (h, v) in values.iter_mut().enumerate() {
                        let row = 2 * q + h;
                        if row < k {
                            *v = half::bf16::from_f32(value(row, col)).to_bits();
                        }
                    }
                }
            }
        }
        Self { data, k, n, pairs, stride, panels }
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
        assert!(x.len() >= rows * self.k && out.len() >= rows * self.n, "bf16 product: buffers too small");
        assert!(
            bias.is_none_or(|b| b.len() >= self.n) && residual.is_none_or(|r| r.len() >= rows * self.n),
            "bf16 product: bias or residual too small"
        );
        let call = Call { x, rows, bias, residual, finish };
        if amx::available() {
            // SAFETY: `amx::available()` checked that the tiles work in this process.
            self.on_tiles(|| unsafe { amx::hardware::Hardware::new() }, call, out);
        } else {
            self.on_avx512(call, out);
        }
    }

    /// [`PackedWeight::compute`] on AVX512_BF16 (checked by the caller).
    fn on_avx512(&self, Call { x, rows, bias, residual, finish }: Call, out: &mut [std::mem::MaybeUninit<f32>]) {
        let (k, n, pairs) = (self.k, self.n, self.pairs);
        let work = |(chunk, (out, x)): (usize, (&mut [std::mem::MaybeUninit<f32>], &[f32]))| {
            let rows = x.len() / k;
            let first_row = chunk * CHUNK_ROWS;
            let mut a = vec![0u32; rows * pairs];
            // SAFETY: `available()` was checked by `compute`; `a` holds `rows * pairs` pairs for
            // `rows` rows of `k` values.
            unsafe { kernels::to_pairs(x, k, &mut a, pairs) };
            for start in (0..pairs).step_by(DEPTH_PAIRS) {
                let depth = DEPTH_PAIRS.min(pairs - start);
                for p in 0..self.panels {
                    let cols = (n - p * PANEL).min(PANEL);
                    let b = &self.data[(p * self.stride + start) * PANEL * 2..];
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
        self.in_chunks(x, rows, out, work);
    }

    /// [`PackedWeight::compute`] on tiles (made by `tiles` for each chunk of rows): the chunk's
    /// activations as pairs padded with zeros to whole tiles, then for each panel and block of
    /// 32 rows, the start values (bias + residual) in a 32 × 32 scratch block, the tiles over the
    /// whole inner dimension from and into it, and the block's real rows and columns copied out.
    fn on_tiles<T: amx::Tiles>(
        &self,
        tiles: impl Fn() -> T + Sync,
        Call { x, rows, bias, residual, finish }: Call,
        out: &mut [std::mem::MaybeUninit<f32>],
    ) {
        let (k, n, ld) = (self.k, self.n, self.stride);
        // The activations' rows lie one cache line more than their pairs apart: at a multiple of
        // 1 KiB (k = 1024 or 1536) a tile's 16 rows would share two or four of L1's sets.
        let lda = ld + amx::TILE;
        let work = |(chunk, (out, x)): (usize, (&mut [std::mem::MaybeUninit<f32>], &[f32]))| {
            let rows = x.len() / k;
            let first_row = chunk * CHUNK_ROWS;
            let mut a = vec![0u32; rows.next_multiple_of(amx::BLOCK_ROWS) * lda];
            // SAFETY: `available()` was checked by `compute`; `a` holds `lda ≥ ceil(k/2)` pairs
            // for each of the `rows` rows.
            unsafe { kernels::to_pairs(x, k, &mut a, lda) };
            let mut tiles = tiles();
            let mut c = [0f32; amx::BLOCK_ROWS * PANEL];
            for p in 0..self.panels {
                let (first_col, cols) = (p * PANEL, (n - p * PANEL).min(PANEL));
                let b = &self.data[p * ld * PANEL * 2..(p + 1) * ld * PANEL * 2];
                for r in (0..rows).step_by(amx::BLOCK_ROWS) {
                    let block = amx::BLOCK_ROWS.min(rows - r);
                    for (i, row) in c.chunks_exact_mut(PANEL).enumerate() {
                        row.fill(0.0);
                        if i >= block {
                            continue;
                        }
                        let row = &mut row[..cols];
                        if let Some(bias) = bias {
                            row.copy_from_slice(&bias[first_col..first_col + cols]);
                        }
                        if let Some(residual) = residual {
                            let at = (first_row + r + i) * n + first_col;
                            row.iter_mut().zip(&residual[at..at + cols]).for_each(|(v, r)| *v += r);
                        }
                    }
                    // SAFETY: `a` has whole blocks of rows of `lda ≥ ld` pairs from row `r`; `b` is
                    // the panel's `ld` pairs of 64 values; `c` is 32 rows of 32 values.
                    unsafe { amx::block(&mut tiles, a.as_ptr().add(r * lda), lda, b.as_ptr(), ld / amx::TILE, c.as_mut_ptr(), PANEL) };
                    for (i, values) in c.chunks_exact(PANEL).take(block).enumerate() {
                        let at = (r + i) * n + first_col;
                        let dst = &mut out[at..at + cols];
                        dst.iter_mut().zip(values).for_each(|(d, v)| _ = d.write(*v));
                        if let Some(finish) = finish {
                            // SAFETY: every value of `dst` was just written.
                            finish(unsafe { std::slice::from_raw_parts_mut(dst.as_mut_ptr().cast::<f32>(), cols) });
                        }
                    }
                }
            }
        };
        self.in_chunks(x, rows, out, work);
    }

    /// `work` on each chunk of [`CHUNK_ROWS`] rows (its index, its output rows and its rows of
    /// `x`), on the pool where there are several.
    fn in_chunks<W>(&self, x: &[f32], rows: usize, out: &mut [std::mem::MaybeUninit<f32>], work: W)
    where
        W: Fn((usize, (&mut [std::mem::MaybeUninit<f32>], &[f32]))) + Sync + Send,
    {
        let (k, n) = (self.k, self.n);
        let out = &mut out[..rows * n];
        let x = &x[..rows * k];
        if rayon::current_num_threads() > 1 && rows > CHUNK_ROWS {
            out.par_chunks_mut(CHUNK_ROWS * n).zip(x.par_chunks(CHUNK_ROWS * k)).enumerate().for_each(work);
        } else {
            out.chunks_mut(CHUNK_ROWS * n).zip(x.chunks(CHUNK_ROWS * k)).enumerate().for_each(work);
        }
    }
}

/// One call's operands, as [`PackedWeight::compute`] takes them.
#[derive(Clone, Copy)]
struct Call<'a> {
    x: &'a [f32],
    rows: usize,
    bias: Option<&'a [f32]>,
    residual: Option<&'a [f32]>,
    finish: Option<Finish<'a>>,
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

    use super::super::panels::by_count;
    use super::super::panels::kernels::{begin, end, masks};
    use super::{Block, PANEL};

    /// Each row of `x` (`k` values) as bf16 pairs, rounded to nearest even, rows `ld` pairs
    /// apart in `out` (what lies past a row's pairs is left as it is): the low half of each u32
    /// holds the even element.
    ///
    /// # Safety
    /// The CPU must have AVX512F and AVX512_BF16; `ld ≥ ceil(k/2)` and `out` must hold
    /// `x.len() / k * ld` pairs.
    #[target_feature(enable = "avx512f,avx512bf16")]
    pub unsafe fn to_pairs(x: &[f32], k: usize, out: &mut [u32], ld: usize) {
        let pairs = k.div_ceil(2);
        for (row, dst) in x.chunks_exact(k).zip(out.chunks_exact_mut(ld)) {
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

    /// `R` rows of the output, one panel wide: `c[r][0..cols] = s[r] + Σ_q a[r][q] · b[q]`, where
    /// `s` is `start`'s values, or `c`'s own when `start` is `None` (a later pass).
    ///
    /// # Safety
    /// AVX512F and AVX512_BF16; the block's pointers valid as [`Block`] describes for `R` rows
    /// (`c` readable too when `start` is `None`; `start`'s pointers over the same block).
    #[target_feature(enable = "avx512f,avx512bf16")]
    unsafe fn rows<const R: usize>(Block { a, lda, b, pairs, c, ldc, cols, start }: Block) {
        let masks = masks(cols);
        let mut acc = begin::<R>(start, c, ldc, masks);
        for q in 0..pairs {
            let b0 = std::mem::transmute::<__m512i, __m512bh>(_mm512_loadu_si512(b.add(q * PANEL * 2).cast()));
            let b1 = std::mem::transmute::<__m512i, __m512bh>(_mm512_loadu_si512(b.add(q * PANEL * 2 + 32).cast()));
            for (r, acc) in acc.iter_mut().enumerate() {
                let x = std::mem::transmute::<__m512i, __m512bh>(_mm512_set1_epi32(*a.add(r * lda + q) as i32));
                acc[0] = _mm512_dpbf16_ps(acc[0], x, b0);
                acc[1] = _mm512_dpbf16_ps(acc[1], x, b1);
            }
        }
        end::<R>(&acc, c, ldc, masks);
    }

    /// [`rows`] for a block of 1 to 8 rows.
    ///
    /// # Safety
    /// As [`rows`], with `R = count`.
    pub unsafe fn block(count: usize, block: Block) {
        by_count!(count, rows, block)
    }
}

#[cfg(not(target_arch = "x86_64"))]
mod kernels {
    use super::Block;

    pub unsafe fn to_pairs(_: &[f32], _: usize, _: &mut [u32], _: usize) {
        unreachable!("available() is false off x86-64")
    }

    pub unsafe fn block(_: usize, _: Block) {
        unreachable!("available() is false off x86-64")
    }
}

#[cfg(test)]
mod tests {
    use super::super::panels::test_values as values;
    use super::*;

    /// Which of the kernels computes.
    #[derive(Clone, Copy, Debug)]
    enum Path {
        /// What `compute` chooses on this machine.
        Chosen,
        Avx512,
        /// The tile driver on [`amx::Emulated`] tiles.
        EmulatedTiles,
        /// The tile driver on the CPU's tiles (only where `amx::available()`).
        Tiles,
    }

    fn compute_on(
        path: Path,
        packed: &PackedWeight,
        x: &[f32],
        rows: usize,
        bias: Option<&[f32]>,
        residual: Option<&[f32]>,
        finish: Option<Finish>,
    ) -> Vec<f32> {
        let n = packed.n;
        let mut out = Vec::with_capacity(rows * n);
        let spare = &mut out.spare_capacity_mut()[..rows * n];
        let call = Call { x, rows, bias, residual, finish };
        match path {
            Path::Chosen => packed.compute(x, rows, bias, residual, finish, spare),
            Path::Avx512 => packed.on_avx512(call, spare),
            Path::EmulatedTiles => packed.on_tiles(amx::Emulated::default, call, spare),
            // SAFETY: only called where `amx::available()`.
            Path::Tiles => packed.on_tiles(|| unsafe { amx::hardware::Hardware::new() }, call, spare),
        }
        // SAFETY: each path writes every value.
        unsafe { out.set_len(rows * n) };
        out
    }

    /// Sizes with a partial pair, tile, panel, block and chunk, and several of each.
    const SIZES: [(usize, usize, usize); 5] = [(1, 3, 1), (9, 33, 31), (70, 300, 65), (130, 1030, 40), (33, 64, 96)];

    /// Against the same sums in f64 over the bf16-rounded operands: the kernel's only error is
    /// its f32 accumulation.
    fn sums_of_the_rounded_operands(path: Path) {
        for (rows, k, n) in SIZES {
            let (x, w) = (values(rows * k, 1), values(k * n, 2));
            let (bias, residual) = (values(n, 3), values(rows * n, 4));
            let packed = PackedWeight::new(k, n, |i, c| w[i * n + c]);
            let out = compute_on(path, &packed, &x, rows, Some(&bias), Some(&residual), None);
            let round = |v: f32| f64::from(half::bf16::from_f32(v).to_f32());
            for r in 0..rows {
                for c in 0..n {
                    let start = f64::from(bias[c] + residual[r * n + c]);
                    let want = start + (0..k).map(|i| round(x[r * k + i]) * round(w[i * n + c])).sum::<f64>();
                    let got = f64::from(out[r * n + c]);
                    assert!((got - want).abs() < 1e-5 * (k as f64).sqrt() * 4.0, "{path:?} ({rows}, {k}, {n}) at [{r}][{c}]: {got} vs {want}");
                }
            }
        }
    }

    /// The AVX512_BF16 kernel, the tile driver (packing, padding, strides, blocks, start values,
    /// the copy out) on emulated tiles, which compute what Intel's manual says `tdpbf16ps` does,
    /// and the kernel `compute` chooses here. The same driver on the CPU's tiles is held to the
    /// same sums in `tiles_on_this_cpu_equal_the_rounded_operands_sums`.
    #[test]
    fn products_equal_the_rounded_operands_sums() {
        if !available() {
            eprintln!("skipped: this CPU has no AVX512_BF16");
            return;
        }
        for path in [Path::Avx512, Path::EmulatedTiles, Path::Chosen] {
            sums_of_the_rounded_operands(path);
        }
    }

    /// Every path gives a row the same values alone and among many, and runs the activation on
    /// exactly the values it wrote.
    #[test]
    fn a_rows_result_does_not_depend_on_the_other_rows() {
        if !available() {
            eprintln!("skipped: this CPU has no AVX512_BF16");
            return;
        }
        let (k, n) = (300, 96);
        let (x, w) = (values(200 * k, 4), values(k * n, 5));
        let packed = PackedWeight::new(k, n, |i, c| w[i * n + c]);
        let bias = values(n, 6);
        for path in [Path::Chosen, Path::Avx512, Path::EmulatedTiles] {
            let all = compute_on(path, &packed, &x, 200, Some(&bias), None, None);
            for (first, rows) in [(0, 1), (7, 3), (64, 65)] {
                let part = compute_on(path, &packed, &x[first * k..], rows, Some(&bias), None, None);
                assert_eq!(part[..], all[first * n..(first + rows) * n], "{path:?}: rows {first}..{}", first + rows);
            }
            // No bias and no residual: the product alone.
            let plain = compute_on(path, &packed, &x, 200, None, None, None);
            let with_residual = compute_on(path, &packed, &x, 200, None, Some(&bias.repeat(200)), None);
            assert_eq!(with_residual, all, "{path:?}: a residual of the bias's rows is the bias");
            assert!(plain.iter().zip(&all).any(|(p, a)| p != a));
            let doubled = compute_on(path, &packed, &x, 200, Some(&bias), None, Some(&|v: &mut [f32]| v.iter_mut().for_each(|v| *v *= 2.0)));
            assert!(doubled.iter().zip(&all).all(|(d, a)| *d == 2.0 * a), "{path:?}: the activation runs once on each value");
        }
    }

    /// Where this CPU has AMX (and the guards passed), the driver on its tiles, and `compute`,
    /// which chooses them, meet the same bound as the other paths; elsewhere the test says why
    /// it did not run.
    #[test]
    fn tiles_on_this_cpu_equal_the_rounded_operands_sums() {
        if let Some(why) = why_not_amx() {
            eprintln!("skipped: {why}");
            return;
        }
        assert_eq!(kernel(), Some("AMX"));
        sums_of_the_rounded_operands(Path::Tiles);
        sums_of_the_rounded_operands(Path::Chosen);
    }

    /// The self-check's child: its verdict comes back, and so does its death by a faulting
    /// instruction, without harm to this process.
    #[cfg(all(target_arch = "x86_64", target_os = "linux", target_env = "gnu"))]
    #[test]
    fn a_check_in_a_child_reports_passes_failures_and_faults() {
        use amx::hardware::in_child;
        let mut sum = 0u64;
        assert_eq!(
            in_child(|| {
                sum = (1..=10).sum();
                sum == 55
            }),
            Ok(())
        );
        assert_eq!(sum, 0, "the child's writes stay in the child");
        assert_eq!(in_child(|| false), Err("computed other values than the tiles should".into()));
        let faulted = in_child(|| {
            // SAFETY: an undefined instruction, as a tile instruction the CPU refused would be;
            // it kills the child.
            unsafe { std::arch::asm!("ud2") };
            true
        });
        assert_eq!(faulted, Err(format!("died of signal {}", libc::SIGILL)));
    }

    /// The self-check passes tiles that compute what the manual says, and fails tiles that
    /// lose one pair's odd product in one step, or crash.
    #[cfg(all(target_arch = "x86_64", target_os = "linux", target_env = "gnu"))]
    #[test]
    fn the_self_check_tells_right_tiles_from_wrong_ones() {
        use amx::hardware::self_check;
        use amx::{Emulated, Tiles};
        assert_eq!(self_check(Emulated::default), Ok(()));
        /// Emulated tiles whose second step reads one pair of `b` with its odd value zeroed.
        struct Wrong(Emulated, usize);
        impl Tiles for Wrong {
            unsafe fn load(&mut self, c: *const f32, ldc: usize) {
                self.0.load(c, ldc)
            }
            unsafe fn step(&mut self, a: *const u32, lda: usize, b: *const u16, ldb: usize) {
                self.1 += 1;
                let mut copy = [0u16; 16 * 64];
                for (i, v) in copy.iter_mut().enumerate() {
                    *v = *b.add(i / 64 * ldb + i % 64);
                }
                if self.1 == 2 {
                    copy[5 * 64 + 2 * 7 + 1] = 0;
                }
                self.0.step(a, lda, copy.as_ptr(), 64)
            }
            unsafe fn store(&mut self, c: *mut f32, ldc: usize) {
                self.0.store(c, ldc)
            }
        }
        assert_eq!(self_check(|| Wrong(Emulated::default(), 0)), Err("the AMX self-check computed other values than the tiles should".into()));
        let crashing = self_check(|| -> Emulated {
            unsafe { std::arch::asm!("ud2") };
            Emulated::default()
        });
        assert_eq!(crashing, Err(format!("the AMX self-check died of signal {}", libc::SIGILL)));
    }
}
