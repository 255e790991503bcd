//! Output files: `claims.json`, `claims.md`, `REPORT.md`, `figures/*.svg`, `runs/*.csv`,
//! `run.json`, and the `--check` comparison. Every file is written atomically.

use super::cache::write_atomic;
use super::record::Record;
use super::spec::Spec;
use super::verdict::{ClaimResult, CriterionResult};
use aesgd_figures::{Plot, Style, render};
use serde::{Deserialize, Serialize};
use std::fmt::Write as _;
use std::path::Path;

/// Where and how a reproduction ran (`run.json`); the only output that varies between runs.
#[derive(Debug, Serialize)]
pub struct Provenance {
    git_revision: String,
    aesgd_version: &'static str,
    threads: usize,
    wall_seconds: f64,
    mode: &'static str,
    runs: usize,
    runs_computed: usize,
    runs_from_cache: usize,
}

impl Provenance {
    /// Collects the provenance of this invocation.
    pub fn collect(quick: bool, threads: usize, wall_seconds: f64, runs: usize, computed: usize) -> Self {
        let git = |args: &[&str]| {
            std::process::Command::new("git")
                .args(args)
                .output()
                .ok()
                .filter(|o| o.status.success())
                .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        };
        let revision = git(&["rev-parse", "HEAD"]).unwrap_or_else(|| "unknown".into());
        // Uncommitted changes to the code make a result unattributable; the committed results
        // themselves (`repro/results`, rewritten by regenerating them) do not count.
        let dirty = git(&["status", "--porcelain", "--", ":/", ":(exclude,top)repro/results"])
            .is_some_and(|s| !s.is_empty());
        Self {
            git_revision: if dirty { format!("{revision}+uncommitted") } else { revision },
            aesgd_version: env!("CARGO_PKG_VERSION"),
            threads,
            wall_seconds,
            mode: if quick { "quick" } else { "full" },
            runs,
            runs_computed: computed,
            runs_from_cache: runs - computed,
        }
    }
}

/// The content of `claims.json`.
#[derive(Debug, Serialize, Deserialize)]
pub struct ClaimsFile {
    /// "quick" or "full".
    pub mode: String,
    /// Every experiment's verdict.
    pub claims: Vec<ClaimResult>,
}

fn verdict_word(pass: Option<bool>) -> &'static str {
    match pass {
        Some(true) => "PASS",
        Some(false) => "FAIL",
        None => "reported",
    }
}

/// The number of seeds behind a criterion's estimate, or "-" when it has none.
fn seeds_text(r: &CriterionResult) -> String {
    r.estimate.as_ref().map_or(String::from("-"), |i| i.n.to_string())
}

fn estimate_text(r: &CriterionResult) -> String {
    match (&r.estimate, &r.undefined) {
        (Some(i), _) => format!("{} [{}, {}]", short(i.estimate), short(i.lower), short(i.upper)),
        (None, Some(why)) => format!("undefined ({why})"),
        (None, None) => "undefined".into(),
    }
}

fn short(x: f64) -> String {
    if x == 0.0 {
        "0".into()
    } else if x.abs() >= 1e4 || x.abs() < 1e-3 {
        format!("{x:.3e}")
    } else {
        format!("{x:.4}")
    }
}

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

fn claims_md(claims: &[ClaimResult], quick: bool) -> String {
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

fn report_md(claims: &[ClaimResult], quick: bool, provenance: &Provenance) -> String {
    let mut md = String::from("# aesgd reproduction report\n\n");
    let _ = writeln!(
        md,
        "Ghosh, Frei, Ha and Yu, *The Effect of SGD Batch Size on Autoencoder Learning: Sparsity, Sharpness, and Feature Learning* (JMLR 2025).\n\nMode: **{}**; code revision `{}`; {} runs. Every estimate is given with its 95% confidence interval (Wilson for proportions, Student-t for means and seed-paired differences) and its number of seeds. Regenerate with `cargo xtask repro{}`.\n",
        provenance.mode,
        provenance.git_revision,
        provenance.runs,
        if quick { " --quick" } else { "" }
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

const CSV_COLUMNS: &str = "seed,run_index,activation,n,d,batch,eta,schedule,data,engine,steps_run,outcome,stationarity,loss_gap,norm,support,linf_ratio,effective_support,align_init,align_gd_limit,selected,selected_rank,sparse_step,limit_support,hessian_trace_limit,hessian_lambda_max_limit,hessian_trace_iterate,init_positive,wall_seconds";

fn csv(records: &[Record]) -> String {
    let opt = |x: Option<f64>| x.map_or(String::new(), |v| format!("{v:?}"));
    let opt_u = |x: Option<usize>| x.map_or(String::new(), |v| v.to_string());
    let mut out = format!("{CSV_COLUMNS}\n");
    for r in records {
        let _ = writeln!(
            out,
            "{},{},{},{},{},{},{:?},{},{},{},{},{},{},{},{:?},{},{:?},{:?},{:?},{},{},{},{},{},{},{},{:?},{},{:?}",
            r.seed,
            r.run_index,
            r.activation,
            r.n,
            r.d,
            r.batch,
            r.eta,
            r.schedule,
            r.data,
            r.engine,
            r.steps_run,
            r.outcome,
            opt(r.stationarity),
            opt(r.loss_gap),
            r.norm,
            r.support,
            r.linf_ratio,
            r.effective_support,
            r.align_init,
            opt(r.align_gd_limit),
            opt_u(r.selected),
            opt_u(r.selected_rank),
            r.sparse_step.map_or(String::new(), |s| s.to_string()),
            opt_u(r.limit_support),
            opt(r.hessian_trace_limit),
            opt(r.hessian_lambda_max_limit),
            r.hessian_trace_iterate,
            r.init_positive,
            r.wall_seconds
        );
    }
    out
}

/// Writes every output file.
pub fn write_all(
    out: &Path,
    quick: bool,
    claims: &[ClaimResult],
    figures: &[(String, Plot)],
    records: &[(String, Vec<Record>)],
    provenance: &Provenance,
) -> Result<(), String> {
    let file = ClaimsFile { mode: if quick { "quick" } else { "full" }.into(), claims: claims.to_vec() };
    let json = serde_json::to_string_pretty(&file).map_err(|e| e.to_string())?;
    write_atomic(&out.join("claims.json"), json.as_bytes())?;
    write_atomic(&out.join("claims.md"), claims_md(claims, quick).as_bytes())?;
    write_atomic(&out.join("REPORT.md"), report_md(claims, quick, provenance).as_bytes())?;
    let style = Style::default();
    for (id, plot) in figures {
        let svg = render(plot, &style).map_err(|e| format!("figure {id}: {e}"))?;
        write_atomic(&out.join("figures").join(format!("{id}.svg")), svg.as_bytes())?;
    }
    for (id, runs) in records {
        write_atomic(&out.join("runs").join(format!("{id}.csv")), csv(runs).as_bytes())?;
    }
    let json = serde_json::to_string_pretty(provenance).map_err(|e| e.to_string())?;
    write_atomic(&out.join("run.json"), json.as_bytes())
}

/// Differences between fresh verdicts and a committed expectation.
pub fn check(expected: &Path, claims: &[ClaimResult], specs: &[&Spec]) -> Result<Vec<String>, String> {
    let text = std::fs::read_to_string(expected)
        .map_err(|e| format!("cannot read {} (copy a trusted claims.json there): {e}", expected.display()))?;
    let file: ClaimsFile = serde_json::from_str(&text).map_err(|e| format!("{}: {e}", expected.display()))?;
    let mut differences = Vec::new();
    for c in claims {
        let Some(old) = file.claims.iter().find(|o| o.id == c.id) else {
            differences.push(format!("{}: not in the expectation", c.id));
            continue;
        };
        if old.pass != c.pass {
            differences.push(format!(
                "{}: verdict {} was {}",
                c.id,
                verdict_word(c.pass),
                verdict_word(old.pass)
            ));
        }
        let spec = specs.iter().find(|s| s.id == c.id);
        for r in &c.results {
            let tolerance = spec
                .and_then(|s| s.criteria.iter().find(|k| k.name == r.criterion))
                .map_or(0.0, |k| k.tolerance);
            let Some(o) = old.results.iter().find(|o| o.criterion == r.criterion && o.group == r.group)
            else {
                differences.push(format!("{}: {} at {} is new", c.id, r.criterion, r.group));
                continue;
            };
            if o.pass != r.pass {
                differences.push(format!(
                    "{}: {} at {}: {} was {}",
                    c.id,
                    r.criterion,
                    r.group,
                    verdict_word(r.pass),
                    verdict_word(o.pass)
                ));
            }
            if tolerance > 0.0
                && let (Some(a), Some(b)) = (&r.estimate, &o.estimate)
                && (a.estimate - b.estimate).abs() > tolerance
            {
                differences.push(format!(
                    "{}: {} at {}: estimate {} moved from {} (tolerance {tolerance})",
                    c.id, r.criterion, r.group, a.estimate, b.estimate
                ));
            }
        }
    }
    Ok(differences)
}
