//! Shared chart scaffolding: caption with panel label, mesh with labelled axes, legend, notes.

use crate::axis::Axis;
use crate::error::FigureError;
use crate::style::{LegendPosition, Style};
use plotters::coord::Shift;
use plotters::coord::types::RangedCoordf64;
use plotters::prelude::*;

/// A drawing area of the SVG backend.
pub type Area<'a> = DrawingArea<SVGBackend<'a>, Shift>;

/// A chart with linear `f64` coordinates on both axes.
pub type Chart<'a, 'b> = ChartContext<'a, SVGBackend<'b>, Cartesian2d<RangedCoordf64, RangedCoordf64>>;

/// Builds a chart on `area` with the title (prefixed by the panel label) and any notes shown
/// under it, over the plotted ranges `x` and `y`.
pub fn build<'a, 'b>(
    area: &'a Area<'b>,
    style: &Style,
    title: &str,
    panel: Option<char>,
    notes: &[String],
    x: (f64, f64),
    y: (f64, f64),
) -> Result<Chart<'a, 'b>, FigureError> {
    let caption = match panel {
        Some(label) => format!("({label}) {title}"),
        None => title.to_string(),
    };
    // Notes go under the x-axis label, in extra space added to the label area.
    let line = style.legend_size + 4;
    let extra = if notes.is_empty() { 0 } else { notes.len() as u32 * line + 4 };
    let (_, height) = area.dim_in_pixel();
    let text = TextStyle::from((style.font, style.legend_size)).color(&RGBColor(90, 90, 90));
    for (k, note) in notes.iter().enumerate() {
        let from_bottom = style.margin + (notes.len() - k) as u32 * line;
        let y = height.saturating_sub(from_bottom) as i32;
        area.draw(&Text::new(note.clone(), (style.y_label_area as i32, y), text.clone()))?;
    }
    let chart = ChartBuilder::on(area)
        .caption(caption, (style.font, style.title_size))
        .margin(style.margin)
        .margin_bottom(style.margin + extra)
        .x_label_area_size(style.x_label_area)
        .y_label_area_size(style.y_label_area)
        .build_cartesian_2d(x.0..x.1, y.0..y.1)?;
    Ok(chart)
}

/// Draws the grid, ticks and axis labels.
pub fn mesh(chart: &mut Chart<'_, '_>, style: &Style, x: &Axis, y: &Axis) -> Result<(), FigureError> {
    let x_span = chart.x_range();
    let x_decades = decades(x, x_span.end - x_span.start);
    mesh_with(chart, style, &x.label, &|v| x.tick_in(v, x_decades), 7, y)
}

/// Whether a log axis spans at least one decade, so only whole decades are labelled.
fn decades(axis: &Axis, span: f64) -> bool {
    axis.scale == crate::axis::Scale::Log10 && span >= 1.0
}

/// Draws the grid, ticks and axis labels, with a custom x tick formatter and tick count.
pub fn mesh_with(
    chart: &mut Chart<'_, '_>,
    style: &Style,
    x_label: &str,
    x_tick: &dyn Fn(f64) -> String,
    x_count: usize,
    y: &Axis,
) -> Result<(), FigureError> {
    let y_span = chart.y_range();
    let y_decades = decades(y, y_span.end - y_span.start);
    let x_fmt = |v: &f64| x_tick(*v);
    let y_fmt = |v: &f64| y.tick_in(*v, y_decades);
    chart
        .configure_mesh()
        .x_desc(x_label)
        .y_desc(y.label.as_str())
        .x_label_formatter(&x_fmt)
        .y_label_formatter(&y_fmt)
        .x_labels(x_count)
        .y_labels(7)
        .label_style((style.font, style.tick_size))
        .axis_desc_style((style.font, style.label_size))
        .bold_line_style(BLACK.mix(0.08))
        .light_line_style(TRANSPARENT)
        .draw()?;
    Ok(())
}

/// Draws the legend of every labelled series.
pub fn legend<'a, 'b: 'a>(
    chart: &mut Chart<'a, 'b>,
    style: &Style,
    position: LegendPosition,
) -> Result<(), FigureError> {
    let position = match position {
        LegendPosition::UpperRight => SeriesLabelPosition::UpperRight,
        LegendPosition::UpperLeft => SeriesLabelPosition::UpperLeft,
        LegendPosition::LowerRight => SeriesLabelPosition::LowerRight,
        LegendPosition::LowerLeft => SeriesLabelPosition::LowerLeft,
    };
    chart
        .configure_series_labels()
        .position(position)
        .label_font((style.font, style.legend_size))
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK.mix(0.3))
        .margin(8)
        .draw()?;
    Ok(())
}

/// Splits a sequence of optional points into runs of consecutive present points, so a line
/// breaks where a value cannot be shown instead of bridging the gap.
pub fn runs<T>(points: impl IntoIterator<Item = Option<T>>) -> Vec<Vec<T>> {
    let mut out = vec![Vec::new()];
    for p in points {
        match p {
            Some(p) => out.last_mut().map_or((), |run| run.push(p)),
            None if out.last().is_some_and(|run| !run.is_empty()) => out.push(Vec::new()),
            None => {}
        }
    }
    out.retain(|run| !run.is_empty());
    out
}

/// The notes of a two-axis plot: what each log axis dropped, and whether anything is left.
pub fn axis_notes(
    dropped_x: usize,
    x: &Axis,
    dropped_y: usize,
    y: &Axis,
    nothing_shown: bool,
) -> Vec<String> {
    let mut notes: Vec<String> =
        [dropped_note(dropped_x, x), dropped_note(dropped_y, y)].into_iter().flatten().collect();
    if nothing_shown {
        notes.push("no data to show".into());
    }
    notes
}

/// A note saying how many values a log axis could not show, if any.
pub fn dropped_note(dropped: usize, axis: &Axis) -> Option<String> {
    (dropped > 0).then(|| {
        format!("{dropped} value(s) <= 0 or not finite not shown on the log axis \"{}\"", axis.label)
    })
}
