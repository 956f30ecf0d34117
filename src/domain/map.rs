//! A map of the corpus as plain values: how it was made, every record's place on it, and which
//! records a drawn outline encloses (the lasso's filter). The projection itself is
//! `analysis::projection`'s; the store keeps maps.

use serde::Serialize;

use crate::error::{Error, Result};

/// How a map was made.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "lowercase")]
pub enum ProjectionMethod {
    Pca,
    Umap,
}

/// The seed a UMAP map is made with when none is given (the same seed, the same map).
pub const DEFAULT_SEED: u64 = 0;

impl ProjectionMethod {
    pub fn parse(text: &str) -> Result<Self> {
        match text.trim().to_lowercase().as_str() {
            "pca" => Ok(Self::Pca),
            "umap" => Ok(Self::Umap),
            other => Err(Error::Input(format!("a map is made by pca or umap, not {other:?}"))),
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pca => "pca",
            Self::Umap => "umap",
        }
    }
}

/// What a map's points are coloured by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(tag = "by", rename_all = "snake_case")]
pub enum ColourBy {
    /// The gold cell.
    Gold,
    /// The reference label: the accepted annotation, else gold.
    Reference,
    /// A run's top label.
    RunLabel { run: i64 },
    /// A run's top score.
    RunScore { run: i64 },
    /// Whether confident learning flags the record's reference label as a likely error, by a run.
    Suspicion { run: i64 },
}

/// Every record's place on a map, in the vectors' record order.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct MapPoints {
    pub record_ids: Vec<i64>,
    pub x: Vec<f32>,
    pub y: Vec<f32>,
    /// The share of the vectors' variance each axis holds (PCA; empty for UMAP).
    pub explained_variance_ratio: Vec<f64>,
}

/// Whether `(x, y)` is inside the polygon (even-odd rule; the outline closes itself).
pub fn inside(polygon: &[(f64, f64)], x: f64, y: f64) -> bool {
    let mut within = false;
    let mut j = polygon.len().wrapping_sub(1);
    for (i, &(xi, yi)) in polygon.iter().enumerate() {
        let (xj, yj) = polygon[j];
        if (yi > y) != (yj > y) && x < (xj - xi) * (y - yi) / (yj - yi) + xi {
            within = !within;
        }
        j = i;
    }
    within
}

/// The records of a map inside a drawn outline (in the map's coordinates), in map order.
pub fn enclosed(points: &MapPoints, polygon: &[(f64, f64)]) -> Result<Vec<i64>> {
    if polygon.len() < 3 {
        return Err(Error::Input("an outline needs at least three points".into()));
    }
    if polygon.iter().any(|(x, y)| !x.is_finite() || !y.is_finite()) {
        return Err(Error::Input("an outline's points must be finite numbers".into()));
    }
    Ok(points
        .record_ids
        .iter()
        .zip(points.x.iter().zip(&points.y))
        .filter(|(_, (&x, &y))| inside(polygon, f64::from(x), f64::from(y)))
        .map(|(id, _)| *id)
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn points_inside_a_polygon() {
        let square = [(0.0, 0.0), (2.0, 0.0), (2.0, 2.0), (0.0, 2.0)];
        assert!(inside(&square, 1.0, 1.0));
        assert!(!inside(&square, 3.0, 1.0));
        // A concave outline: the notch is outside.
        let u = [(0.0, 0.0), (3.0, 0.0), (3.0, 3.0), (2.0, 3.0), (2.0, 1.0), (1.0, 1.0), (1.0, 3.0), (0.0, 3.0)];
        assert!(inside(&u, 0.5, 2.0) && inside(&u, 2.5, 2.0) && !inside(&u, 1.5, 2.0) && inside(&u, 1.5, 0.5));
    }
}
