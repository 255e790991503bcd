//! Golden SVGs, structural checks on the parsed XML, determinism and degenerate input.
//!
//! Golden files are regenerated only on request: `AESGD_UPDATE_GOLDEN=1 cargo test -p
//! aesgd-figures`. A missing or different golden file fails the test.

use aesgd_figures::{
    Axis, BandSeries, Bar, BarChart, ColorScale, ErrorBarPlot, ErrorBarSeries, Heatmap, Landscape, LinesPlot,
    Plot, Style, gallery, render, render_panels,
};
use std::path::PathBuf;

fn golden_path(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/golden").join(format!("{name}.svg"))
}

fn check_golden(name: &str, svg: &str) {
    let path = golden_path(name);
    if std::env::var_os("AESGD_UPDATE_GOLDEN").is_some() {
        std::fs::write(&path, svg).expect("write golden file");
        return;
    }
    let expected = std::fs::read_to_string(&path).unwrap_or_else(|_| {
        panic!("missing {}; run with AESGD_UPDATE_GOLDEN=1 to create it", path.display())
    });
    assert!(
        expected == svg,
        "{name}.svg differs from its golden file (AESGD_UPDATE_GOLDEN=1 regenerates it)"
    );
}

/// Every text node of the document, in order.
fn texts(svg: &str) -> Vec<String> {
    let doc = roxmltree::Document::parse(svg).expect("the SVG is well-formed XML");
    doc.descendants()
        .filter(|n| n.has_tag_name("text"))
        .filter_map(|n| n.text())
        .map(|t| t.trim().to_string())
        .collect()
}

fn count(svg: &str, tag: &str) -> usize {
    let doc = roxmltree::Document::parse(svg).expect("the SVG is well-formed XML");
    doc.descendants().filter(|n| n.has_tag_name(tag)).count()
}

fn has(texts: &[String], needle: &str) -> bool {
    texts.iter().any(|t| t.contains(needle))
}

#[test]
fn gallery_matches_golden_files_and_renders_deterministically() {
    let style = Style::default();
    let plots = gallery::examples();
    for (name, plot) in &plots {
        let svg = render(plot, &style).unwrap();
        assert_eq!(svg, render(plot, &style).unwrap(), "{name} is not deterministic");
        check_golden(name, &svg);
    }
    let all: Vec<Plot> = plots.into_iter().map(|(_, p)| p).collect();
    check_golden("panels", &render_panels(&all, 3, &style).unwrap());
}

#[test]
fn lines_show_title_axes_legend_and_every_series() {
    let plot = gallery::lines();
    let svg = render(&Plot::Lines(plot.clone()), &Style::default()).unwrap();
    let t = texts(&svg);
    for needle in [
        plot.title.as_str(),
        "training steps (log scale)",
        "support size (mean, 95% CI)",
        "b = 1",
        "b = 10",
        "b = 19",
    ] {
        assert!(has(&t, needle), "missing text {needle:?} in {t:?}");
    }
    // One polyline a series plus one a legend entry; one polygon a band.
    assert!(count(&svg, "polyline") >= 2 * plot.series.len());
    assert!(count(&svg, "polygon") >= plot.series.len());
    // Log ticks are labelled with values, not exponents.
    assert!(has(&t, "1000") && has(&t, "1e5"), "{t:?}");
}

#[test]
fn error_bars_theory_and_references_are_drawn_and_labelled() {
    let plot = gallery::errorbars();
    let svg = render(&Plot::ErrorBars(plot.clone()), &Style::default()).unwrap();
    let t = texts(&svg);
    for needle in ["batch size b", "measured", "theory (full batch)", "1/sqrt(n)"] {
        assert!(has(&t, needle), "missing text {needle:?}");
    }
    assert!(count(&svg, "circle") >= plot.series[0].x.len());
}

#[test]
fn bars_heatmap_and_landscape_have_their_parts() {
    let style = Style::default();
    let bars = gallery::bars();
    let svg = render(&Plot::Bars(bars.clone()), &style).unwrap();
    let t = texts(&svg);
    assert!(has(&t, "rank of the initial coordinate") && has(&t, "fraction of seeds (95% CI)"));
    assert!(bars.bars.iter().all(|b| t.contains(&b.label)), "every category is labelled: {t:?}");

    let heatmap = gallery::heatmap();
    let svg = render(&Plot::Heatmap(heatmap.clone()), &style).unwrap();
    let t = texts(&svg);
    assert!(has(&t, "|u_j| (log scale)") && has(&t, "data coordinate j"), "{t:?}");
    let cells = heatmap.values.len() * heatmap.columns.len();
    assert!(count(&svg, "rect") >= cells + 64, "cells and colour bar");

    let landscape = gallery::landscape();
    let svg = render(&Plot::Landscape(landscape), &style).unwrap();
    let t = texts(&svg);
    for needle in ["global minima", "full batch", "SGD, b = 1", "w_1 = <w, x_1>"] {
        assert!(has(&t, needle), "missing text {needle:?}");
    }
}

#[test]
fn panels_are_labelled_in_reading_order() {
    let plots: Vec<Plot> = gallery::examples().into_iter().map(|(_, p)| p).collect();
    let t = texts(&render_panels(&plots, 2, &Style::default()).unwrap());
    for label in ["(a) ", "(b) ", "(c) ", "(d) ", "(e) "] {
        assert!(has(&t, label), "missing panel label {label:?}");
    }
    assert!(render_panels(&[], 2, &Style::default()).is_err());
}

#[test]
fn degenerate_input_does_not_crash() {
    let style = Style::default();
    let empty = LinesPlot {
        title: "empty".into(),
        x: Axis::log("steps"),
        y: Axis::linear("y"),
        ..Default::default()
    };
    assert!(has(&texts(&render(&Plot::Lines(empty), &style).unwrap()), "no data"));

    let single = LinesPlot {
        title: "single".into(),
        x: Axis::linear("x"),
        y: Axis::linear("y"),
        series: vec![BandSeries {
            label: "one".into(),
            x: vec![3.0],
            y: vec![2.0],
            band: Some((vec![2.0], vec![2.0])),
        }],
        ..Default::default()
    };
    render(&Plot::Lines(single), &style).unwrap();

    let log_with_zeros = LinesPlot {
        title: "zeros on a log axis".into(),
        x: Axis::log("steps (log)"),
        y: Axis::log("value (log)"),
        series: vec![BandSeries {
            label: "s".into(),
            x: vec![0.0, 1.0, 10.0, 100.0],
            y: vec![1.0, -1.0, 0.5, f64::NAN],
            band: None,
        }],
        ..Default::default()
    };
    let t = texts(&render(&Plot::Lines(log_with_zeros), &style).unwrap());
    assert!(has(&t, "not shown on the log axis \"steps (log)\"") && has(&t, "\"value (log)\""), "{t:?}");

    let flat_bars = ErrorBarPlot {
        title: "zero-width".into(),
        x: Axis::linear("x"),
        y: Axis::linear("y"),
        series: vec![ErrorBarSeries {
            label: "m".into(),
            x: vec![1.0, 1.0],
            y: vec![0.5, 0.5],
            lower: vec![0.5, 0.5],
            upper: vec![0.5, 0.5],
        }],
        ..Default::default()
    };
    render(&Plot::ErrorBars(flat_bars), &style).unwrap();

    let nan_bar = BarChart {
        title: "bars".into(),
        x_label: "k".into(),
        y: Axis::linear("count"),
        bars: vec![
            Bar { label: "a".into(), value: f64::NAN, interval: None },
            Bar { label: "b".into(), value: 1.0, interval: Some((f64::NAN, 2.0)) },
        ],
    };
    assert!(has(&texts(&render(&Plot::Bars(nan_bar), &style).unwrap()), "non-finite"));
    render(&Plot::Bars(BarChart::default()), &style).unwrap();

    let zeros = Heatmap {
        title: "zeros".into(),
        x: Axis::linear("column"),
        columns: vec![1.0],
        y_label: "row".into(),
        values: vec![vec![0.0], vec![1.0]],
        color: ColorScale { label: "value".into(), log: true, range: None },
    };
    assert!(has(&texts(&render(&Plot::Heatmap(zeros), &style).unwrap()), "shown grey"));
    render(&Plot::Heatmap(Heatmap::default()), &style).unwrap();

    let bad_grid = Landscape { nx: 3, ny: 3, values: vec![0.0; 4], ..Default::default() };
    let error = render(&Plot::Landscape(bad_grid), &style).unwrap_err();
    assert!(error.to_string().contains("nx x ny grid"), "{error}");
}
