//! `runs/<experiment>.csv`: one row a run, every scalar field of its record.

use aesgd_experiment::Record;
use std::fmt::Write as _;

/// The header line.
pub const CSV_COLUMNS: &str = "seed,run_index,activation,n,d,batch,eta,schedule,data,engine,steps_run,outcome,outcome_step,stationarity,loss_gap,norm,support,linf_ratio,effective_support,align_init,align_gd_limit,selected,selected_rank,sparse_step,limit_support,hessian_trace_limit,hessian_lambda_max_limit,hessian_trace_iterate,init_positive,wall_seconds";

/// The CSV text of some runs; undefined values are empty fields.
pub fn csv(records: &[Record]) -> String {
    let opt = |x: Option<f64>| x.map_or(String::new(), |v| format!("{v:?}"));
    let opt_u = |x: Option<usize>| x.map_or(String::new(), |v| v.to_string());
    let mut out = format!("{CSV_COLUMNS}\n");
    for r in records {
        let _ = writeln!(
            out,
            "{},{},{},{},{},{},{:?},{},{},{},{},{},{},{},{},{:?},{},{:?},{:?},{:?},{},{},{},{},{},{},{},{:?},{},{:?}",
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
            r.outcome_step.map_or(String::new(), |s| s.to_string()),
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_row_has_as_many_fields_as_the_header() {
        let config = aesgd_core::RunConfig { n: 4, d: 4, batch: 2, max_steps: 3000, ..Default::default() };
        let record =
            aesgd_experiment::executor::run_one(&config, aesgd_experiment::Recording::Off, 0, 0).unwrap();
        let text = csv(&[record.clone(), record]);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 3);
        let columns = CSV_COLUMNS.split(',').count();
        for line in &lines {
            assert_eq!(line.split(',').count(), columns, "{line}");
        }
    }
}
