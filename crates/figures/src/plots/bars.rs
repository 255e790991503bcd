//! A bar chart over named categories, with optional intervals on the bars.

use crate::axis::{Axis, padded_range};
use crate::chart::{self, Area};
use crate::error::FigureError;
use crate::style::Style;
use plotters::prelude::*;

/// One bar.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Bar {
    /// Category name, written under the bar.
    pub label: String,
    /// Height.
    pub value: f64,
    /// An interval `(lower, upper)` drawn as an error bar, if any.
    pub interval: Option<(f64, f64)>,
}

/// Bars in category order, one colour.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct BarChart {
    /// Title.
    pub title: String,
    /// What the categories are.
    pub x_label: String,
    /// Vertical axis (linear; bars start at zero).
    pub y: Axis,
    /// The bars.
    pub bars: Vec<Bar>,
}

impl BarChart {
    pub(crate) fn draw(
        &self,
        area: &Area<'_>,
        style: &Style,
        panel: Option<char>,
    ) -> Result<(), FigureError> {
        let finite: Vec<&Bar> = self.bars.iter().filter(|b| b.value.is_finite()).collect();
        let mut notes = Vec::new();
        if finite.len() < self.bars.len() {
            notes
                .push(format!("{} bar(s) with a non-finite value not shown", self.bars.len() - finite.len()));
        }
        if self.bars.is_empty() {
            notes.push("no data to show".into());
        }
        let mut ys = vec![0.0];
        for b in &finite {
            ys.push(b.value);
            if let Some((lo, hi)) = b.interval {
                ys.extend([lo, hi]);
            }
        }
        let (y_lo, y_hi) = padded_range(ys);
        let y_range = (y_lo.min(0.0), y_hi);
        let k = self.bars.len().max(1) as f64;
        let mut chart = chart::build(area, style, &self.title, panel, &notes, (-0.6, k - 0.4), y_range)?;
        let names: Vec<&str> = self.bars.iter().map(|b| b.label.as_str()).collect();
        let tick = |v: f64| {
            let i = v.round();
            if (v - i).abs() < 1e-6 && i >= 0.0 {
                names.get(i as usize).map_or(String::new(), |s| s.to_string())
            } else {
                String::new()
            }
        };
        chart::mesh_with(&mut chart, style, &self.x_label, &tick, self.bars.len().clamp(1, 40), &self.y)?;
        let color = style.color(0);
        chart.draw_series(self.bars.iter().enumerate().filter(|(_, b)| b.value.is_finite()).map(
            |(i, b)| {
                let x = i as f64;
                Rectangle::new([(x - 0.38, 0.0), (x + 0.38, b.value)], color.mix(0.85).filled())
            },
        ))?;
        // Intervals as a vertical line with caps, in category units (a bar is 0.76 wide).
        let dark = RGBColor(40, 40, 40);
        for (i, b) in self.bars.iter().enumerate() {
            let Some((lo, hi)) = b.interval.filter(|(lo, hi)| lo.is_finite() && hi.is_finite()) else {
                continue;
            };
            let x = i as f64;
            let style_line = dark.stroke_width(1);
            chart.draw_series([
                PathElement::new(vec![(x, lo), (x, hi)], style_line),
                PathElement::new(vec![(x - 0.12, lo), (x + 0.12, lo)], style_line),
                PathElement::new(vec![(x - 0.12, hi), (x + 0.12, hi)], style_line),
            ])?;
        }
        Ok(())
    }
}
