//! The Markdown outputs: `claims.md` (every criterion at every sweep point), `REPORT.md` (the
//! paper's words, notes, tables and figures, claim by claim), and the terminal summary.

use crate::provenance::Provenance;
use crate::text::{estimate_text, interval_text, point_estimate_text, seeds_text, short, verdict_word};
use aesgd_experiment::verdict::record_group_label;
use aesgd_experiment::vocabulary::OutcomeKind;
use aesgd_experiment::{ClaimResult, Record};
use std::fmt::Write as _;

/// A one-line-per-experiment table for the terminal.
pub fn summary_table(claims: &[ClaimResult]) -> String {
    let mut out = String::new();
    for c in claims {
        let judged = c.results.iter().filter(|r| r.pass.is_some()).count();
        let passed = c.results.iter().filter(|r| r.pass == Some(true)).count();
        let _ = writeln!(
            out,
            "{:>9}  {:<34} {passed}/{judged} criteria  {}",
            verdict_word(c.pass),
            c.id,
            c.title
        );
    }
    out
}

/// `claims.md`.
pub fn claims_md(claims: &[ClaimResult], quick: bool) -> String {
    let mut md = format!(
        "# Claims ({} run)\n\n| id | verdict | criterion | sweep point | statistic | estimate [95% CI] | seeds | rule |\n|---|---|---|---|---|---|---|---|\n",
        if quick { "quick" } else { "full" }
    );
    for c in claims {
        for r in &c.results {
            let _ = writeln!(
                md,
                "| {} | {} | {} | {} | {} of {} | {} | {} | {} |",
                c.id,
                verdict_word(r.pass),
                r.criterion,
                r.group,
                r.statistic,
                r.metric,
                estimate_text(r),
                seeds_text(r),
                r.rule
            );
        }
    }
    md
}

/// The most run indices one row of the unfinished-runs table lists.
const LISTED_RUNS: usize = 8;

/// The runs of an experiment that did not converge, one row per sweep point and outcome, or
/// nothing when every run converged. Degenerate runs are left out of every estimate (the
/// criteria say how many); this table says which they are and at which step they ended.
pub fn unfinished_md(records: &[Record]) -> String {
    let mut rows: Vec<(String, OutcomeKind, Vec<String>)> = Vec::new();
    for r in records.iter().filter(|r| r.outcome != OutcomeKind::Converged) {
        let group = record_group_label(r);
        let at = format!("run {} at step {}", r.run_index, r.outcome_step.unwrap_or(r.steps_run));
        match rows.iter_mut().find(|(g, o, _)| *g == group && *o == r.outcome) {
            Some(row) => row.2.push(at),
            None => rows.push((group, r.outcome, vec![at])),
        }
    }
    if rows.is_empty() {
        return String::new();
    }
    let total: usize = rows.iter().map(|r| r.2.len()).sum();
    let mut md = format!(
        "Runs that did not converge: {total} of {}.\n\n| sweep point | outcome | runs |\n|---|---|---|\n",
        records.len()
    );
    for (group, outcome, runs) in rows {
        let mut listed = runs.iter().take(LISTED_RUNS).cloned().collect::<Vec<_>>().join(", ");
        if runs.len() > LISTED_RUNS {
            listed.push_str(&format!(" and {} more", runs.len() - LISTED_RUNS));
        }
        let _ = writeln!(md, "| {group} | {outcome} | {} ({listed}) |", runs.len());
    }
    md.push('\n');
    md
}

/// One table for each criterion of a claim, across every sweep point it is judged at: the
/// criterion's name, statistic and rule above, then a row for each grid point with the
/// estimate, its 95% interval, the number of seeds and the verdict.
pub fn criterion_tables(c: &ClaimResult) -> String {
    let mut md = String::new();
    let mut names: Vec<&str> = Vec::new();
    for r in &c.results {
        if !names.contains(&r.criterion.as_str()) {
            names.push(&r.criterion);
        }
    }
    for name in names {
        let rows: Vec<_> = c.results.iter().filter(|r| r.criterion == name).collect();
        let judged = rows.iter().filter(|r| r.pass.is_some()).count();
        let passed = rows.iter().filter(|r| r.pass == Some(true)).count();
        let first = rows[0];
        let tally = if judged > 0 {
            format!("passes at {passed} of {judged} sweep points")
        } else {
            format!("reported at {} sweep points", rows.len())
        };
        // A closed form, where the metric has one, stands beside the estimate.
        let with_form = rows.iter().any(|r| r.closed_form.is_some());
        let (form_head, form_rule) = if with_form { (" closed form |", "---|") } else { ("", "") };
        // A law's prediction stands beside each held-out point's measured mean.
        let with_law = rows.iter().any(|r| r.predicted.is_some());
        let (law_head, law_rule) =
            if with_law { (" law's prediction | relative error |", "---|---|") } else { ("", "") };
        let _ = writeln!(
            md,
            "**{name}**: {} of {}; rule: {}; {tally}.\n\n| sweep point | estimate | 95% interval |{form_head}{law_head} seeds | verdict |\n|---|---|---|{form_rule}{law_rule}---|---|",
            first.statistic, first.metric, first.rule
        );
        for r in rows {
            let form = match (with_form, r.closed_form) {
                (false, _) => String::new(),
                (true, Some(v)) => format!(" {} |", short(v)),
                (true, None) => " - |".into(),
            };
            let law = match (with_law, r.predicted, &r.estimate) {
                (false, _, _) => String::new(),
                (true, Some(p), Some(m)) => {
                    format!(" {} | {:+.1}% |", short(p), 100.0 * (p - m.estimate) / m.estimate.abs())
                }
                (true, Some(p), None) => format!(" {} | - |", short(p)),
                (true, None, _) => " - | - |".into(),
            };
            let _ = writeln!(
                md,
                "| {} | {} | {} |{form}{law} {} | {} |",
                r.group,
                point_estimate_text(r),
                interval_text(r),
                seeds_text(r),
                verdict_word(r.pass)
            );
        }
        md.push('\n');
    }
    md
}

/// `REPORT.md`; `records` are every experiment's runs by experiment id.
pub fn report_md(
    claims: &[ClaimResult],
    records: &[(String, Vec<Record>)],
    provenance: &Provenance,
) -> String {
    let mut md = String::from("# aesgd reproduction report\n\n");
    let _ = writeln!(
        md,
        "Ghosh, Frei, Ha and Yu, *The Effect of SGD Batch Size on Autoencoder Learning: Sparsity, Sharpness, and Feature Learning* (JMLR 2025).\n\nMode: **{}**; code revision `{}`; {} runs. Every estimate is given with its 95% confidence interval (Wilson for proportions, Student-t for means and seed-paired differences, a stratified bootstrap for log-log slopes and the coefficients of fitted laws, the profile likelihood for the selection exponent) and its number of seeds. Regenerate with `cargo xtask repro{}`.\n",
        provenance.mode,
        provenance.git_revision,
        provenance.runs,
        if provenance.mode == "quick" { " --quick" } else { "" }
    );
    md.push_str("## Summary\n\n| experiment | kind | verdict |\n|---|---|---|\n");
    for c in claims {
        let _ = writeln!(md, "| [{}](#{}) | {} | {} |", c.title, c.id, c.kind, verdict_word(c.pass));
    }
    for c in claims {
        let _ =
            writeln!(md, "\n<a id=\"{}\"></a>\n## {}: {} ({})\n", c.id, c.id, c.title, verdict_word(c.pass));
        let _ = writeln!(md, "> {}\n", c.statement.trim().replace('\n', "\n> "));
        if !c.notes.trim().is_empty() {
            let _ = writeln!(md, "{}\n", c.notes.trim());
        }
        md.push_str(&criterion_tables(c));
        if let Some((_, runs)) = records.iter().find(|(id, _)| *id == c.id) {
            md.push_str(&unfinished_md(runs));
        }
        for f in &c.figures {
            let _ = writeln!(md, "![{f}](figures/{f})\n");
        }
    }
    md
}

#[cfg(test)]
mod tests {
    use super::*;
    use aesgd_experiment::CriterionResult;

    fn claim() -> ClaimResult {
        let defined = CriterionResult {
            criterion: "ends at one point".into(),
            group: "relu, n=4, d=4, b=2, eta=0.1, random, basis".into(),
            statistic: "proportion".into(),
            metric: "single_point".into(),
            estimate: Some(aesgd_stats::proportion_interval(8, 8, 0.95).unwrap()),
            undefined: None,
            left_out: None,
            rule: "every run has single_point == 1".into(),
            closed_form: None,
            predicted: None,
            pass: Some(true),
        };
        let undefined = CriterionResult {
            criterion: "rank".into(),
            estimate: None,
            undefined: Some("3 of 8 runs have no selected_rank".into()),
            statistic: "mean".into(),
            metric: "selected_rank".into(),
            rule: "selected_rank: reported, no verdict".into(),
            pass: None,
            ..defined.clone()
        };
        ClaimResult {
            id: "claim-x".into(),
            kind: "claim".into(),
            title: "A claim".into(),
            statement: "Line one.\nLine two.".into(),
            notes: String::new(),
            results: vec![defined, undefined],
            pass: Some(true),
            figures: vec!["f.svg".into()],
        }
    }

    #[test]
    fn runs_that_did_not_converge_are_listed_with_their_step() {
        let config = aesgd_core::RunConfig { n: 4, d: 4, batch: 2, max_steps: 3000, ..Default::default() };
        let run = |eta: f64, k: u64| {
            aesgd_experiment::executor::run_one(
                &aesgd_core::RunConfig { eta, ..config.clone() },
                aesgd_experiment::Recording::Off,
                0,
                k,
            )
            .unwrap()
        };
        let converged = aesgd_core::RunConfig { max_steps: 10_000_000, ..config.clone() };
        let good =
            aesgd_experiment::executor::run_one(&converged, aesgd_experiment::Recording::Off, 0, 0).unwrap();
        assert_eq!(unfinished_md(std::slice::from_ref(&good)), "");
        let records: Vec<Record> = (0..14).map(|k| run(1e300, k)).chain([run(0.1, 0), good]).collect();
        let md = unfinished_md(&records);
        assert!(md.starts_with("Runs that did not converge: 15 of 16."), "{md}");
        // At eta = 1e300 a run diverges at its first step, unless its neuron is dead from the
        // start (every coordinate negative), which ends it at step 0.
        let count = |o: OutcomeKind| records.iter().filter(|r| r.outcome == o).count();
        let (diverged, dead) = (count(OutcomeKind::Diverged), count(OutcomeKind::StationaryNotMinimum));
        assert_eq!(diverged + dead, 14);
        assert!(diverged > LISTED_RUNS, "{diverged}");
        let group = "| relu, n=4, d=4, b=2, eta=1e300, random, basis";
        assert!(md.contains(&format!("{group} | diverged | {diverged} (run 0 at step 1,")), "{md}");
        assert!(md.contains(&format!(" and {} more) |", diverged - LISTED_RUNS)), "{md}");
        assert!(md.contains(&format!("{group} | stationary_not_minimum | {dead} (")), "{md}");
        assert!(md.contains("| max_steps | 1 (run 0 at step 3000) |"), "{md}");
    }

    #[test]
    fn reports_render_defined_and_undefined_estimates() {
        let provenance = Provenance::new("abc".into(), true, 2, 1.0, 16, 16);
        let md = report_md(&[claim()], &[], &provenance);
        assert!(md.contains("Mode: **quick**; code revision `abc`; 16 runs."), "{md}");
        assert!(md.contains("Regenerate with `cargo xtask repro --quick`"));
        assert!(md.contains("> Line one.\n> Line two."));
        assert!(md.contains("| 1.0000 | [0.6756, 1.0000] | 8 | PASS |"), "{md}");
        assert!(md.contains("proportion of single_point; rule: every run has single_point == 1; passes at 1 of 1 sweep points."), "{md}");
        assert!(md.contains("| undefined (3 of 8 runs have no selected_rank) | - | - | reported |"), "{md}");
        assert!(md.contains("mean of selected_rank; rule: selected_rank: reported, no verdict; reported at 1 sweep points."), "{md}");
        assert!(md.contains("![f.svg](figures/f.svg)"));
        let table = claims_md(&[claim()], false);
        assert!(table.starts_with("# Claims (full run)"));
        assert_eq!(table.lines().filter(|l| l.starts_with("| claim-x |")).count(), 2);
        let summary = summary_table(&[claim()]);
        assert!(summary.contains("PASS  claim-x") && summary.contains("1/1 criteria"), "{summary}");
    }
}
