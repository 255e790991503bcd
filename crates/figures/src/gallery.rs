//! Synthetic data for one figure of every kind: the gallery example and the golden tests share
//! it, so what the tests pin is what a reader sees in the gallery.

use crate::{
    Axis, BandSeries, Bar, BarChart, ColorScale, Curve, ErrorBarPlot, ErrorBarSeries, Heatmap, Landscape,
    LegendPosition, LinesPlot, Path, Plot, ReferenceLine,
};

/// Every plot kind, named, from deterministic synthetic data (no randomness).
pub fn examples() -> Vec<(&'static str, Plot)> {
    vec![
        ("lines", Plot::Lines(lines())),
        ("errorbars", Plot::ErrorBars(errorbars())),
        ("bars", Plot::Bars(bars())),
        ("heatmap", Plot::Heatmap(heatmap())),
        ("landscape", Plot::Landscape(landscape())),
    ]
}

fn log_steps(count: usize) -> Vec<f64> {
    (0..count).map(|k| 10f64.powf(k as f64 * 6.0 / (count - 1) as f64)).collect()
}

/// Support size over steps for three batch sizes, with bands.
pub fn lines() -> LinesPlot {
    let steps = log_steps(25);
    let series = [(1.0, "b = 1"), (10.0, "b = 10"), (19.0, "b = 19")]
        .iter()
        .map(|&(b, label)| {
            let y: Vec<f64> = steps.iter().map(|&t| 1.0 + 9.0 / (1.0 + t / (2e3 * b * b))).collect();
            let lower = y.iter().map(|v| (v - 0.6).max(1.0)).collect();
            let upper = y.iter().map(|v| v + 0.6).collect();
            BandSeries { label: label.into(), x: steps.clone(), y, band: Some((lower, upper)) }
        })
        .collect();
    LinesPlot {
        title: "Support size over training".into(),
        x: Axis::log("training steps (log scale)"),
        y: Axis::linear("support size (mean, 95% CI)"),
        series,
        legend: LegendPosition::UpperRight,
    }
}

/// Final alignment against batch size with a theory curve and a reference line.
pub fn errorbars() -> ErrorBarPlot {
    let batches = [1.0, 2.0, 5.0, 10.0, 15.0, 19.0, 20.0];
    let y: Vec<f64> = batches.iter().map(|&b| if b < 20.0 { 0.25 + 0.005 * b } else { 0.7 }).collect();
    ErrorBarPlot {
        title: "Alignment with the initialisation".into(),
        x: Axis::linear("batch size b"),
        y: Axis::linear("|cos(w, w0)| (mean, 95% CI)"),
        series: vec![ErrorBarSeries {
            label: "measured".into(),
            x: batches.to_vec(),
            lower: y.iter().map(|v| v - 0.06).collect(),
            upper: y.iter().map(|v| v + 0.06).collect(),
            y,
        }],
        theory: vec![Curve {
            label: "theory (full batch)".into(),
            x: vec![19.5, 20.5],
            y: vec![0.7, 0.7],
            series: Some(0),
        }],
        references: vec![ReferenceLine { label: "1/sqrt(n)".into(), y: 1.0 / 20f64.sqrt() }],
        legend: LegendPosition::UpperLeft,
        headroom: 0.0,
    }
}

/// How often each initial-coordinate rank is selected.
pub fn bars() -> BarChart {
    let counts = [14.0, 8.0, 5.0, 3.0, 2.0, 1.0, 1.0, 0.0];
    BarChart {
        title: "Which data point is selected".into(),
        x_label: "rank of the initial coordinate".into(),
        y: Axis::linear("fraction of seeds (95% CI)"),
        bars: counts
            .iter()
            .enumerate()
            .map(|(k, &c)| {
                let p = c / 34.0;
                Bar { label: format!("{}", k + 1), value: p, interval: Some(((p - 0.08).max(0.0), p + 0.08)) }
            })
            .collect(),
    }
}

/// |u_j| over log-spaced steps: one coordinate survives.
pub fn heatmap() -> Heatmap {
    let steps = log_steps(30);
    let values = (0..12)
        .map(|j| {
            steps
                .iter()
                .map(|&t| {
                    let start = 0.05 + 0.02 * j as f64;
                    if j == 7 { start + (1.0 - start) * (t / (t + 1e3)) } else { start * (-(t / 1e4)).exp() }
                })
                .collect()
        })
        .collect();
    Heatmap {
        title: "Data coordinates under SGD".into(),
        x: Axis::log("training steps (log scale)"),
        columns: steps,
        y_label: "data coordinate j".into(),
        values,
        color: ColorScale { label: "|u_j| (log scale)".into(), log: true, range: Some((1e-8, 1.0)) },
    }
}

/// The ReLU loss for `n = d = 2` with a full-batch and an SGD-like path.
pub fn landscape() -> Landscape {
    let (nx, ny) = (81, 81);
    let range = (-0.3, 1.3);
    let at = |k: usize, n: usize| range.0 + (range.1 - range.0) * k as f64 / (n - 1) as f64;
    let loss = |a: f64, b: f64| {
        let r = a * a + b * b;
        let term = |u: f64| {
            let s = u.max(0.0);
            1.0 - 2.0 * s * u + s * s * r
        };
        0.25 * (term(a) + term(b))
    };
    let values = (0..ny).flat_map(|j| (0..nx).map(move |i| loss(at(i, nx), at(j, ny)))).collect();
    let arc = (0..=40)
        .map(|k| {
            let t = std::f64::consts::FRAC_PI_2 * k as f64 / 40.0;
            (t.cos(), t.sin())
        })
        .collect();
    Landscape {
        title: "Loss landscape, n = d = 2 (ReLU)".into(),
        x: Axis::linear("w_1 = <w, x_1>"),
        y: Axis::linear("w_2 = <w, x_2>"),
        x_range: range,
        y_range: range,
        nx,
        ny,
        values,
        levels: vec![0.26, 0.3, 0.35, 0.4, 0.45, 0.5, 0.6, 0.8, 1.0],
        trajectories: vec![
            Path {
                label: "full batch".into(),
                // Straight out along the initial direction (0.6, 0.8) to the unit circle.
                points: (0..=20).map(|k| 0.1 + 0.9 * k as f64 / 20.0).map(|s| (0.6 * s, 0.8 * s)).collect(),
            },
            Path {
                label: "SGD, b = 1".into(),
                points: vec![(0.15, 0.2), (0.4, 0.5), (0.7, 0.62), (0.9, 0.4), (0.97, 0.2), (1.0, 0.02)],
            },
        ],
        minima: vec![Path { label: "global minima".into(), points: arc }],
        legend: LegendPosition::LowerLeft,
    }
}
