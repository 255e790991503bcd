//! Figure specs mapped to aesgd-figures plots, drawn from run records.
//!
//! Every plotted estimate is a mean with a 95% Student-t interval over seeds, or a proportion
//! with a Wilson interval; the number of seeds is in the axis label. Axis labels, log scales and
//! theory curves come from the metric registry. A run that stopped early (converged to a fixed
//! point) keeps its last value at later steps. This module draws; it does not write files.

use crate::error::ReportError;
use aesgd_core::Activation;
use aesgd_core::data::Data;
use aesgd_core::model::loss;
use aesgd_experiment::law::{FittedLaw, family_label, fitted};
use aesgd_experiment::plan::{Point, Written};
use aesgd_experiment::record::{Record, TrajectoryPoint};
use aesgd_experiment::spec::{Criterion, Figure};
use aesgd_experiment::vocabulary::{FigureKind, XAxis};
use aesgd_figures::{
    Axis, BandSeries, Bar, BarChart, ColorScale, Curve, ErrorBarPlot, ErrorBarSeries, Heatmap, Landscape,
    LegendPosition, LinesPlot, Path, Plot,
};
use aesgd_stats::{DEFAULT_LEVEL, mean_interval, proportion_interval};

fn label_of(p: &Point, many_activations: bool) -> String {
    if many_activations {
        format!("{}, b = {}", p.config.activation, p.config.batch)
    } else {
        format!("b = {}", p.config.batch)
    }
}

/// Draws one figure from the points of its spec and their runs (`runs[i]` belongs to
/// `points[i]`); `Err` names what is missing.
/// `criteria` are the spec's: a log-linear law on the figure's metric is drawn beside the data.
pub fn draw(
    figure: &Figure,
    criteria: &[Criterion],
    points: &[Point],
    runs: &[Vec<Record>],
) -> Result<Plot, ReportError> {
    let chosen: Vec<usize> = (0..points.len())
        .filter(|&i| points[i].in_sweep(figure.sweep).is_some() && figure.select.selects(&points[i].config))
        .collect();
    if chosen.is_empty() {
        return Err(ReportError::figure(&figure.id, "its selection matches no sweep point"));
    }
    match figure.kind {
        FigureKind::LinesOverSteps => Ok(lines_over_steps(figure, points, runs, &chosen)),
        FigureKind::FinalVsBatch | FigureKind::FinalVs => {
            Ok(final_vs(figure, criteria, points, runs, &chosen))
        }
        FigureKind::SelectionByRank => Ok(selection_by_rank(figure, runs, &chosen)),
        FigureKind::SelectionCalibration => selection_calibration(figure, points, runs, &chosen),
        FigureKind::Heatmap => heatmap(figure, points, runs, &chosen),
        FigureKind::FinalCoordinates => final_coordinates(figure, points, runs, &chosen),
        FigureKind::Landscape => landscape(figure, points, runs, &chosen),
    }
}

fn many_activations(points: &[Point], chosen: &[usize]) -> bool {
    chosen.iter().any(|&i| points[i].config.activation != points[chosen[0]].config.activation)
}

fn lines_over_steps(figure: &Figure, points: &[Point], runs: &[Vec<Record>], chosen: &[usize]) -> Plot {
    let metric = figure.metric.definition();
    // Validated specs only draw trajectory metrics here; any other has no values over steps.
    let over_steps = metric.over_steps.unwrap_or(|_: &TrajectoryPoint| None);
    let many = many_activations(points, chosen);
    let seeds = runs[chosen[0]].len();
    let mut series = Vec::new();
    for &i in chosen {
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
                .filter_map(over_steps)
                .collect();
            if let Ok(iv) = mean_interval(&values, DEFAULT_LEVEL) {
                x.push(t as f64);
                y.push(iv.estimate);
                lo.push(iv.lower);
                hi.push(iv.upper);
            }
        }
        series.push(BandSeries { label: label_of(&points[i], many), x, y, band: Some((lo, hi)) });
    }
    Plot::Lines(LinesPlot {
        title: figure.title.clone(),
        x: Axis::log("training steps (log scale)"),
        y: Axis::linear(format!("{} (mean, 95% CI, {seeds} seeds)", metric.axis_label)),
        series,
        legend: LegendPosition::UpperRight,
    })
}

/// How the figure's sweep wrote a point it draws (the figure draws only its sweep's points).
fn drawn_as<'a>(figure: &Figure, point: &'a Point) -> &'a Written {
    point.in_sweep(figure.sweep).unwrap_or_else(|| point.first_written())
}

/// The law's predicted mean along a series' horizontal axis, at every whole `b` or `n` of its
/// range (the batch size as the spec wrote it follows `n`) or at 60 log-spaced step sizes.
fn law_curve(figure: &Figure, law: &FittedLaw, points: &[Point], mine: &[usize]) -> Curve {
    let first = &points[mine[0]];
    let written = drawn_as(figure, first);
    let xs: Vec<f64> = mine.iter().map(|&i| figure.x.value(&points[i].config)).collect();
    let (low, high) = xs.iter().fold((f64::INFINITY, f64::NEG_INFINITY), |(l, h), &x| (l.min(x), h.max(x)));
    let configs: Vec<aesgd_core::RunConfig> = match figure.x {
        XAxis::Batch => (low as usize..=high as usize)
            .map(|batch| aesgd_core::RunConfig { batch, ..first.config.clone() })
            .collect(),
        XAxis::N => (low as usize..=high as usize)
            .filter_map(|n| {
                let batch = written.batch.resolve(n).ok()?;
                let d = match written.dimension {
                    aesgd_experiment::sweep::Dimension::N => n,
                    aesgd_experiment::sweep::Dimension::Fixed(d) => d,
                };
                Some(aesgd_core::RunConfig { n, d, batch, ..first.config.clone() })
            })
            .collect(),
        XAxis::Eta => (0..60)
            .map(|k| low * (high / low).powf(f64::from(k) / 59.0))
            .map(|eta| aesgd_core::RunConfig { eta, ..first.config.clone() })
            .collect(),
    };
    let mut curve = Curve::default();
    for config in &configs {
        if let Some(y) = law.predict_mean(config) {
            curve.x.push(figure.x.value(config));
            curve.y.push(y);
        }
    }
    curve
}

fn final_vs(
    figure: &Figure,
    criteria: &[Criterion],
    points: &[Point],
    runs: &[Vec<Record>],
    chosen: &[usize],
) -> Plot {
    let metric = figure.metric;
    let definition = metric.definition();
    let seeds = runs[chosen[0]].len();
    let mut series: Vec<ErrorBarSeries> = Vec::new();
    let mut theory: Vec<Curve> = Vec::new();
    // The laws fitted on this metric, by family.
    let laws: Vec<(String, FittedLaw)> = criteria
        .iter()
        .filter(|c| c.metric == metric)
        .flat_map(|c| fitted(c, points, runs))
        .filter_map(|(family, law)| law.ok().map(|law| (family.label, law)))
        .collect();
    let many_schedules =
        chosen.iter().any(|&i| points[i].config.schedule != points[chosen[0]].config.schedule);
    // One series per activation and schedule, and per batch size as written in the spec when
    // the horizontal axis is not the batch size itself.
    let (mut laws_drawn, mut forms_drawn) = (0, 0);
    // And per number of neurons and per dimension, where the chosen points have several (with
    // d following n on an n axis, the dimension is not a series).
    let many_neurons = chosen.iter().any(|&i| points[i].config.neurons != points[chosen[0]].config.neurons);
    let many_d =
        figure.x != XAxis::N && chosen.iter().any(|&i| points[i].config.d != points[chosen[0]].config.d);
    type SeriesKey = (Activation, aesgd_core::Schedule, Option<String>, usize, Option<usize>);
    let key_of = |i: usize| -> SeriesKey {
        let c = &points[i].config;
        let label = (figure.x != XAxis::Batch).then(|| drawn_as(figure, &points[i]).batch.to_string());
        (c.activation, c.schedule, label, c.neurons, many_d.then_some(c.d))
    };
    let mut keys: Vec<SeriesKey> = Vec::new();
    for &i in chosen {
        let key = key_of(i);
        if !keys.contains(&key) {
            keys.push(key);
        }
    }
    for key in keys {
        let (activation, schedule, batch_label, neurons, dimension) = key.clone();
        let mine: Vec<usize> = chosen.iter().copied().filter(|&i| key_of(i) == key).collect();
        let mut name = activation.to_string();
        if many_schedules {
            name.push_str(&format!(", {schedule}"));
        }
        if many_neurons {
            name.push_str(&format!(", k = {neurons}"));
        }
        if let Some(d) = dimension {
            name.push_str(&format!(", d = {d}"));
        }
        if let Some(b) = &batch_label {
            name.push_str(&format!(", b = {b}"));
        }
        let mut s = ErrorBarSeries::default();
        let mut t = Curve { label: String::new(), series: Some(series.len()), ..Default::default() };
        let mut undefined = 0;
        for &i in &mine {
            let values: Vec<f64> = runs[i].iter().filter_map(|r| metric.value(r)).collect();
            // A point where some run lacks the metric is left out, as in the report.
            if values.len() < runs[i].len() {
                undefined += 1;
            } else if let Ok(iv) = mean_interval(&values, DEFAULT_LEVEL) {
                s.x.push(figure.x.value(&points[i].config));
                s.y.push(iv.estimate);
                s.lower.push(iv.lower);
                s.upper.push(iv.upper);
            }
            if let Some(v) = definition.closed_form.and_then(|(form, _)| form(&points[i].config, &runs[i])) {
                t.x.push(figure.x.value(&points[i].config));
                t.y.push(v);
            }
        }
        // One legend entry for every closed-form curve: each is dashed in its data's colour.
        if !t.x.is_empty() {
            t.label = if forms_drawn == 0 {
                "closed form (dashed, colour of its data)".to_string()
            } else {
                String::new()
            };
            forms_drawn += 1;
        }
        s.label = if undefined > 0 {
            format!("{name}, measured ({undefined} point(s) left out: a run has no {metric})")
        } else {
            format!("{name}, measured")
        };
        series.push(s);
        if !t.x.is_empty() {
            theory.push(t);
        }
        let first = &points[mine[0]];
        let family = family_label(first, drawn_as(figure, first));
        for (_, law) in laws.iter().filter(|(label, _)| *label == family) {
            let curve = law_curve(figure, law, points, &mine);
            if !curve.x.is_empty() {
                // One legend entry for every law curve: each is dashed in its data's colour.
                let label = if laws_drawn == 0 {
                    "fitted law (dashed, colour of its data)".to_string()
                } else {
                    String::new()
                };
                laws_drawn += 1;
                theory.push(Curve { label, series: Some(series.len() - 1), ..curve });
            }
        }
    }
    let y_label = format!("{} (mean, 95% CI, {seeds} seeds)", definition.axis_label);
    let x_label = match figure.x {
        XAxis::N => "number of data points n",
        XAxis::Eta => "step size eta",
        XAxis::Batch => "batch size b",
    };
    Plot::ErrorBars(ErrorBarPlot {
        title: figure.title.clone(),
        x: if matches!(figure.x, XAxis::Eta | XAxis::N) {
            Axis::log(format!("{x_label} (log scale)"))
        } else {
            Axis::linear(x_label)
        },
        y: if definition.log_axis {
            Axis::log(format!("{y_label}, log scale"))
        } else {
            Axis::linear(y_label)
        },
        headroom: legend_headroom(&series, &theory),
        series,
        theory,
        references: Vec::new(),
        legend: LegendPosition::UpperLeft,
    })
}

/// The room above the data, as a fraction of its range, for a legend in the upper corner: 0.35,
/// or more for a legend of more than three lines (about 0.12 of the range a line), so that the
/// legend does not hide the data.
fn legend_headroom(series: &[ErrorBarSeries], theory: &[Curve]) -> f64 {
    let lines = series.iter().filter(|s| !s.label.is_empty()).count()
        + theory.iter().filter(|t| !t.label.is_empty()).count();
    (0.12 * lines as f64).max(0.35)
}

/// The number of probability bins of a calibration figure.
const CALIBRATION_BINS: usize = 10;

/// The selection law's calibration, one series an activation: every (run, eligible point) pair
/// of the chosen sweep points gives a predicted probability under the exponent fitted to those
/// runs (and under the share law, alpha = 2); pairs are binned by it, and each bin's observed
/// frequency of selection is drawn with its Wilson interval against the diagonal.
fn selection_calibration(
    figure: &Figure,
    points: &[Point],
    runs: &[Vec<Record>],
    chosen: &[usize],
) -> Result<Plot, ReportError> {
    let mut activations: Vec<Activation> = Vec::new();
    for &i in chosen {
        if !activations.contains(&points[i].config.activation) {
            activations.push(points[i].config.activation);
        }
    }
    let mut series = Vec::new();
    let mut seeds = 0;
    for activation in activations {
        let mut observations = Vec::new();
        for &i in chosen.iter().filter(|&&i| points[i].config.activation == activation) {
            let mine = aesgd_experiment::selection::observations(&points[i], &runs[i])
                .map_err(|why| ReportError::figure(&figure.id, why))?;
            seeds += mine.len();
            observations.extend(mine);
        }
        let fit = aesgd_stats::fit_power_law(&observations)
            .map_err(|e| ReportError::figure(&figure.id, e.to_string()))?;
        for (alpha, name) in [
            (fit.alpha, format!("{activation}, fitted alpha = {:.2}", fit.alpha)),
            (2.0, format!("{activation}, share law alpha = 2")),
        ] {
            let bins = aesgd_stats::calibration_bins(&observations, alpha, CALIBRATION_BINS)
                .map_err(|e| ReportError::figure(&figure.id, e.to_string()))?;
            let mut s = ErrorBarSeries { label: name, ..Default::default() };
            for b in bins {
                s.x.push(b.mean_predicted);
                s.y.push(b.observed.estimate);
                s.lower.push(b.observed.lower);
                s.upper.push(b.observed.upper);
            }
            series.push(s);
        }
    }
    Ok(Plot::ErrorBars(ErrorBarPlot {
        title: figure.title.clone(),
        x: Axis::linear("predicted probability of selection (bin mean)"),
        y: Axis::linear(format!("observed frequency (Wilson 95% CI, {seeds} runs)")),
        series,
        theory: vec![Curve {
            label: "perfect calibration".into(),
            x: vec![0.0, 1.0],
            y: vec![0.0, 1.0],
            series: None,
        }],
        references: Vec::new(),
        legend: LegendPosition::UpperLeft,
        headroom: 0.35,
    }))
}

fn selection_by_rank(figure: &Figure, runs: &[Vec<Record>], chosen: &[usize]) -> Plot {
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
    Plot::Bars(BarChart {
        title: figure.title.clone(),
        x_label: "rank of the selected point's initial coordinate (1 = largest)".into(),
        y: Axis::linear(format!("fraction of runs (Wilson 95% CI, {total} runs)")),
        bars,
    })
}

fn the_run<'a>(figure: &Figure, runs: &'a [Record]) -> Result<&'a Record, ReportError> {
    runs.iter()
        .find(|r| r.run_index == figure.run)
        .ok_or_else(|| ReportError::figure(&figure.id, format!("no run {}", figure.run)))
}

fn heatmap(
    figure: &Figure,
    points: &[Point],
    runs: &[Vec<Record>],
    chosen: &[usize],
) -> Result<Plot, ReportError> {
    let i = chosen[0];
    let run = the_run(figure, &runs[i])?;
    let snaps: Vec<&TrajectoryPoint> = run.trajectory.iter().filter(|p| p.coords.is_some()).collect();
    if snaps.is_empty() {
        return Err(ReportError::figure(&figure.id, "the sweep must set record_coordinates = true"));
    }
    let n = points[i].config.n;
    let values: Vec<Vec<f64>> = (0..n)
        .map(|j| {
            snaps
                .iter()
                .map(|p| p.coords.as_ref().and_then(|c| c.get(j)).map_or(f64::NAN, |v| v.abs()))
                .collect()
        })
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

/// The final `U = W X` of run `figure.run` at every chosen point, one heatmap a point side by
/// side (`|u_ji|`, neurons up the side, data points along), at most four a row.
fn final_coordinates(
    figure: &Figure,
    points: &[Point],
    runs: &[Vec<Record>],
    chosen: &[usize],
) -> Result<Plot, ReportError> {
    let mut plots = Vec::new();
    for &i in chosen {
        let run = the_run(figure, &runs[i])?;
        let config = &points[i].config;
        let Some(coords) = run.final_coords.as_ref() else {
            return Err(ReportError::figure(
                &figure.id,
                "its sweep points must have several neurons (neurons > 1)",
            ));
        };
        let (k, n) = (config.neurons, config.n);
        let values: Vec<Vec<f64>> =
            (0..k).map(|j| coords[j * n..(j + 1) * n].iter().map(|v| v.abs()).collect()).collect();
        let batch = if config.batch == config.n {
            format!("b = {} (full batch)", config.batch)
        } else {
            format!("b = {}", config.batch)
        };
        let selected = run.selected_points.as_ref().map_or_else(
            || "no point each".to_string(),
            |p| format!("points {}", p.iter().map(usize::to_string).collect::<Vec<_>>().join(", ")),
        );
        plots.push(Plot::Heatmap(Heatmap {
            title: format!(
                "{}: {}, k = {k}, d = {}, {batch}; {selected} ({})",
                figure.title, config.activation, config.d, run.outcome
            ),
            x: Axis::linear("data point i"),
            columns: (0..n).map(|c| c as f64).collect(),
            y_label: "neuron j".into(),
            values,
            color: ColorScale { label: "|u_ji| = |<w_j, x_i>|".into(), log: false, range: Some((0.0, 1.0)) },
        }));
    }
    let columns = plots.len().min(4);
    Ok(Plot::Panels { plots, columns })
}

/// The `n = d = 2` landscape with the full-batch run and the smaller-batch runs.
fn landscape(
    figure: &Figure,
    points: &[Point],
    runs: &[Vec<Record>],
    chosen: &[usize],
) -> Result<Plot, ReportError> {
    let first = &points[chosen[0]].config;
    if first.n != 2 || first.d != 2 {
        return Err(ReportError::figure(&figure.id, "a landscape needs n = d = 2"));
    }
    let data = Data::basis(2, 2).map_err(|e| ReportError::figure(&figure.id, e.to_string()))?;
    let activation = first.activation;
    let (nx, ny) = (121, 121);
    let range = (-1.2, 1.2);
    let at = |k: usize, count: usize| range.0 + (range.1 - range.0) * k as f64 / (count - 1) as f64;
    let values = (0..ny)
        .flat_map(|j| (0..nx).map(move |i| (at(i, nx), at(j, ny))))
        .map(|(a, b)| loss(&data, activation, &[a, b]))
        .collect();
    let mut trajectories = Vec::new();
    let mut by_batch: Vec<usize> = chosen.to_vec();
    by_batch.sort_by_key(|&i| std::cmp::Reverse(points[i].config.batch));
    for &i in &by_batch {
        let Ok(run) = the_run(figure, &runs[i]) else { continue };
        let pts: Vec<(f64, f64)> = run
            .trajectory
            .iter()
            .filter_map(|p| p.coords.as_ref().filter(|c| c.len() == 2).map(|c| (c[0], c[1])))
            .collect();
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

#[cfg(test)]
mod tests {
    use super::*;
    use aesgd_core::RunConfig;
    use aesgd_experiment::executor::run_one;
    use aesgd_experiment::spec::Select;
    use aesgd_experiment::sweep::BatchSize;
    use aesgd_experiment::vocabulary::BatchSelect;
    use aesgd_experiment::{Metric, Recording};

    fn draw_plain(figure: &Figure, points: &[Point], runs: &[Vec<Record>]) -> Result<Plot, ReportError> {
        draw(figure, &[], points, runs)
    }

    fn figure(kind: FigureKind, metric: Metric) -> Figure {
        Figure {
            id: "f".into(),
            kind,
            title: "t".into(),
            metric,
            x: XAxis::Batch,
            select: Select::default(),
            run: 0,
            sweep: 0,
        }
    }

    /// Sweep points at n = d = 4 and their runs (two seeds each).
    fn sweep(batches: &[usize], recording: Recording) -> (Vec<Point>, Vec<Vec<Record>>) {
        let points: Vec<Point> = batches
            .iter()
            .map(|&b| Point {
                config: RunConfig { n: 4, d: 4, batch: b, max_steps: 2_000_000, ..RunConfig::default() },
                recording,
                seed: 0,
                seeds: 2,
                written: vec![Written {
                    sweep: 0,
                    batch: BatchSize::Fixed(b),
                    dimension: aesgd_experiment::sweep::Dimension::N,
                }],
            })
            .collect();
        let runs = points
            .iter()
            .map(|p| (0..p.seeds).map(|k| run_one(&p.config, p.recording, p.seed, k).unwrap()).collect())
            .collect();
        (points, runs)
    }

    #[test]
    fn several_neurons_draw_their_final_u_side_by_side_and_their_trace_beside_its_closed_form() {
        let (mut points, _) = sweep(&[], Recording::Off);
        for b in [1, 4] {
            let config =
                RunConfig { neurons: 2, n: 4, d: 4, batch: b, max_steps: 2_000_000, ..RunConfig::default() };
            points.push(Point {
                config,
                recording: Recording::Off,
                seed: 0,
                seeds: 2,
                written: vec![Written {
                    sweep: 0,
                    batch: BatchSize::Fixed(b),
                    dimension: aesgd_experiment::sweep::Dimension::N,
                }],
            });
        }
        let runs: Vec<Vec<Record>> = points
            .iter()
            .map(|p| (0..p.seeds).map(|k| run_one(&p.config, p.recording, p.seed, k).unwrap()).collect())
            .collect();
        let Plot::Panels { plots, columns } =
            draw_plain(&figure(FigureKind::FinalCoordinates, Metric::Support), &points, &runs).unwrap()
        else {
            panic!("not panels")
        };
        assert_eq!((plots.len(), columns), (2, 2));
        for (plot, run) in plots.iter().zip([&runs[0][0], &runs[1][0]]) {
            let Plot::Heatmap(map) = plot else { panic!("not a heatmap") };
            let u = run.final_coords.as_ref().unwrap();
            // Neuron j is row j, data point i column i, the value |u_ji|.
            assert_eq!(map.values.len(), 2);
            assert_eq!(map.values[1][3], u[4 + 3].abs());
            assert_eq!(map.columns, vec![0.0, 1.0, 2.0, 3.0]);
        }
        // The trace at the identified minimum beside k (d + 3)/n at b < n.
        let Plot::ErrorBars(trace) =
            draw_plain(&figure(FigureKind::FinalVsBatch, Metric::HessianTraceLimit), &points, &runs).unwrap()
        else {
            panic!("not an error-bar plot")
        };
        assert_eq!(trace.theory[0].x[0], 1.0);
        assert_eq!(trace.theory[0].y[0], 2.0 * 7.0 / 4.0);
        // One neuron's records have no final U: the figure says what it needs.
        let (one, one_runs) = sweep(&[1], Recording::Off);
        let e =
            draw_plain(&figure(FigureKind::FinalCoordinates, Metric::Support), &one, &one_runs).unwrap_err();
        assert!(e.to_string().contains("several neurons"), "{e}");
    }

    #[test]
    fn final_vs_batch_draws_the_measured_mean_beside_the_closed_form() {
        let (points, runs) = sweep(&[1, 2, 4], Recording::Metrics);
        let Plot::ErrorBars(plot) =
            draw_plain(&figure(FigureKind::FinalVsBatch, Metric::HessianTraceLimit), &points, &runs).unwrap()
        else {
            panic!("not an error-bar plot")
        };
        assert_eq!(plot.series.len(), 1);
        assert_eq!(plot.series[0].x, vec![1.0, 2.0, 4.0]);
        let trace = |r: &Record| r.hessian_trace_limit.unwrap();
        assert_eq!(plot.series[0].y[0], (trace(&runs[0][0]) + trace(&runs[0][1])) / 2.0);
        // ReLU b < n ends at one active sample: (d + 3)/n, and the runs agree with it.
        assert_eq!(plot.theory[0].y[0], 7.0 / 4.0);
        assert!((plot.series[0].y[0] - 7.0 / 4.0).abs() < 1e-9);
        assert!(plot.y.label.contains("Hessian trace at the limit point (mean, 95% CI, 2 seeds)"));
    }

    #[test]
    fn a_fitted_law_is_drawn_at_every_batch_size_in_its_series_colour() {
        // b in {1, 3} train a one-term law ln T = c_0 + c_b ln b, and the figure draws it at
        // every whole b between, as the law's own prediction.
        let (points, runs) = sweep(&[1, 3], Recording::Metrics);
        let law = Criterion {
            name: "law".into(),
            select: Select::default(),
            metric: Metric::SparseStep,
            statistic: aesgd_experiment::spec::StatisticRule::LogLinearLaw {
                terms: vec![aesgd_experiment::vocabulary::LawTerm::Batch],
                fit_sweeps: vec![0],
            },
            pass: aesgd_experiment::spec::PassRule::Report,
            tolerance: 0.0,
        };
        let fit = fitted(&law, &points, &runs);
        let fit = fit[0].1.clone().unwrap();
        let Plot::ErrorBars(plot) =
            draw(&figure(FigureKind::FinalVsBatch, Metric::SparseStep), &[law], &points, &runs).unwrap()
        else {
            panic!("not an error-bar plot")
        };
        let curve = plot.theory.iter().find(|c| c.label.contains("fitted law")).expect("a law curve");
        assert_eq!(curve.series, Some(0));
        assert_eq!(curve.x, vec![1.0, 2.0, 3.0]);
        for (&b, &y) in curve.x.iter().zip(&curve.y) {
            let config = RunConfig { batch: b as usize, ..points[0].config.clone() };
            assert_eq!(Some(y), fit.predict_mean(&config));
        }
        // With two training points and two coefficients the law passes through their
        // geometric means, so its mean at each is the smearing factor times that.
        let geometric = |i: usize| {
            let logs: Vec<f64> = runs[i].iter().map(|r| (r.sparse_step.unwrap() as f64).ln()).collect();
            (logs.iter().sum::<f64>() / logs.len() as f64).exp()
        };
        assert!((curve.y[0] / (fit.smearing * geometric(0)) - 1.0).abs() < 1e-9);
        assert!((curve.y[2] / (fit.smearing * geometric(1)) - 1.0).abs() < 1e-9);
    }

    #[test]
    fn lines_over_steps_and_heatmaps_need_what_they_draw() {
        let (points, runs) = sweep(&[1, 4], Recording::Metrics);
        let Plot::Lines(lines) =
            draw_plain(&figure(FigureKind::LinesOverSteps, Metric::Support), &points, &runs).unwrap()
        else {
            panic!("not a lines plot")
        };
        assert_eq!(lines.series.len(), 2);
        assert!(lines.series.iter().all(|s| !s.x.is_empty() && s.x[0] >= 1.0));
        let error = draw_plain(&figure(FigureKind::Heatmap, Metric::Support), &points, &runs)
            .unwrap_err()
            .to_string();
        assert!(error.contains("record_coordinates"), "{error}");
        let none = Figure {
            select: Select { batch: Some(BatchSelect::Small), ..Select::default() },
            ..figure(FigureKind::FinalVsBatch, Metric::Support)
        };
        let error = draw_plain(&none, &points[1..], &runs[1..]).unwrap_err().to_string();
        assert_eq!(error, "figure f: its selection matches no sweep point");
        let (points, runs) = sweep(&[1], Recording::Coordinates);
        let Plot::Heatmap(heatmap) =
            draw_plain(&figure(FigureKind::Heatmap, Metric::Support), &points, &runs).unwrap()
        else {
            panic!("not a heatmap")
        };
        assert_eq!(heatmap.values.len(), 4);
        assert_eq!(heatmap.values[0].len(), runs[0][0].trajectory.len());
    }
}
