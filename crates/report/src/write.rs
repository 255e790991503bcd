//! Writes a reproduction's output folder: `claims.json`, `claims.md`, `REPORT.md`,
//! `figures/*.svg`, `runs/*.csv` and `run.json`, each atomically.

use crate::claims::ClaimsFile;
use crate::csv::csv;
use crate::error::ReportError;
use crate::markdown::{claims_md, report_md};
use crate::provenance::Provenance;
use aesgd_experiment::atomic::write_atomic;
use aesgd_experiment::{ClaimResult, Record};
use aesgd_figures::{Plot, Style, render};
use std::path::Path;

/// Everything a reproduction reports.
#[derive(Debug, Clone)]
pub struct Outputs<'a> {
    /// Every experiment's verdict, in spec order.
    pub claims: &'a [ClaimResult],
    /// Every figure by id.
    pub figures: &'a [(String, Plot)],
    /// Every experiment's runs by experiment id.
    pub records: &'a [(String, Vec<Record>)],
    /// Where and how it ran.
    pub provenance: &'a Provenance,
}

fn json<T: serde::Serialize>(what: &str, value: &T) -> Result<String, ReportError> {
    serde_json::to_string_pretty(value)
        .map_err(|source| aesgd_experiment::ExperimentError::Json { what: what.into(), source }.into())
}

/// Writes every output file into `out`.
pub fn write_all(out: &Path, outputs: &Outputs<'_>) -> Result<(), ReportError> {
    let quick = outputs.provenance.mode == "quick";
    let file = ClaimsFile { mode: outputs.provenance.mode.into(), claims: outputs.claims.to_vec() };
    write_atomic(&out.join("claims.json"), json("claims.json", &file)?.as_bytes())?;
    write_atomic(&out.join("claims.md"), claims_md(outputs.claims, quick).as_bytes())?;
    write_atomic(&out.join("REPORT.md"), report_md(outputs.claims, outputs.provenance).as_bytes())?;
    let style = Style::default();
    for (id, plot) in outputs.figures {
        let svg = render(plot, &style).map_err(|e| ReportError::figure(id, e.to_string()))?;
        write_atomic(&out.join("figures").join(format!("{id}.svg")), svg.as_bytes())?;
    }
    for (id, runs) in outputs.records {
        write_atomic(&out.join("runs").join(format!("{id}.csv")), csv(runs).as_bytes())?;
    }
    write_atomic(&out.join("run.json"), json("run.json", outputs.provenance)?.as_bytes())?;
    Ok(())
}
