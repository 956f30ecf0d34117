//! The corpus as a map: a 2-D projection of an embedding set's vectors (at unit length, the
//! space similarity search and duplicates use) by PCA (here) or UMAP (`analysis::umap`), stored,
//! coloured, and the records a drawn outline encloses.
//!
//! PCA is exact: the vectors' covariance, accumulated in f32 blocks of rows with gemm and summed
//! in f64, then its two leading eigenvectors (nalgebra's symmetric eigendecomposition), each
//! signed so that its largest entry is positive (scikit-learn's convention for the covariance
//! solver). The same vectors give the same map, bit for bit, on one machine.

use std::collections::HashMap;

use crate::analysis::similar::Vectors;
pub use crate::domain::map::{enclosed, inside, ColourBy, MapPoints, ProjectionMethod};
use crate::domain::progress::{JobStage, Watch};
use crate::error::{Error, Result};
use crate::store::{MapColours, MapInfo, Store};

/// Rows per block of the covariance's accumulation.
const BLOCK_ROWS: usize = 4096;

/// The two leading principal components of the vectors, and each vector's coordinates on them.
/// Progress counts rows, twice (covariance, then projection); cancellable between blocks.
pub fn pca(vectors: &Vectors, watch: &mut Watch) -> Result<MapPoints> {
    let (n, d) = (vectors.len(), vectors.dim());
    if n < 3 {
        return Err(Error::Input(format!("a map needs at least 3 embedded records; this set has {n}")));
    }
    let data = vectors.data();
    watch.stage(JobStage::Computing, 2 * n as u64)?;
    let mut mean = vec![0f64; d];
    for row in data.chunks_exact(d) {
        mean.iter_mut().zip(row).for_each(|(m, &x)| *m += f64::from(x));
    }
    mean.iter_mut().for_each(|m| *m /= n as f64);
    let mean32: Vec<f32> = mean.iter().map(|&m| m as f32).collect();

    let mut cov = vec![0f64; d * d];
    let mut block = vec![0f32; BLOCK_ROWS * d];
    let mut gram = vec![0f32; d * d];
    for rows in data.chunks(BLOCK_ROWS * d) {
        let r = rows.len() / d;
        for (dst, src) in block.chunks_exact_mut(d).zip(rows.chunks_exact(d)) {
            dst.iter_mut().zip(src).zip(&mean32).for_each(|((o, &x), &m)| *o = x - m);
        }
        // gram (d × d) = blockᵀ (d × r) · block (r × d); block is row-major r × d.
        // SAFETY: every pointer and stride stays within `block` (r × d) and `gram` (d × d).
        unsafe {
            gemm::gemm(
                d,
                d,
                r,
                gram.as_mut_ptr(),
                1,
                d as isize,
                false,
                block.as_ptr(),
                d as isize,
                1,
                block.as_ptr(),
                1,
                d as isize,
                0.0,
                1.0,
                false,
                false,
                false,
                gemm::Parallelism::Rayon(rayon::current_num_threads()),
            );
        }
        cov.iter_mut().zip(&gram).for_each(|(c, &g)| *c += f64::from(g));
        watch.advance(r as u64)?;
    }
    let scale = 1.0 / (n as f64 - 1.0);
    let cov = nalgebra::DMatrix::from_fn(d, d, |i, j| 0.5 * (cov[i * d + j] + cov[j * d + i]) * scale);
    let total: f64 = cov.diagonal().iter().sum();
    let eigen = nalgebra::SymmetricEigen::new(cov);
    let mut order: Vec<usize> = (0..d).collect();
    order.sort_by(|&a, &b| eigen.eigenvalues[b].total_cmp(&eigen.eigenvalues[a]));
    let components: Vec<Vec<f64>> = order[..2.min(d)]
        .iter()
        .map(|&k| {
            let v: Vec<f64> = eigen.eigenvectors.column(k).iter().copied().collect();
            let largest = v.iter().copied().fold(0.0f64, |m, x| if x.abs() > m.abs() { x } else { m });
            if largest < 0.0 {
                v.iter().map(|x| -x).collect()
            } else {
                v
            }
        })
        .collect();
    let ratio: Vec<f64> = order[..components.len()].iter().map(|&k| if total > 0.0 { eigen.eigenvalues[k].max(0.0) / total } else { 0.0 }).collect();
    let mut xs = Vec::with_capacity(n);
    let mut ys = Vec::with_capacity(n);
    for (i, row) in data.chunks_exact(d).enumerate() {
        let coord = |c: &[f64]| row.iter().zip(&mean).zip(c).map(|((&x, m), w)| (f64::from(x) - m) * w).sum::<f64>() as f32;
        xs.push(coord(&components[0]));
        ys.push(components.get(1).map_or(0.0, |c| coord(c)));
        if i % BLOCK_ROWS == BLOCK_ROWS - 1 {
            watch.advance(BLOCK_ROWS as u64)?;
        }
    }
    Ok(MapPoints { record_ids: vectors.ids().to_vec(), x: xs, y: ys, explained_variance_ratio: ratio })
}

/// The map of embedding set `set` made by `method` (PCA has no seed and is kept with seed 0;
/// UMAP starts from the PCA map and draws with `seed`), made and stored when there is none or
/// when the set has gained vectors since; the stored one otherwise. Progress counts rows (and
/// UMAP's epochs); cancelling leaves the stored map as it was.
pub fn make_map(store: &mut Store, corpus: &str, set: i64, method: ProjectionMethod, seed: u64, watch: &mut Watch) -> Result<(MapInfo, MapPoints)> {
    let info = store.corpus_embedding_set(corpus, set)?;
    let seed = if method == ProjectionMethod::Pca { 0 } else { seed };
    if let Some(found) = store.find_map(set, method, seed)? {
        if found.records == info.embedded {
            return store.map_points(corpus, found.id);
        }
    }
    let vectors = Vectors::load(store, set)?;
    let points = pca(&vectors, watch)?;
    let points = match method {
        ProjectionMethod::Pca => points,
        ProjectionMethod::Umap => crate::analysis::umap::umap(&vectors, &points, seed, watch)?,
    };
    let saved = store.save_map(set, method, seed, &points)?;
    Ok((saved, points))
}

/// A map's colours, one per point in the map's record order (see [`MapColours`]).
pub fn colours(store: &Store, corpus: &str, points: &MapPoints, by: ColourBy) -> Result<MapColours> {
    let mut categories: Vec<String> = Vec::new();
    let mut index: HashMap<String, i32> = HashMap::new();
    let mut category_of = |label: Option<String>| -> i32 {
        match label {
            None => -1,
            Some(l) => *index.entry(l.clone()).or_insert_with(|| {
                categories.push(l);
                categories.len() as i32 - 1
            }),
        }
    };
    let per_record: HashMap<i64, i32>;
    let mut values = None;
    match by {
        ColourBy::Gold | ColourBy::Reference => {
            let cells = store.reference_cells(corpus)?;
            per_record =
                cells.into_iter().map(|(id, gold, reference)| (id, category_of(if by == ColourBy::Gold { gold } else { reference }))).collect();
        }
        ColourBy::RunLabel { run } | ColourBy::RunScore { run } => {
            if store.run(run)?.key.corpus != corpus {
                return Err(Error::Input(format!("run {run} is not a run of corpus {corpus:?}")));
            }
            let top = store.top_predictions(run)?;
            if let ColourBy::RunScore { .. } = by {
                let scores: HashMap<i64, f32> = top.iter().map(|(id, _, s)| (*id, *s)).collect();
                values = Some(points.record_ids.iter().map(|id| scores.get(id).copied().unwrap_or(f32::NAN)).collect());
            }
            per_record = top.into_iter().map(|(id, label, _)| (id, category_of(Some(label)))).collect();
        }
        ColourBy::Suspicion { run } => {
            let found = crate::analysis::label_issues::for_run(store, corpus, run)?;
            let flagged: std::collections::HashSet<i64> = found.issues.iter().map(|i| i.record_id).collect();
            let (likely, fine) = (category_of(Some("likely mislabeled".into())), category_of(Some("not flagged".into())));
            let scored: std::collections::HashSet<i64> = store.top_predictions(run)?.into_iter().map(|(id, _, _)| id).collect();
            per_record =
                points.record_ids.iter().filter(|id| scored.contains(id)).map(|id| (*id, if flagged.contains(id) { likely } else { fine })).collect();
        }
    }
    let category = points.record_ids.iter().map(|id| per_record.get(id).copied().unwrap_or(-1)).collect();
    Ok(MapColours { categories, category, values })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pca_finds_the_direction_of_most_variance() {
        // Points along (1, 1, 0) with a little spread along (0, 0, 1), plus an offset.
        let rows: Vec<(i64, Vec<f32>)> = (0..50)
            .map(|i| {
                let t = i as f32 / 10.0 - 2.5;
                (i, vec![5.0 + t, 5.0 + t, 0.1 * (i % 3) as f32])
            })
            .collect();
        // Unit length changes the cloud, so compare with the normalized rows' own leading axis:
        // the x coordinates are monotone in t and the first axis holds nearly all the variance.
        let vectors = Vectors::new(3, rows).unwrap();
        let map = pca(&vectors, &mut Watch::none()).unwrap();
        assert!(map.explained_variance_ratio[0] > 0.5);
        assert!(map.explained_variance_ratio.iter().sum::<f64>() <= 1.0 + 1e-9);
        assert_eq!(map.record_ids.len(), 50);
        assert!(pca(&Vectors::new(3, vec![(1, vec![1.0, 0.0, 0.0])]).unwrap(), &mut Watch::none()).is_err());
    }
}
