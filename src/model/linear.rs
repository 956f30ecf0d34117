//! A dense layer whose weight is stored transposed and contiguous, `(in, out)`. transformers
//! (and candle's `Linear`) keep `(out, in)` and multiply by its transpose; to gemm that transpose
//! is a strided operand, which it re-packs, whole, on every call before the parallel work starts.
//! Transposing once at load makes `x · Wᵀ` a product of two contiguous matrices.

use candle_core::{Module, Tensor};
use candle_nn::VarBuilder;

pub struct Linear {
    /// `(in, out)`, contiguous.
    weight_t: Tensor,
    bias: Option<Tensor>,
}

impl Linear {
    /// From a weight as transformers stores it, `(out, in)`.
    pub fn new(weight: &Tensor, bias: Option<Tensor>) -> candle_core::Result<Self> {
        Ok(Self { weight_t: weight.t()?.contiguous()?, bias })
    }
}

impl Module for Linear {
    /// `x` is `(rows, in)`; returns `(rows, out)`.
    fn forward(&self, x: &Tensor) -> candle_core::Result<Tensor> {
        let y = x.matmul(&self.weight_t)?;
        match &self.bias {
            Some(b) => y.broadcast_add(b),
            None => Ok(y),
        }
    }
}

/// The weight and bias of `vb` (transformers' names, `weight` and `bias`), as a [`Linear`].
pub fn linear(in_dim: usize, out_dim: usize, vb: VarBuilder) -> candle_core::Result<Linear> {
    let l = candle_nn::linear(in_dim, out_dim, vb)?;
    Linear::new(l.weight(), l.bias().cloned())
}
