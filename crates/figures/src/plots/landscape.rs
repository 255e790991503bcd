//! A two-dimensional loss landscape: contour lines of a gridded function, trajectories drawn
//! over them (start marked with a circle, end with a cross), and the set of minima.

use crate::axis::Axis;
use crate::chart::{self, Area};
use crate::error::FigureError;
use crate::style::{LegendPosition, Style};
use contour::ContourBuilder;
use plotters::prelude::*;
use plotters::style::colors::colormaps::ViridisRGB;

/// A labelled polyline in plot coordinates.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Path {
    /// Legend entry.
    pub label: String,
    /// The points in order.
    pub points: Vec<(f64, f64)>,
}

/// Contours of `values` on a regular grid with trajectories and the minimum set.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Landscape {
    /// Title.
    pub title: String,
    /// Horizontal axis (linear).
    pub x: Axis,
    /// Vertical axis (linear).
    pub y: Axis,
    /// The grid spans `x_range` with `nx` points...
    pub x_range: (f64, f64),
    /// ...and `y_range` with `ny` points.
    pub y_range: (f64, f64),
    /// Grid points along x (at least 2).
    pub nx: usize,
    /// Grid points along y (at least 2).
    pub ny: usize,
    /// Function values, row-major: `values[j * nx + i]` at `x_i, y_j`.
    pub values: Vec<f64>,
    /// The contour levels, increasing.
    pub levels: Vec<f64>,
    /// Trajectories, one palette colour each.
    pub trajectories: Vec<Path>,
    /// Pieces of the set of minima, drawn thick and black; the first label is used.
    pub minima: Vec<Path>,
    /// Legend position.
    pub legend: LegendPosition,
}

impl Landscape {
    pub(crate) fn draw(
        &self,
        area: &Area<'_>,
        style: &Style,
        panel: Option<char>,
    ) -> Result<(), FigureError> {
        if self.nx < 2 || self.ny < 2 || self.values.len() != self.nx * self.ny {
            return Err(FigureError::new(format!(
                "a landscape needs an nx x ny grid with nx, ny >= 2 and nx * ny values; got {} x {} and {} values",
                self.nx,
                self.ny,
                self.values.len()
            )));
        }
        let dx = (self.x_range.1 - self.x_range.0) / (self.nx - 1) as f64;
        let dy = (self.y_range.1 - self.y_range.0) / (self.ny - 1) as f64;
        let levels: Vec<f64> = self.levels.iter().copied().filter(|l| l.is_finite()).collect();
        let lines = ContourBuilder::new(self.nx, self.ny, true)
            // contour places value `i` at the centre of cell `[i, i + 1]`: shift by half a step so
            // grid point `i` lands on `x_range.0 + i dx`.
            .x_origin(self.x_range.0 - 0.5 * dx)
            .y_origin(self.y_range.0 - 0.5 * dy)
            .x_step(dx)
            .y_step(dy)
            .lines(&self.values, &levels)
            .map_err(|e| FigureError::new(format!("contouring failed: {e:?}")))?;
        let mut chart = chart::build(area, style, &self.title, panel, &[], self.x_range, self.y_range)?;
        chart::mesh(&mut chart, style, &self.x, &self.y)?;
        let count = levels.len().max(2) as f64 - 1.0;
        // contour pads the grid by half a cell and closes its rings through the padding; a
        // segment with an end outside the grid's range is such a closure, not a level line.
        let inside = |(x, y): (f64, f64)| {
            let (ex, ey) = (1e-9 * dx.abs(), 1e-9 * dy.abs());
            x >= self.x_range.0 - ex
                && x <= self.x_range.1 + ex
                && y >= self.y_range.0 - ey
                && y <= self.y_range.1 + ey
        };
        let along_border = |a: (f64, f64), b: (f64, f64)| !(inside(a) && inside(b));
        for (k, line) in lines.iter().enumerate() {
            let color = ViridisRGB::get_color(k as f64 / count).mix(0.75);
            for piece in line.geometry() {
                let points: Vec<(f64, f64)> = piece.coords().map(|c| (c.x, c.y)).collect();
                let mut run: Vec<(f64, f64)> = Vec::new();
                for pair in points.windows(2) {
                    if along_border(pair[0], pair[1]) {
                        if run.len() >= 2 {
                            chart.draw_series(LineSeries::new(run.drain(..), color.stroke_width(1)))?;
                        }
                        run.clear();
                    } else {
                        if run.is_empty() {
                            run.push(pair[0]);
                        }
                        run.push(pair[1]);
                    }
                }
                if run.len() >= 2 {
                    chart.draw_series(LineSeries::new(run, color.stroke_width(1)))?;
                }
            }
        }
        let mut labelled = false;
        for piece in &self.minima {
            let drawn =
                chart.draw_series(LineSeries::new(piece.points.iter().copied(), BLACK.stroke_width(4)))?;
            if !labelled && !piece.label.is_empty() {
                drawn
                    .label(piece.label.as_str())
                    .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 22, y)], BLACK.stroke_width(4)));
                labelled = true;
            }
        }
        for (k, path) in self.trajectories.iter().enumerate() {
            let color = style.color(k);
            let width = style.line_width;
            let drawn =
                chart.draw_series(LineSeries::new(path.points.iter().copied(), color.stroke_width(width)))?;
            if !path.label.is_empty() {
                drawn.label(path.label.as_str()).legend(move |(x, y)| {
                    PathElement::new(vec![(x, y), (x + 22, y)], color.stroke_width(width))
                });
            }
            if let (Some(&first), Some(&last)) = (path.points.first(), path.points.last()) {
                chart.draw_series([Circle::new(first, style.point_radius + 1, color.filled())])?;
                chart.draw_series([Cross::new(
                    last,
                    style.point_radius + 3,
                    color.stroke_width(width + 1),
                )])?;
            }
        }
        if labelled || self.trajectories.iter().any(|p| !p.label.is_empty()) {
            chart::legend(&mut chart, style, self.legend)?;
        }
        Ok(())
    }
}
