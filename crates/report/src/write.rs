//! Writes a reproduction's output folder: `claims.json`, `claims.md`, `REPORT.md`,
//! `figures/*.svg`, `runs/*.csv`, `run.json` and `manifest.json`, each atomically.
//!
//! Invariant: an output folder is consistent. Every file in it belongs to the last report
//! written there: figures and CSV files that the report does not produce (left by an earlier
//! `--only` run of other experiments, or by a spec since removed) are deleted, and
//! `manifest.json`, written last, lists the experiments and every file of the report.

use crate::claims::ClaimsFile;
use crate::csv::csv;
use crate::error::ReportError;
use crate::markdown::{claims_md, report_md};
use crate::provenance::Provenance;
use aesgd_experiment::atomic::write_atomic;
use aesgd_experiment::{ClaimResult, Record};
use aesgd_figures::{Plot, Style, render};
use serde::{Deserialize, Serialize};
use std::path::Path;

/// The content of `manifest.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Manifest {
    /// "quick" or "full".
    pub mode: String,
    /// The experiments reported, in order.
    pub experiments: Vec<String>,
    /// Every file of the report, relative to the output folder, sorted.
    pub files: Vec<String>,
}

/// The folders whose every file belongs to the report, with the ending of those files.
const OWNED_FOLDERS: [(&str, &str); 2] = [("figures", ".svg"), ("runs", ".csv")];

/// Deletes the files of the owned folders that `keep` does not list; returns their names.
fn remove_stale(out: &Path, keep: &[String]) -> Result<Vec<String>, ReportError> {
    let mut removed = Vec::new();
    for (folder, ending) in OWNED_FOLDERS {
        let Ok(entries) = std::fs::read_dir(out.join(folder)) else { continue };
        for entry in entries.flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            let relative = format!("{folder}/{name}");
            if name.ends_with(ending) && !keep.contains(&relative) {
                std::fs::remove_file(entry.path()).map_err(|e| {
                    aesgd_experiment::ExperimentError::io("remove the stale file", entry.path(), e)
                })?;
                removed.push(relative);
            }
        }
    }
    removed.sort();
    Ok(removed)
}

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

fn json<T: Serialize>(what: &str, value: &T) -> Result<String, ReportError> {
    serde_json::to_string_pretty(value)
        .map_err(|source| aesgd_experiment::ExperimentError::Json { what: what.into(), source }.into())
}

/// Writes every output file into `out`, removes stale ones, and returns the names of the
/// stale files it removed.
pub fn write_all(out: &Path, outputs: &Outputs<'_>) -> Result<Vec<String>, ReportError> {
    let mut files: Vec<String> =
        ["claims.json", "claims.md", "REPORT.md", "run.json"].iter().map(|f| f.to_string()).collect();
    let quick = outputs.provenance.mode == "quick";
    let file = ClaimsFile { mode: outputs.provenance.mode.into(), claims: outputs.claims.to_vec() };
    write_atomic(&out.join("claims.json"), json("claims.json", &file)?.as_bytes())?;
    write_atomic(&out.join("claims.md"), claims_md(outputs.claims, quick).as_bytes())?;
    write_atomic(
        &out.join("REPORT.md"),
        report_md(outputs.claims, outputs.records, outputs.provenance).as_bytes(),
    )?;
    let style = Style::default();
    for (id, plot) in outputs.figures {
        let svg = render(plot, &style).map_err(|e| ReportError::figure(id, e.to_string()))?;
        write_atomic(&out.join("figures").join(format!("{id}.svg")), svg.as_bytes())?;
        files.push(format!("figures/{id}.svg"));
    }
    for (id, runs) in outputs.records {
        write_atomic(&out.join("runs").join(format!("{id}.csv")), csv(runs).as_bytes())?;
        files.push(format!("runs/{id}.csv"));
    }
    write_atomic(&out.join("run.json"), json("run.json", outputs.provenance)?.as_bytes())?;
    files.sort();
    let removed = remove_stale(out, &files)?;
    let manifest = Manifest {
        mode: outputs.provenance.mode.into(),
        experiments: outputs.records.iter().map(|(id, _)| id.clone()).collect(),
        files,
    };
    write_atomic(&out.join("manifest.json"), json("manifest.json", &manifest)?.as_bytes())?;
    Ok(removed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_report_removes_what_an_earlier_report_of_other_experiments_left() {
        let out = std::env::temp_dir().join(format!("aesgd-write-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&out);
        let provenance = Provenance::new("r".into(), true, 1, 0.0, 0, 0);
        let plot = |id: &str| (id.to_string(), Plot::Bars(aesgd_figures::gallery::bars()));
        let first = [plot("a"), plot("b")];
        let records = [("x".to_string(), Vec::new()), ("y".to_string(), Vec::new())];
        let outputs = Outputs { claims: &[], figures: &first, records: &records, provenance: &provenance };
        assert!(write_all(&out, &outputs).unwrap().is_empty());
        std::fs::write(out.join("figures/notes.txt"), b"mine").unwrap();
        let second = [plot("b")];
        let records = [("y".to_string(), Vec::new())];
        let outputs = Outputs { claims: &[], figures: &second, records: &records, provenance: &provenance };
        assert_eq!(write_all(&out, &outputs).unwrap(), vec!["figures/a.svg", "runs/x.csv"]);
        assert!(!out.join("figures/a.svg").exists() && out.join("figures/b.svg").exists());
        // Files of other kinds are not the report's and stay.
        assert!(out.join("figures/notes.txt").exists());
        let manifest: Manifest =
            serde_json::from_str(&std::fs::read_to_string(out.join("manifest.json")).unwrap()).unwrap();
        assert_eq!(manifest.experiments, vec!["y"]);
        assert_eq!(
            manifest.files,
            vec!["REPORT.md", "claims.json", "claims.md", "figures/b.svg", "run.json", "runs/y.csv"]
        );
        for f in &manifest.files {
            assert!(out.join(f).exists(), "{f}");
        }
        std::fs::remove_dir_all(&out).unwrap();
    }
}
