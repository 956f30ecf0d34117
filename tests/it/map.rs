//! The corpus as a map: PCA against scikit-learn's (up to each axis's sign), stored once and read
//! back, and the records inside an outline equal to an even-odd test over the coordinates
//! (`tests/fixtures/map/make.py`), from the library and the CLI.

use std::sync::atomic::AtomicBool;

use selectra::analysis::projection::{colours, enclosed, make_map, ColourBy, ProjectionMethod};
use selectra::domain::progress::Watch;
use selectra::store::{EmbeddingKey, Store};
use serde_json::Value;

use crate::common::{fixtures, labeled_project, selectra, store_vectors};

fn expected() -> Value {
    serde_json::from_str(&std::fs::read_to_string(fixtures().join("map/expected.json")).unwrap()).unwrap()
}

fn numbers(v: &Value) -> Vec<f64> {
    v.as_array().unwrap().iter().map(|x| x.as_f64().unwrap()).collect()
}

/// A corpus of one record per fixture vector (gold labels by cluster), its vectors stored as an
/// embedding set.
fn project(dir: &std::path::Path) -> (Store, i64, Vec<i64>) {
    let vectors: Vec<Vec<f32>> = serde_json::from_str(&std::fs::read_to_string(fixtures().join("map/vectors.json")).unwrap()).unwrap();
    let mut csv = String::from("text,label\n");
    for i in 0..vectors.len() {
        csv.push_str(&format!("registro {i},{}\n", ["a", "b", "c"][i / 50]));
    }
    let (_, mut store) = labeled_project(dir, &csv);
    let (set, ids) = store_vectors(&mut store, vectors);
    (store, set, ids)
}

#[test]
fn pca_is_scikit_learns_up_to_sign_and_the_outline_encloses_the_same_records() {
    let dir = tempfile::tempdir().unwrap();
    let (mut store, set, ids) = project(dir.path());
    let want = expected();
    let (info, points) = make_map(&mut store, "c", set, ProjectionMethod::Pca, 0, &mut Watch::none()).unwrap();
    assert_eq!(points.record_ids, ids, "points in record order");
    for (got, want) in info.explained_variance_ratio.iter().zip(numbers(&want["explained_variance_ratio"])) {
        assert!((got - want).abs() < 1e-5, "explained variance {got} vs scikit-learn's {want}");
    }
    let (wx, wy) = (numbers(&want["x"]), numbers(&want["y"]));
    let sign = |got: &[f32], want: &[f64]| if got.iter().zip(want).map(|(g, w)| f64::from(*g) * w).sum::<f64>() < 0.0 { -1.0 } else { 1.0 };
    let (sx, sy) = (sign(&points.x, &wx), sign(&points.y, &wy));
    for i in 0..ids.len() {
        assert!((f64::from(points.x[i]) * sx - wx[i]).abs() < 1e-4, "row {}: x {} vs {}", i + 1, points.x[i], wx[i]);
        assert!((f64::from(points.y[i]) * sy - wy[i]).abs() < 1e-4, "row {}: y {} vs {}", i + 1, points.y[i], wy[i]);
    }
    // Made once: the same map comes back from the store, unchanged.
    let (again, again_points) = make_map(&mut store, "c", set, ProjectionMethod::Pca, 0, &mut Watch::none()).unwrap();
    assert_eq!((again.id, &again.created_at, &again_points), (info.id, &info.created_at, &points));
    assert_eq!(store.maps("c").unwrap(), vec![info.clone()]);
    let db = dir.path().join("p.db");
    for outline in want["outlines"].as_array().unwrap() {
        // The outline was drawn on scikit-learn's axes; on ours, flipped where an axis is.
        let polygon: Vec<(f64, f64)> =
            outline["polygon"].as_array().unwrap().iter().map(|p| (p[0].as_f64().unwrap() * sx, p[1].as_f64().unwrap() * sy)).collect();
        let rows: Vec<u64> = outline["rows"].as_array().unwrap().iter().map(|r| r.as_u64().unwrap()).collect();
        let inside: Vec<u64> = enclosed(&points, &polygon).unwrap().iter().map(|id| store.record_row(*id).unwrap()).collect();
        assert_eq!(inside, rows);
        let text = polygon.iter().map(|(x, y)| format!("{x},{y}")).collect::<Vec<_>>().join(" ");
        let out = selectra(&["map", "--db", db.to_str().unwrap(), "--corpus", "c", "--embeddings", &set.to_string(), "--inside", &text, "--json"]);
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        let printed: Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(printed["map"], Value::from(info.id));
        assert_eq!(printed["rows"].as_array().unwrap().iter().map(|r| r.as_u64().unwrap()).collect::<Vec<_>>(), rows);
    }
    // Colours by gold: one category per cluster, in the map's order.
    let by_gold = colours(&store, "c", &points, ColourBy::Gold).unwrap();
    assert_eq!(by_gold.categories, ["a", "b", "c"]);
    assert_eq!(by_gold.category.iter().filter(|&&c| c == 1).count(), 50);
    assert_eq!(by_gold.category[120], 2);
    // Hostile outlines are refused with a reason.
    assert!(enclosed(&points, &[(0.0, 0.0), (1.0, 1.0)]).unwrap_err().to_string().contains("three points"));
    assert!(enclosed(&points, &[(0.0, 0.0), (1.0, f64::NAN), (2.0, 0.0)]).is_err());
    let out = selectra(&["map", "--db", db.to_str().unwrap(), "--corpus", "c", "--embeddings", &set.to_string(), "--inside", "1,2 x,3 4,5"]);
    assert!(String::from_utf8_lossy(&out.stderr).contains("\"x\""), "{}", String::from_utf8_lossy(&out.stderr));
}

#[test]
fn a_map_is_made_again_when_the_set_grows_and_never_half_written() {
    let dir = tempfile::tempdir().unwrap();
    let (mut store, _, ids) = project(dir.path());
    // A map of a set with too few vectors is refused, and nothing is stored.
    let key = EmbeddingKey { corpus: "c".into(), model: "tiny".into(), weights_sha256: "1".repeat(64), strip_accents: None };
    let small = store.open_embeddings(&key, 2).unwrap().id;
    store.save_embeddings(small, &[(ids[0], vec![1.0, 0.0]), (ids[1], vec![0.0, 1.0])]).unwrap();
    let err = make_map(&mut store, "c", small, ProjectionMethod::Pca, 0, &mut Watch::none()).unwrap_err();
    assert!(err.to_string().contains("at least 3"), "{err}");
    assert!(store.maps("c").unwrap().is_empty());
    store.save_embeddings(small, &[(ids[2], vec![1.0, 1.0]), (ids[3], vec![-1.0, 0.5])]).unwrap();
    let (first, _) = make_map(&mut store, "c", small, ProjectionMethod::Pca, 0, &mut Watch::none()).unwrap();
    assert_eq!(first.records, 4);
    store.save_embeddings(small, &[(ids[4], vec![0.3, -1.0])]).unwrap();
    let (grown, points) = make_map(&mut store, "c", small, ProjectionMethod::Pca, 0, &mut Watch::none()).unwrap();
    assert_eq!((grown.id, grown.records, points.record_ids.len()), (first.id, 5, 5), "the stale map is replaced");
    // Cancelled while computing: the stored map is the one before.
    let cancel = AtomicBool::new(true);
    let mut report = |_| {};
    let mut watch = Watch::new(&mut report, &cancel);
    store.save_embeddings(small, &[(ids[5], vec![0.9, 0.1])]).unwrap();
    assert!(matches!(make_map(&mut store, "c", small, ProjectionMethod::Pca, 0, &mut watch), Err(selectra::Error::Cancelled)));
    assert_eq!(store.maps("c").unwrap()[0].records, 5);
    assert!(ProjectionMethod::parse("tsne").unwrap_err().to_string().contains("pca or umap"));
}

/// scikit-learn's `trustworthiness` (Euclidean), written out: how far each point's `k` nearest
/// neighbours on the map are, in rank, from being its nearest in the original space.
fn trustworthiness(original: &[Vec<f64>], xs: &[f64], ys: &[f64], k: usize) -> f64 {
    let n = original.len();
    let dist = |a: &[f64], b: &[f64]| a.iter().zip(b).map(|(x, y)| (x - y) * (x - y)).sum::<f64>();
    let mut total = 0.0;
    for i in 0..n {
        // Ranks in the original space, 1-based, the point itself last.
        let mut order: Vec<usize> = (0..n).filter(|&j| j != i).collect();
        order.sort_by(|&a, &b| dist(&original[i], &original[a]).total_cmp(&dist(&original[i], &original[b])));
        let mut rank = vec![0usize; n];
        for (r, &j) in order.iter().enumerate() {
            rank[j] = r + 1;
        }
        let mut near: Vec<usize> = (0..n).filter(|&j| j != i).collect();
        let on_map = |j: usize| (xs[i] - xs[j]).powi(2) + (ys[i] - ys[j]).powi(2);
        near.sort_by(|&a, &b| on_map(a).total_cmp(&on_map(b)));
        total += near[..k].iter().map(|&j| rank[j] as f64 - k as f64).filter(|&r| r > 0.0).sum::<f64>();
    }
    let (n, k) = (n as f64, k as f64);
    1.0 - total * (2.0 / (n * k * (2.0 * n - 3.0 * k - 1.0)))
}

#[test]
fn umap_is_as_trustworthy_as_umap_learns_and_its_seed_fixes_it() {
    let dir = tempfile::tempdir().unwrap();
    let (mut store, set, _) = project(dir.path());
    let want = expected();
    let reference = &want["umap"];
    assert!((selectra::analysis::umap::A - reference["a"].as_f64().unwrap()).abs() < 1e-6);
    assert!((selectra::analysis::umap::B - reference["b"].as_f64().unwrap()).abs() < 1e-6);
    let vectors = selectra::analysis::similar::Vectors::load(&store, set).unwrap();
    let unit: Vec<Vec<f64>> = vectors.data().chunks(vectors.dim()).map(|r| r.iter().map(|&x| f64::from(x)).collect()).collect();
    // The trustworthiness written here is scikit-learn's: on umap-learn's own layout it gives
    // the number scikit-learn gave.
    let t_ref = trustworthiness(&unit, &numbers(&reference["x"]), &numbers(&reference["y"]), 10);
    assert!((t_ref - reference["trustworthiness"].as_f64().unwrap()).abs() < 1e-9, "{t_ref} vs {}", reference["trustworthiness"]);
    let (info, points) = make_map(&mut store, "c", set, ProjectionMethod::Umap, 0, &mut Watch::none()).unwrap();
    assert_eq!((info.method, info.seed, info.records), (ProjectionMethod::Umap, 0, 150));
    let as64 = |v: &[f32]| v.iter().map(|&x| f64::from(x)).collect::<Vec<_>>();
    let t = trustworthiness(&unit, &as64(&points.x), &as64(&points.y), 10);
    eprintln!("UMAP trustworthiness (10 neighbours): ours {t:.4}, umap-learn's {t_ref:.4}");
    assert!((t - t_ref).abs() <= 0.02, "trustworthiness {t:.4}, umap-learn's {t_ref:.4}");
    // The same seed gives the same map, bit for bit; another seed another map.
    let pca = selectra::analysis::projection::pca(&vectors, &mut Watch::none()).unwrap();
    let again = selectra::analysis::umap::umap(&vectors, &pca, 0, &mut Watch::none()).unwrap();
    assert_eq!((&again.x, &again.y), (&points.x, &points.y));
    let other = selectra::analysis::umap::umap(&vectors, &pca, 1, &mut Watch::none()).unwrap();
    assert_ne!(other.x, points.x);
    // Both maps are kept: PCA and UMAP of one set.
    make_map(&mut store, "c", set, ProjectionMethod::Pca, 0, &mut Watch::none()).unwrap();
    assert_eq!(store.maps("c").unwrap().len(), 2);
}
