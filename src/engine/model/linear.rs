//! Dense layers, each product one kernel call with the bias, a residual and the activation folded
//! in.
//!
//! transformers (and candle's `Linear`) keep the weight `(out, in)` and multiply by its transpose.
//! On CPUs with AVX-512 the weight is packed once, at load, into the panels of our own f32
//! kernel ([`super::panels`]), which gemm's per-call packing made worth it at the sizes inspect
//! runs. Elsewhere gemm computes: to it the transpose would be a strided operand, re-packed whole
//! on every call, so the weight is transposed once at load instead, `(in, out)` contiguous.
//!
//! Either way the output starts as the bias (plus the residual, for the two products a residual
//! follows), and the kernel accumulates `x · W` into it; the activation then runs in place (the
//! panel and bf16 kernels run it on each finished stretch of a row themselves). That is one
//! buffer and one pass where candle's ops take three of each, and all of the parallel work runs
//! on rayon's pool, the one gemm uses: candle's element-wise ops run large tensors on a second
//! pool of spinning threads, and on a 2-core machine the two pools took turns spinning against
//! each other (≈ 20% of an inspect call on 128 tokens).

use std::sync::OnceLock;

use candle_core::op::{Gelu, Relu, Silu, UnaryOpT};

use super::bf16::PackedWeight;
use super::panels::{self, PanelWeight};
use super::vector_math::gelu_erf_slice;
use crate::domain::precision::Precision;
use candle_core::{CpuStorage, Device, Module, Storage, Tensor};
use candle_nn::VarBuilder;
use rayon::prelude::*;

use super::config::Activation;

/// Element-wise work on at least this many numbers is split across the pool.
const PARALLEL_MIN: usize = 32 * 1024;
/// The size of each piece of split element-wise work.
const CHUNK: usize = 16 * 1024;

/// The longest stretch of the inner dimension one gemm call sums over. gemm splits a longer one
/// into blocks whose size depends on the other dimensions too, which would make a row's result
/// depend on how many rows share the call; split here, every block is one call, summed in order.
const MAX_DEPTH: usize = 512;

pub struct Linear {
    /// The weight, in the layout of the kernel exact products run on here.
    weight: Weight,
    bias: Option<Vec<f32>>,
    in_dim: usize,
    out_dim: usize,
    /// The weight in bf16 panels, made on the first product in [`Precision::Bf16`] (a model never
    /// run in the fast mode holds no second copy).
    bf16: OnceLock<PackedWeight>,
}

/// A dense layer's weight as the exact kernel reads it.
enum Weight {
    /// For gemm: `(in, cols)`, row-major, the weight transposed, with a zero column added to a
    /// one-output layer (gemm computes a single column with a different kernel, whose sums
    /// depend on the number of rows).
    Transposed { values: Vec<f32>, cols: usize },
    /// For the AVX-512 panel kernel.
    Panels(PanelWeight),
}

impl Weight {
    /// `Wᵀ[i][c]`, the value for inner row `i` and output column `c`.
    fn get(&self, i: usize, c: usize) -> f32 {
        match self {
            Weight::Transposed { values, cols } => values[i * cols + c],
            Weight::Panels(p) => p.get(i, c),
        }
    }
}

/// Which kernel computes a layer's exact products.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ExactKernel {
    Gemm,
    Panels,
}

impl ExactKernel {
    /// The one this machine runs: the panel kernel where it is available.
    pub fn chosen() -> Self {
        if panels::available() {
            ExactKernel::Panels
        } else {
            ExactKernel::Gemm
        }
    }

    /// For people (the benchmark harness prints it).
    pub fn name(self) -> &'static str {
        match self {
            ExactKernel::Gemm => "gemm",
            ExactKernel::Panels => "AVX-512 panels",
        }
    }
}

/// What is folded into a product.
#[derive(Clone, Copy)]
pub enum Epilogue<'a> {
    /// `x · W + b`.
    Plain,
    /// `act(x · W + b)`.
    Activate(Activation),
    /// `x · W + b + residual`, `residual` of the output's shape.
    Residual(&'a Tensor),
}

impl Linear {
    /// From a weight as transformers stores it, `(out, in)`, for this machine's exact kernel.
    pub fn new(weight: &Tensor, bias: Option<Tensor>) -> candle_core::Result<Self> {
        Self::on(ExactKernel::chosen(), weight, bias)
    }

    /// [`Linear::new`] for the given exact kernel (which must be available; tests compare them).
    fn on(kernel: ExactKernel, weight: &Tensor, bias: Option<Tensor>) -> candle_core::Result<Self> {
        let (out_dim, in_dim) = weight.dims2()?;
        if weight.dtype() != candle_core::DType::F32 {
            candle_core::bail!("dense layers take f32 weights");
        }
        let bf16 = OnceLock::new();
        if super::weights::is_recorded_view(weight) {
            // The manifest's dry run: the layer is never used, so nothing is copied.
            let weight = Weight::Transposed { values: Vec::new(), cols: out_dim };
            return Ok(Self { weight, bias: None, in_dim, out_dim, bf16 });
        }
        let weight = with_f32(&weight.contiguous()?, |w| {
            Ok(match kernel {
                ExactKernel::Panels => Weight::Panels(PanelWeight::new(w, out_dim, in_dim)),
                ExactKernel::Gemm => {
                    let mut values = transpose(w, out_dim, in_dim);
                    let cols = out_dim.max(2);
                    if cols != out_dim {
                        values = values
                            .chunks_exact(out_dim)
                            .flat_map(|row| row.iter().copied().chain(std::iter::repeat_n(0.0, cols - out_dim)))
                            .collect();
                    }
                    Weight::Transposed { values, cols }
                }
            })
        })?;
        let bias = bias.map(|b| b.to_vec1::<f32>()).transpose()?;
        if bias.as_ref().is_some_and(|b| b.len() != out_dim) {
            candle_core::bail!("a dense layer's bias must have {out_dim} values");
        }
        Ok(Self { weight, bias, in_dim, out_dim, bf16 })
    }

    /// `x` is `(rows, in)`; returns `(rows, out)` with `epilogue` applied, the product in
    /// `precision` (bf16 only where the CPU has it: callers check [`Precision::Bf16`]'s availability).
    pub fn forward_with(&self, x: &Tensor, epilogue: Epilogue, precision: Precision) -> candle_core::Result<Tensor> {
        let (rows, in_dim) = x.dims2()?;
        if in_dim != self.in_dim {
            candle_core::bail!("dense layer: input has {in_dim} columns, the weight {} rows", self.in_dim);
        }
        let (n, k) = (self.out_dim, self.in_dim);
        let x = x.contiguous()?;
        let residual = match epilogue {
            Epilogue::Residual(r) => {
                if r.dims2()? != (rows, n) {
                    candle_core::bail!("dense layer: the residual is {:?}, the output ({rows}, {n})", r.dims());
                }
                Some(r.contiguous()?)
            }
            _ => None,
        };
        let weight_t = match (&self.weight, precision) {
            (_, Precision::Bf16) => return self.forward_bf16(&x, residual.as_ref(), rows, epilogue),
            (Weight::Panels(panels), Precision::Exact) => {
                return self.forward_folded(&x, residual.as_ref(), rows, epilogue, |x, residual, finish, out| {
                    panels.compute(x, rows, self.bias.as_deref(), residual, finish, out)
                })
            }
            (Weight::Transposed { values, cols }, Precision::Exact) => (values, *cols),
        };
        // A single row is computed as two (the second a copy), for the same reason one column
        // is: gemm's one-row kernel sums in another order. Every row's result is therefore the
        // same whatever the rows around it (tested below).
        let (weight_t, cols) = weight_t;
        let m = rows.max(2);
        let mut out = vec![0f32; m * cols];
        with_f32(&x, |x| {
            with_optional_f32(residual.as_ref(), |residual| {
                // The starting values gemm accumulates into: bias, plus the residual.
                let read_dst = self.bias.is_some() || residual.is_some();
                if read_dst {
                    for_rows(&mut out, cols, |row, dst| {
                        let (dst, row) = (&mut dst[..n], row.min(rows - 1));
                        match (&self.bias, residual) {
                            (Some(b), Some(r)) => dst.iter_mut().zip(b).zip(&r[row * n..]).for_each(|((d, &b), &r)| *d = r + b),
                            (Some(b), None) => dst.copy_from_slice(b),
                            (None, Some(r)) => dst.copy_from_slice(&r[row * n..(row + 1) * n]),
                            (None, None) => {}
                        };
                    });
                }
                let doubled: Vec<f32>;
                let x = if rows == 1 {
                    doubled = x.iter().chain(x.iter()).copied().collect();
                    &doubled[..]
                } else {
                    x
                };
                // The pool this runs on: all cores, or one of map_batches' single-thread workers.
                let threads = rayon::current_num_threads();
                let parallelism = if threads > 1 { gemm::Parallelism::Rayon(threads) } else { gemm::Parallelism::None };
                for start in (0..k).step_by(MAX_DEPTH) {
                    let depth = MAX_DEPTH.min(k - start);
                    // SAFETY: row-major `(m, k)`, `(k, cols)` and `(m, cols)` buffers of exactly
                    // those sizes (checked above); this call reads columns start..start+depth of
                    // the first and the same rows of the second, within bounds.
                    unsafe {
                        gemm::gemm(
                            m,
                            cols,
                            depth,
                            out.as_mut_ptr(),
                            1,
                            cols as isize,
                            read_dst || start > 0,
                            x.as_ptr().add(start),
                            1,
                            k as isize,
                            weight_t.as_ptr().add(start * cols),
                            1,
                            cols as isize,
                            1.0,
                            1.0,
                            false,
                            false,
                            false,
                            parallelism,
                        );
                    }
                }
                Ok(())
            })
        })?;
        if (m, cols) != (rows, n) {
            out = out.chunks_exact(cols).take(rows).flat_map(|row| row[..n].iter().copied()).collect();
        }
        if let Epilogue::Activate(act) = epilogue {
            activate_in_place(&mut out, act);
        }
        Tensor::from_vec(out, (rows, n), &Device::Cpu)
    }
}

/// How many times faster a bf16 product runs than the exact one on this machine: one dense
/// layer of SELECTRA-medium's feed-forward shape (512 rows, 384 → 1536), best of three each,
/// alternating, on the current pool. The CPU must have the bf16 kernel's instructions.
pub(super) fn measure_bf16_speedup() -> candle_core::Result<f64> {
    let best = time_dense_layer(512, 384, 1536, &[Precision::Exact, Precision::Bf16])?;
    Ok(best[0] / best[1].max(1e-9))
}

/// The best of three timings, in seconds, of one dense layer (`rows` rows, `k` → `n`, no bias)
/// in each of `precisions`, alternating, on the current pool and this machine's exact kernel.
pub(super) fn time_dense_layer(rows: usize, k: usize, n: usize, precisions: &[Precision]) -> candle_core::Result<Vec<f64>> {
    // Any values do: the kernels' time does not depend on them.
    let values = |count: usize, seed: usize| (0..count).map(|i| ((i * 7919 + seed) % 1000) as f32 / 1000.0 - 0.5).collect::<Vec<f32>>();
    let layer = Linear::new(&Tensor::from_vec(values(n * k, 1), (n, k), &Device::Cpu)?, None)?;
    let x = Tensor::from_vec(values(rows * k, 2), (rows, k), &Device::Cpu)?;
    let mut best = vec![f64::INFINITY; precisions.len()];
    // The first round packs the bf16 weight and warms each path; it is not counted.
    for round in 0..4 {
        for (best, &precision) in best.iter_mut().zip(precisions) {
            let started = std::time::Instant::now();
            std::hint::black_box(layer.forward_with(&x, Epilogue::Plain, precision)?);
            if round > 0 {
                *best = best.min(started.elapsed().as_secs_f64());
            }
        }
    }
    Ok(best)
}

impl Linear {
    /// [`Linear::forward_with`] in bf16.
    fn forward_bf16(&self, x: &Tensor, residual: Option<&Tensor>, rows: usize, epilogue: Epilogue) -> candle_core::Result<Tensor> {
        if !super::bf16::available() {
            candle_core::bail!("the bf16 fast mode needs a CPU with AVX512_BF16");
        }
        let packed = self.bf16.get_or_init(|| PackedWeight::new(self.in_dim, self.out_dim, |i, c| self.weight.get(i, c)));
        self.forward_folded(x, residual, rows, epilogue, |x, residual, finish, out| {
            packed.compute(x, rows, self.bias.as_deref(), residual, finish, out)
        })
    }

    /// A product on a kernel that starts each value from the bias and the residual itself and
    /// runs the activation on each finished block (`compute(x, residual, finish, out)`), so the
    /// output is written once (no zeroing, no separate pass).
    fn forward_folded(
        &self,
        x: &Tensor,
        residual: Option<&Tensor>,
        rows: usize,
        epilogue: Epilogue,
        compute: impl FnOnce(&[f32], Option<&[f32]>, Option<panels::Finish>, &mut [std::mem::MaybeUninit<f32>]),
    ) -> candle_core::Result<Tensor> {
        let n = self.out_dim;
        let mut out = Vec::with_capacity(rows * n);
        // The kernel runs the activation on each finished stretch of a row (the same values as
        // one pass afterwards, without a second pass over the whole output).
        let act = match epilogue {
            Epilogue::Activate(act) => Some(move |block: &mut [f32]| activate_in_place(block, act)),
            _ => None,
        };
        with_f32(x, |x| {
            with_optional_f32(residual, |residual| {
                let finish = act.as_ref().map(|f| f as panels::Finish);
                compute(x, residual, finish, &mut out.spare_capacity_mut()[..rows * n]);
                Ok(())
            })
        })?;
        // SAFETY: `compute` wrote all `rows * n` values.
        unsafe { out.set_len(rows * n) };
        Tensor::from_vec(out, (rows, n), &Device::Cpu)
    }
}

impl Module for Linear {
    /// `x` is `(rows, in)`; returns `(rows, out)`.
    fn forward(&self, x: &Tensor) -> candle_core::Result<Tensor> {
        self.forward_with(x, Epilogue::Plain, Precision::Exact)
    }
}

/// The weight and bias of `vb` (transformers' names, `weight` and `bias`), as a [`Linear`].
pub fn linear(in_dim: usize, out_dim: usize, vb: VarBuilder) -> candle_core::Result<Linear> {
    let l = candle_nn::linear(in_dim, out_dim, vb)?;
    Linear::new(l.weight(), l.bias().cloned())
}

/// The activation transformers' `ACT2FN` applies, in place: the exact GELU vectorized
/// (vector_math.rs), the others with candle's own per-element functions.
pub fn activate_in_place(values: &mut [f32], act: Activation) {
    let per_element = |f: fn(f32) -> f32| move |chunk: &mut [f32]| chunk.iter_mut().for_each(|v| *v = f(*v));
    match act {
        Activation::Gelu => in_chunks(values, gelu_erf_slice),
        Activation::GeluTanh => in_chunks(values, per_element(Gelu::f32)),
        Activation::Relu => in_chunks(values, per_element(Relu::f32)),
        Activation::Silu => in_chunks(values, per_element(Silu::f32)),
    }
}

/// Runs `f` on pieces of `values`, in parallel when there are many.
fn in_chunks(values: &mut [f32], f: impl Fn(&mut [f32]) + Sync) {
    if values.len() >= PARALLEL_MIN {
        values.par_chunks_mut(CHUNK).for_each(&f);
    } else {
        f(values);
    }
}

/// Runs `f` on each `width`-wide row of `values` with its index, in parallel when there are many.
pub fn for_rows<T: Send, F: Fn(usize, &mut [T]) + Sync>(values: &mut [T], width: usize, f: F) {
    if values.len() >= PARALLEL_MIN {
        let rows_per_chunk = (CHUNK / width.max(1)).max(1);
        values.par_chunks_mut(rows_per_chunk * width).enumerate().for_each(|(c, chunk)| {
            chunk.chunks_exact_mut(width).enumerate().for_each(|(i, row)| f(c * rows_per_chunk + i, row));
        });
    } else {
        values.chunks_exact_mut(width).enumerate().for_each(|(i, row)| f(i, row));
    }
}

/// A row-major `(rows, cols)` matrix's transpose, `(cols, rows)`, copied a band of `TILE` output
/// rows at a time (the band's lines stay in the cache), the bands split over the pool:
/// part of every model's load (candle's strided copy of the same transposes, one element at a
/// time, was most of a cold start's load).
fn transpose(src: &[f32], rows: usize, cols: usize) -> Vec<f32> {
    const TILE: usize = 32;
    let mut dst = vec![0f32; rows * cols];
    if dst.is_empty() {
        return dst;
    }
    let band = |(b, out): (usize, &mut [f32])| {
        let first = b * TILE;
        let width = out.len() / rows;
        // Down the input's rows: each reads `TILE` neighbouring values and writes one column
        // of the band's `TILE` output rows, whose lines stay in L1 until they are full.
        for i in 0..rows {
            for (j, &v) in src[i * cols + first..i * cols + first + width].iter().enumerate() {
                out[j * rows + i] = v;
            }
        }
    };
    if dst.len() >= PARALLEL_MIN {
        dst.par_chunks_mut(TILE * rows).enumerate().for_each(band);
    } else {
        dst.chunks_mut(TILE * rows).enumerate().for_each(band);
    }
    dst
}

/// Calls `f` with the f32 values of a contiguous CPU tensor.
fn with_f32<T>(t: &Tensor, f: impl FnOnce(&[f32]) -> candle_core::Result<T>) -> candle_core::Result<T> {
    let (storage, layout) = t.storage_and_layout();
    let Storage::Cpu(CpuStorage::F32(data)) = &*storage else {
        candle_core::bail!("dense layers take f32 tensors on the CPU");
    };
    let Some((start, end)) = layout.contiguous_offsets() else {
        candle_core::bail!("dense layers take contiguous tensors");
    };
    f(&data[start..end])
}

fn with_optional_f32<T>(t: Option<&Tensor>, f: impl FnOnce(Option<&[f32]>) -> candle_core::Result<T>) -> candle_core::Result<T> {
    match t {
        Some(t) => with_f32(t, |data| f(Some(data))),
        None => f(None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A layer's random operands: input `(rows, k)`, weight `(n, k)`, bias `n`, residual `(rows, n)`.
    fn operands(rows: usize, k: usize, n: usize) -> (Tensor, Tensor, Tensor, Tensor) {
        let dev = Device::Cpu;
        (
            Tensor::randn(0f32, 1.0, (rows, k), &dev).unwrap(),
            Tensor::randn(0f32, 0.3, (n, k), &dev).unwrap(),
            Tensor::randn(0f32, 1.0, n, &dev).unwrap(),
            Tensor::randn(0f32, 1.0, (rows, n), &dev).unwrap(),
        )
    }

    /// The exact kernels this machine has: gemm everywhere, the panels with AVX-512.
    fn kernels() -> Vec<ExactKernel> {
        let mut kernels = vec![ExactKernel::Gemm];
        if panels::available() {
            assert_eq!(ExactKernel::chosen(), ExactKernel::Panels);
            kernels.push(ExactKernel::Panels);
        } else {
            eprintln!("the AVX-512 panel kernel is not available here: gemm only");
        }
        kernels
    }

    /// Against candle's own ops (matmul, broadcast add, activation), on shapes large enough that
    /// the row and element-wise work is split across the pool, on each exact kernel.
    #[test]
    fn folded_epilogues_equal_the_separate_ops() {
        for kernel in kernels() {
            folded_epilogues_on(kernel);
        }
    }

    fn folded_epilogues_on(kernel: ExactKernel) {
        let (rows, n) = (301, 130);
        let (x, w, b, r) = operands(rows, 48, n);
        let layer = Linear::on(kernel, &w, Some(b.clone())).unwrap();
        let plain = x.matmul(&w.t().unwrap()).unwrap().broadcast_add(&b).unwrap();
        let cases = [
            (layer.forward_with(&x, Epilogue::Plain, Precision::Exact).unwrap(), plain.clone()),
            (layer.forward_with(&x, Epilogue::Activate(Activation::Gelu), Precision::Exact).unwrap(), plain.gelu_erf().unwrap()),
            (layer.forward_with(&x, Epilogue::Activate(Activation::GeluTanh), Precision::Exact).unwrap(), plain.gelu().unwrap()),
            (layer.forward_with(&x, Epilogue::Residual(&r), Precision::Exact).unwrap(), (&plain + &r).unwrap()),
        ];
        for (i, (ours, theirs)) in cases.into_iter().enumerate() {
            let diff = (ours - theirs).unwrap().abs().unwrap().max_all().unwrap().to_scalar::<f32>().unwrap();
            assert!(diff < 1e-4, "{kernel:?}, case {i}: {diff}");
        }
        assert!(rows * n >= PARALLEL_MIN);
    }

    #[test]
    fn the_tiled_transpose_is_candles() {
        for (rows, cols) in [(1, 1), (3, 70), (33, 31), (384, 1536), (2, 40000)] {
            let t = Tensor::randn(0f32, 1.0, (rows, cols), &Device::Cpu).unwrap();
            let ours = transpose(&t.flatten_all().unwrap().to_vec1::<f32>().unwrap(), rows, cols);
            assert_eq!(ours, t.t().unwrap().contiguous().unwrap().flatten_all().unwrap().to_vec1::<f32>().unwrap(), "({rows}, {cols})");
        }
    }

    /// Exact f32 on each kernel (gemm, with whichever kernels it chose at run time for this CPU,
    /// AVX2 and FMA or AVX-512; our AVX-512 panels where the CPU has them): every value within the standard bound of a k-term f32 dot product,
    /// `k · 2⁻²⁴ · Σ|x·w|`, of the same sum in f64, on the encoder's shapes (inner dimensions 384
    /// and 1536, the second split at [`MAX_DEPTH`] for gemm). The kernels' summation orders
    /// differ, so this bound, not bit equality, is what holds across kernels and machines;
    /// within one kernel a result is bit-identical however it is batched (the next test).
    #[test]
    fn exact_products_are_within_f32_rounding_on_this_cpus_kernels() {
        for ((rows, k, n), kernel) in
            [(64, 384, 1536), (37, 1536, 384), (5, 256, 2)].into_iter().flat_map(|s| kernels().into_iter().map(move |kernel| (s, kernel)))
        {
            let (x, w, b, _) = operands(rows, k, n);
            let layer = Linear::on(kernel, &w, Some(b.clone())).unwrap();
            let ours = layer.forward_with(&x, Epilogue::Plain, Precision::Exact).unwrap().to_vec2::<f32>().unwrap();
            let (x, w, b) = (x.to_vec2::<f32>().unwrap(), w.to_vec2::<f32>().unwrap(), b.to_vec1::<f32>().unwrap());
            let mut worst = 0f64;
            for (i, row) in ours.iter().enumerate() {
                for (j, &value) in row.iter().enumerate() {
                    let terms = x[i].iter().zip(&w[j]).map(|(&a, &c)| f64::from(a) * f64::from(c));
                    let (sum, magnitude) = terms.fold((f64::from(b[j]), f64::from(b[j]).abs()), |(s, m), t| (s + t, m + t.abs()));
                    let bound = (k + 1) as f64 * f64::from(f32::EPSILON) / 2.0 * magnitude;
                    let error = (f64::from(value) - sum).abs();
                    assert!(error <= bound, "{kernel:?} ({rows}, {k}, {n}) [{i}, {j}]: {value} vs {sum}, error {error:e} > {bound:e}");
                    worst = worst.max(error / bound);
                }
            }
            eprintln!("{kernel:?} ({rows}, {k}, {n}), AVX-512 {}: largest error {worst:.3} of the bound", avx512());
        }
    }

    #[cfg(target_arch = "x86_64")]
    fn avx512() -> bool {
        std::is_x86_feature_detected!("avx512f")
    }

    #[cfg(not(target_arch = "x86_64"))]
    fn avx512() -> bool {
        false
    }

    /// The bf16 path: its epilogues are the f32 path's operations on its own products (the
    /// activation folded into the kernel gives exactly the values of a separate pass), and the
    /// products are within bf16 rounding of f32's.
    #[test]
    fn bf16_epilogues_are_the_same_operations() {
        if !super::super::bf16::available() {
            eprintln!("skipped: this CPU has no AVX512_BF16");
            return;
        }
        let (x, w, b, r) = operands(150, 96, 70);
        let layer = Linear::new(&w, Some(b)).unwrap();
        let run = |e, p| layer.forward_with(&x, e, p).unwrap().flatten_all().unwrap().to_vec1::<f32>().unwrap();
        let plain = run(Epilogue::Plain, Precision::Bf16);
        let mut activated = plain.clone();
        activate_in_place(&mut activated, Activation::Gelu);
        assert_eq!(run(Epilogue::Activate(Activation::Gelu), Precision::Bf16), activated);
        let residual = r.flatten_all().unwrap().to_vec1::<f32>().unwrap();
        let with_residual = run(Epilogue::Residual(&r), Precision::Bf16);
        let exact = run(Epilogue::Residual(&r), Precision::Exact);
        let scale = exact.iter().fold(0f32, |m, v| m.max(v.abs()));
        for (((ours, exact), res), plain) in with_residual.iter().zip(&exact).zip(&residual).zip(&plain) {
            assert!((ours - exact).abs() <= 0.02 * scale, "{ours} vs {exact}");
            // The residual is added on top of the same product (up to the f32 rounding of the sum).
            assert!(((ours - res) - plain).abs() <= 1e-5 * scale, "{ours} - {res} vs {plain}");
        }
        assert!(with_residual != exact, "bf16 is not f32");
        // The bf16 panels are packed from whichever layout the exact kernel keeps: the same
        // values either way.
        for kernel in kernels() {
            let other = Linear::on(kernel, &w, layer.bias.as_deref().map(|b| Tensor::new(b, &Device::Cpu).unwrap())).unwrap();
            let theirs = other.forward_with(&x, Epilogue::Residual(&r), Precision::Bf16).unwrap().flatten_all().unwrap().to_vec1::<f32>().unwrap();
            assert_eq!(theirs, with_residual, "bf16 packed from the {kernel:?} layout");
        }
    }

    /// A row's output is bit-identical whether it is computed alone, with one other row, or
    /// among hundreds (where gemm picks other blocking and threads, and the panels other
    /// tasks), for one output, a few and many, and inner dimensions below and above
    /// [`MAX_DEPTH`], on each kernel.
    #[test]
    fn a_rows_result_does_not_depend_on_the_other_rows() {
        let dev = Device::Cpu;
        let shapes = [(48, 1), (48, 3), (48, 130), (700, 1), (700, 3), (1536, 130)];
        for ((k, n), kernel) in shapes.into_iter().flat_map(|s| kernels().into_iter().map(move |kernel| (s, kernel))) {
            let w = Tensor::randn(0f32, 0.3, (n, k), &dev).unwrap();
            let b = Tensor::randn(0f32, 1.0, n, &dev).unwrap();
            let layer = Linear::on(kernel, &w, Some(b)).unwrap();
            let x = Tensor::randn(0f32, 1.0, (300, k), &dev).unwrap();
            let all = layer.forward(&x).unwrap().to_vec2::<f32>().unwrap();
            for rows in [1, 2, 65] {
                let part = layer.forward(&x.narrow(0, 0, rows).unwrap()).unwrap().to_vec2::<f32>().unwrap();
                assert_eq!(part[..], all[..rows], "{kernel:?}, k {k}, n {n}: the first {rows} rows alone");
            }
        }
    }
}
