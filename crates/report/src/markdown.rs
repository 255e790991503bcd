//! The Markdown outputs: `claims.md` (every criterion at every sweep point), `REPORT.md` (the
//! paper's words, notes, tables and figures, claim by claim), and the terminal summary.

use crate::provenance::Provenance;
use crate::text::{estimate_text, seeds_text, verdict_word};
use aesgd_experiment::ClaimResult;
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

/// `REPORT.md`.
pub fn report_md(claims: &[ClaimResult], provenance: &Provenance) -> String {
    let mut md = String::from("# aesgd reproduction report\n\n");
    let _ = writeln!(
        md,
        "Ghosh, Frei, Ha and Yu, *The Effect of SGD Batch Size on Autoencoder Learning: Sparsity, Sharpness, and Feature Learning* (JMLR 2025).\n\nMode: **{}**; code revision `{}`; {} runs. Every estimate is given with its 95% confidence interval (Wilson for proportions, Student-t for means and seed-paired differences) and its number of seeds. Regenerate with `cargo xtask repro{}`.\n",
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
        if !c.results.is_empty() {
            md.push_str("| criterion | sweep point | estimate [95% CI] | seeds | rule | verdict |\n|---|---|---|---|---|---|\n");
            for r in &c.results {
                let _ = writeln!(
                    md,
                    "| {} | {} | {} of {}: {} | {} | {} | {} |",
                    r.criterion,
                    r.group,
                    r.statistic,
                    r.metric,
                    estimate_text(r),
                    seeds_text(r),
                    r.rule,
                    verdict_word(r.pass)
                );
            }
            md.push('\n');
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
            rule: "every run has single_point == 1".into(),
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
    fn reports_render_defined_and_undefined_estimates() {
        let provenance = Provenance::new("abc".into(), true, 2, 1.0, 16, 16);
        let md = report_md(&[claim()], &provenance);
        assert!(md.contains("Mode: **quick**; code revision `abc`; 16 runs."), "{md}");
        assert!(md.contains("Regenerate with `cargo xtask repro --quick`"));
        assert!(md.contains("> Line one.\n> Line two."));
        assert!(md.contains("| proportion of single_point: 1.0000 [0.6756, 1.0000] | 8 | every run has single_point == 1 | PASS |"), "{md}");
        assert!(md.contains("| mean of selected_rank: undefined (3 of 8 runs have no selected_rank) | - | selected_rank: reported, no verdict | reported |"), "{md}");
        assert!(md.contains("![f.svg](figures/f.svg)"));
        let table = claims_md(&[claim()], false);
        assert!(table.starts_with("# Claims (full run)"));
        assert_eq!(table.lines().filter(|l| l.starts_with("| claim-x |")).count(), 2);
        let summary = summary_table(&[claim()]);
        assert!(summary.contains("PASS  claim-x") && summary.contains("1/1 criteria"), "{summary}");
    }
}
