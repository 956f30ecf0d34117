//! The training network's fused operations, each with its backward pass and split across the
//! cores: candle's element-wise operations run on one core and allocate a tensor each, so a
//! layer composed of them spent most of a step outside the matrix products.

use candle_core::Tensor;
use rayon::prelude::*;

use crate::engine::model::attention::SharedOut as Shared;
use crate::engine::model::layer_norm::row_stats;

/// LayerNorm over the last dimension with its backward pass, as two parallel passes over rows:
/// composed of candle's element-wise operations (one core each, a tensor allocated each) it
/// took nine operations forward and twenty backward. Mean and variance are summed in f64 and the
/// input is centred before squaring, as PyTorch's kernel computes them.
pub(super) struct TrainLayerNorm {
    pub eps: f64,
}

fn f32_slice<'a>(s: &'a candle_core::CpuStorage, l: &candle_core::Layout) -> candle_core::Result<&'a [f32]> {
    let candle_core::CpuStorage::F32(v) = s else { candle_core::bail!("layer norm: f32 tensors only") };
    match l.contiguous_offsets() {
        Some((a, b)) => Ok(&v[a..b]),
        None => candle_core::bail!("layer norm: contiguous tensors only"),
    }
}

impl candle_core::CustomOp3 for TrainLayerNorm {
    fn name(&self) -> &'static str {
        "train-layer-norm"
    }

    fn cpu_fwd(
        &self,
        s1: &candle_core::CpuStorage,
        l1: &candle_core::Layout,
        s2: &candle_core::CpuStorage,
        l2: &candle_core::Layout,
        s3: &candle_core::CpuStorage,
        l3: &candle_core::Layout,
    ) -> candle_core::Result<(candle_core::CpuStorage, candle_core::Shape)> {
        let (x, w, b) = (f32_slice(s1, l1)?, f32_slice(s2, l2)?, f32_slice(s3, l3)?);
        let n = w.len();
        let mut out = vec![0f32; x.len()];
        out.par_chunks_mut(n).zip(x.par_chunks(n)).for_each(|(o, x)| {
            let (mean, rstd) = row_stats(x, self.eps);
            for j in 0..n {
                o[j] = ((f64::from(x[j]) - mean) * rstd) as f32 * w[j] + b[j];
            }
        });
        Ok((candle_core::CpuStorage::F32(out), l1.shape().clone()))
    }

    fn bwd(
        &self,
        x: &Tensor,
        w: &Tensor,
        _b: &Tensor,
        _res: &Tensor,
        grad: &Tensor,
    ) -> candle_core::Result<(Option<Tensor>, Option<Tensor>, Option<Tensor>)> {
        let xs = x.flatten_all()?.to_vec1::<f32>()?;
        let ws = w.to_vec1::<f32>()?;
        let gs = grad.flatten_all()?.to_vec1::<f32>()?;
        let n = ws.len();
        let mut dx = vec![0f32; xs.len()];
        // dx = rstd (ĝ − mean(ĝ) − x̂ mean(ĝ x̂)) with ĝ = dy w; dw = Σ dy x̂; db = Σ dy.
        let (dw, db) = dx
            .par_chunks_mut(n)
            .zip(xs.par_chunks(n))
            .zip(gs.par_chunks(n))
            .fold(
                || (vec![0f64; n], vec![0f64; n]),
                |(mut dw, mut db), ((dx, x), g)| {
                    let (mean, rstd) = row_stats(x, self.eps);
                    let (mut sum_g, mut sum_gx) = (0f64, 0f64);
                    for j in 0..n {
                        let xhat = (f64::from(x[j]) - mean) * rstd;
                        let ghat = f64::from(g[j]) * f64::from(ws[j]);
                        sum_g += ghat;
                        sum_gx += ghat * xhat;
                        dw[j] += f64::from(g[j]) * xhat;
                        db[j] += f64::from(g[j]);
                    }
                    let (mean_g, mean_gx) = (sum_g / n as f64, sum_gx / n as f64);
                    for j in 0..n {
                        let xhat = (f64::from(x[j]) - mean) * rstd;
                        dx[j] = (rstd * (f64::from(g[j]) * f64::from(ws[j]) - mean_g - xhat * mean_gx)) as f32;
                    }
                    (dw, db)
                },
            )
            .reduce(
                || (vec![0f64; n], vec![0f64; n]),
                |(mut a, mut b), (c, d)| {
                    a.iter_mut().zip(c).for_each(|(a, c)| *a += c);
                    b.iter_mut().zip(d).for_each(|(b, d)| *b += d);
                    (a, b)
                },
            );
        let to = |v: Vec<f64>| Tensor::from_vec(v.into_iter().map(|x| x as f32).collect::<Vec<_>>(), n, x.device());
        Ok((Some(Tensor::from_vec(dx, x.shape(), x.device())?), Some(to(dw)?), Some(to(db)?)))
    }
}

/// The exact (erf) GELU with its backward pass, each one parallel pass (the inference kernels'
/// erf, within a few ulp of libm's).
pub(super) struct TrainGelu;

impl candle_core::CustomOp1 for TrainGelu {
    fn name(&self) -> &'static str {
        "train-gelu"
    }

    fn cpu_fwd(&self, s: &candle_core::CpuStorage, l: &candle_core::Layout) -> candle_core::Result<(candle_core::CpuStorage, candle_core::Shape)> {
        let x = f32_slice(s, l)?;
        let mut out = x.to_vec();
        out.par_chunks_mut(1 << 14).for_each(crate::engine::model::vector_math::gelu_erf_slice);
        Ok((candle_core::CpuStorage::F32(out), l.shape().clone()))
    }

    fn bwd(&self, x: &Tensor, _res: &Tensor, grad: &Tensor) -> candle_core::Result<Option<Tensor>> {
        let xs = x.flatten_all()?.to_vec1::<f32>()?;
        let mut gs = grad.flatten_all()?.to_vec1::<f32>()?;
        gs.par_chunks_mut(1 << 14).zip(xs.par_chunks(1 << 14)).for_each(|(g, x)| {
            for j in 0..g.len() {
                g[j] *= crate::engine::model::vector_math::gelu_erf_derivative(x[j]);
            }
        });
        Ok(Some(Tensor::from_vec(gs, x.shape(), x.device())?))
    }
}

/// Self-attention over the packed query, key and value projections `(batch, seq, 3 × hidden)`
/// (one product of the three layers, [`TrainLinear`] over their stacked weights) as one
/// operation, with its backward pass: each (sequence, head) is one task on the thread pool that
/// reads its head's columns in place, computes the scores with one small product, their
/// softmax, the dropout and the weighted sum, and writes its block of the context `(batch, seq,
/// hidden)`. Composed of candle operations the same attention took a dozen tensors forward (head
/// splits, copies, the scale, the mask, five for the softmax, the dropout) and twice as many
/// backward, one core each.
///
/// Each sequence attends over its own tokens only (`lengths`; the batch is padded on the right):
/// transformers gives padded keys the float minimum, whose exponential is exactly 0, so the
/// weights are the same. Padded query rows get a zero context: nothing after them reads them
/// (their keys are masked in every later layer and the loss skips them), so every gradient is
/// the same as PyTorch's, whose padded rows get a zero gradient.
pub(super) struct TrainAttention {
    pub lengths: Vec<usize>,
    pub heads: usize,
    pub head_dim: usize,
    pub scale: f32,
    /// The attention probabilities' dropout mask `(batch, heads, seq, seq)`, kept values already
    /// scaled by 1 / (1 - p); none in evaluation.
    pub dropout: Option<std::sync::Arc<Vec<f32>>>,
}

/// A matrix as gemm reads it: its first value and its (column, row) strides.
type Matrix<P> = (P, isize, isize);

/// `dst (m × n) = beta · lhs (m × k) · rhs (k × n)` on one core.
///
/// # Safety
/// The pointers and strides must describe matrices inside live buffers, `dst` not aliasing the
/// others.
unsafe fn product(m: usize, n: usize, k: usize, dst: Matrix<*mut f32>, lhs: Matrix<*const f32>, rhs: Matrix<*const f32>, beta: f32) {
    // SAFETY: as the caller promises.
    unsafe { product_with(m, n, k, dst, lhs, rhs, (false, beta), gemm::Parallelism::None) }
}

/// `dst (m × n) = beta · lhs (m × k) · rhs (k × n)`, added to what `dst` holds when `add`.
///
/// # Safety
/// As [`product`].
#[allow(clippy::too_many_arguments)]
unsafe fn product_with(
    m: usize,
    n: usize,
    k: usize,
    dst: Matrix<*mut f32>,
    lhs: Matrix<*const f32>,
    rhs: Matrix<*const f32>,
    (add, beta): (bool, f32),
    parallelism: gemm::Parallelism,
) {
    // SAFETY: as the caller promises.
    unsafe { gemm::gemm(m, n, k, dst.0, dst.1, dst.2, add, lhs.0, lhs.1, lhs.2, rhs.0, rhs.1, rhs.2, 1.0, beta, false, false, false, parallelism) }
}

/// Where one (sequence, head) task reads and writes.
struct Block {
    /// The sequence's real tokens.
    n: usize,
    /// Offsets of the head's query columns in the packed rows and of its context columns.
    packed: usize,
    context: usize,
    /// Offset of its dropout block.
    mask: usize,
}

impl TrainAttention {
    fn shape(&self, l: &candle_core::Layout) -> candle_core::Result<(usize, usize, usize)> {
        let (batch, seq, packed) = l.shape().dims3()?;
        let hidden = self.heads * self.head_dim;
        if packed != 3 * hidden || batch != self.lengths.len() || self.lengths.iter().any(|&n| n > seq) {
            candle_core::bail!("attention: a ({batch}, {seq}, {packed}) input for {} sequences of {} heads", self.lengths.len(), self.heads);
        }
        Ok((batch, seq, hidden))
    }

    fn block(&self, task: usize, seq: usize, hidden: usize) -> Block {
        let (b, h) = (task / self.heads, task % self.heads);
        let d = self.head_dim;
        Block { n: self.lengths[b], packed: b * seq * 3 * hidden + h * d, context: b * seq * hidden + h * d, mask: task * seq * seq }
    }

    /// The softmax of a block's scores (its `n` × `n`) into `probs`.
    fn probabilities(&self, qkv: &[f32], hidden: usize, block: &Block, probs: &mut [f32]) {
        let (n, row) = (block.n, 3 * hidden as isize);
        let q = qkv[block.packed..].as_ptr();
        let k = qkv[block.packed + hidden..].as_ptr();
        // SAFETY: the (n, head_dim) blocks lie inside `qkv` (rows 3 × hidden apart from the
        // sequence's first row, n ≤ seq), `probs` holds n × n.
        unsafe {
            product(n, n, self.head_dim, (probs.as_mut_ptr(), 1, n as isize), (q, 1, row), (k, row, 1), self.scale);
        }
        crate::engine::model::vector_math::softmax_rows(probs, n);
    }

    /// `probs` with a block's dropout mask applied (its n × n corner).
    fn drop(&self, probs: &mut [f32], seq: usize, block: &Block) {
        if let Some(mask) = &self.dropout {
            let (n, mask) = (block.n, &mask[block.mask..]);
            for i in 0..n {
                for j in 0..n {
                    probs[i * n + j] *= mask[i * seq + j];
                }
            }
        }
    }
}

impl candle_core::CustomOp1 for TrainAttention {
    fn name(&self) -> &'static str {
        "train-attention"
    }

    fn cpu_fwd(&self, s: &candle_core::CpuStorage, l: &candle_core::Layout) -> candle_core::Result<(candle_core::CpuStorage, candle_core::Shape)> {
        let (batch, seq, hidden) = self.shape(l)?;
        let qkv = f32_slice(s, l)?;
        let mut out = vec![0f32; batch * seq * hidden];
        let shared = Shared(out.as_mut_ptr());
        let (d, row) = (self.head_dim, 3 * hidden as isize);
        (0..batch * self.heads).into_par_iter().for_each_init(
            || vec![0f32; seq * seq],
            |probs, task| {
                let block = self.block(task, seq, hidden);
                let n = block.n;
                if n == 0 {
                    return;
                }
                let probs = &mut probs[..n * n];
                self.probabilities(qkv, hidden, &block, probs);
                self.drop(probs, seq, &block);
                let v = qkv[block.packed + 2 * hidden..].as_ptr();
                // SAFETY: this task's block of `out` (the sequence's n rows, the head's d
                // columns); v's block as in `probabilities`.
                unsafe {
                    product(n, d, n, (shared.ptr().add(block.context), 1, hidden as isize), (probs.as_ptr(), 1, n as isize), (v, 1, row), 1.0);
                }
            },
        );
        Ok((candle_core::CpuStorage::F32(out), (batch, seq, hidden).into()))
    }

    fn bwd(&self, qkv: &Tensor, _res: &Tensor, grad: &Tensor) -> candle_core::Result<Option<Tensor>> {
        let (batch, seq, packed) = qkv.dims3()?;
        let hidden = packed / 3;
        let (d, row, grow) = (self.head_dim, packed as isize, hidden as isize);
        let mut dqkv = vec![0f32; batch * seq * packed];
        let shared = Shared(dqkv.as_mut_ptr());
        with_values(qkv, |qkv| {
            with_values(grad, |gs| {
                (0..batch * self.heads).into_par_iter().for_each_init(
                    || (vec![0f32; seq * seq], vec![0f32; seq * seq], vec![0f32; seq * seq]),
                    |(probs, dropped, dprobs), task| {
                        let block = self.block(task, seq, hidden);
                        let n = block.n;
                        if n == 0 {
                            return;
                        }
                        let nn = n as isize;
                        let (probs, dropped, dprobs) = (&mut probs[..n * n], &mut dropped[..n * n], &mut dprobs[..n * n]);
                        self.probabilities(qkv, hidden, &block, probs);
                        dropped.copy_from_slice(probs);
                        self.drop(dropped, seq, &block);
                        let g = gs[block.context..].as_ptr();
                        let (q, k, v) =
                            (qkv[block.packed..].as_ptr(), qkv[block.packed + hidden..].as_ptr(), qkv[block.packed + 2 * hidden..].as_ptr());
                        let (dq, dk, dv) = (
                            shared.ptr().wrapping_add(block.packed),
                            shared.ptr().wrapping_add(block.packed + hidden),
                            shared.ptr().wrapping_add(block.packed + 2 * hidden),
                        );
                        // SAFETY: every block is the sequence's n rows and the head's d columns
                        // of a (batch, seq, 3 × hidden) or (batch, seq, hidden) buffer, or an
                        // n × n scratch matrix; this task alone writes its blocks of dqkv.
                        unsafe {
                            // dv = dropped^T · g
                            product(n, d, n, (dv, 1, row), (dropped.as_ptr(), nn, 1), (g, 1, grow), 1.0);
                            // d(dropped) = g · v^T
                            product(n, n, d, (dprobs.as_mut_ptr(), 1, nn), (g, 1, grow), (v, row, 1), 1.0);
                        }
                        // Through the dropout, then the softmax: ds = p ∘ (dp − Σ_j p dp), in place.
                        self.drop(dprobs, seq, &block);
                        for (p, dp) in probs.chunks_exact(n).zip(dprobs.chunks_exact_mut(n)) {
                            let dot: f32 = p.iter().zip(dp.iter()).map(|(a, b)| a * b).sum();
                            for (dp, &p) in dp.iter_mut().zip(p) {
                                *dp = p * (*dp - dot);
                            }
                        }
                        // SAFETY: as above.
                        unsafe {
                            // dq = scale · ds · k; dk = scale · ds^T · q
                            product(n, d, n, (dq, 1, row), (dprobs.as_ptr(), 1, nn), (k, 1, row), self.scale);
                            product(n, d, n, (dk, 1, row), (dprobs.as_ptr(), nn, 1), (q, 1, row), self.scale);
                        }
                    },
                );
            })
        })??;
        Ok(Some(Tensor::from_vec(dqkv, (batch, seq, packed), qkv.device())?))
    }
}

/// `f` of the f32 values of `t` in its own storage when it is contiguous, else of a copy.
fn with_values<R>(t: &Tensor, f: impl FnOnce(&[f32]) -> R) -> candle_core::Result<R> {
    let (storage, layout) = t.storage_and_layout();
    if let (candle_core::Storage::Cpu(candle_core::CpuStorage::F32(values)), Some((a, b))) = (&*storage, layout.contiguous_offsets()) {
        return Ok(f(&values[a..b]));
    }
    drop(storage);
    let copy = t.flatten_all()?.to_vec1::<f32>()?;
    Ok(f(&copy))
}

/// Threads for a product of `m × n × k`: one below what the pool's wake-up costs.
fn parallelism(m: usize, n: usize, k: usize) -> gemm::Parallelism {
    if m * n * k >= 1 << 18 && rayon::current_num_threads() > 1 {
        gemm::Parallelism::Rayon(rayon::current_num_threads())
    } else {
        gemm::Parallelism::None
    }
}

/// A linear layer `y = x Wᵀ + b` over the last dimension of `x` (any leading dimensions) as one
/// operation with its backward pass (`dx = dy W`, `dW = dyᵀ x`, `db = Σ dy`): composed, it was a
/// reshape, a transpose, the product, a broadcast addition and a reshape, each a node whose
/// gradient candle accumulates into a fresh zero tensor on one core.
///
/// With `gelu` the erf GELU follows in the same operation (the feed-forward's first layer): the
/// values before it are kept for the backward pass, which saves the activation's own node.
#[derive(Default)]
pub(super) struct TrainLinear {
    pub gelu: bool,
    before_gelu: std::sync::Mutex<Option<Vec<f32>>>,
}

impl TrainLinear {
    pub fn with_gelu() -> Self {
        Self { gelu: true, before_gelu: Default::default() }
    }
}

impl candle_core::CustomOp3 for TrainLinear {
    fn name(&self) -> &'static str {
        "train-linear"
    }

    fn cpu_fwd(
        &self,
        s1: &candle_core::CpuStorage,
        l1: &candle_core::Layout,
        s2: &candle_core::CpuStorage,
        l2: &candle_core::Layout,
        s3: &candle_core::CpuStorage,
        l3: &candle_core::Layout,
    ) -> candle_core::Result<(candle_core::CpuStorage, candle_core::Shape)> {
        let (x, w, b) = (f32_slice(s1, l1)?, f32_slice(s2, l2)?, f32_slice(s3, l3)?);
        let (outputs, inputs) = l2.shape().dims2()?;
        let dims = l1.shape().dims();
        if dims.last() != Some(&inputs) || b.len() != outputs {
            candle_core::bail!("linear: a {:?} input for a ({outputs}, {inputs}) weight", dims);
        }
        let rows = x.len() / inputs;
        let mut out: Vec<f32> = Vec::with_capacity(rows * outputs);
        for _ in 0..rows {
            out.extend_from_slice(b);
        }
        // SAFETY: out (rows × outputs), x (rows × inputs) and w (outputs × inputs, read as its
        // transpose) are whole buffers of those sizes.
        unsafe {
            let (o, i) = (outputs as isize, inputs as isize);
            product_with(
                rows,
                outputs,
                inputs,
                (out.as_mut_ptr(), 1, o),
                (x.as_ptr(), 1, i),
                (w.as_ptr(), i, 1),
                (true, 1.0),
                parallelism(rows, outputs, inputs),
            );
        }
        if self.gelu {
            *self.before_gelu.lock().expect("not poisoned") = Some(out.clone());
            out.par_chunks_mut(CHUNK).for_each(crate::engine::model::vector_math::gelu_erf_slice);
        }
        let mut shape = dims.to_vec();
        *shape.last_mut().expect("a matrix") = outputs;
        Ok((candle_core::CpuStorage::F32(out), shape.into()))
    }

    fn bwd(
        &self,
        x: &Tensor,
        w: &Tensor,
        _b: &Tensor,
        _res: &Tensor,
        grad: &Tensor,
    ) -> candle_core::Result<(Option<Tensor>, Option<Tensor>, Option<Tensor>)> {
        let (outputs, inputs) = w.dims2()?;
        let rows = x.elem_count() / inputs;
        let mut dx = vec![0f32; rows * inputs];
        let mut dw = vec![0f32; outputs * inputs];
        // Through the GELU first: dy ∘ gelu'(the values before it).
        let through_gelu = match self.gelu.then(|| self.before_gelu.lock().expect("not poisoned").take()) {
            None => None,
            Some(None) => candle_core::bail!("linear: the values before the GELU are gone (a second backward pass)"),
            Some(Some(before)) => {
                let mut g = grad.flatten_all()?.to_vec1::<f32>()?;
                g.par_chunks_mut(CHUNK).zip(before.par_chunks(CHUNK)).for_each(|(g, x)| {
                    for j in 0..g.len() {
                        g[j] *= crate::engine::model::vector_math::gelu_erf_derivative(x[j]);
                    }
                });
                Some(Tensor::from_vec(g, grad.shape(), grad.device())?)
            }
        };
        let grad = through_gelu.as_ref().unwrap_or(grad);
        let db: Vec<f32> = with_values(grad, |g| {
            with_values(x, |xs| {
                with_values(w, |ws| {
                    // SAFETY: every buffer is whole and of the size its strides describe.
                    unsafe {
                        let (o, i) = (outputs as isize, inputs as isize);
                        // dx (rows × inputs) = g (rows × outputs) · w (outputs × inputs)
                        let p = parallelism(rows, inputs, outputs);
                        product_with(rows, inputs, outputs, (dx.as_mut_ptr(), 1, i), (g.as_ptr(), 1, o), (ws.as_ptr(), 1, i), (false, 1.0), p);
                        // dw (outputs × inputs) = gᵀ (outputs × rows) · x (rows × inputs)
                        let p = parallelism(outputs, inputs, rows);
                        product_with(outputs, inputs, rows, (dw.as_mut_ptr(), 1, i), (g.as_ptr(), o, 1), (xs.as_ptr(), 1, i), (false, 1.0), p);
                    }
                })
            })??;
            // db: column sums, rows split across the cores, each part summed in f64.
            let sums = g
                .par_chunks(outputs * 64)
                .fold(
                    || vec![0f64; outputs],
                    |mut acc, block| {
                        for row in block.chunks_exact(outputs) {
                            acc.iter_mut().zip(row).for_each(|(a, &v)| *a += f64::from(v));
                        }
                        acc
                    },
                )
                .reduce(
                    || vec![0f64; outputs],
                    |mut a, b| {
                        a.iter_mut().zip(b).for_each(|(a, b)| *a += b);
                        a
                    },
                );
            Ok::<_, candle_core::Error>(sums.into_iter().map(|v| v as f32).collect())
        })??;
        Ok((
            Some(Tensor::from_vec(dx, x.shape(), x.device())?),
            Some(Tensor::from_vec(dw, (outputs, inputs), x.device())?),
            Some(Tensor::from_vec(db, outputs, x.device())?),
        ))
    }
}

/// A sublayer's output through its dropout, added to the residual: `a ∘ mask + r` (the mask's
/// kept values already scaled by 1 / (1 - p); none in evaluation), one parallel pass each way.
pub(super) struct TrainResidual {
    pub dropout: Option<std::sync::Arc<Vec<f32>>>,
}

const CHUNK: usize = 1 << 14;

impl candle_core::CustomOp2 for TrainResidual {
    fn name(&self) -> &'static str {
        "train-residual"
    }

    fn cpu_fwd(
        &self,
        s1: &candle_core::CpuStorage,
        l1: &candle_core::Layout,
        s2: &candle_core::CpuStorage,
        l2: &candle_core::Layout,
    ) -> candle_core::Result<(candle_core::CpuStorage, candle_core::Shape)> {
        let (a, r) = (f32_slice(s1, l1)?, f32_slice(s2, l2)?);
        if a.len() != r.len() || self.dropout.as_ref().is_some_and(|m| m.len() != a.len()) {
            candle_core::bail!("residual: operands of different sizes");
        }
        let mut out = r.to_vec();
        match &self.dropout {
            Some(mask) => out.par_chunks_mut(CHUNK).zip(a.par_chunks(CHUNK)).zip(mask.par_chunks(CHUNK)).for_each(|((o, a), m)| {
                for j in 0..o.len() {
                    o[j] += a[j] * m[j];
                }
            }),
            None => out.par_chunks_mut(CHUNK).zip(a.par_chunks(CHUNK)).for_each(|(o, a)| {
                for j in 0..o.len() {
                    o[j] += a[j];
                }
            }),
        }
        Ok((candle_core::CpuStorage::F32(out), l1.shape().clone()))
    }

    fn bwd(&self, a: &Tensor, _r: &Tensor, _res: &Tensor, grad: &Tensor) -> candle_core::Result<(Option<Tensor>, Option<Tensor>)> {
        let da = match &self.dropout {
            Some(mask) => {
                let mut g = grad.flatten_all()?.to_vec1::<f32>()?;
                g.par_chunks_mut(CHUNK).zip(mask.par_chunks(CHUNK)).for_each(|(g, m)| {
                    for j in 0..g.len() {
                        g[j] *= m[j];
                    }
                });
                Tensor::from_vec(g, a.shape(), a.device())?
            }
            None => grad.clone(),
        };
        Ok((Some(da), Some(grad.clone())))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A product's bits do not depend on how many threads share it (gemm splits by output
    /// blocks, never along the sum), so a fine-tune resumed with another thread count reaches
    /// the same weights: the backward pass's shapes, both layouts, on one thread and on four.
    /// (Running the two backward products side by side, one thread each, was tried on a 2-core
    /// AMD Zen 4 and was slower: 40.6 against 42.1 examples/s over four alternating rounds.)
    #[test]
    fn a_product_has_the_same_bits_on_one_thread_or_several() {
        let (rows, inputs, outputs) = (640, 256, 768);
        let values = |n: usize, seed: usize| -> Vec<f32> { (0..n).map(|i| ((i * 7919 + seed) % 1999) as f32 / 999.5 - 1.0).collect() };
        let (g, w, x) = (values(rows * outputs, 1), values(outputs * inputs, 2), values(rows * inputs, 3));
        let (o, i) = (outputs as isize, inputs as isize);
        let both = |p: gemm::Parallelism| {
            let (mut dx, mut dw) = (vec![0f32; rows * inputs], vec![0f32; outputs * inputs]);
            // SAFETY: whole buffers of the sizes their strides describe.
            unsafe {
                product_with(rows, inputs, outputs, (dx.as_mut_ptr(), 1, i), (g.as_ptr(), 1, o), (w.as_ptr(), 1, i), (false, 1.0), p);
                product_with(outputs, inputs, rows, (dw.as_mut_ptr(), 1, i), (g.as_ptr(), o, 1), (x.as_ptr(), 1, i), (false, 1.0), p);
            }
            (dx, dw)
        };
        let one = both(gemm::Parallelism::None);
        let pool = rayon::ThreadPoolBuilder::new().num_threads(4).build().unwrap();
        let four = pool.install(|| both(gemm::Parallelism::Rayon(4)));
        assert!(one.0.iter().zip(&four.0).all(|(a, b)| a.to_bits() == b.to_bits()), "dx");
        assert!(one.1.iter().zip(&four.1).all(|(a, b)| a.to_bits() == b.to_bits()), "dw");
        assert!(one.0.iter().any(|&v| v != 0.0));
    }
}
