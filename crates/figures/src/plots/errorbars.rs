//! Points with error bars against a parameter, with theory curves and reference lines beside
//! the measurements.

use crate::axis::{Axis, padded_range};
use crate::chart::{self, Area};
use crate::error::FigureError;
use crate::style::{LegendPosition, Style};
use plotters::prelude::*;

/// Measured points with intervals `lower..upper`.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ErrorBarSeries {
    /// Legend entry.
    pub label: String,
    /// Abscissae.
    pub x: Vec<f64>,
    /// Point estimates.
    pub y: Vec<f64>,
    /// Lower ends of the intervals.
    pub lower: Vec<f64>,
    /// Upper ends of the intervals.
    pub upper: Vec<f64>,
}

/// A theory curve drawn dashed beside the measurements.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Curve {
    /// Legend entry.
    pub label: String,
    /// Abscissae.
    pub x: Vec<f64>,
    /// Ordinates.
    pub y: Vec<f64>,
    /// The measured series (an index into `series`) whose colour the curve takes, so a law or
    /// closed form reads as that series' theory; `None` gives it a colour of its own.
    pub series: Option<usize>,
}

/// A horizontal reference line.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ReferenceLine {
    /// Legend entry.
    pub label: String,
    /// Its height.
    pub y: f64,
}

/// Points with error bars, theory curves and reference lines, with a legend.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ErrorBarPlot {
    /// Title.
    pub title: String,
    /// Horizontal axis.
    pub x: Axis,
    /// Vertical axis.
    pub y: Axis,
    /// Measurements, one colour each.
    pub series: Vec<ErrorBarSeries>,
    /// Theory curves, dashed, each in the colour of its series or in the colours after the
    /// measurements'.
    pub theory: Vec<Curve>,
    /// Reference lines, dotted grey.
    pub references: Vec<ReferenceLine>,
    /// Legend position.
    pub legend: LegendPosition,
    /// Extra room above the data, as a fraction of the data range (keeps a top legend clear).
    pub headroom: f64,
}

type Bar = (f64, f64, f64, f64);

impl ErrorBarPlot {
    pub(crate) fn draw(
        &self,
        area: &Area<'_>,
        style: &Style,
        panel: Option<char>,
    ) -> Result<(), FigureError> {
        let (mut xs, mut ys) = (Vec::new(), Vec::new());
        let (mut dropped_x, mut dropped_y) = (0, 0);
        let mut bars: Vec<Vec<Bar>> = Vec::new();
        for s in &self.series {
            let mut kept = Vec::new();
            for i in 0..s.x.len().min(s.y.len()) {
                let x = self.x.map(s.x[i]);
                let y = self.y.map(s.y[i]);
                let lo = s.lower.get(i).and_then(|&v| self.y.map(v)).or(y);
                let hi = s.upper.get(i).and_then(|&v| self.y.map(v)).or(y);
                dropped_x += usize::from(x.is_none());
                dropped_y += usize::from(y.is_none());
                if let (Some(x), Some(y), Some(lo), Some(hi)) = (x, y, lo, hi) {
                    xs.push(x);
                    ys.extend([y, lo, hi]);
                    kept.push((x, y, lo, hi));
                }
            }
            bars.push(kept);
        }
        let curves: Vec<Vec<Option<(f64, f64)>>> = self
            .theory
            .iter()
            .map(|c| c.x.iter().zip(&c.y).map(|(&x, &y)| self.x.map(x).zip(self.y.map(y))).collect())
            .collect();
        for &(x, y) in curves.iter().flatten().flatten() {
            xs.push(x);
            ys.push(y);
        }
        let references: Vec<(usize, f64)> =
            self.references.iter().enumerate().filter_map(|(k, r)| self.y.map(r.y).map(|y| (k, y))).collect();
        ys.extend(references.iter().map(|r| r.1));
        let notes = chart::axis_notes(dropped_x, &self.x, dropped_y, &self.y, xs.is_empty());
        let x_range = padded_range(xs);
        let (y_lo, y_hi) = padded_range(ys);
        let y_range = (y_lo, y_hi + self.headroom.max(0.0) * (y_hi - y_lo));
        let mut chart = chart::build(area, style, &self.title, panel, &notes, x_range, y_range)?;
        chart::mesh(&mut chart, style, &self.x, &self.y)?;

        let grey = RGBColor(110, 110, 110);
        for (k, y) in references {
            let label = self.references[k].label.clone();
            let drawn = chart.draw_series(DashedLineSeries::new(
                [(x_range.0, y), (x_range.1, y)],
                3,
                4,
                grey.stroke_width(1),
            ))?;
            if !label.is_empty() {
                drawn
                    .label(label)
                    .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 22, y)], grey.stroke_width(1)));
            }
        }
        for (k, (curve, points)) in self.theory.iter().zip(&curves).enumerate() {
            let own = self.series.len() + self.theory[..k].iter().filter(|c| c.series.is_none()).count();
            let color = style.color(curve.series.filter(|&s| s < self.series.len()).unwrap_or(own));
            let width = style.line_width;
            let mut labelled = false;
            for run in chart::runs(points.iter().copied()) {
                let drawn = chart.draw_series(DashedLineSeries::new(run, 8, 5, color.stroke_width(width)))?;
                if !labelled && !curve.label.is_empty() {
                    // Two strokes, so the legend shows the curve as dashed.
                    drawn.label(curve.label.as_str()).legend(move |(x, y)| {
                        EmptyElement::at((x, y))
                            + PathElement::new(vec![(0, 0), (9, 0)], color.stroke_width(width))
                            + PathElement::new(vec![(13, 0), (22, 0)], color.stroke_width(width))
                    });
                    labelled = true;
                }
            }
        }
        for (k, (s, kept)) in self.series.iter().zip(&bars).enumerate() {
            let color = style.color(k);
            let radius = style.point_radius;
            chart.draw_series(kept.iter().map(|&(x, y, lo, hi)| {
                ErrorBar::new_vertical(x, lo, y, hi, color.stroke_width(style.line_width.max(1)), 8)
            }))?;
            let drawn = chart
                .draw_series(kept.iter().map(|&(x, y, _, _)| Circle::new((x, y), radius, color.filled())))?;
            if !s.label.is_empty() {
                drawn
                    .label(s.label.as_str())
                    .legend(move |(x, y)| Circle::new((x + 11, y), radius, color.filled()));
            }
        }
        let labelled = self.series.iter().any(|s| !s.label.is_empty())
            || self.theory.iter().any(|c| !c.label.is_empty())
            || self.references.iter().any(|r| !r.label.is_empty());
        if labelled {
            chart::legend(&mut chart, style, self.legend)?;
        }
        Ok(())
    }
}
