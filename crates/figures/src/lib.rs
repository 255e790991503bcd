//! aesgd-figures: publication figures as deterministic SVG, one shared [`Style`].
//!
//! The crate draws summaries it is given; it never runs experiments or computes statistics.
//! Plot kinds ([`Plot`]): lines over steps with confidence bands ([`LinesPlot`]), points with
//! error bars beside a theory curve ([`ErrorBarPlot`]), bar charts ([`BarChart`]), heatmaps with a
//! colour scale ([`Heatmap`]), and two-dimensional loss landscapes with contours, trajectories
//! and the set of minima ([`Landscape`]). [`render`] draws one plot, [`render_panels`] several
//! side by side, labelled (a), (b), (c); a [`Plot::Panels`] is such a figure as one plot.
//!
//! Invariants: the same input gives the same SVG bytes on any machine (plotters' SVG backend
//! without system fonts: text is left to the viewer, sized by a fixed estimate); every axis is
//! labelled by the caller with its quantity and scale; degenerate input (empty series, a single
//! point, zero-width intervals, non-positive values on a log axis) never panics: log axes drop
//! what they cannot show and say so in a note under the title.

mod axis;
mod chart;
mod error;
pub mod gallery;
mod plots;
mod style;

pub use axis::{Axis, Scale};
pub use error::FigureError;
pub use plots::bars::{Bar, BarChart};
pub use plots::errorbars::{Curve, ErrorBarPlot, ErrorBarSeries, ReferenceLine};
pub use plots::heatmap::{ColorScale, Heatmap};
pub use plots::landscape::{Landscape, Path};
pub use plots::lines::{BandSeries, LinesPlot};
pub use style::{LegendPosition, Style};

use plotters::prelude::*;

/// One figure panel of any kind.
#[derive(Debug, Clone)]
pub enum Plot {
    /// Lines with confidence bands.
    Lines(LinesPlot),
    /// Points with error bars, theory curves and reference lines.
    ErrorBars(ErrorBarPlot),
    /// A bar chart.
    Bars(BarChart),
    /// A heatmap with a colour scale.
    Heatmap(Heatmap),
    /// A loss landscape with trajectories.
    Landscape(Landscape),
    /// Several plots side by side, as [`render_panels`] draws them; not inside another.
    Panels {
        /// The panels, in reading order.
        plots: Vec<Plot>,
        /// Panels a row.
        columns: usize,
    },
}

impl Plot {
    fn draw(&self, area: &chart::Area<'_>, style: &Style, panel: Option<char>) -> Result<(), FigureError> {
        match self {
            Self::Lines(p) => p.draw(area, style, panel),
            Self::ErrorBars(p) => p.draw(area, style, panel),
            Self::Bars(p) => p.draw(area, style, panel),
            Self::Heatmap(p) => p.draw(area, style, panel),
            Self::Landscape(p) => p.draw(area, style, panel),
            Self::Panels { .. } => Err(FigureError::new("panels cannot be drawn inside a panel")),
        }
    }
}

/// Draws one plot as an SVG document of `style.width x style.height` pixels.
pub fn render(plot: &Plot, style: &Style) -> Result<String, FigureError> {
    if let Plot::Panels { plots, columns } = plot {
        return render_panels(plots, *columns, style);
    }
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (style.width, style.height)).into_drawing_area();
        root.fill(&WHITE)?;
        plot.draw(&root, style, None)?;
        root.present()?;
    }
    Ok(svg)
}

/// Draws several plots side by side in `columns` columns (rows as needed), each panel the size
/// of one plot and labelled (a), (b), (c), ... in reading order.
pub fn render_panels(plots: &[Plot], columns: usize, style: &Style) -> Result<String, FigureError> {
    if plots.is_empty() {
        return Err(FigureError::new("a multi-panel figure needs at least one plot"));
    }
    let columns = columns.clamp(1, plots.len());
    let rows = plots.len().div_ceil(columns);
    let size = (style.width * columns as u32, style.height * rows as u32);
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, size).into_drawing_area();
        root.fill(&WHITE)?;
        let areas = root.split_evenly((rows, columns));
        for (k, (plot, area)) in plots.iter().zip(&areas).enumerate() {
            let label = char::from(b'a' + (k % 26) as u8);
            plot.draw(area, style, Some(label))?;
        }
        root.present()?;
    }
    Ok(svg)
}
