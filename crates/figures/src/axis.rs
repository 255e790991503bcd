//! Axes: a label and a scale. Log axes are drawn by plotting `log10` of the data on a linear
//! axis and labelling ticks with the original values, so every plot kind shares one coordinate
//! type; values a log axis cannot show (zero, negative, non-finite) are dropped and counted.

/// Linear or base-10 logarithmic.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Scale {
    /// Linear.
    #[default]
    Linear,
    /// Base-10 logarithmic.
    Log10,
}

/// An axis: what it measures (with unit or scale) and how it is scaled.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Axis {
    /// The axis label, e.g. "training steps (log scale)".
    pub label: String,
    /// The scale.
    pub scale: Scale,
}

impl Axis {
    /// A linear axis.
    pub fn linear(label: impl Into<String>) -> Self {
        Self { label: label.into(), scale: Scale::Linear }
    }

    /// A base-10 log axis.
    pub fn log(label: impl Into<String>) -> Self {
        Self { label: label.into(), scale: Scale::Log10 }
    }

    /// The plotted coordinate of `v`, or `None` when this axis cannot show it.
    pub fn map(&self, v: f64) -> Option<f64> {
        match self.scale {
            Scale::Linear => v.is_finite().then_some(v),
            Scale::Log10 => (v.is_finite() && v > 0.0).then(|| v.log10()),
        }
    }

    /// The tick label of plotted coordinate `t`; with `decades_only` on a log axis, ticks
    /// between whole decades get no label (the axis spans a decade or more).
    pub fn tick_in(&self, t: f64, decades_only: bool) -> String {
        if decades_only && self.scale == Scale::Log10 && (t - t.round()).abs() > 1e-9 {
            return String::new();
        }
        self.tick(t)
    }

    /// The tick label of plotted coordinate `t`.
    pub fn tick(&self, t: f64) -> String {
        match self.scale {
            Scale::Linear => format_number(t),
            Scale::Log10 => {
                let rounded = t.round();
                if (t - rounded).abs() < 1e-9 {
                    let k = rounded as i32;
                    if (-2..=4).contains(&k) { format_number(10f64.powi(k)) } else { format!("1e{k}") }
                } else {
                    format_number(10f64.powf(t))
                }
            }
        }
    }
}

/// A short, fixed-format number for tick labels.
pub fn format_number(v: f64) -> String {
    let a = v.abs();
    if v == 0.0 {
        "0".into()
    } else if !(1e-3..1e5).contains(&a) {
        format!("{v:.0e}")
    } else if a >= 100.0 || (v - v.round()).abs() < 1e-9 {
        format!("{v:.0}")
    } else {
        let s = format!("{v:.3}");
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    }
}

/// The plotted range of some coordinates, padded by 5%; `(0, 1)` when there are none and a unit
/// window around a single value.
pub fn padded_range(values: impl IntoIterator<Item = f64>) -> (f64, f64) {
    let (mut lo, mut hi) = (f64::INFINITY, f64::NEG_INFINITY);
    for v in values.into_iter().filter(|v| v.is_finite()) {
        lo = lo.min(v);
        hi = hi.max(v);
    }
    if lo > hi {
        return (0.0, 1.0);
    }
    if hi - lo < 1e-12 * (1.0 + lo.abs()) {
        let half = 0.5 * lo.abs().max(1.0) * 0.2;
        return (lo - half, hi + half);
    }
    let pad = 0.05 * (hi - lo);
    (lo - pad, hi + pad)
}
