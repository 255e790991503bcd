//! The one style of every figure: size, margins, fonts, the Okabe-Ito palette, line widths.

use plotters::style::RGBColor;

/// Where a legend sits inside the plotting area.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum LegendPosition {
    /// Top right (the default).
    #[default]
    UpperRight,
    /// Top left.
    UpperLeft,
    /// Bottom right.
    LowerRight,
    /// Bottom left.
    LowerLeft,
}

/// Sizes, fonts and colours shared by every figure.
#[derive(Debug, Clone, PartialEq)]
pub struct Style {
    /// Width of one panel in pixels.
    pub width: u32,
    /// Height of one panel in pixels.
    pub height: u32,
    /// Margin around the plotting area in pixels.
    pub margin: u32,
    /// Space for the x tick labels and axis label.
    pub x_label_area: u32,
    /// Space for the y tick labels and axis label.
    pub y_label_area: u32,
    /// Font family name written into the SVG (resolved by the viewer).
    pub font: &'static str,
    /// Title font size.
    pub title_size: u32,
    /// Axis label font size.
    pub label_size: u32,
    /// Tick label font size.
    pub tick_size: u32,
    /// Legend and note font size.
    pub legend_size: u32,
    /// Width of data lines.
    pub line_width: u32,
    /// Radius of data points.
    pub point_radius: u32,
    /// Opacity of confidence bands.
    pub band_opacity: f64,
    /// The series colours, used in order.
    pub palette: Vec<RGBColor>,
}

/// The Okabe-Ito colour-blind-safe palette, black first moved last and yellow last, since thin
/// yellow lines are hard to see on white.
pub const OKABE_ITO: [RGBColor; 8] = [
    RGBColor(0, 114, 178),   // blue
    RGBColor(213, 94, 0),    // vermillion
    RGBColor(0, 158, 115),   // bluish green
    RGBColor(204, 121, 167), // reddish purple
    RGBColor(86, 180, 233),  // sky blue
    RGBColor(230, 159, 0),   // orange
    RGBColor(0, 0, 0),       // black
    RGBColor(240, 228, 66),  // yellow
];

impl Default for Style {
    fn default() -> Self {
        Self {
            width: 640,
            height: 440,
            margin: 14,
            x_label_area: 52,
            y_label_area: 72,
            font: "sans-serif",
            title_size: 20,
            label_size: 16,
            tick_size: 13,
            legend_size: 13,
            line_width: 2,
            point_radius: 4,
            band_opacity: 0.2,
            palette: OKABE_ITO.to_vec(),
        }
    }
}

impl Style {
    /// The colour of series `k` (the palette repeats).
    pub fn color(&self, k: usize) -> RGBColor {
        self.palette[k % self.palette.len().max(1)]
    }
}
