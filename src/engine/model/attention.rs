//! Self-attention on the CPU as one operation over the fused query/key/value projection.
//!
//! candle's batched matmul runs one multi-threaded GEMM per (sequence, head): for a zero-shot
//! batch of 40 pairs and 4 heads that is 160 small products of `(seq, 64)` matrices, each paying
//! thread wake-ups, plus copies to split heads, a mask addition and a softmax pass over separate
//! tensors. Here each (sequence, head) is one task on the thread pool: its scores, softmax and
//! weighted sum run single-threaded, reading the heads in place from the packed `(tokens,
//! 3 * hidden)` projection (the encoder keeps only real tokens, sequence after sequence) and
//! writing the context in place into `(tokens, hidden)`.
//!
//! Numerics match transformers' eager attention: scores `q k^T` (the query is pre-scaled by
//! 1/sqrt(head_dim) in its weights), softmax with the row maximum subtracted (vectorized,
//! vector_math.rs). transformers gives padded keys `finfo(f32).min`, whose exponential is exactly
//! 0, so leaving them out entirely computes the same weights.

use candle_core::{CpuStorage, CustomOp1, Layout, Shape};
use rayon::prelude::*;

use super::vector_math::softmax_rows;

pub(crate) struct SelfAttention {
    /// Each sequence's (first row, token count) in the packed rows: sequences hold only their own
    /// tokens, one after another, never padding.
    pub spans: Vec<(usize, usize)>,
    pub heads: usize,
    pub head_dim: usize,
}

/// The output buffer, shared by tasks that each write a disjoint block of it (also the
/// fine-tuning attention's).
pub(crate) struct SharedOut(pub(crate) *mut f32);
// SAFETY: every task writes only the (rows of its sequence) x (columns of its head) block, and
// the blocks of different tasks do not overlap; the buffer outlives the parallel loop.
unsafe impl Send for SharedOut {}
unsafe impl Sync for SharedOut {}

impl SharedOut {
    // A method, so that closures capture the Sync wrapper and not the raw pointer inside it.
    pub(crate) fn ptr(&self) -> *mut f32 {
        self.0
    }
}

impl CustomOp1 for SelfAttention {
    fn name(&self) -> &'static str {
        "self-attention"
    }

    fn cpu_fwd(&self, qkv: &CpuStorage, qkv_l: &Layout) -> candle_core::Result<(CpuStorage, Shape)> {
        let (nh, d) = (self.heads, self.head_dim);
        let hidden = nh * d;
        let rows: usize = self.spans.iter().map(|(_, n)| n).sum();
        let CpuStorage::F32(qkv) = qkv else {
            candle_core::bail!("self-attention takes f32 tensors");
        };
        let Some((qs, qe)) = qkv_l.contiguous_offsets() else {
            candle_core::bail!("self-attention takes contiguous tensors");
        };
        let qkv = &qkv[qs..qe];
        if qkv.len() != rows * 3 * hidden || self.spans.iter().any(|&(start, n)| start + n > rows) {
            candle_core::bail!("self-attention: {} values for {rows} rows of {} spans", qkv.len(), self.spans.len());
        }
        let longest = self.spans.iter().map(|(_, n)| *n).max().unwrap_or(0);
        let mut out = vec![0f32; rows * hidden];
        let shared = SharedOut(out.as_mut_ptr());
        let row = (3 * hidden) as isize;
        (0..self.spans.len() * nh).into_par_iter().for_each_init(
            || vec![0f32; longest * longest],
            |scores, task| {
                let ((start, n), head) = (self.spans[task / nh], task % nh);
                if n == 0 {
                    return;
                }
                // Attention runs on exactly the sequence's own tokens, as it would with no batch
                // at all, so a record's result never depends on what it was batched with (the
                // products' summation order depends on their length).
                let base = start * 3 * hidden + head * d;
                let q = qkv[base..].as_ptr();
                let k = qkv[base + hidden..].as_ptr();
                let v = qkv[base + 2 * hidden..].as_ptr();
                let scores = &mut scores[..n * n];
                // SAFETY: the strides describe (n, d) blocks inside `qkv` (rows 3*hidden apart,
                // the span's n rows) and an (n, n) scratch matrix; gemm reads and writes only
                // within those bounds.
                unsafe {
                    // scores (n x n) = q (n x d) . k^T (d x n)
                    gemm::gemm(
                        n,
                        n,
                        d,
                        scores.as_mut_ptr(),
                        1,
                        n as isize,
                        false,
                        q,
                        1,
                        row,
                        k,
                        row,
                        1,
                        0.0,
                        1.0,
                        false,
                        false,
                        false,
                        gemm::Parallelism::None,
                    );
                }
                softmax_rows(scores, n);
                // SAFETY: this task's block of `out`: the span's rows (hidden apart), columns
                // head*d..+d.
                unsafe {
                    let dst = shared.ptr().add(start * hidden + head * d);
                    // context (n x d) = probs (n x n) . v (n x d)
                    gemm::gemm(
                        n,
                        d,
                        n,
                        dst,
                        1,
                        hidden as isize,
                        false,
                        scores.as_ptr(),
                        1,
                        n as isize,
                        v,
                        1,
                        row,
                        0.0,
                        1.0,
                        false,
                        false,
                        false,
                        gemm::Parallelism::None,
                    );
                }
            },
        );
        Ok((CpuStorage::F32(out), Shape::from((rows, hidden))))
    }
}
