//! Numbers and verdicts as text, shared by every table.

use aesgd_experiment::CriterionResult;

/// "PASS", "FAIL" or "reported".
pub fn verdict_word(pass: Option<bool>) -> &'static str {
    match pass {
        Some(true) => "PASS",
        Some(false) => "FAIL",
        None => "reported",
    }
}

/// The number of seeds behind a criterion's estimate, with the runs it left out and why, or
/// "-" when it has none.
pub fn seeds_text(r: &CriterionResult) -> String {
    match (&r.estimate, &r.left_out) {
        (None, _) => String::from("-"),
        (Some(i), None) => i.n.to_string(),
        (Some(i), Some(note)) => format!("{} ({note})", i.n),
    }
}

/// "estimate [lower, upper]", or "undefined (why)".
pub fn estimate_text(r: &CriterionResult) -> String {
    match (&r.estimate, &r.undefined) {
        (Some(i), _) => format!("{} [{}, {}]", short(i.estimate), short(i.lower), short(i.upper)),
        (None, Some(why)) => format!("undefined ({why})"),
        (None, None) => "undefined".into(),
    }
}

/// The estimate alone, or "undefined (why)".
pub fn point_estimate_text(r: &CriterionResult) -> String {
    match (&r.estimate, &r.undefined) {
        (Some(i), _) => short(i.estimate),
        (None, Some(why)) => format!("undefined ({why})"),
        (None, None) => "undefined".into(),
    }
}

/// "[lower, upper]", or "-" when there is no estimate.
pub fn interval_text(r: &CriterionResult) -> String {
    r.estimate.as_ref().map_or(String::from("-"), |i| format!("[{}, {}]", short(i.lower), short(i.upper)))
}

/// A number in at most about five significant digits: fixed for moderate magnitudes (four
/// decimals below 1, five significant digits from 1 to 10^4), scientific for large and small
/// ones.
pub fn short(x: f64) -> String {
    if x == 0.0 {
        "0".into()
    } else if x.abs() >= 1e4 || x.abs() < 1e-3 {
        format!("{x:.3e}")
    } else if x.abs() >= 1.0 {
        // 1 <= |x| < 10^4, so the number of integer digits is 1 to 4.
        let integer_digits = x.abs().log10().floor() as usize + 1;
        format!("{x:.*}", 5usize.saturating_sub(integer_digits))
    } else {
        format!("{x:.4}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn result(estimate: Option<aesgd_stats::Interval>, undefined: Option<&str>) -> CriterionResult {
        CriterionResult {
            criterion: "c".into(),
            group: "g".into(),
            statistic: "mean".into(),
            metric: "support".into(),
            estimate,
            undefined: undefined.map(String::from),
            rule: "r".into(),
            closed_form: None,
            predicted: None,
            left_out: None,
            pass: Some(false),
        }
    }

    #[test]
    fn an_undefined_estimate_says_why_and_has_no_seeds() {
        let r = result(None, Some("1 of 3 runs have no selected_rank"));
        assert_eq!(estimate_text(&r), "undefined (1 of 3 runs have no selected_rank)");
        assert_eq!(seeds_text(&r), "-");
        assert_eq!(estimate_text(&result(None, None)), "undefined");
        let i = aesgd_stats::mean_interval(&[1.0, 2.0, 3.0], 0.95).unwrap();
        let r = result(Some(i), None);
        assert_eq!(seeds_text(&r), "3");
        assert_eq!(estimate_text(&r), "2.0000 [-0.4841, 4.4841]");
    }

    #[test]
    fn numbers_switch_to_scientific_outside_moderate_magnitudes() {
        assert_eq!(short(0.0), "0");
        assert_eq!(short(0.5), "0.5000");
        assert_eq!(short(12345.0), "1.234e4");
        assert_eq!(short(9406.25), "9406.2");
        assert_eq!(short(-123.456), "-123.46");
        assert_eq!(short(2.4374), "2.4374");
        assert_eq!(short(1.0), "1.0000");
        assert_eq!(short(-0.0001), "-1.000e-4");
    }
}
