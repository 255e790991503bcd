//! `runs/<experiment>.csv`: one row a run, every scalar field of its record.

use aesgd_experiment::Record;
use std::fmt::Write as _;

/// The header line.
pub const CSV_COLUMNS: &str = "seed,run_index,activation,n,d,batch,eta,schedule,data,engine,steps_run,outcome,outcome_step,stationarity,loss_gap,norm,support,linf_ratio,effective_support,align_init,align_gd_limit,selected,selected_rank,sparse_step,limit_support,hessian_trace_limit,hessian_lambda_max_limit,hessian_trace_iterate,init_positive,wall_seconds";

/// The columns added when some run has several neurons.
pub const NEURONS_COLUMNS: &str =
    "neurons,selected_points,distinct_selected,collisions,dead_neurons,shared_points";

/// The CSV text of some runs; undefined values are empty fields. When some run has several
/// neurons, every row gains [`NEURONS_COLUMNS`] (the selected points separated by spaces).
pub fn csv(records: &[Record]) -> String {
    let opt = |x: Option<f64>| x.map_or(String::new(), |v| format!("{v:?}"));
    let opt_u = |x: Option<usize>| x.map_or(String::new(), |v| v.to_string());
    let several = records.iter().any(|r| r.neurons > 1);
    let mut out =
        if several { format!("{CSV_COLUMNS},{NEURONS_COLUMNS}\n") } else { format!("{CSV_COLUMNS}\n") };
    for r in records {
        let _ = writeln!(
            out,
            "{},{},{},{},{},{},{:?},{},{},{},{},{},{},{},{},{:?},{},{:?},{:?},{:?},{},{},{},{},{},{},{},{:?},{},{:?}{}",
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
            opt(r.linf_ratio),
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
            r.wall_seconds,
            if several { neurons_fields(r) } else { String::new() }
        );
    }
    out
}

/// The [`NEURONS_COLUMNS`] of a row, with the leading comma.
fn neurons_fields(r: &Record) -> String {
    let opt_u = |x: Option<usize>| x.map_or(String::new(), |v| v.to_string());
    let points = r
        .selected_points
        .as_ref()
        .map_or(String::new(), |p| p.iter().map(usize::to_string).collect::<Vec<_>>().join(" "));
    format!(
        ",{},{},{},{},{},{}",
        r.neurons,
        points,
        opt_u(r.distinct_selected),
        opt_u(r.collisions),
        opt_u(r.dead_neurons),
        opt_u(r.shared_points)
    )
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

    #[test]
    fn several_neurons_add_their_columns_to_every_row() {
        let config = aesgd_core::RunConfig {
            neurons: 2,
            n: 4,
            d: 4,
            batch: 1,
            max_steps: 300_000,
            ..Default::default()
        };
        let record =
            aesgd_experiment::executor::run_one(&config, aesgd_experiment::Recording::Off, 0, 0).unwrap();
        let one = aesgd_core::RunConfig { neurons: 1, ..config };
        let single =
            aesgd_experiment::executor::run_one(&one, aesgd_experiment::Recording::Off, 0, 0).unwrap();
        let text = csv(&[record.clone(), single]);
        let columns = CSV_COLUMNS.split(',').count() + NEURONS_COLUMNS.split(',').count();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines[0], format!("{CSV_COLUMNS},{NEURONS_COLUMNS}"));
        for line in &lines {
            assert_eq!(line.split(',').count(), columns, "{line}");
        }
        // The selected points, space-separated, in the neurons' row.
        let points = record.selected_points.expect("b = 1 puts both neurons on a point");
        assert!(lines[1].contains(&format!(",2,{} {},", points[0], points[1])), "{}", lines[1]);
    }
}
