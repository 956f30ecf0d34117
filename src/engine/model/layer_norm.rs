//! LayerNorm computed the way PyTorch does: mean first, then the variance of the centred values.
//!
//! candle's fused CPU kernel computes the variance as E[x²] − E[x]² in f32, which cancels badly
//! when a row's mean is large against its spread (residual streams of deep encoders can get
//! there). This kernel keeps the fused, one-pass-per-row shape but centres before squaring and
//! accumulates in f64, so it is at least as accurate as PyTorch's.

use candle_core::{CpuStorage, CustomOp3, Layout, Module, Shape, Tensor};
use candle_nn::VarBuilder;

use super::linear::for_rows;
use super::vector_math::lane_sum;

pub struct LayerNorm {
    weight: Tensor,
    bias: Tensor,
    eps: f64,
}

impl LayerNorm {
    pub fn load(width: usize, eps: f64, vb: VarBuilder) -> candle_core::Result<Self> {
        Ok(Self { weight: vb.get(width, "weight")?, bias: vb.get(width, "bias")?, eps })
    }
}

impl Module for LayerNorm {
    fn forward(&self, x: &Tensor) -> candle_core::Result<Tensor> {
        x.contiguous()?.apply_op3_no_bwd(&self.weight, &self.bias, &RowNorm { eps: self.eps })
    }
}

struct RowNorm {
    eps: f64,
}

fn contiguous<'a>(storage: &'a CpuStorage, layout: &Layout, what: &str) -> candle_core::Result<&'a [f32]> {
    let data = storage.as_slice::<f32>()?;
    match layout.contiguous_offsets() {
        Some((start, end)) => Ok(&data[start..end]),
        None => candle_core::bail!("layer norm: {what} must be contiguous"),
    }
}

/// A row's mean and `1 / sqrt(variance + eps)`, summed in f64 in vectorized lanes: the one
/// definition inference and fine-tuning (`engine::finetune::ops`) normalize with.
pub(crate) fn row_stats(row: &[f32], eps: f64) -> (f64, f64) {
    let width = row.len() as f64;
    let mean = lane_sum(row, |v| v as f64) / width;
    let var = lane_sum(row, |v| (v as f64 - mean).powi(2)) / width;
    (mean, 1.0 / (var + eps).sqrt())
}

impl CustomOp3 for RowNorm {
    fn name(&self) -> &'static str {
        "selectra-layer-norm"
    }

    fn cpu_fwd(
        &self,
        s1: &CpuStorage,
        l1: &Layout,
        s2: &CpuStorage,
        l2: &Layout,
        s3: &CpuStorage,
        l3: &Layout,
    ) -> candle_core::Result<(CpuStorage, Shape)> {
        let (x, weight, bias) = (contiguous(s1, l1, "input")?, contiguous(s2, l2, "weight")?, contiguous(s3, l3, "bias")?);
        let width = weight.len();
        if width == 0 || bias.len() != width || x.len() % width != 0 {
            candle_core::bail!("layer norm: input {:?} does not match width {width}", l1.shape());
        }
        // Every value is written below, so the buffer is not zeroed first (that memset was a few
        // percent of a fast-mode run).
        let mut out = Vec::with_capacity(x.len());
        // Rows are independent; many of them run on rayon's pool (the one gemm uses).
        for_rows(&mut out.spare_capacity_mut()[..x.len()], width, |i, dst| {
            let row = &x[i * width..(i + 1) * width];
            let (mean, inv_std) = row_stats(row, self.eps);
            for (((d, &v), &w), &b) in dst.iter_mut().zip(row).zip(weight).zip(bias) {
                d.write(((v as f64 - mean) * inv_std) as f32 * w + b);
            }
        });
        // SAFETY: every row of `width` values was written (`x.len()` is a multiple of `width`).
        unsafe { out.set_len(x.len()) };
        Ok((CpuStorage::F32(out), l1.shape().clone()))
    }
}
