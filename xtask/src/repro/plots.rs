//! Figures of a spec, drawn from its run records with aesgd-figures.
//!
//! Every plotted estimate is a mean with a 95% Student-t interval over seeds, or a proportion
//! with a Wilson interval; the number of seeds is in the axis label. A run that stopped early
//! (converged to a fixed point) keeps its last value at later steps.

use super::record::{Record, metric};
use super::spec::{FigureSpec, Point, selected};
use aesgd_core::Activation;
use aesgd_core::data::Data;
use aesgd_core::model::loss;
use aesgd_figures::{
    Axis, BandSeries, Bar, BarChart, ColorScale, Curve, ErrorBarPlot, ErrorBarSeries, Heatmap, Landscape,
    LegendPosition, LinesPlot, Path, Plot,
};
use aesgd_stats::{DEFAULT_LEVEL, mean_interval, proportion_interval};

/// The figure types a spec may ask for.
pub const FIGURE_TYPES: &[&str] =
    &["lines_over_steps", "final_vs_batch", "final_vs", "selection_by_rank", "heatmap", "landscape"];

fn label_of(p: &Point, many_activations: bool) -> String {
    if many_activations {
        format!("{}, b = {}", p.config.activation, p.config.batch)
    } else {
        format!("b = {}", p.config.batch)
    }
}

fn metric_label(name: &str) -> String {
    match name {
        "support" => "support size".into(),
        "align_init" => "|cos(w, w0)|".into(),
        "align_gd_limit" => "|cos(w, w_gd)|".into(),
        "linf_ratio" => "max|u_i| / ||w||".into(),
        "hessian_trace_limit" => "Hessian trace at the limit point".into(),
        "hessian_trace_iterate" => "Hessian trace at the final iterate".into(),
        "sparse_step" => "steps until a single point".into(),
        "effective_support" => "effective support".into(),
        other => other.replace('_', " "),
    }
}

/// The value of a trajectory metric at snapshot `p`.
fn snapshot_value(p: &super::record::Point, name: &str) -> Option<f64> {
    match name {
        "support" => Some(p.support as f64),
        "align_init" => Some(p.align_init),
        "linf_ratio" => Some(p.linf_ratio),
        _ => None,
    }
}

/// Draws one figure; `Err` names what is missing.
pub fn draw(figure: &FigureSpec, points: &[Point], runs: &[Vec<Record>]) -> Result<Plot, String> {
    let chosen: Vec<usize> =
        (0..points.len()).filter(|&i| selected(&figure.select, &points[i].config)).collect();
    if chosen.is_empty() {
        return Err(format!("figure {}: its selection matches no sweep point", figure.id));
    }
    let many_activations =
        chosen.iter().any(|&i| points[i].config.activation != points[chosen[0]].config.activation);
    let metric_name = figure.metric.clone().unwrap_or_else(|| "support".into());
    let seeds = runs[chosen[0]].len();
    match figure.kind.as_str() {
        "lines_over_steps" => {
            let mut series = Vec::new();
            for &i in &chosen {
                let longest = runs[i].iter().map(|r| r.trajectory.len()).max().unwrap_or(0);
                let grid: Vec<u64> = runs[i]
                    .iter()
                    .find(|r| r.trajectory.len() == longest)
                    // Step 0 has no place on a log axis; the curve starts at step 1.
                    .map(|r| r.trajectory.iter().map(|p| p.step).filter(|&t| t > 0).collect())
                    .unwrap_or_default();
                let (mut x, mut y, mut lo, mut hi) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
                for &t in &grid {
                    let values: Vec<f64> = runs[i]
                        .iter()
                        .filter_map(|r| r.trajectory.iter().rev().find(|p| p.step <= t))
                        .filter_map(|p| snapshot_value(p, &metric_name))
                        .collect();
                    if let Ok(iv) = mean_interval(&values, DEFAULT_LEVEL) {
                        x.push(t as f64);
                        y.push(iv.estimate);
                        lo.push(iv.lower);
                        hi.push(iv.upper);
                    }
                }
                series.push(BandSeries {
                    label: label_of(&points[i], many_activations),
                    x,
                    y,
                    band: Some((lo, hi)),
                });
            }
            Ok(Plot::Lines(LinesPlot {
                title: figure.title.clone(),
                x: Axis::log("training steps (log scale)"),
                y: Axis::linear(format!("{} (mean, 95% CI, {seeds} seeds)", metric_label(&metric_name))),
                series,
                legend: LegendPosition::UpperRight,
            }))
        }
        "final_vs_batch" | "final_vs" => {
            let x_key = figure.x.clone().unwrap_or_else(|| "batch".into());
            let x_of = |p: &Point| match x_key.as_str() {
                "n" => p.config.n as f64,
                "eta" => p.config.eta,
                _ => p.config.batch as f64,
            };
            let mut series: Vec<ErrorBarSeries> = Vec::new();
            let mut theory: Vec<Curve> = Vec::new();
            // One series per activation, and per batch size as written in the spec when the
            // horizontal axis is not the batch size itself.
            let mut keys: Vec<(Activation, String)> = Vec::new();
            for &i in &chosen {
                let label = if x_key == "batch" { String::new() } else { points[i].batch_label.clone() };
                let key = (points[i].config.activation, label);
                if !keys.contains(&key) {
                    keys.push(key);
                }
            }
            for (activation, batch_label) in keys {
                let mine: Vec<usize> = chosen
                    .iter()
                    .copied()
                    .filter(|&i| {
                        points[i].config.activation == activation
                            && (batch_label.is_empty() || points[i].batch_label == batch_label)
                    })
                    .collect();
                let name = if batch_label.is_empty() {
                    activation.to_string()
                } else {
                    format!("{activation}, b = {batch_label}")
                };
                let mut s = ErrorBarSeries::default();
                let mut t = Curve { label: format!("{name}, closed form"), ..Default::default() };
                let mut undefined = 0;
                for &i in &mine {
                    let values: Vec<f64> = runs[i].iter().filter_map(|r| metric(r, &metric_name)).collect();
                    // A point where some run lacks the metric is left out, as in the report.
                    if values.len() < runs[i].len() {
                        undefined += 1;
                    } else if let Ok(iv) = mean_interval(&values, DEFAULT_LEVEL) {
                        s.x.push(x_of(&points[i]));
                        s.y.push(iv.estimate);
                        s.lower.push(iv.lower);
                        s.upper.push(iv.upper);
                    }
                    if let Some(v) = closed_form(&metric_name, &points[i], &runs[i]) {
                        t.x.push(x_of(&points[i]));
                        t.y.push(v);
                    }
                }
                s.label = if undefined > 0 {
                    format!("{name}, measured ({undefined} point(s) left out: a run has no {metric_name})")
                } else {
                    format!("{name}, measured")
                };
                series.push(s);
                if !t.x.is_empty() {
                    theory.push(t);
                }
            }
            let log_y = matches!(metric_name.as_str(), "sparse_step" | "steps_run");
            let y_label = format!("{} (mean, 95% CI, {seeds} seeds)", metric_label(&metric_name));
            let x_label = match x_key.as_str() {
                "n" => "number of data points n",
                "eta" => "step size eta",
                _ => "batch size b",
            };
            Ok(Plot::ErrorBars(ErrorBarPlot {
                title: figure.title.clone(),
                x: if x_key == "eta" {
                    Axis::log(format!("{x_label} (log scale)"))
                } else {
                    Axis::linear(x_label)
                },
                y: if log_y { Axis::log(format!("{y_label}, log scale")) } else { Axis::linear(y_label) },
                series,
                theory,
                references: Vec::new(),
                legend: LegendPosition::UpperLeft,
                headroom: 0.35,
            }))
        }
        "selection_by_rank" => {
            let all: Vec<&Record> = chosen.iter().flat_map(|&i| runs[i].iter()).collect();
            let total = all.len() as u64;
            let max_rank = all.iter().filter_map(|r| r.selected_rank).max().unwrap_or(1).max(1);
            let bars = (1..=max_rank)
                .map(|k| {
                    let hits = all.iter().filter(|r| r.selected_rank == Some(k)).count() as u64;
                    let iv = proportion_interval(hits, total.max(1), DEFAULT_LEVEL).ok();
                    Bar {
                        label: k.to_string(),
                        value: iv.as_ref().map_or(0.0, |i| i.estimate),
                        interval: iv.map(|i| (i.lower, i.upper)),
                    }
                })
                .collect();
            Ok(Plot::Bars(BarChart {
                title: figure.title.clone(),
                x_label: "rank of the selected point's initial coordinate (1 = largest)".into(),
                y: Axis::linear(format!("fraction of runs (Wilson 95% CI, {total} runs)")),
                bars,
            }))
        }
        "heatmap" => {
            let i = chosen[0];
            let run_index = figure.run.unwrap_or(0);
            let run = runs[i]
                .iter()
                .find(|r| r.run_index == run_index)
                .ok_or_else(|| format!("figure {}: no run {run_index}", figure.id))?;
            let snaps: Vec<&super::record::Point> =
                run.trajectory.iter().filter(|p| p.coords.is_some()).collect();
            if snaps.is_empty() {
                return Err(format!("figure {}: the sweep must set record_coordinates = true", figure.id));
            }
            let n = points[i].config.n;
            let values: Vec<Vec<f64>> = (0..n)
                .map(|j| snaps.iter().map(|p| p.coords.as_ref().map_or(f64::NAN, |c| c[j].abs())).collect())
                .collect();
            Ok(Plot::Heatmap(Heatmap {
                title: figure.title.clone(),
                x: Axis::log("training steps (log scale)"),
                columns: snaps.iter().map(|p| p.step.max(1) as f64).collect(),
                y_label: "data coordinate j".into(),
                values,
                color: ColorScale {
                    label: "|u_j| = |<w, x_j>| (log scale)".into(),
                    log: true,
                    range: Some((1e-12, 1.0)),
                },
            }))
        }
        "landscape" => landscape(figure, points, runs, &chosen),
        other => Err(format!("figure {}: unknown type {other}", figure.id)),
    }
}

/// The closed form of a metric at a sweep point, where one is derived (see aesgd-core's
/// `hessian` module): the trace at the limit point and the largest eigenvalue `4/n`.
fn closed_form(metric_name: &str, point: &Point, runs: &[Record]) -> Option<f64> {
    let c = &point.config;
    let (n, d) = (c.n as f64, c.d as f64);
    match metric_name {
        "hessian_lambda_max_limit" => Some(4.0 / n),
        "hessian_trace_limit" => match (c.activation, c.batch == c.n) {
            (Activation::Linear, _) => Some((d + 4.0 - n) / n),
            (Activation::Relu, false) => Some((d + 3.0) / n),
            // Full batch keeps the initially positive coordinates: the mean of the per-run forms.
            (Activation::Relu, true) => {
                let forms: Vec<f64> = runs.iter().map(|r| (d + 4.0 - r.init_positive as f64) / n).collect();
                (!forms.is_empty()).then(|| forms.iter().sum::<f64>() / forms.len() as f64)
            }
        },
        "align_gd_limit" if c.batch == c.n => Some(1.0),
        _ => None,
    }
}

/// The `n = d = 2` landscape with the full-batch run and the smallest-batch run.
fn landscape(
    figure: &FigureSpec,
    points: &[Point],
    runs: &[Vec<Record>],
    chosen: &[usize],
) -> Result<Plot, String> {
    let first = &points[chosen[0]].config;
    if first.n != 2 || first.d != 2 {
        return Err(format!("figure {}: a landscape needs n = d = 2", figure.id));
    }
    let data = Data::basis(2, 2).map_err(|e| e.to_string())?;
    let activation = first.activation;
    let (nx, ny) = (121, 121);
    let range = (-1.2, 1.2);
    let at = |k: usize, count: usize| range.0 + (range.1 - range.0) * k as f64 / (count - 1) as f64;
    let values = (0..ny)
        .flat_map(|j| (0..nx).map(move |i| (at(i, nx), at(j, ny))))
        .map(|(a, b)| loss(&data, activation, &[a, b]))
        .collect();
    let run_index = figure.run.unwrap_or(0);
    let mut trajectories = Vec::new();
    let mut by_batch: Vec<usize> = chosen.to_vec();
    by_batch.sort_by_key(|&i| std::cmp::Reverse(points[i].config.batch));
    for &i in &by_batch {
        let Some(run) = runs[i].iter().find(|r| r.run_index == run_index) else { continue };
        let pts: Vec<(f64, f64)> =
            run.trajectory.iter().filter_map(|p| p.coords.as_ref().map(|c| (c[0], c[1]))).collect();
        let b = points[i].config.batch;
        let label = if b == 2 { "full batch (b = 2)".to_string() } else { format!("SGD, b = {b}") };
        trajectories.push(Path { label, points: pts });
    }
    // The set of global minima: the unit circle (linear) or its non-negative quarter (ReLU).
    let arc = |from: f64, to: f64| {
        (0..=90)
            .map(|k| from + (to - from) * f64::from(k) / 90.0)
            .map(|t| (t.cos(), t.sin()))
            .collect::<Vec<_>>()
    };
    let half_pi = std::f64::consts::FRAC_PI_2;
    let minima = match activation {
        Activation::Relu => vec![Path { label: "global minima".into(), points: arc(0.0, half_pi) }],
        Activation::Linear => vec![Path { label: "global minima".into(), points: arc(0.0, 4.0 * half_pi) }],
    };
    Ok(Plot::Landscape(Landscape {
        title: figure.title.clone(),
        x: Axis::linear("u_1 = <w, x_1>"),
        y: Axis::linear("u_2 = <w, x_2>"),
        x_range: range,
        y_range: range,
        nx,
        ny,
        values,
        levels: vec![0.26, 0.3, 0.35, 0.4, 0.45, 0.5, 0.6, 0.8, 1.0, 1.5],
        trajectories,
        minima,
        legend: LegendPosition::LowerLeft,
    }))
}
