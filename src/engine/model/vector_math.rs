//! Element-wise math written without branches so that the compiler vectorizes it, compiled a
//! second time for AVX2 + FMA and chosen at run time where the CPU has them: the exact GELU and
//! the attention softmax. libm's `erff` and `expf` run one element at a time; they took about a
//! tenth of a zero-shot run (GELU) and most of a long text's attention (softmax). Both stay within
//! a few units in the last place of f32 (tested against libm), far inside the 1e-4 parity kept
//! with transformers.

/// Whether the AVX2 + FMA versions can run here.
#[cfg(target_arch = "x86_64")]
fn has_avx2_fma() -> bool {
    std::is_x86_feature_detected!("avx2") && std::is_x86_feature_detected!("fma")
}

/// The exact (erf) GELU over a slice: Abramowitz & Stegun 7.1.26 for erf (|error| ≤ 1.5e-7, the
/// approximation PyTorch's vectorized erf uses too) with [`exp_non_positive`].
pub fn gelu_erf_slice(values: &mut [f32]) {
    #[cfg(target_arch = "x86_64")]
    if has_avx512_fma() {
        // SAFETY: the CPU has the features the function is compiled for (just checked).
        return unsafe { gelu_erf_avx512(values) };
    }
    #[cfg(target_arch = "x86_64")]
    if has_avx2_fma() {
        // SAFETY: the CPU has the features the function is compiled for (just checked).
        return unsafe { gelu_erf_avx2(values) };
    }
    values.iter_mut().for_each(|v| *v = gelu_erf(*v));
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn gelu_erf_avx2(values: &mut [f32]) {
    values.iter_mut().for_each(|v| *v = gelu_erf(*v));
}

/// Whether the AVX-512 version can run here.
#[cfg(target_arch = "x86_64")]
fn has_avx512_fma() -> bool {
    std::is_x86_feature_detected!("avx512f") && has_avx2_fma()
}

/// The same operations as [`gelu_erf_avx2`], sixteen lanes at a time: the same bits (tested).
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx2,fma")]
unsafe fn gelu_erf_avx512(values: &mut [f32]) {
    values.iter_mut().for_each(|v| *v = gelu_erf(*v));
}

/// `0.5 x (1 + erf(x / sqrt 2))`.
#[inline(always)]
pub(crate) fn gelu_erf(x: f32) -> f32 {
    const P: f32 = 0.327_591_1;
    const A: [f32; 5] = [0.254_829_6, -0.284_496_74, 1.421_413_7, -1.453_152, 1.061_405_4];
    let z = x * std::f32::consts::FRAC_1_SQRT_2;
    let a = z.abs();
    let t = 1.0 / (1.0 + P * a);
    let poly = ((((A[4] * t + A[3]) * t + A[2]) * t + A[1]) * t + A[0]) * t;
    let erf = (1.0 - poly * exp_non_positive(-a * a)).copysign(z);
    0.5 * x * (1.0 + erf)
}

/// The exact GELU's derivative, `Φ(x) + x φ(x)`: the standard normal's distribution function
/// (the erf of [`gelu_erf`]) plus x times its density (for fine-tuning's backward pass).
#[inline(always)]
pub(crate) fn gelu_erf_derivative(x: f32) -> f32 {
    const P: f32 = 0.327_591_1;
    const A: [f32; 5] = [0.254_829_6, -0.284_496_74, 1.421_413_7, -1.453_152, 1.061_405_4];
    const INV_SQRT_2PI: f32 = 0.398_942_3;
    let z = x * std::f32::consts::FRAC_1_SQRT_2;
    let a = z.abs();
    let t = 1.0 / (1.0 + P * a);
    let poly = ((((A[4] * t + A[3]) * t + A[2]) * t + A[1]) * t + A[0]) * t;
    let gauss = exp_non_positive(-a * a);
    let erf = (1.0 - poly * gauss).copysign(z);
    0.5 * (1.0 + erf) + x * INV_SQRT_2PI * gauss
}

/// `e^x` for `x ≤ 0` (Cephes' single-precision polynomial; below e^-87 the result is e^-87, a
/// NaN gives e^-87 too, and a positive `x`, outside the contract, gives 1).
#[inline(always)]
fn exp_non_positive(x: f32) -> f32 {
    // Not `clamp`: it passes NaN through, and `n` below must be a number.
    #[allow(clippy::manual_clamp)]
    let x = x.max(-87.0).min(0.0);
    let n = (x * std::f32::consts::LOG2_E + 0.5).floor();
    let r = x - n * 0.693_359_4 + n * 2.121_944_4e-4;
    let mut p = 1.987_569_1e-4f32;
    p = p * r + 1.398_2e-3;
    p = p * r + 8.333_452e-3;
    p = p * r + 4.166_579_6e-2;
    p = p * r + 0.166_666_65;
    p = p * r + 0.5;
    let y = p * r * r + r + 1.0;
    // `n` is a whole number in [-126, 0] (x was clamped, and `max` turns NaN into -87), so the
    // unchecked conversion is exact. `as i32` would be the same value, but its saturating
    // semantics compile to a scalar compare-and-move per lane, which un-vectorized this function
    // (a third of the GELU's time in a profile).
    // SAFETY: `n` is finite and within i32's range (see above).
    let n = unsafe { n.to_int_unchecked::<i32>() };
    y * f32::from_bits(((n + 127) << 23) as u32)
}

/// Each `width`-wide row of `scores` becomes its softmax, the row maximum subtracted first.
/// (Attention passes only a sequence's own keys, never padding; see attention.rs.)
pub fn softmax_rows(scores: &mut [f32], width: usize) {
    #[cfg(target_arch = "x86_64")]
    if has_avx2_fma() {
        // SAFETY: the CPU has the features the function is compiled for (just checked).
        return unsafe { softmax_avx2(scores, width) };
    }
    softmax(scores, width)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn softmax_avx2(scores: &mut [f32], width: usize) {
    softmax(scores, width)
}

/// Lanes of the partial maxima and sums, so the reductions vectorize (a float sum in one
/// accumulator cannot be reordered by the compiler). Column `j` always adds into lane `j % LANES`.
const LANES: usize = 8;

/// `Σ f(v)` over `values` in f64, in [`LANES`] partial sums added in order at the end: a fixed
/// function of the values that vectorizes (LayerNorm's mean and variance; one accumulator was
/// a chain of dependent additions, most of LayerNorm's time).
pub fn lane_sum(values: &[f32], f: impl Fn(f32) -> f64) -> f64 {
    let mut lanes = [0f64; LANES];
    let chunks = values.chunks_exact(LANES);
    let rest = chunks.remainder();
    for chunk in chunks {
        for (lane, &v) in lanes.iter_mut().zip(chunk) {
            *lane += f(v);
        }
    }
    for (lane, &v) in lanes.iter_mut().zip(rest) {
        *lane += f(v);
    }
    lanes.iter().sum()
}

#[inline(always)]
fn softmax(scores: &mut [f32], width: usize) {
    if width == 0 {
        return;
    }
    for row in scores.chunks_exact_mut(width) {
        let mut max = [f32::NEG_INFINITY; LANES];
        let (body, tail) = row.split_at(width - width % LANES);
        for xs in body.chunks_exact(LANES) {
            for l in 0..LANES {
                max[l] = max[l].max(xs[l]);
            }
        }
        for &x in tail {
            max[0] = max[0].max(x);
        }
        let max = max.iter().fold(f32::NEG_INFINITY, |a, &b| a.max(b));
        let mut sum = [0f32; LANES];
        let (body, tail) = row.split_at_mut(width - width % LANES);
        for xs in body.chunks_exact_mut(LANES) {
            for l in 0..LANES {
                xs[l] = exp_non_positive(xs[l] - max);
                sum[l] += xs[l];
            }
        }
        for (l, x) in tail.iter_mut().enumerate() {
            *x = exp_non_positive(*x - max);
            sum[l] += *x;
        }
        let inv = 1.0 / sum.iter().sum::<f32>();
        row.iter_mut().for_each(|x| *x *= inv);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The vectorized GELU against candle's (libm's erff) over the range activations take, and
    /// the far tails.
    #[test]
    fn the_vectorized_gelu_is_within_f32_rounding_of_libm() {
        let mut xs: Vec<f32> = (-200_000..=200_000).map(|i| i as f32 * 1e-4).collect();
        xs.extend([-1e4, -100.0, -30.0, -13.0, 13.0, 30.0, 100.0, 1e4, 0.0, -0.0, 1e-30, -1e-30]);
        let mut ours = xs.clone();
        gelu_erf_slice(&mut ours);
        let mut portable = xs.clone();
        portable.iter_mut().for_each(|v| *v = gelu_erf(*v));
        for ((&x, &a), &b) in xs.iter().zip(&ours).zip(&portable) {
            let exact = <candle_core::op::GeluErf as candle_core::op::UnaryOpT>::f32(x);
            assert!((a - exact).abs() <= 3e-7 * x.abs().max(1.0), "x = {x}: {a} vs libm {exact}");
            assert!((b - exact).abs() <= 3e-7 * x.abs().max(1.0), "x = {x} (portable): {b} vs libm {exact}");
        }
        // Each instruction set's version gives the same bits (results must not depend on it).
        #[cfg(target_arch = "x86_64")]
        if has_avx512_fma() {
            let mut avx2 = xs.clone();
            // SAFETY: the CPU has AVX2 and FMA (has_avx512_fma checks them).
            unsafe { gelu_erf_avx2(&mut avx2) };
            assert!(avx2.iter().zip(&ours).all(|(a, b)| a.to_bits() == b.to_bits()), "AVX2 and AVX-512 differ");
            assert!(portable.iter().zip(&ours).all(|(a, b)| a.to_bits() == b.to_bits()), "portable and AVX-512 differ");
        }
    }

    /// The softmax against the plain formula with libm's exp (f64), on rows of widths around
    /// the lane count, with large and spread-out scores.
    #[test]
    fn the_softmax_matches_the_formula() {
        for width in [1, 2, 7, 8, 9, 17, 64, 131] {
            let scores: Vec<f32> = (0..width * 3).map(|i| ((i * 7919) % 1000) as f32 * 0.05 - 25.0).collect();
            let mut ours = scores.clone();
            softmax_rows(&mut ours, width);
            for (row, got) in scores.chunks(width).zip(ours.chunks(width)) {
                let max = row.iter().fold(f64::NEG_INFINITY, |a, &x| a.max(x as f64));
                let sum: f64 = row.iter().map(|&x| (x as f64 - max).exp()).sum();
                for (&x, &g) in row.iter().zip(got) {
                    let want = (x as f64 - max).exp() / sum;
                    assert!((g as f64 - want).abs() <= 1e-6 * want.max(1e-3), "width {width}: {g} vs {want}");
                }
            }
        }
    }
}
