//! The pipeline end to end on small specs: plan, run into a file cache, read back, judge.

use aesgd_core::run::Interrupt;
use aesgd_experiment::executor::{run_jobs, thread_pool};
use aesgd_experiment::plan::Plan;
use aesgd_experiment::spec::parse;
use aesgd_experiment::verdict::judge_experiment;
use aesgd_experiment::{ExperimentError, FileCache, Lookup, RunCache, Spec};
use std::path::{Path, PathBuf};

fn spec(id: &str, sweep: &str, criteria: &str) -> Spec {
    let text = format!(
        "id = \"{id}\"\nkind = \"claim\"\ntitle = \"t\"\nstatement = \"s\"\n[sweep]\n{sweep}\n{criteria}"
    );
    parse(&PathBuf::from(format!("repro/{id}.toml")), &text).unwrap_or_else(|e| panic!("{e}"))
}

fn folder(name: &str) -> PathBuf {
    let f = std::env::temp_dir().join(format!("aesgd-pipeline-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&f);
    f
}

fn run_all(plan: &Plan, cache: &dyn RunCache) {
    let (todo, _) = plan.missing_runs(cache);
    run_jobs(&thread_pool(2).unwrap(), plan, &todo, cache, &|_| {}, &Interrupt::new()).unwrap();
}

const SMALL: &str =
    "activation = [\"relu\"]\nn = [4]\nbatch = [1, \"n\"]\neta = [0.1]\nseeds = 3\nmax_steps = 100000";

#[test]
fn runs_that_diverge_or_overflow_are_cached_and_read_back() {
    // eta = 1e300 diverges at once; init_scale = 1e-300 starts below the normal range.
    for sweep in [SMALL.replace("[0.1]", "[1e300]"), format!("{SMALL}\ninit_scale = 1e-300")] {
        let out = folder("diverged");
        let cache = FileCache::in_output(&out);
        let plan = Plan::new(vec![spec("d", &sweep, "")], false).unwrap();
        run_all(&plan, &cache);
        // Every run is in the cache and reads back as written: nothing is "missing".
        let records = plan.records(&cache).unwrap_or_else(|e| panic!("{sweep}: {e}"));
        for r in records.iter().flatten().flatten() {
            let Lookup::Found(back) = cache.lookup(&r.key) else { panic!("{} unreadable", r.key) };
            assert_eq!(serde_json::to_string(&*back).unwrap(), serde_json::to_string(r).unwrap());
        }
        let (todo, unusable) = plan.missing_runs(&cache);
        assert_eq!((todo.len(), unusable), (0, 0), "a rerun would recompute runs");
        std::fs::remove_dir_all(&out).unwrap();
    }
}

#[test]
fn a_diverged_run_is_never_averaged_and_its_criterion_says_why() {
    let out = folder("judged");
    let cache = FileCache::in_output(&out);
    let criteria = "[[criterion]]\nname = \"m\"\nstatistic = \"mean\"\nmetric = \"align_init\"\npass = \"ci_within\"\nwithin = [0, 1]\n[[criterion]]\nname = \"p\"\nstatistic = \"proportion\"\nmetric = \"single_point\"\nop = \"==\"\nvalue = 1\npass = \"all\"";
    let plan = Plan::new(vec![spec("j", &SMALL.replace("[0.1]", "[1e300]"), criteria)], false).unwrap();
    run_all(&plan, &cache);
    let records = plan.records(&cache).unwrap();
    for r in records[0].iter().flatten() {
        assert_eq!(r.outcome, aesgd_experiment::vocabulary::OutcomeKind::Diverged);
        // The first step that moves the iterate takes it past the bound.
        assert_eq!(r.outcome_step, Some(r.steps_run));
        assert!(r.steps_run >= 1 && r.steps_run <= 20, "{}", r.steps_run);
    }
    let claim = judge_experiment(&plan.experiments[0], &records[0]);
    assert_eq!(claim.pass, Some(false));
    for r in claim.results.iter().filter(|r| r.criterion == "m") {
        assert_eq!(r.undefined.as_deref(), Some("3 of 3 runs have no align_init: 3 diverged"));
    }
    for r in claim.results.iter().filter(|r| r.criterion == "p") {
        assert_eq!(r.estimate.as_ref().map(|i| i.estimate), Some(0.0));
    }
    std::fs::remove_dir_all(&out).unwrap();
}

#[test]
fn fresh_clears_only_the_selected_runs() {
    let out = folder("fresh");
    let cache = FileCache::in_output(&out);
    let both = vec![spec("a", SMALL, ""), spec("b", &SMALL.replace("[0.1]", "[0.2]"), "")];
    let plan = Plan::new(both.clone(), false).unwrap();
    run_all(&plan, &cache);
    assert_eq!(cache.keys().unwrap().len(), 12);
    let only_b = Plan::new(vec![both[1].clone()], false).unwrap();
    assert_eq!(only_b.clear_runs(&cache).unwrap(), 6);
    let (todo, _) = plan.missing_runs(&cache);
    assert_eq!(todo.len(), 6);
    assert!(todo.iter().all(|j| j.experiment == 1), "runs of a were cleared");
    let mut sharded = plan.clone();
    sharded.keep_shard(1, 2);
    let kept = sharded.jobs.len();
    run_all(&plan, &cache);
    assert_eq!(sharded.clear_runs(&cache).unwrap(), kept);
    assert_eq!(cache.keys().unwrap().len(), 12 - kept);
    std::fs::remove_dir_all(&out).unwrap();
}

#[test]
fn edited_cache_entries_are_rerun_not_trusted() {
    let out = folder("edited");
    let cache = FileCache::in_output(&out);
    let criterion =
        "[[criterion]]\nname = \"c\"\nstatistic = \"mean\"\nmetric = \"support\"\npass = \"report\"";
    let plan = Plan::new(vec![spec("e", SMALL, criterion)], false).unwrap();
    run_all(&plan, &cache);
    let judged = |cache: &FileCache| judge_experiment(&plan.experiments[0], &plan.records(cache).unwrap()[0]);
    let before = judged(&cache);
    // Edit one full-batch run's support, as a hand would: valid JSON, wrong content.
    let key = &plan.experiments[0].points[1].key(0);
    let path = cache.folder().join(format!("{key}.json"));
    let text = std::fs::read_to_string(&path).unwrap();
    let support = plan.records(&cache).unwrap()[0][1][0].support;
    let edited = text.replace(&format!("\\\"support\\\":{support},"), "\\\"support\\\":1,");
    assert_ne!(edited, text);
    std::fs::write(&path, edited).unwrap();
    let (todo, unusable) = plan.missing_runs(&cache);
    assert_eq!((todo.len(), unusable), (1, 1));
    assert!(matches!(plan.records(&cache), Err(ExperimentError::MissingRun { .. })));
    run_all(&plan, &cache);
    assert_eq!(judged(&cache), before);
    std::fs::remove_dir_all(&out).unwrap();
}

#[test]
fn huge_sweeps_are_refused_before_anything_is_expanded() {
    let started = std::time::Instant::now();
    let text = format!(
        "id = \"h\"\nkind = \"claim\"\ntitle = \"t\"\nstatement = \"s\"\n[sweep]\n{}",
        SMALL.replace("seeds = 3", "seeds = 10000000")
    );
    let error = parse(Path::new("repro/h.toml"), &text).unwrap_err().to_string();
    assert!(error.starts_with("repro/h.toml: 2 sweep points x 10000000 seeds (sweep.seeds) is 20000000 runs, more than the limit of 1000000"), "{error}");
    assert!(started.elapsed().as_secs() < 5);
}

#[test]
fn selection_observations_agree_with_the_recorded_rank_and_fit_an_exponent() {
    // Small-batch runs select one point; the observation rebuilt from the core's initial
    // coordinates must rank the chosen weight where the run's own metrics ranked it.
    let sweep = "activation = [\"linear\", \"relu\"]\nn = [10]\nbatch = [1]\neta = [0.1]\nseeds = 40\nmax_steps = 10000000";
    let criteria = "[[criterion]]\nname = \"alpha\"\nstatistic = \"selection_exponent\"\nmetric = \"selected_rank\"\npass = \"report\"\n[[criterion]]\nname = \"share\"\nstatistic = \"selection_exponent\"\nmetric = \"selected_rank\"\npass = \"ci_contains\"\ncontains = 1000";
    let out = folder("selection");
    let cache = FileCache::in_output(&out);
    let plan = Plan::new(vec![spec("s", sweep, criteria)], false).unwrap();
    run_all(&plan, &cache);
    let records = plan.records(&cache).unwrap();
    let experiment = &plan.experiments[0];
    for (point, runs) in experiment.points.iter().zip(&records[0]) {
        for r in runs {
            let o = aesgd_experiment::selection::observation(point, r).unwrap();
            let chosen = o.weights[o.chosen];
            let rank = 1 + o.weights.iter().filter(|&&w| w > chosen).count();
            assert_eq!(Some(rank), r.selected_rank, "run {}", r.run_index);
        }
    }
    let claim = judge_experiment(experiment, &records[0]);
    for r in claim.results.iter().filter(|r| r.criterion == "alpha") {
        let i = r.estimate.as_ref().unwrap_or_else(|| panic!("{r:?}"));
        assert!(i.lower < i.estimate && i.estimate < i.upper && i.estimate > 0.0, "{i:?}");
        assert_eq!(r.pass, None);
    }
    // No law with alpha = 1000 (the largest always wins, in effect) fits 40 runs of which some
    // chose another point.
    for r in claim.results.iter().filter(|r| r.criterion == "share") {
        assert!(r.estimate.is_some(), "the statistic is defined: {r:?}");
        assert_eq!(r.pass, Some(false), "{r:?}");
        assert_eq!(r.rule, "95% interval of the selection exponent alpha contains 1000");
    }
    std::fs::remove_dir_all(&out).unwrap();
}

/// A cache in memory that keeps records without their times and refuses to store more than
/// `allowed` of them.
struct CountingCache {
    records: std::sync::Mutex<std::collections::BTreeMap<String, String>>,
    allowed: usize,
}

impl RunCache for CountingCache {
    fn lookup(&self, _key: &str) -> Lookup {
        Lookup::Missing
    }
    fn store(&self, record: &aesgd_experiment::Record) -> Result<(), ExperimentError> {
        let mut records = self.records.lock().unwrap();
        if records.len() >= self.allowed {
            return Err(ExperimentError::io("write", "memory", std::io::Error::other("full")));
        }
        let mut value = serde_json::to_value(record).unwrap();
        value.as_object_mut().unwrap().remove("wall_seconds");
        records.insert(record.key.clone(), value.to_string());
        Ok(())
    }
    fn remove(&self, _key: &str) -> Result<bool, ExperimentError> {
        Ok(false)
    }
}

#[test]
fn the_costliest_first_order_changes_no_record_and_a_failing_store_is_the_error_returned() {
    // Points of very different cost (b = n - 1 is far the longest), so the order of work is
    // not the plan's; the records are those of one thread taking the plan in order.
    let sweep = "activation = [\"relu\", \"linear\"]\nn = [8]\nbatch = [1, 4, \"n-1\", \"n\"]\neta = [0.1]\nseeds = 6\nmax_steps = 10000000";
    let plan = Plan::new(vec![spec("o", sweep, "")], false).unwrap();
    let all: Vec<&aesgd_experiment::plan::Job> = plan.jobs.iter().collect();
    let stored = |threads: usize| {
        let cache = CountingCache { records: Default::default(), allowed: usize::MAX };
        run_jobs(&thread_pool(threads).unwrap(), &plan, &all, &cache, &|_| {}, &Interrupt::new()).unwrap();
        cache.records.into_inner().unwrap()
    };
    let (one, two) = (stored(1), stored(2));
    assert_eq!(one.len(), plan.jobs.len());
    assert_eq!(one, two);
    // A cache that refuses the fifth record: its error comes back, not an interrupt.
    let failing = CountingCache { records: Default::default(), allowed: 4 };
    let error = run_jobs(&thread_pool(2).unwrap(), &plan, &all, &failing, &|_| {}, &Interrupt::new())
        .expect_err("the store fails");
    assert!(error.to_string().contains("full"), "{error}");
    assert!(failing.records.into_inner().unwrap().len() == 4);
}
