//! UMAP (McInnes, Healy and Melville, 2018) with umap-learn's defaults, for the corpus map:
//! 15 neighbours, `min_dist` 0.1, `spread` 1, 500 epochs up to 10,000 points and 200 above,
//! learning rate 1, 5 negative samples per positive one, on the unit vectors' Euclidean distance
//! (the same order as cosine). Where umap-learn approximates, this is exact or simpler:
//!
//! - neighbours are exact (every pair's distance, in blocks of rows with gemm), not NN-descent;
//! - the layout starts from the PCA map (umap-learn's `init="pca"`), scaled to [0, 10] per axis
//!   as umap-learn scales every start, not from the graph's spectral embedding;
//! - the optimization is umap-learn's single-threaded SGD (edges sampled in proportion to their
//!   weight, the attractive and repulsive gradients clipped to ±4), run in one thread with a
//!   seeded ChaCha8 generator, so the same seed gives the same map, bit for bit.
//!
//! The test compares its trustworthiness (scikit-learn's, 10 neighbours) with umap-learn's on the
//! same vectors.

use rand::{Rng, SeedableRng};

use crate::analysis::similar::Vectors;
use crate::domain::map::MapPoints;
use crate::domain::progress::{JobStage, Watch};
use crate::error::{Error, Result};

/// umap-learn's defaults.
pub const NEIGHBOURS: usize = 15;
/// `find_ab_params(spread=1.0, min_dist=0.1)` in umap-learn (a curve fit; the fixture script
/// checks these against umap-learn's own).
pub const A: f64 = 1.57694346046584;
pub const B: f64 = 0.8950608779639974;
const NEGATIVE_SAMPLES: usize = 5;
const LEARNING_RATE: f64 = 1.0;
/// Rows per block of the neighbour search (a block's similarities are rows × n floats).
const BLOCK_ROWS: usize = 256;

/// Each point's neighbours (indices) and their distances, row by row.
type Neighbours = (Vec<Vec<usize>>, Vec<Vec<f64>>);

/// Each point's `k` nearest other points and their distances, nearest first (ties by index).
fn neighbours(vectors: &Vectors, k: usize, watch: &mut Watch) -> Result<Neighbours> {
    let (n, d) = (vectors.len(), vectors.dim());
    let data = vectors.data();
    let mut indices = Vec::with_capacity(n);
    let mut distances = Vec::with_capacity(n);
    let mut sims = vec![0f32; BLOCK_ROWS * n];
    let mut scratch: Vec<usize> = Vec::with_capacity(n);
    for start in (0..n).step_by(BLOCK_ROWS) {
        let rows = BLOCK_ROWS.min(n - start);
        // sims (rows × n) = block (rows × d) · dataᵀ (d × n).
        // SAFETY: pointers and strides stay within `data` (n × d) and `sims` (rows × n).
        unsafe {
            gemm::gemm(
                rows,
                n,
                d,
                sims.as_mut_ptr(),
                1,
                n as isize,
                false,
                data.as_ptr().add(start * d),
                1,
                d as isize,
                data.as_ptr(),
                d as isize,
                1,
                0.0,
                1.0,
                false,
                false,
                false,
                gemm::Parallelism::Rayon(rayon::current_num_threads()),
            );
        }
        for r in 0..rows {
            let i = start + r;
            let row = &sims[r * n..(r + 1) * n];
            // One scratch list for every row; each row keeps only its k (a row holding the
            // scratch's capacity would cost n² indices).
            scratch.clear();
            scratch.extend((0..n).filter(|&j| j != i));
            let by = |a: &usize, b: &usize| row[*b].total_cmp(&row[*a]).then(a.cmp(b));
            if scratch.len() > k {
                scratch.select_nth_unstable_by(k - 1, by);
            }
            let mut order = scratch[..k.min(scratch.len())].to_vec();
            order.sort_by(by);
            // Unit vectors: |x − y|² = 2 − 2 x·y.
            distances.push(order.iter().map(|&j| (2.0 - 2.0 * f64::from(row[j])).max(0.0).sqrt()).collect());
            indices.push(order);
        }
        watch.advance(rows as u64)?;
    }
    Ok((indices, distances))
}

/// umap-learn's `smooth_knn_dist` with `local_connectivity` 1: each point's distance to its
/// nearest neighbour (rho) and the bandwidth (sigma) that makes its neighbours' memberships sum
/// to log2(k).
fn smooth_knn(distances: &[Vec<f64>], k: usize) -> (Vec<f64>, Vec<f64>) {
    const TOLERANCE: f64 = 1e-5;
    const MIN_K_DIST_SCALE: f64 = 1e-3;
    let target = (k as f64).log2();
    let mean_all: f64 = distances.iter().flatten().sum::<f64>() / distances.iter().map(Vec::len).sum::<usize>().max(1) as f64;
    let mut rhos = Vec::with_capacity(distances.len());
    let mut sigmas = Vec::with_capacity(distances.len());
    for row in distances {
        let rho = row.iter().copied().find(|&x| x > 0.0).unwrap_or(0.0);
        let (mut lo, mut hi, mut mid) = (0.0f64, f64::INFINITY, 1.0f64);
        for _ in 0..64 {
            // umap-learn counts the point itself among the k (its first neighbour, at distance
            // 0); the sum runs over the other k − 1.
            let psum: f64 = row.iter().take(k - 1).map(|&x| if x - rho > 0.0 { (-(x - rho) / mid).exp() } else { 1.0 }).sum();
            if (psum - target).abs() < TOLERANCE {
                break;
            }
            if psum > target {
                hi = mid;
                mid = (lo + hi) / 2.0;
            } else {
                lo = mid;
                mid = if hi.is_infinite() { mid * 2.0 } else { (lo + hi) / 2.0 };
            }
        }
        let mean_row = row.iter().sum::<f64>() / row.len().max(1) as f64;
        let floor = MIN_K_DIST_SCALE * if rho > 0.0 { mean_row } else { mean_all };
        rhos.push(rho);
        sigmas.push(mid.max(floor));
    }
    (rhos, sigmas)
}

/// The fuzzy union of the neighbour graph's memberships: w = a + b − a·b over both directions.
fn fuzzy_graph(indices: &[Vec<usize>], distances: &[Vec<f64>], rhos: &[f64], sigmas: &[f64]) -> Vec<(usize, usize, f64)> {
    let mut directed: std::collections::HashMap<(usize, usize), f64> = std::collections::HashMap::new();
    for (i, (row, dist)) in indices.iter().zip(distances).enumerate() {
        for (&j, &x) in row.iter().zip(dist) {
            let w = if x - rhos[i] <= 0.0 || sigmas[i] == 0.0 { 1.0 } else { (-(x - rhos[i]) / sigmas[i]).exp() };
            directed.insert((i, j), w);
        }
    }
    let mut edges: Vec<(usize, usize, f64)> = Vec::with_capacity(directed.len() * 2);
    for (&(i, j), &a) in &directed {
        let b = directed.get(&(j, i)).copied().unwrap_or(0.0);
        edges.push((i, j, a + b - a * b));
        if !directed.contains_key(&(j, i)) {
            edges.push((j, i, a + b - a * b));
        }
    }
    // A fixed order (the map's order must not depend on hashing).
    edges.sort_by_key(|x| (x.0, x.1));
    edges
}

/// The UMAP layout of the vectors, starting from `start` (their PCA map). Progress counts the
/// neighbour search's rows, then epochs.
pub fn umap(vectors: &Vectors, start: &MapPoints, seed: u64, watch: &mut Watch) -> Result<MapPoints> {
    let n = vectors.len();
    if n <= NEIGHBOURS {
        return Err(Error::Input(format!("a UMAP map needs more than {NEIGHBOURS} embedded records (its neighbours); this set has {n}")));
    }
    let epochs = if n <= 10_000 { 500 } else { 200 };
    watch.stage(JobStage::Computing, n as u64 + epochs as u64)?;
    let (indices, distances) = neighbours(vectors, NEIGHBOURS - 1, watch)?;
    let (rhos, sigmas) = smooth_knn(&distances, NEIGHBOURS);
    let mut edges = fuzzy_graph(&indices, &distances, &rhos, &sigmas);
    let max_weight = edges.iter().map(|e| e.2).fold(0.0, f64::max);
    edges.retain(|e| e.2 >= max_weight / epochs as f64);
    let per_sample: Vec<f64> = edges.iter().map(|e| epochs as f64 / (epochs as f64 * e.2 / max_weight)).collect();

    // Start: the PCA map scaled to [0, 10] on each axis.
    let scale = |v: &[f32]| -> Vec<f64> {
        let (lo, hi) = v.iter().fold((f32::INFINITY, f32::NEG_INFINITY), |(a, b), &x| (a.min(x), b.max(x)));
        let span = f64::from(hi - lo).max(1e-12);
        v.iter().map(|&x| 10.0 * f64::from(x - lo) / span).collect()
    };
    let mut layout: Vec<[f64; 2]> = scale(&start.x).into_iter().zip(scale(&start.y)).map(|(x, y)| [x, y]).collect();

    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
    let per_negative: Vec<f64> = per_sample.iter().map(|p| p / NEGATIVE_SAMPLES as f64).collect();
    let mut next_sample = per_sample.clone();
    let mut next_negative = per_negative.clone();
    let clip = |g: f64| g.clamp(-4.0, 4.0);
    for epoch in 0..epochs {
        let alpha = LEARNING_RATE * (1.0 - epoch as f64 / epochs as f64);
        let now = epoch as f64;
        for (e, &(i, j, _)) in edges.iter().enumerate() {
            if next_sample[e] > now {
                continue;
            }
            let (current, other) = (layout[i], layout[j]);
            let dist2 = (current[0] - other[0]).powi(2) + (current[1] - other[1]).powi(2);
            let coeff = if dist2 > 0.0 { -2.0 * A * B * dist2.powf(B - 1.0) / (A * dist2.powf(B) + 1.0) } else { 0.0 };
            for dim in 0..2 {
                let g = clip(coeff * (current[dim] - other[dim])) * alpha;
                layout[i][dim] += g;
                layout[j][dim] -= g;
            }
            next_sample[e] += per_sample[e];
            let negatives = ((now - next_negative[e]) / per_negative[e]) as i64;
            for _ in 0..negatives.max(0) {
                let k = rng.random_range(0..n);
                let (current, other) = (layout[i], layout[k]);
                let dist2 = (current[0] - other[0]).powi(2) + (current[1] - other[1]).powi(2);
                let coeff = if dist2 > 0.0 { 2.0 * B / ((0.001 + dist2) * (A * dist2.powf(B) + 1.0)) } else { 0.0 };
                for dim in 0..2 {
                    let g = if coeff > 0.0 { clip(coeff * (current[dim] - other[dim])) } else { 0.0 };
                    layout[i][dim] += g * alpha;
                }
            }
            next_negative[e] += negatives.max(0) as f64 * per_negative[e];
        }
        watch.tick()?;
    }
    Ok(MapPoints {
        record_ids: vectors.ids().to_vec(),
        x: layout.iter().map(|p| p[0] as f32).collect(),
        y: layout.iter().map(|p| p[1] as f32).collect(),
        explained_variance_ratio: Vec::new(),
    })
}
