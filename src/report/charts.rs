//! Charts drawn with plotters: SVG strings for the app and the HTML report, PNG files for export.
//!
//! Text is set in DejaVu Sans, compiled in from assets/fonts and registered with plotters' ab_glyph
//! backend, so layout never depends on the fonts a machine has (headless CI draws the same chart as
//! a laptop). Each chart is a [`Chart`] value; [`Chart::svg`] and [`Chart::write_png`] draw it with
//! the same code. plotters XML-escapes the text it writes into SVG, so labels and model names that
//! look like markup stay text.

use std::path::Path;
use std::sync::Once;

use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::FontStyle;
use serde::Serialize;

use crate::error::{Error, Result};

const FONT: &[u8] = include_bytes!("../../assets/fonts/DejaVuSans.ttf");
const FAMILY: &str = "sans-serif";

/// Okabe–Ito colours: distinguishable with the common colour-vision deficiencies.
const PALETTE: [RGBColor; 8] = [
    RGBColor(0, 114, 178),
    RGBColor(230, 159, 0),
    RGBColor(0, 158, 115),
    RGBColor(213, 94, 0),
    RGBColor(204, 121, 167),
    RGBColor(86, 180, 233),
    RGBColor(240, 228, 66),
    RGBColor(0, 0, 0),
];

fn colour(i: usize) -> RGBColor {
    PALETTE[i % PALETTE.len()]
}

fn register_font() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        // The bytes are a font file compiled in from assets/; a failure is a broken checkout.
        if plotters::style::register_font(FAMILY, FontStyle::Normal, FONT).is_err() {
            panic!("assets/fonts/DejaVuSans.ttf is not a usable font");
        }
    });
}

/// One bar group's bar: its value and optional error (± half-width).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Bar {
    pub value: f64,
    pub error: Option<f64>,
}

/// One bin of a reliability diagram: (lower, upper, count, mean confidence, accuracy); the last
/// two are absent for an empty bin.
pub type ReliabilityBin = (f64, f64, u64, Option<f64>, Option<f64>);

/// A point of the size-versus-score chart.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SizedScore {
    pub name: String,
    pub params_millions: f64,
    pub score: f64,
    /// Measured on the user's data (drawn apart, and not part of the published Pareto front).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub measured: bool,
}

/// Every chart the app and reports draw.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Chart {
    /// Bars grouped by `groups`, one per series in each group (`values[series][group]`), with error
    /// bars where given. `y_min` lets close scores be told apart; the axis says where it starts.
    GroupedBars { title: String, y_label: String, groups: Vec<String>, series: Vec<String>, values: Vec<Vec<Option<Bar>>>, y_min: f64, y_max: f64 },
    /// Parameters (log scale) against a score, with the Pareto front (no other model is both smaller
    /// and better).
    SizeVsScore { title: String, y_label: String, points: Vec<SizedScore> },
    /// `counts[t][p]`: reference label `t` predicted as `p`. Cells are shaded by the row's share.
    Confusion { title: String, labels: Vec<String>, counts: Vec<Vec<u64>> },
    /// Accuracy per confidence bin against the diagonal of perfect calibration.
    Reliability { title: String, bins: Vec<ReliabilityBin> },
    /// For each label, how its scores are distributed (10 bins over [0, 1]).
    ScoreHistograms { title: String, labels: Vec<String>, counts: Vec<[u64; 10]> },
}

type DrawResult<DB> = std::result::Result<(), DrawingAreaErrorKind<<DB as DrawingBackend>::ErrorType>>;

impl Chart {
    /// Pixel size of the drawing.
    pub fn size(&self) -> (u32, u32) {
        match self {
            Chart::GroupedBars { .. } => (960, 480),
            Chart::SizeVsScore { .. } => (760, 480),
            Chart::Confusion { labels, .. } => {
                let side = (260 + 48 * labels.len() as u32).clamp(420, 1100);
                (side + 80, side)
            }
            Chart::Reliability { .. } => (560, 480),
            Chart::ScoreHistograms { labels, .. } => {
                let rows = labels.len().div_ceil(3).max(1) as u32;
                (960, 60 + 220 * rows)
            }
        }
    }

    /// The chart as an SVG document.
    pub fn svg(&self) -> Result<String> {
        register_font();
        let mut out = String::new();
        {
            let root = SVGBackend::with_string(&mut out, self.size()).into_drawing_area();
            self.draw(&root).map_err(|e| Error::Report(format!("drawing a chart failed: {e}")))?;
            root.present().map_err(|e| Error::Report(format!("drawing a chart failed: {e}")))?;
        }
        Ok(out)
    }

    /// The chart as a PNG file at `path` (written whole or not at all).
    pub fn write_png(&self, path: &Path) -> Result<()> {
        register_font();
        // plotters picks the image format from the extension, so the temporary name keeps ".png".
        let dir = crate::fs::parent(path);
        let tmp = tempfile::Builder::new().suffix(".png").tempfile_in(dir).map_err(|e| Error::io(dir, e))?;
        {
            let root = BitMapBackend::new(tmp.path(), self.size()).into_drawing_area();
            self.draw(&root).map_err(|e| Error::Report(format!("drawing {} failed: {e}", path.display())))?;
            root.present().map_err(|e| Error::Report(format!("writing {} failed: {e}", path.display())))?;
        }
        crate::fs::persist(tmp, path)
    }

    /// The chart with every piece of text on one line and free of control characters: a label
    /// holding one would make the SVG ill-formed XML (XML 1.0 allows none but tab and line
    /// breaks) and break the layout of both formats.
    fn one_line_text(&self) -> Chart {
        let line = |t: &String| crate::domain::text::one_line(t).into_owned();
        let lines = |ts: &[String]| ts.iter().map(line).collect::<Vec<_>>();
        match self {
            Chart::GroupedBars { title, y_label, groups, series, values, y_min, y_max } => Chart::GroupedBars {
                title: line(title),
                y_label: line(y_label),
                groups: lines(groups),
                series: lines(series),
                values: values.clone(),
                y_min: *y_min,
                y_max: *y_max,
            },
            Chart::SizeVsScore { title, y_label, points } => Chart::SizeVsScore {
                title: line(title),
                y_label: line(y_label),
                points: points.iter().map(|p| SizedScore { name: line(&p.name), ..p.clone() }).collect(),
            },
            Chart::Confusion { title, labels, counts } => Chart::Confusion { title: line(title), labels: lines(labels), counts: counts.clone() },
            Chart::Reliability { title, bins } => Chart::Reliability { title: line(title), bins: bins.clone() },
            Chart::ScoreHistograms { title, labels, counts } => {
                Chart::ScoreHistograms { title: line(title), labels: lines(labels), counts: counts.clone() }
            }
        }
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> DrawResult<DB> {
        root.fill(&WHITE)?;
        let chart = self.one_line_text();
        let this = &chart;
        match this {
            Chart::GroupedBars { title, y_label, groups, series, values, y_min, y_max } => {
                grouped_bars(root, title, y_label, groups, series, values, *y_min, *y_max)
            }
            Chart::SizeVsScore { title, y_label, points } => size_vs_score(root, title, y_label, points),
            Chart::Confusion { title, labels, counts } => confusion(root, title, labels, counts),
            Chart::Reliability { title, bins } => reliability(root, title, bins),
            Chart::ScoreHistograms { title, labels, counts } => histograms(root, title, labels, counts),
        }
    }
}

fn text_style(size: u32) -> TextStyle<'static> {
    (FAMILY, size).into_font().color(&BLACK)
}

/// A legend drawn in its own panel, so it never covers data.
fn legend<DB: DrawingBackend>(area: &DrawingArea<DB, Shift>, names: &[String]) -> DrawResult<DB> {
    for (i, name) in names.iter().enumerate() {
        let y = 60 + i as i32 * 24;
        area.draw(&Rectangle::new([(8, y), (24, y + 14)], colour(i).filled()))?;
        area.draw(&Text::new(crate::domain::text::cell(name, 22), (32, y), text_style(14)))?;
    }
    Ok(())
}

#[allow(clippy::too_many_arguments)]
fn grouped_bars<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    title: &str,
    y_label: &str,
    groups: &[String],
    series: &[String],
    values: &[Vec<Option<Bar>>],
    y_min: f64,
    y_max: f64,
) -> DrawResult<DB> {
    let (w, _) = root.dim_in_pixel();
    let (plot, side) = root.split_horizontally(w as i32 - 200);
    let mut chart = ChartBuilder::on(&plot)
        .caption(title, text_style(20))
        .margin(12)
        .x_label_area_size(44)
        .y_label_area_size(64)
        .build_cartesian_2d(0f64..groups.len().max(1) as f64, y_min..y_max)?;
    chart
        .configure_mesh()
        .disable_x_mesh()
        .x_labels(0)
        .light_line_style(RGBColor(242, 242, 242))
        .y_desc(y_label)
        .axis_desc_style(text_style(15))
        .label_style(text_style(13))
        .draw()?;
    let n = series.len().max(1) as f64;
    let width = 0.8 / n;
    for (s, row) in values.iter().enumerate() {
        let c = colour(s);
        for (g, bar) in row.iter().enumerate() {
            let Some(bar) = bar else { continue };
            let x0 = g as f64 + 0.1 + s as f64 * width;
            let top = bar.value.clamp(y_min, y_max);
            chart.draw_series(std::iter::once(Rectangle::new([(x0, y_min), (x0 + width * 0.9, top)], c.filled())))?;
            if let Some(e) = bar.error {
                let xc = x0 + width * 0.45;
                chart.draw_series(std::iter::once(ErrorBar::new_vertical(
                    xc,
                    (bar.value - e).max(y_min),
                    bar.value,
                    (bar.value + e).min(y_max),
                    BLACK.stroke_width(1),
                    6,
                )))?;
            }
        }
    }
    // Group names centred under their bars.
    for (g, name) in groups.iter().enumerate() {
        let (px, py) = chart.backend_coord(&(g as f64 + 0.5, y_min));
        plot.draw(&Text::new(
            crate::domain::text::cell(name, 24),
            (px, py + 10),
            text_style(14)
                .pos(plotters::style::text_anchor::Pos::new(plotters::style::text_anchor::HPos::Center, plotters::style::text_anchor::VPos::Top)),
        ))?;
    }
    legend(&side, series)
}

/// Where each point's label goes, relative to the point: the first of a few places around it
/// (right, left; above, below, further out) whose box overlaps no label placed before it and no
/// point. Text is 12 px, about 7 px a character.
fn label_offsets(points: &[(i32, i32)], labels: &[String]) -> Vec<(i32, i32)> {
    const HEIGHT: i32 = 14;
    let overlaps = |a: (i32, i32, i32, i32), b: (i32, i32, i32, i32)| a.0 < b.2 && b.0 < a.2 && a.1 < b.3 && b.1 < a.3;
    let mut placed: Vec<(i32, i32, i32, i32)> = Vec::new();
    let markers: Vec<(i32, i32, i32, i32)> = points.iter().map(|&(x, y)| (x - 6, y - 6, x + 6, y + 6)).collect();
    let mut order: Vec<usize> = (0..points.len()).collect();
    order.sort_by_key(|&i| (points[i].0, points[i].1));
    let mut offsets = vec![(8, -20); points.len()];
    for i in order {
        let (x, y) = points[i];
        let width = 7 * labels[i].chars().count() as i32;
        let candidates = [(8, -20), (8, 6), (-8 - width, -20), (-8 - width, 6), (8, -36), (8, 22), (-8 - width, -36), (-8 - width, 22)];
        let fits = |&(dx, dy): &(i32, i32)| {
            let b = (x + dx, y + dy, x + dx + width, y + dy + HEIGHT);
            !placed.iter().chain(&markers).any(|&o| overlaps(b, o))
        };
        let (dx, dy) = candidates.iter().copied().find(fits).unwrap_or(candidates[0]);
        placed.push((x + dx, y + dy, x + dx + width, y + dy + HEIGHT));
        offsets[i] = (dx, dy);
    }
    offsets
}

fn size_vs_score<DB: DrawingBackend>(root: &DrawingArea<DB, Shift>, title: &str, y_label: &str, points: &[SizedScore]) -> DrawResult<DB> {
    let (lo_x, hi_x) = points.iter().fold((f64::MAX, f64::MIN), |(lo, hi), p| (lo.min(p.params_millions), hi.max(p.params_millions)));
    let (lo_y, hi_y) = points.iter().fold((f64::MAX, f64::MIN), |(lo, hi), p| (lo.min(p.score), hi.max(p.score)));
    let (lo_x, hi_x) = if points.is_empty() { (1.0, 1000.0) } else { (lo_x / 1.6, hi_x * 1.6) };
    let (lo_y, hi_y) = if points.is_empty() { (0.0, 1.0) } else { (lo_y - 0.02, hi_y + 0.02) };
    let mut chart = ChartBuilder::on(root)
        .caption(title, text_style(20))
        .margin(16)
        .x_label_area_size(48)
        .y_label_area_size(64)
        .build_cartesian_2d((lo_x..hi_x).log_scale(), lo_y..hi_y)?;
    chart
        .configure_mesh()
        .x_desc("Parameters (millions, log scale)")
        .x_labels(12)
        .light_line_style(RGBColor(242, 242, 242))
        .y_desc(y_label)
        .axis_desc_style(text_style(15))
        .label_style(text_style(13))
        .x_label_formatter(&|v| format!("{v:.0}"))
        .draw()?;
    // The front: walking up in size, a model is on it when it beats every smaller one (among
    // the published scores: a measured one is on other data).
    let mut sorted: Vec<&SizedScore> = points.iter().filter(|p| !p.measured).collect();
    sorted.sort_by(|a, b| a.params_millions.total_cmp(&b.params_millions).then(b.score.total_cmp(&a.score)));
    let mut front = Vec::new();
    let mut best = f64::MIN;
    for p in &sorted {
        if p.score > best {
            front.push((p.params_millions, p.score));
            best = p.score;
        }
    }
    chart
        .draw_series(LineSeries::new(front.clone(), colour(1).stroke_width(2)))?
        .label("Pareto front")
        .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 18, y)], colour(1).stroke_width(2)));
    // Labels go where they overlap no other label and no point: close models (ELECTRICIDAD,
    // Bertin and RoBERTa-b differ by a few parameters and thousandths) stay readable.
    let pixels: Vec<(i32, i32)> = points.iter().map(|p| chart.backend_coord(&(p.params_millions, p.score))).collect();
    let offsets = label_offsets(&pixels, &points.iter().map(|p| crate::domain::text::cell(&p.name, 20)).collect::<Vec<_>>());
    for (p, offset) in points.iter().zip(offsets) {
        let name = crate::domain::text::cell(&p.name, 20);
        if p.measured {
            // The user's own numbers: a triangle in another colour.
            chart.draw_series(std::iter::once(
                EmptyElement::at((p.params_millions, p.score))
                    + TriangleMarker::new((0, 0), 7, colour(3).filled())
                    + Text::new(name, offset, text_style(12)),
            ))?;
            continue;
        }
        let on_front = front.contains(&(p.params_millions, p.score));
        let c = if on_front { colour(1) } else { colour(0) };
        chart.draw_series(std::iter::once(
            EmptyElement::at((p.params_millions, p.score)) + Circle::new((0, 0), 5, c.filled()) + Text::new(name, offset, text_style(12)),
        ))?;
    }
    if points.iter().any(|p| p.measured) {
        chart
            .draw_series(std::iter::empty::<Circle<(f64, f64), i32>>())?
            .label("your data (measured here)")
            .legend(|(x, y)| TriangleMarker::new((x + 9, y), 6, colour(3).filled()));
    }
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::LowerRight)
        .background_style(WHITE.mix(0.9))
        .border_style(BLACK)
        .label_font(text_style(13))
        .draw()?;
    Ok(())
}

fn confusion<DB: DrawingBackend>(root: &DrawingArea<DB, Shift>, title: &str, labels: &[String], counts: &[Vec<u64>]) -> DrawResult<DB> {
    let k = labels.len().max(1);
    let mut chart = ChartBuilder::on(root)
        .caption(title, text_style(20))
        .margin(16)
        .margin_right(90)
        .x_label_area_size(70)
        .y_label_area_size(150)
        .build_cartesian_2d(0f64..k as f64, 0f64..k as f64)?;
    chart.configure_mesh().disable_mesh().x_labels(0).y_labels(0).x_desc("Predicted").y_desc("Reference").axis_desc_style(text_style(15)).draw()?;
    for (t, row) in counts.iter().enumerate() {
        let total: u64 = row.iter().sum();
        for (p, &count) in row.iter().enumerate() {
            let share = if total == 0 { 0.0 } else { count as f64 / total as f64 };
            // Row t is drawn from the top, as confusion matrices are read.
            let y = (k - 1 - t) as f64;
            let shade = RGBColor((255.0 - 255.0 * share) as u8, (255.0 - 141.0 * share) as u8, (255.0 - 77.0 * share) as u8);
            chart.draw_series(std::iter::once(Rectangle::new([(p as f64, y), (p as f64 + 1.0, y + 1.0)], shade.filled())))?;
            chart.draw_series(std::iter::once(Rectangle::new([(p as f64, y), (p as f64 + 1.0, y + 1.0)], BLACK.mix(0.2).stroke_width(1))))?;
            let ink = if share > 0.5 { WHITE } else { BLACK };
            let (px, py) = chart.backend_coord(&(p as f64 + 0.5, y + 0.5));
            root.draw(&Text::new(count.to_string(), (px, py), text_style(14).color(&ink).pos(centre())))?;
        }
    }
    let centre_top = plotters::style::text_anchor::Pos::new(plotters::style::text_anchor::HPos::Center, plotters::style::text_anchor::VPos::Top);
    let right_centre = plotters::style::text_anchor::Pos::new(plotters::style::text_anchor::HPos::Right, plotters::style::text_anchor::VPos::Center);
    for (i, name) in labels.iter().enumerate() {
        let (px, py) = chart.backend_coord(&(i as f64 + 0.5, 0.0));
        root.draw(&Text::new(crate::domain::text::cell(name, 14), (px, py + 6), text_style(13).pos(centre_top)))?;
        let (px, py) = chart.backend_coord(&(0.0, (k - 1 - i) as f64 + 0.5));
        root.draw(&Text::new(crate::domain::text::cell(name, 18), (px - 6, py), text_style(13).pos(right_centre)))?;
    }
    Ok(())
}

fn centre() -> plotters::style::text_anchor::Pos {
    plotters::style::text_anchor::Pos::new(plotters::style::text_anchor::HPos::Center, plotters::style::text_anchor::VPos::Center)
}

fn reliability<DB: DrawingBackend>(root: &DrawingArea<DB, Shift>, title: &str, bins: &[ReliabilityBin]) -> DrawResult<DB> {
    let mut chart = ChartBuilder::on(root)
        .caption(title, text_style(20))
        .margin(16)
        .x_label_area_size(48)
        .y_label_area_size(60)
        .build_cartesian_2d(0f64..1f64, 0f64..1f64)?;
    chart
        .configure_mesh()
        .x_desc("Confidence (score of the predicted label)")
        .light_line_style(RGBColor(242, 242, 242))
        .y_desc("Accuracy")
        .axis_desc_style(text_style(15))
        .label_style(text_style(13))
        .draw()?;
    chart
        .draw_series(
            bins.iter()
                .filter_map(|&(lo, hi, _, _, acc)| acc.map(|a| Rectangle::new([(lo + 0.005, 0.0), (hi - 0.005, a)], colour(0).mix(0.75).filled()))),
        )?
        .label("Accuracy in bin")
        .legend(|(x, y)| Rectangle::new([(x, y - 5), (x + 14, y + 5)], colour(0).mix(0.75).filled()));
    chart
        .draw_series(LineSeries::new(vec![(0.0, 0.0), (1.0, 1.0)], BLACK.stroke_width(1)))?
        .label("Perfect calibration")
        .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 18, y)], BLACK));
    chart
        .draw_series(bins.iter().filter_map(|&(_, _, _, conf, acc)| Some(Circle::new((conf?, acc?), 4, colour(3).filled()))))?
        .label("Mean confidence")
        .legend(|(x, y)| Circle::new((x + 7, y), 4, colour(3).filled()));
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::UpperLeft)
        .background_style(WHITE.mix(0.9))
        .border_style(BLACK)
        .label_font(text_style(13))
        .draw()?;
    Ok(())
}

fn histograms<DB: DrawingBackend>(root: &DrawingArea<DB, Shift>, title: &str, labels: &[String], counts: &[[u64; 10]]) -> DrawResult<DB> {
    let body = root.titled(title, text_style(20))?;
    let rows = labels.len().div_ceil(3).max(1);
    let panels = body.split_evenly((rows, 3));
    for (i, (label, row)) in labels.iter().zip(counts).enumerate() {
        let top = row.iter().copied().max().unwrap_or(0).max(1) as f64;
        let mut chart = ChartBuilder::on(&panels[i])
            .caption(crate::domain::text::cell(label, 28), text_style(15))
            .margin(8)
            .x_label_area_size(34)
            .y_label_area_size(44)
            .build_cartesian_2d(0f64..1f64, 0f64..top * 1.1)?;
        chart
            .configure_mesh()
            .disable_x_mesh()
            .x_labels(6)
            .y_labels(4)
            .x_desc("Score")
            .label_style(text_style(11))
            .axis_desc_style(text_style(12))
            .y_label_formatter(&|v| format!("{v:.0}"))
            .draw()?;
        chart.draw_series(row.iter().enumerate().map(|(b, &c)| {
            let lo = b as f64 / 10.0;
            Rectangle::new([(lo + 0.004, 0.0), (lo + 0.096, c as f64)], colour(i).filled())
        }))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn svg_text_is_escaped() {
        let chart = Chart::Confusion {
            title: "<script>alert(1)</script>".into(),
            labels: vec!["\"><img src=x onerror=alert(1)>".into(), "b&c".into()],
            counts: vec![vec![1, 0], vec![0, 1]],
        };
        let svg = chart.svg().unwrap();
        assert!(!svg.contains("<script"), "{svg}");
        assert!(!svg.contains("<img"), "{svg}");
        assert!(svg.contains("&lt;script&gt;"), "{svg}");
    }

    #[test]
    fn labels_of_close_points_do_not_overlap() {
        // Three models a few pixels apart (as ELECTRICIDAD, Bertin and RoBERTa-b are), and one alone.
        let points = [(400, 200), (410, 204), (412, 198), (100, 300)];
        let labels: Vec<String> = ["ELECTRICIDAD", "Bertin", "RoBERTa-b", "SELECTRA small"].iter().map(|s| s.to_string()).collect();
        let offsets = label_offsets(&points, &labels);
        let boxes: Vec<(i32, i32, i32, i32)> = points
            .iter()
            .zip(&offsets)
            .zip(&labels)
            .map(|((&(x, y), &(dx, dy)), l)| (x + dx, y + dy, x + dx + 7 * l.len() as i32, y + dy + 14))
            .collect();
        for (i, a) in boxes.iter().enumerate() {
            for b in &boxes[i + 1..] {
                assert!(!(a.0 < b.2 && b.0 < a.2 && a.1 < b.3 && b.1 < a.3), "{a:?} overlaps {b:?}");
            }
        }
    }
}
