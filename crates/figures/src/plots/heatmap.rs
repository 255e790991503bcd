//! A heatmap of rows (e.g. data coordinates) against columns (e.g. log-spaced steps) with a
//! colour scale beside it.

use crate::axis::{Axis, format_number, padded_range};
use crate::chart::{self, Area};
use crate::error::FigureError;
use crate::style::Style;
use plotters::prelude::*;
use plotters::style::colors::colormaps::ViridisRGB;
use plotters::style::text_anchor::{HPos, Pos, VPos};

/// How values map to colours.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ColorScale {
    /// What the colour measures, written beside the colour bar.
    pub label: String,
    /// Colour by `log10` of the value; values `<= 0` are drawn grey and counted in a note.
    pub log: bool,
    /// The value range mapped onto the colour map (in value units); data range when `None`.
    pub range: Option<(f64, f64)>,
}

/// Rows of cells against column positions, with a colour bar.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Heatmap {
    /// Title.
    pub title: String,
    /// Horizontal axis; `columns` are positions on it (e.g. steps on a log axis).
    pub x: Axis,
    /// Column positions, increasing.
    pub columns: Vec<f64>,
    /// Vertical axis label; rows are numbered from 0 upwards.
    pub y_label: String,
    /// `values[row][column]`.
    pub values: Vec<Vec<f64>>,
    /// Colour mapping.
    pub color: ColorScale,
}

/// Width of the colour bar panel in pixels.
const BAR_WIDTH: u32 = 110;

impl Heatmap {
    fn color_value(&self, v: f64) -> Option<f64> {
        if !v.is_finite() {
            None
        } else if self.color.log {
            (v > 0.0).then(|| v.log10())
        } else {
            Some(v)
        }
    }

    pub(crate) fn draw(
        &self,
        area: &Area<'_>,
        style: &Style,
        panel: Option<char>,
    ) -> Result<(), FigureError> {
        let (width, _) = area.dim_in_pixel();
        let (main, side) = area.split_horizontally(width.saturating_sub(BAR_WIDTH).max(1));
        // Column edges halfway between mapped positions; columns the axis cannot show are dropped.
        let cols: Vec<(usize, f64)> =
            self.columns.iter().enumerate().filter_map(|(j, &c)| self.x.map(c).map(|m| (j, m))).collect();
        let dropped_cols = self.columns.len() - cols.len();
        let edges: Vec<(usize, f64, f64)> = cols
            .iter()
            .enumerate()
            .map(|(k, &(j, m))| {
                let left = if k > 0 { 0.5 * (cols[k - 1].1 + m) } else { m - half_gap(&cols, k) };
                let right =
                    if k + 1 < cols.len() { 0.5 * (m + cols[k + 1].1) } else { m + half_gap(&cols, k) };
                (j, left, right)
            })
            .collect();
        let colored: Vec<f64> = self.values.iter().flatten().filter_map(|&v| self.color_value(v)).collect();
        let grey_cells = self.values.iter().map(Vec::len).sum::<usize>() - colored.len();
        let (c_lo, c_hi) = match self.color.range {
            Some((lo, hi)) => (self.color_value(lo).unwrap_or(0.0), self.color_value(hi).unwrap_or(1.0)),
            None => {
                let (lo, hi) = padded_range(colored.iter().copied());
                (lo, hi)
            }
        };
        let span = if c_hi > c_lo { c_hi - c_lo } else { 1.0 };
        let mut notes: Vec<String> = chart::dropped_note(dropped_cols, &self.x).into_iter().collect();
        if grey_cells > 0 {
            notes.push(format!(
                "{grey_cells} cell(s) not finite{} shown grey",
                if self.color.log { " or <= 0" } else { "" }
            ));
        }
        let rows = self.values.len().max(1) as f64;
        let x_range = if edges.is_empty() { (0.0, 1.0) } else { (edges[0].1, edges[edges.len() - 1].2) };
        let mut chart = chart::build(&main, style, &self.title, panel, &notes, x_range, (-0.5, rows - 0.5))?;
        let y_axis = Axis::linear(self.y_label.clone());
        chart::mesh(&mut chart, style, &self.x, &y_axis)?;
        let grey = RGBColor(200, 200, 200);
        for (i, row) in self.values.iter().enumerate() {
            let y = i as f64;
            chart.draw_series(edges.iter().filter_map(|&(j, left, right)| {
                let v = *row.get(j)?;
                let fill = match self.color_value(v) {
                    Some(c) => ViridisRGB::get_color(((c - c_lo) / span).clamp(0.0, 1.0)),
                    None => grey,
                };
                Some(Rectangle::new([(left, y - 0.5), (right, y + 0.5)], fill.filled()))
            }))?;
        }
        self.draw_color_bar(&side, style, c_lo, c_hi, notes.len())
    }

    fn draw_color_bar(
        &self,
        area: &Area<'_>,
        style: &Style,
        lo: f64,
        hi: f64,
        notes: usize,
    ) -> Result<(), FigureError> {
        let hi = if hi > lo { hi } else { lo + 1.0 };
        let top = style.margin + style.title_size + 10 + notes as u32 * (style.legend_size + 4);
        // A plain strip: ticks and the label are drawn by hand to the right of it, left-aligned,
        // so long tick labels run into the margin rather than over the colours.
        let bar = ChartBuilder::on(area)
            .margin(style.margin)
            .margin_top(top)
            .margin_left(4)
            .margin_right(BAR_WIDTH - 30)
            .x_label_area_size(style.x_label_area)
            .build_cartesian_2d(0.0..1.0, lo..hi)?;
        let steps = 64;
        let plotting = bar.plotting_area();
        plotting.draw(&Rectangle::new([(0.0, lo), (1.0, hi)], BLACK.mix(0.4).stroke_width(1)))?;
        for k in 0..steps {
            let a = lo + (hi - lo) * k as f64 / steps as f64;
            let b = lo + (hi - lo) * (k + 1) as f64 / steps as f64;
            let color = ViridisRGB::get_color((k as f64 + 0.5) / steps as f64);
            plotting.draw(&Rectangle::new([(0.0, a), (1.0, b)], color.filled()))?;
        }
        // Backend coordinates are absolute; `area.draw` takes coordinates relative to the area.
        let (base_x, base_y) = area.get_base_pixel();
        let local = |(x, y): (i32, i32)| (x - base_x, y - base_y);
        let tick_style =
            TextStyle::from((style.font, style.tick_size)).pos(Pos::new(HPos::Left, VPos::Center));
        for t in color_ticks(lo, hi, self.color.log) {
            let (x, y) = local(bar.backend_coord(&(1.0, t)));
            area.draw(&PathElement::new(vec![(x, y), (x + 4, y)], BLACK.stroke_width(1)))?;
            let label = if self.color.log { Axis::log("").tick(t) } else { format_number(t) };
            area.draw(&Text::new(label, (x + 7, y), tick_style.clone()))?;
        }
        let (_, top_y) = local(bar.backend_coord(&(1.0, hi)));
        let (right_x, bottom_y) = local(bar.backend_coord(&(1.0, lo)));
        let label_style = TextStyle::from((style.font, style.label_size))
            .transform(FontTransform::Rotate90)
            .pos(Pos::new(HPos::Center, VPos::Center));
        let x = right_x + BAR_WIDTH as i32 - 62;
        area.draw(&Text::new(self.color.label.clone(), (x, (top_y + bottom_y) / 2), label_style))?;
        Ok(())
    }
}

/// Tick positions for the colour bar: whole decades on a log scale (thinned to at most six),
/// otherwise five evenly spaced values.
fn color_ticks(lo: f64, hi: f64, log: bool) -> Vec<f64> {
    if log {
        let first = lo.ceil() as i64;
        let last = hi.floor() as i64;
        if last >= first {
            let stride = ((last - first) / 5 + 1).max(1);
            return (first..=last).step_by(stride as usize).map(|k| k as f64).collect();
        }
    }
    (0..5).map(|k| lo + (hi - lo) * k as f64 / 4.0).collect()
}

/// Half the gap to the neighbour of column `k` (0.5 for a single column).
fn half_gap(cols: &[(usize, f64)], k: usize) -> f64 {
    let neighbour = if k > 0 { cols.get(k - 1) } else { cols.get(k + 1) };
    neighbour.map_or(0.5, |&(_, m)| 0.5 * (cols[k].1 - m).abs()).max(1e-9)
}
