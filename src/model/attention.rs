//! Self-attention on the CPU as one operation over the fused query/key/value projection.
//!
//! candle's batched matmul runs one multi-threaded GEMM per (sequence, head): for a zero-shot
//! batch of 40 pairs and 4 heads that is 160 small products of `(seq, 64)` matrices, each paying
//! thread wake-ups, plus copies to split heads, a mask addition and a softmax pass over separate
//! tensors. Here each (sequence, head) is one task on the thread pool: its scores, masked softmax
//! and weighted sum run single-threaded, reading the heads in place from the `(batch * seq,
//! 3 * hidden)` projection and writing the context in place into `(batch * seq, hidden)`.
//!
//! Numerics match transformers' eager attention: scores `q k^T` (the query is pre-scaled by
//! 1/sqrt(head_dim) in its weights), padded keys get zero weight (transformers adds
//! `finfo(f32).min`, whose exponential is exactly 0), softmax with the row maximum subtracted
//! (vectorized, vector_math.rs).

use candle_core::{CpuStorage, CustomOp2, Layout, Shape};
use rayon::prelude::*;

use super::vector_math::masked_softmax_rows;

pub(crate) struct SelfAttention {
    pub batch: usize,
    pub seq: usize,
    pub heads: usize,
    pub head_dim: usize,
}

/// The output buffer, shared by tasks that each write a disjoint block of it.
struct SharedOut(*mut f32);
// SAFETY: every task writes only the (rows of its sequence) x (columns of its head) block, and
// the blocks of different tasks do not overlap; the buffer outlives the parallel loop.
unsafe impl Send for SharedOut {}
unsafe impl Sync for SharedOut {}

impl SharedOut {
    // A method, so that closures capture the Sync wrapper and not the raw pointer inside it.
    fn ptr(&self) -> *mut f32 {
        self.0
    }
}

impl CustomOp2 for SelfAttention {
    fn name(&self) -> &'static str {
        "self-attention"
    }

    fn cpu_fwd(&self, qkv: &CpuStorage, qkv_l: &Layout, mask: &CpuStorage, mask_l: &Layout) -> candle_core::Result<(CpuStorage, Shape)> {
        let (b, s, nh, d) = (self.batch, self.seq, self.heads, self.head_dim);
        let hidden = nh * d;
        let (CpuStorage::F32(qkv), CpuStorage::F32(mask)) = (qkv, mask) else {
            candle_core::bail!("self-attention takes f32 tensors");
        };
        let (Some((qs, qe)), Some((ms, me))) = (qkv_l.contiguous_offsets(), mask_l.contiguous_offsets()) else {
            candle_core::bail!("self-attention takes contiguous tensors");
        };
        let (qkv, mask) = (&qkv[qs..qe], &mask[ms..me]);
        if qkv.len() != b * s * 3 * hidden || mask.len() != b * s {
            candle_core::bail!("self-attention: unexpected input sizes {} and {}", qkv.len(), mask.len());
        }
        let mut out = vec![0f32; b * s * hidden];
        let shared = SharedOut(out.as_mut_ptr());
        let row = (3 * hidden) as isize;
        (0..b * nh).into_par_iter().for_each_init(
            || vec![0f32; s * s],
            |scores, task| {
                let (seq, head) = (task / nh, task % nh);
                let base = seq * s * 3 * hidden + head * d;
                let q = qkv[base..].as_ptr();
                let k = qkv[base + hidden..].as_ptr();
                let v = qkv[base + 2 * hidden..].as_ptr();
                let keep = &mask[seq * s..(seq + 1) * s];
                // Padding follows the tokens, so only the first `n` rows and keys are the
                // sequence's own: attention runs on exactly those, as it would with no padding
                // at all, so a record's result never depends on what it was batched with (the
                // products' summation order depends on their length). Padded rows keep a zero
                // context; nothing reads them. A mask that is not a prefix takes every row.
                let tokens = keep.iter().take_while(|&&m| m != 0.0).count();
                let n = if keep[tokens..].iter().all(|&m| m == 0.0) { tokens } else { s };
                if n == 0 {
                    return;
                }
                let keep = &keep[..n];
                let scores = &mut scores[..n * n];
                // SAFETY: the strides describe (n, d) blocks inside `qkv` (rows 3*hidden apart,
                // n <= s rows of this sequence) and an (n, n) scratch matrix; gemm reads and
                // writes only within those bounds.
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
                masked_softmax_rows(scores, keep);
                // SAFETY: this task's block of `out`: rows seq*s..seq*s+n (hidden apart), columns
                // head*d..+d.
                unsafe {
                    let dst = shared.ptr().add(seq * s * hidden + head * d);
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
        Ok((CpuStorage::F32(out), Shape::from((b * s, hidden))))
    }
}
