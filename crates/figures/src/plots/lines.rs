//! Lines over a parameter (typically training steps) with shaded confidence bands.

use crate::axis::{Axis, padded_range};
use crate::chart::{self, Area};
use crate::error::FigureError;
use crate::style::{LegendPosition, Style};
use plotters::prelude::*;

/// One line with an optional band `lower..upper` around it.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct BandSeries {
    /// Legend entry.
    pub label: String,
    /// Abscissae.
    pub x: Vec<f64>,
    /// Ordinates (same length as `x`).
    pub y: Vec<f64>,
    /// The band's lower and upper edges (same length as `x`), if any.
    pub band: Option<(Vec<f64>, Vec<f64>)>,
}

/// Several lines with bands, one colour each, with a legend.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct LinesPlot {
    /// Title.
    pub title: String,
    /// Horizontal axis.
    pub x: Axis,
    /// Vertical axis.
    pub y: Axis,
    /// The series, drawn in order.
    pub series: Vec<BandSeries>,
    /// Legend position.
    pub legend: LegendPosition,
}

impl LinesPlot {
    pub(crate) fn draw(
        &self,
        area: &Area<'_>,
        style: &Style,
        panel: Option<char>,
    ) -> Result<(), FigureError> {
        let (mut xs, mut ys) = (Vec::new(), Vec::new());
        let (mut dropped_x, mut dropped_y) = (0, 0);
        // Mapped points and band edges per series; None where an axis cannot show a value.
        let mut mapped = Vec::new();
        for s in &self.series {
            let n = s.x.len().min(s.y.len());
            let mut line = Vec::with_capacity(n);
            let mut band = Vec::with_capacity(n);
            for i in 0..n {
                let x = self.x.map(s.x[i]);
                let y = self.y.map(s.y[i]);
                dropped_x += usize::from(x.is_none());
                dropped_y += usize::from(y.is_none());
                line.push(x.zip(y));
                let edges = s.band.as_ref().and_then(|(lo, hi)| {
                    let lo = lo.get(i).and_then(|&v| self.y.map(v));
                    let hi = hi.get(i).and_then(|&v| self.y.map(v));
                    x.zip(lo.zip(hi)).map(|(x, (lo, hi))| (x, lo, hi))
                });
                if let Some((x, lo, hi)) = edges {
                    ys.extend([lo, hi]);
                    xs.push(x);
                }
                band.push(edges);
                if let Some((x, y)) = x.zip(y) {
                    xs.push(x);
                    ys.push(y);
                }
            }
            mapped.push((line, band));
        }
        let notes = chart::axis_notes(dropped_x, &self.x, dropped_y, &self.y, xs.is_empty());
        let mut chart =
            chart::build(area, style, &self.title, panel, &notes, padded_range(xs), padded_range(ys))?;
        chart::mesh(&mut chart, style, &self.x, &self.y)?;
        for (k, (s, (line, band))) in self.series.iter().zip(&mapped).enumerate() {
            let color = style.color(k);
            // Bands first, so every line stays visible above its band.
            for run in chart::runs(band.iter().copied()).into_iter().filter(|run| run.len() >= 2) {
                let mut polygon: Vec<(f64, f64)> = run.iter().map(|&(x, lo, _)| (x, lo)).collect();
                polygon.extend(run.iter().rev().map(|&(x, _, hi)| (x, hi)));
                chart.draw_series(std::iter::once(Polygon::new(
                    polygon,
                    color.mix(style.band_opacity).filled(),
                )))?;
            }
            let width = style.line_width;
            let mut labelled = false;
            for run in chart::runs(line.iter().copied()) {
                let single = run.len() == 1;
                let drawn = if single {
                    chart.draw_series(
                        run.iter().map(|&p| Circle::new(p, style.point_radius, color.filled())),
                    )?
                } else {
                    chart.draw_series(LineSeries::new(run, color.stroke_width(width)))?
                };
                if !labelled && !s.label.is_empty() {
                    drawn.label(s.label.as_str()).legend(move |(x, y)| {
                        PathElement::new(vec![(x, y), (x + 22, y)], color.stroke_width(width))
                    });
                    labelled = true;
                }
            }
        }
        if self.series.iter().any(|s| !s.label.is_empty()) {
            chart::legend(&mut chart, style, self.legend)?;
        }
        Ok(())
    }
}
