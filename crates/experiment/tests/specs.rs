//! Specs as a user writes them: good ones expand into the expected sweep points, bad ones are
//! refused with the file, the key, the value and what is allowed.

use aesgd_experiment::plan::{Plan, points};
use aesgd_experiment::spec::{PassRule, StatisticRule, parse};
use aesgd_experiment::{ExperimentError, Metric, Spec, load_specs};
use std::path::Path;

const GOOD: &str = r#"
id = "t"
kind = "claim"
title = "t"
statement = "s"
[sweep]
activation = ["relu"]
n = [6]
batch = [1, "n-1", "n/2", "n"]
eta = [0.1]
seeds = 2
max_steps = 1000
[quick]
n = [4]
[[criterion]]
name = "c"
statistic = "proportion"
metric = "single_point"
op = "=="
value = 1
pass = "all"
[[figure]]
id = "f"
type = "final_vs_batch"
metric = "support"
title = "f"
"#;

fn parse_str(text: &str) -> Result<Spec, ExperimentError> {
    parse(Path::new("repro/t.toml"), text)
}

fn error_of(text: &str) -> String {
    parse_str(text).expect_err("should be refused").to_string()
}

#[test]
fn a_good_spec_is_typed_and_expands_in_order() {
    let spec = parse_str(GOOD).unwrap();
    let c = &spec.criteria[0];
    assert_eq!(c.metric, Metric::SinglePoint);
    assert!(matches!(c.statistic, StatisticRule::Proportion { value, .. } if value == 1.0));
    assert_eq!(c.pass, PassRule::All);
    let batches: Vec<usize> = points(&spec, false).unwrap().iter().map(|p| p.config.batch).collect();
    assert_eq!(batches, vec![1, 5, 3, 6]);
    let quick: Vec<(usize, usize)> =
        points(&spec, true).unwrap().iter().map(|p| (p.config.n, p.config.batch)).collect();
    assert_eq!(quick, vec![(4, 1), (4, 3), (4, 2), (4, 4)]);
}

#[test]
fn sweeps_expand_every_combination_in_a_fixed_order() {
    let text = GOOD
        .replace("activation = [\"relu\"]", "activation = [\"linear\", \"relu\"]")
        .replace("n = [6]", "n = [6, 8]\nd = [\"n\", 10]")
        .replace("eta = [0.1]", "eta = [0.1, 0.2]\nschedule = [\"random\", \"cyclic\"]");
    let spec = parse_str(&text).unwrap();
    let points = points(&spec, false).unwrap();
    assert_eq!(points.len(), 2 * 2 * 2 * 4 * 2 * 2);
    let first: Vec<String> = points
        .iter()
        .take(5)
        .map(|p| {
            format!(
                "{} {} {} {} {} {}",
                p.config.activation, p.config.n, p.config.d, p.config.batch, p.config.eta, p.config.schedule
            )
        })
        .collect();
    assert_eq!(
        first,
        [
            "linear 6 6 1 0.1 random",
            "linear 6 6 1 0.1 cyclic",
            "linear 6 6 1 0.2 random",
            "linear 6 6 1 0.2 cyclic",
            "linear 6 6 5 0.1 random"
        ]
    );
    let last = points.last().unwrap();
    assert_eq!(
        (last.config.n, last.config.d, last.config.batch, last.first_written().batch.to_string()),
        (8, 10, 8, "n".into())
    );
    // n-1 and n/2 resolve at every n.
    let at_8: Vec<usize> =
        points.iter().filter(|p| p.config.n == 8 && p.config.d == 8).map(|p| p.config.batch).collect();
    assert!(at_8.starts_with(&[1, 1, 1, 1, 7]), "{at_8:?}");
}

#[test]
fn several_sweeps_expand_in_order_and_share_points_once() {
    // Two slices of a grid: n in {6, 8} at eta = 0.1, and eta in {0.1, 0.2} at n = 6. The point
    // n = 6, eta = 0.1 is in both and is kept once, where the first sweep put it.
    let sweep = |n: &str, eta: &str, extra: &str| {
        format!(
            "[[sweep]]\nactivation = [\"relu\"]\nn = {n}\nbatch = [1, \"n\"]\neta = {eta}\nseeds = 2\nmax_steps = 1000\n{extra}"
        )
    };
    let head = "id = \"t\"\nkind = \"claim\"\ntitle = \"t\"\nstatement = \"s\"\n";
    let text = format!("{head}{}{}", sweep("[6, 8]", "[0.1]", ""), sweep("[6]", "[0.1, 0.2]", ""));
    let spec = parse_str(&text).unwrap();
    assert_eq!(spec.sweeps.len(), 2);
    let got: Vec<(usize, usize, f64)> =
        points(&spec, false).unwrap().iter().map(|p| (p.config.n, p.config.batch, p.config.eta)).collect();
    assert_eq!(got, vec![(6, 1, 0.1), (6, 6, 0.1), (8, 1, 0.1), (8, 8, 0.1), (6, 1, 0.2), (6, 6, 0.2)]);
    // A quick override applies to every sweep, and the points it makes equal are kept once.
    let quick = format!("{text}[quick]\nn = [4]\neta = [0.1]\n");
    let got: Vec<(usize, usize)> = points(&parse_str(&quick).unwrap(), true)
        .unwrap()
        .iter()
        .map(|p| (p.config.n, p.config.batch))
        .collect();
    assert_eq!(got, vec![(4, 1), (4, 4)]);
    // A shared point remembers how each sweep wrote it: b = 3 in one, b = n/2 in the other.
    let written = format!(
        "{head}{}{}",
        sweep("[6]", "[0.1]", "").replace("[1, \"n\"]", "[3]"),
        sweep("[4, 6]", "[0.1]", "").replace("[1, \"n\"]", "[\"n/2\"]")
    );
    let shared = points(&parse_str(&written).unwrap(), false).unwrap();
    assert_eq!(shared.len(), 2, "n = 6, b = 3 once, then n = 4, b = 2");
    let rules: Vec<(usize, String)> =
        shared[0].written.iter().map(|w| (w.sweep, w.batch.to_string())).collect();
    assert_eq!(rules, vec![(0, "3".to_string()), (1, "n/2".to_string())]);
    assert_eq!(shared[0].in_sweep(1).map(|w| w.batch.to_string()), Some("n/2".into()));
    assert!(shared[1].in_sweep(0).is_none());
    // Errors name the sweep by its index.
    let bad = format!("{head}{}{}", sweep("[6]", "[0.1]", ""), sweep("[6]", "[-1.0]", ""));
    assert!(error_of(&bad).contains("sweep[1].eta"), "{}", error_of(&bad));
    let bad = format!(
        "{head}{}{}",
        sweep("[6]", "[0.1]", ""),
        sweep("[2]", "[0.1]", "").replace("[1, \"n\"]", "[\"n-2\"]")
    );
    let message = error_of(&bad);
    assert!(message.contains("sweep[1].batch") && message.contains("n-2"), "{message}");
    // The same point with another number of seeds is refused rather than silently merged.
    let bad = format!(
        "{head}{}{}",
        sweep("[6]", "[0.1]", ""),
        sweep("[6]", "[0.1]", "").replace("seeds = 2", "seeds = 3")
    );
    let message = error_of(&bad);
    assert!(message.contains("sweep[1].seeds") && message.contains("2 seeds"), "{message}");
}

#[test]
fn new_statistics_and_rules_take_exactly_their_parameters() {
    let with = |criterion: &str| {
        GOOD.replace(
            "statistic = \"proportion\"\nmetric = \"single_point\"\nop = \"==\"\nvalue = 1\npass = \"all\"",
            criterion,
        )
    };
    let message =
        error_of(&with("statistic = \"selection_exponent\"\nmetric = \"support\"\npass = \"report\""));
    assert!(message.contains("selected_rank"), "{message}");
    let message =
        error_of(&with("statistic = \"mean\"\nmetric = \"support\"\npass = \"report\"\ncontains = 2"));
    assert!(message.contains("only for pass = \"ci_contains\""), "{message}");
    let message = error_of(&with("statistic = \"mean\"\nmetric = \"support\"\npass = \"ci_contains\""));
    assert!(message.contains("contains") && message.contains("a finite number"), "{message}");
    let message =
        error_of(&with("statistic = \"log_log_slope\"\nmetric = \"align_init\"\npass = \"report\""));
    assert!(message.contains(".x") && message.contains("log_log_slope"), "{message}");
    let message =
        error_of(&with("statistic = \"mean\"\nmetric = \"support\"\npass = \"ci_covers_closed_form\""));
    assert!(message.contains("needs a closed form") && message.contains("align_init"), "{message}");
    let good = parse_str(&with("statistic = \"selection_exponent\"\nmetric = \"selected_rank\"\npass = \"ci_contains\"\ncontains = 2")).unwrap();
    assert_eq!(good.criteria[0].pass, PassRule::CiContains(2.0));
}

#[test]
fn errors_name_the_file_the_key_the_value_and_what_is_allowed() {
    let cases = [
        (GOOD.replace("seeds = 2", "seeds = 2\nsedes = 3"), "unknown field `sedes`"),
        (GOOD.replace("[0.1]", "[-0.1]"), "invalid sweep.eta = -0.1"),
        (
            GOOD.replace("\"n/2\"", "\"m/2\""),
            "sweep.batch[2]: invalid value: string \"m/2\", expected a batch size",
        ),
        (GOOD.replace("[1, ", "[0, "), "invalid sweep.batch = 0"),
        (
            GOOD.replace("\"relu\"", "\"tanh\""),
            "sweep.activation[0]: unknown variant `tanh`, expected `linear` or `relu`",
        ),
        (GOOD.replace("single_point", "singel_point"), "criterion[0].metric: unknown variant `singel_point`"),
        (GOOD.replace("pass = \"all\"", "pass = \"ci_above\""), "criterion \"c\".threshold = (missing)"),
        (GOOD.replace("id = \"t\"", "id = \"u\""), "must equal the file name"),
        (GOOD.replace("kind = \"claim\"", "kind = \"claims\""), "kind: unknown variant `claims`"),
        (GOOD.replace("op = \"==\"", "op = \"=>\""), "criterion[0].op: unknown variant `=>`"),
        (
            GOOD.replace("metric = \"support\"", "metric = \"nonsense\""),
            "figure[0].metric: unknown variant `nonsense`",
        ),
        (
            GOOD.replace("type = \"final_vs_batch\"", "type = \"final_vs\"\nx = \"bogus\""),
            "figure[0].x: unknown variant `bogus`, expected one of `batch`, `n`, `eta`",
        ),
        (
            GOOD.replace("type = \"final_vs_batch\"", "type = \"bars\""),
            "figure[0].type: unknown variant `bars`",
        ),
        (
            GOOD.replace("eta = [0.1]", "eta = [0.1]\nschedule = []"),
            "invalid sweep.schedule = []: a non-empty list",
        ),
        (GOOD.replace("n = [6]", "n = [6]\nd = []"), "invalid sweep.d = []"),
        (GOOD.replace("n = [4]", "n = [0]"), "invalid quick.n = 0"),
        (
            GOOD.replace("batch = [1, ", "batch = [\"n/100\", "),
            "invalid sweep.batch = n/100: n/100 rounds down to 0 at n = 6",
        ),
        (
            GOOD.replace("batch = [1, ", "batch = [-1, "),
            "sweep.batch[0]: invalid value: integer `-1`, expected a batch size",
        ),
        (
            GOOD.replace("id = \"f\"", "id = \"../../x\""),
            "invalid figure \"../../x\".id = ../../x: letters, digits",
        ),
        (
            GOOD.replace("metric = \"support\"\ntitle", "metric = \"hessian_trace_limit\"\ntype2 = 1\ntitle"),
            "unknown field `type2`",
        ),
        (
            GOOD.replace(
                "type = \"final_vs_batch\"\nmetric = \"support\"",
                "type = \"lines_over_steps\"\nmetric = \"sparse_step\"",
            ),
            "invalid figure \"f\".metric = sparse_step: one of \"support\"",
        ),
        (
            GOOD.replace("type = \"final_vs_batch\"\nmetric = \"support\"", "type = \"heatmap\""),
            "invalid sweep.record_coordinates = false",
        ),
        (
            GOOD.replace("pass = \"all\"", "pass = \"all\"\nthreshold = 0.5"),
            "criterion \"c\".threshold = 0.5: only for pass",
        ),
        (
            GOOD.replace("statistic = \"proportion\"", "statistic = \"mean\""),
            "criterion \"c\".op = ==: only for statistic = \"proportion\"",
        ),
        (GOOD.replace("max_steps = 1000", "max_steps = 1000\nseeds = 3"), "duplicate key"),
        (
            GOOD.replace("pass = \"all\"", "pass = \"all\"\npairs = \"converged\""),
            "criterion \"c\".pairs = converged: only for statistic = \"paired_difference\"",
        ),
        (GOOD.replace("pass = \"all\"", "pass = \"all\"\npairs = \"some\""), "unknown variant `some`"),
        (
            GOOD.replace("pass = \"all\"", "pass = \"all\"\nbaseline = \"full\""),
            "criterion \"c\".baseline = full: only for statistic = \"paired_difference\"",
        ),
    ];
    for (text, needle) in cases {
        let error = error_of(&text);
        assert!(error.starts_with("repro/t.toml: "), "{error}");
        assert!(error.contains(needle), "expected {needle:?} in: {error}");
        assert!(!error.contains("Relative(") && !error.contains("Fixed("), "Rust debug text in: {error}");
    }
}

#[test]
fn parse_errors_give_the_line_and_quote_little_of_a_huge_line() {
    // An unterminated string a megabyte long.
    let huge = format!("{GOOD}\nnotes = \"{}", "x".repeat(1_000_000));
    let error = error_of(&huge);
    assert!(error.len() < 400, "{} bytes", error.len());
    let error = error_of(&GOOD.replace("\"relu\"", "\"tanh\""));
    assert!(error.contains("line 7"), "{error}");
}

#[test]
fn single_run_figures_need_coordinates_and_a_run_that_exists() {
    let heatmap = GOOD
        .replace("max_steps = 1000", "max_steps = 1000\nrecord_coordinates = true")
        .replace("type = \"final_vs_batch\"\nmetric = \"support\"", "type = \"heatmap\"\nrun = 1");
    assert_eq!(parse_str(&heatmap).unwrap().figures[0].run, 1);
    let error = error_of(&heatmap.replace("run = 1", "run = 99"));
    assert!(
        error.contains("invalid figure \"f\".run = 99: a run index below the number of seeds (2"),
        "{error}"
    );
    let quick_seeds = heatmap.replace("n = [4]", "n = [4]\nseeds = 1");
    assert!(error_of(&quick_seeds).contains("figure \"f\".run = 1"));
}

#[test]
fn every_committed_spec_parses_and_plans() {
    let folder = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../repro");
    let specs = load_specs(&folder, &[]).unwrap_or_else(|e| panic!("{e}"));
    assert!(specs.len() >= 10, "{} specs", specs.len());
    for quick in [false, true] {
        let plan = Plan::new(specs.clone(), quick).unwrap();
        let keys: std::collections::HashSet<&str> = plan.jobs.iter().map(|j| j.key.as_str()).collect();
        assert_eq!(keys.len(), plan.jobs.len(), "a run is listed twice");
        let total: u64 = plan.experiments.iter().flat_map(|e| &e.points).map(|p| p.seeds).sum();
        assert!(plan.jobs.len() as u64 <= total);
    }
}

#[test]
fn a_spec_folder_refuses_look_alike_files_duplicate_figures_and_unknown_ids() {
    let folder = std::env::temp_dir().join(format!("aesgd-specs-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&folder);
    std::fs::create_dir_all(&folder).unwrap();
    std::fs::write(folder.join("t.toml"), GOOD).unwrap();
    assert_eq!(load_specs(&folder, &[]).unwrap().len(), 1);
    let unknown = load_specs(&folder, &["nope".into()]).unwrap_err().to_string();
    assert_eq!(unknown, "unknown experiment nope: known experiments are t");
    std::fs::write(folder.join("u.toml"), GOOD.replace("id = \"t\"", "id = \"u\"")).unwrap();
    let duplicate = load_specs(&folder, &[]).unwrap_err().to_string();
    assert!(
        duplicate.contains("u.toml: figure id f is already used in") && duplicate.contains("t.toml"),
        "{duplicate}"
    );
    std::fs::remove_file(folder.join("u.toml")).unwrap();
    std::fs::write(folder.join("v.TOML"), GOOD).unwrap();
    let shouting = load_specs(&folder, &[]).unwrap_err().to_string();
    assert!(shouting.contains("v.TOML") && shouting.contains("lower-case .toml"), "{shouting}");
    std::fs::remove_dir_all(&folder).unwrap();
    assert!(load_specs(&folder, &[]).unwrap_err().to_string().contains("cannot read the spec folder"));
}

#[test]
fn a_selection_keeps_exactly_the_points_it_names() {
    let text = GOOD
        .replace("eta = [0.1]", "eta = [0.1]\nschedule = [\"random\", \"epoch\"]")
        .replace("pass = \"all\"", "pass = \"all\"\nselect = { schedule = \"epoch\", batch = \"small\" }");
    let spec = parse_str(&text).unwrap();
    let select = spec.criteria[0].select;
    let all = points(&spec, false).unwrap();
    let kept: Vec<(usize, String)> = all
        .iter()
        .filter(|p| select.selects(&p.config))
        .map(|p| (p.config.batch, p.config.schedule.to_string()))
        .collect();
    assert_eq!(all.len(), 8);
    assert_eq!(kept, vec![(1, "epoch".into()), (5, "epoch".into()), (3, "epoch".into())]);
    let message = error_of(&text.replace("schedule = \"epoch\"", "schedule = \"daily\""));
    assert!(message.contains("daily"), "{message}");
}

#[test]
fn a_law_takes_terms_fit_sweeps_and_a_relative_threshold_and_nothing_else() {
    let with = |criterion: &str| {
        GOOD.replace(
            "statistic = \"proportion\"\nmetric = \"single_point\"\nop = \"==\"\nvalue = 1\npass = \"all\"",
            criterion,
        )
    };
    let law = |rest: &str| {
        with(&format!(
            "statistic = \"log_linear_law\"\nmetric = \"sparse_step\"\nselect = {{ batch = \"small\" }}\n{rest}"
        ))
    };
    let cases = [
        (law("fit_sweeps = [0]\npass = \"report\""), vec![".terms", "(missing)", "log_linear_law"]),
        (law("terms = []\nfit_sweeps = [0]\npass = \"report\""), vec![".terms", "at least one of", "n-b"]),
        (
            law("terms = [\"b\", \"b\"]\nfit_sweeps = [0]\npass = \"report\""),
            vec![".terms[1]", "each term once"],
        ),
        (law("terms = [\"nb\"]\nfit_sweeps = [0]\npass = \"report\""), vec!["nb"]),
        (law("terms = [\"b\"]\npass = \"report\""), vec![".fit_sweeps", "(missing)"]),
        (law("terms = [\"b\"]\nfit_sweeps = [1]\npass = \"report\""), vec![".fit_sweeps[0]", "below 1"]),
        (
            law("terms = [\"b\"]\nfit_sweeps = [0, 0]\npass = \"report\""),
            vec![".fit_sweeps[1]", "each sweep once"],
        ),
        (law("terms = [\"b\"]\nfit_sweeps = [0]\npass = \"all\""), vec![".pass", "prediction_within"]),
        (
            law("terms = [\"b\"]\nfit_sweeps = [0]\npass = \"prediction_within\""),
            vec![".threshold", "(missing)"],
        ),
        (
            law("terms = [\"b\"]\nfit_sweeps = [0]\npass = \"prediction_within\"\nthreshold = 0"),
            vec![".threshold", "above 0"],
        ),
        (
            with(
                "statistic = \"mean\"\nmetric = \"sparse_step\"\npass = \"prediction_within\"\nthreshold = 0.1",
            ),
            vec![".pass", "only for statistic = \"log_linear_law\""],
        ),
        (
            with("statistic = \"mean\"\nmetric = \"sparse_step\"\npass = \"report\"\nterms = [\"n\"]"),
            vec![".terms", "only for statistic = \"log_linear_law\""],
        ),
        // b = n is selected, where n - b = 0 has no logarithm: refused before any run.
        (
            law("terms = [\"n-b\"]\nfit_sweeps = [0]\npass = \"report\"")
                .replace("select = { batch = \"small\" }\n", ""),
            vec![".terms", "n-b", "b=6"],
        ),
        // Three mini-batch points cannot fit four coefficients.
        (
            law("terms = [\"n\", \"eta\", \"b\"]\nfit_sweeps = [0]\npass = \"report\""),
            vec![".fit_sweeps", "more than 3 training points", "they have 3"],
        ),
    ];
    for (text, wanted) in cases {
        let message = error_of(&text);
        for w in wanted {
            assert!(message.contains(w), "{w:?} not in: {message}");
        }
    }
    // Judged at held-out points, a law needs one: here the only sweep trains it.
    let judged =
        law("terms = [\"b\", \"n-b\"]\nfit_sweeps = [0]\npass = \"prediction_within\"\nthreshold = 0.15");
    let message = error_of(&judged);
    for w in [".fit_sweeps", "[0]", "prediction_within", "has none", "pass = \"report\""] {
        assert!(message.contains(w), "{w:?} not in: {message}");
    }
    // A second sweep, at another step size (so that no point of it is one of the first's, in
    // the quick runs too), is held out.
    let held_out = "[[sweep]]\nactivation = [\"relu\"]\nn = [8]\nbatch = [3]\neta = [0.2]\nseeds = 2\nmax_steps = 1000\n[quick]";
    let good = parse_str(&judged.replace("[sweep]\n", "[[sweep]]\n").replace("[quick]", held_out)).unwrap();
    assert_eq!(good.criteria[0].pass, PassRule::PredictionWithin(0.15));
    assert!(matches!(
        &good.criteria[0].statistic,
        StatisticRule::LogLinearLaw { terms, fit_sweeps } if terms.len() == 2 && fit_sweeps == &[0]
    ));
}

#[test]
fn neurons_are_a_sweep_axis_that_keeps_one_neurons_keys_and_records_no_trajectory() {
    let text = GOOD.replace("eta = [0.1]", "eta = [0.1]\nneurons = [1, 3]");
    let spec = parse_str(&text).unwrap();
    let points = points(&spec, false).unwrap();
    let axes: Vec<(usize, usize)> = points.iter().map(|p| (p.config.batch, p.config.neurons)).collect();
    assert_eq!(axes, vec![(1, 1), (1, 3), (5, 1), (5, 3), (3, 1), (3, 3), (6, 1), (6, 3)]);
    // One neuron's points are those of the spec without the axis, cache keys included.
    let plain = points_of(GOOD);
    let ones: Vec<String> = points.iter().filter(|p| p.config.neurons == 1).map(|p| p.key(0)).collect();
    assert_eq!(ones, plain.iter().map(|p| p.key(0)).collect::<Vec<_>>());
    assert!(
        points
            .iter()
            .filter(|p| p.config.neurons == 3)
            .all(|p| p.recording == aesgd_experiment::Recording::Off)
    );
    // A selection by d and by neurons.
    let select: aesgd_experiment::spec::Select = toml::from_str("neurons = 3").unwrap();
    assert!(points.iter().all(|p| select.selects(&p.config) == (p.config.neurons == 3)));
    // Bad counts, and coordinates that several neurons do not record.
    let e = error_of(&GOOD.replace("eta = [0.1]", "eta = [0.1]\nneurons = [7]"));
    assert!(e.contains("sweep.neurons") && e.contains("7") && e.contains("1..=6"), "{e}");
    let e = error_of(&GOOD.replace("eta = [0.1]", "eta = [0.1]\nneurons = []"));
    assert!(e.contains("sweep.neurons"), "{e}");
    let e = error_of(&GOOD.replace("eta = [0.1]", "eta = [0.1]\nneurons = [2]\nrecord_coordinates = true"));
    assert!(e.contains("record_coordinates") && e.contains("several neurons"), "{e}");
    // A final_coordinates figure is refused when it could only meet one-neuron points.
    let figure = |sweep: &str, select: &str| {
        GOOD.replace("eta = [0.1]", &format!("eta = [0.1]\n{sweep}")).replace(
            "type = \"final_vs_batch\"\nmetric = \"support\"",
            &format!("type = \"final_coordinates\"\n{select}"),
        )
    };
    assert!(parse_str(&figure("neurons = [1, 2]", "")).is_ok());
    let e = error_of(&figure("", ""));
    assert!(e.contains("invalid sweep.neurons = [1]") && e.contains("above 1"), "{e}");
    let e = error_of(&figure("neurons = [1, 2]", "select = { neurons = 1 }"));
    assert!(e.contains("invalid figure \"f\".select.neurons = 1"), "{e}");
}

fn points_of(text: &str) -> Vec<aesgd_experiment::plan::Point> {
    points(&parse_str(text).unwrap(), false).unwrap()
}

#[test]
fn full_batch_points_can_have_their_own_budget_and_still_pair() {
    let text = GOOD.replace("max_steps = 1000", "max_steps = 1000\nmax_steps_full_batch = 300");
    let spec = parse_str(&text).unwrap();
    let budgets: Vec<(usize, u64)> =
        points(&spec, false).unwrap().iter().map(|p| (p.config.batch, p.config.max_steps)).collect();
    assert_eq!(budgets, vec![(1, 1000), (5, 1000), (3, 1000), (6, 300)]);
    // The mini-batch points keep their keys; every one still pairs with the full-batch point.
    let (plain, split) = (points_of(GOOD), points(&spec, false).unwrap());
    assert_eq!(plain[0].key(0), split[0].key(0));
    assert_ne!(plain[3].key(0), split[3].key(0));
    for i in 0..3 {
        assert_eq!(aesgd_experiment::verdict::baseline_of(&split, i), Some(3));
    }
    // Where two sweeps hold the full-batch point with different budgets, each mini-batch point
    // pairs with its own sweep's.
    let two = GOOD.replace("[sweep]", "[[sweep]]").replace(
        "batch = [1, \"n-1\", \"n/2\", \"n\"]\neta = [0.1]\nseeds = 2\nmax_steps = 1000",
        "batch = [1, \"n\"]\neta = [0.1]\nseeds = 2\nmax_steps = 1000\nmax_steps_full_batch = 300\n[[sweep]]\nactivation = [\"relu\"]\nn = [6]\nbatch = [2, \"n\"]\neta = [0.1]\nseeds = 2\nmax_steps = 1000\nmax_steps_full_batch = 500",
    );
    let both = points(&parse_str(&two).unwrap(), false).unwrap();
    let budget_of_partner = |batch: usize| {
        let i = both.iter().position(|p| p.config.batch == batch).unwrap();
        both[aesgd_experiment::verdict::baseline_of(&both, i).unwrap()].config.max_steps
    };
    assert_eq!((budget_of_partner(1), budget_of_partner(2)), (300, 500));
    // Quick's budget overrides both.
    let text = text.replace("[quick]\nn = [4]", "[quick]\nn = [4]\nmax_steps = 50");
    let quick = points(&parse_str(&text).unwrap(), true).unwrap();
    assert!(quick.iter().all(|p| p.config.max_steps == 50));
    // A bad budget names its own key.
    let e = error_of(&GOOD.replace("max_steps = 1000", "max_steps = 1000\nmax_steps_full_batch = 0"));
    assert!(e.contains("sweep.max_steps_full_batch") && e.contains("at least 1"), "{e}");
}
