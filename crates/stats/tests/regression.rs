//! Least squares against exact and closed-form answers, bootstrap coverage by simulation, and the
//! explicit errors.

use aesgd_stats::{LinearFit, Method, StatsError, bootstrap_coefficients, least_squares, student_t_quantile};
use rand::rngs::ChaCha8Rng;
use rand::{RngExt, SeedableRng};
use rand_distr::{Distribution, Normal};

/// Noiseless data with an intercept, two features and their product: the coefficients come back
/// to rounding, and the residual standard deviation and standard errors are (almost) zero.
#[test]
fn noiseless_data_recovers_the_coefficients() {
    let truth = [1.5, -2.0, 0.25, 3.0];
    let mut rows = Vec::new();
    let mut y = Vec::new();
    for i in 0..30 {
        let a = (i as f64 * 0.37).sin() * 4.0;
        let b = (i as f64 * 1.3).cos() + 0.1 * i as f64;
        let features = vec![1.0, a, b, a * b];
        y.push(features.iter().zip(&truth).map(|(x, c)| x * c).sum());
        rows.push(features);
    }
    let fit = least_squares(&rows, &y).unwrap();
    assert_eq!((fit.rows, fit.columns(), fit.degrees_of_freedom()), (30, 4, 26));
    for (estimate, expected) in fit.coefficients.iter().zip(truth) {
        assert!((estimate - expected).abs() < 1e-12, "{fit:?}");
    }
    assert!(fit.residual_sd < 1e-12, "{fit:?}");
    assert!(fit.standard_errors.iter().all(|&se| (0.0..1e-12).contains(&se)), "{fit:?}");

    // Scaling a column scales its coefficient back and is not mistaken for rank deficiency.
    let scaled: Vec<Vec<f64>> = rows.iter().map(|r| vec![r[0], r[1] * 1e8, r[2], r[3] * 1e-6]).collect();
    let scaled_fit = least_squares(&scaled, &y).unwrap();
    assert!((scaled_fit.coefficients[1] * 1e8 - truth[1]).abs() < 1e-10);
    assert!((scaled_fit.coefficients[3] * 1e-6 - truth[3]).abs() < 1e-10);
}

/// Simple regression: slope, intercept, residual standard deviation and both standard errors
/// against the textbook formulas, computed here independently.
#[test]
fn simple_regression_matches_closed_form() {
    let mut rng = ChaCha8Rng::seed_from_u64(11);
    let noise = Normal::new(0.0, 0.7).unwrap();
    let x: Vec<f64> = (0..12).map(|i| i as f64 * 0.5 + 3.0).collect();
    let y: Vec<f64> = x.iter().map(|x| 2.0 - 0.8 * x + noise.sample(&mut rng)).collect();
    let n = x.len() as f64;
    let x_mean = x.iter().sum::<f64>() / n;
    let y_mean = y.iter().sum::<f64>() / n;
    let sxx: f64 = x.iter().map(|x| (x - x_mean).powi(2)).sum();
    let sxy: f64 = x.iter().zip(&y).map(|(x, y)| (x - x_mean) * (y - y_mean)).sum();
    let slope = sxy / sxx;
    let intercept = y_mean - slope * x_mean;
    let rss: f64 = x.iter().zip(&y).map(|(x, y)| (y - intercept - slope * x).powi(2)).sum();
    let s = (rss / (n - 2.0)).sqrt();
    let slope_se = s / sxx.sqrt();
    let intercept_se = s * (1.0 / n + x_mean * x_mean / sxx).sqrt();

    let rows: Vec<Vec<f64>> = x.iter().map(|&x| vec![1.0, x]).collect();
    let fit = least_squares(&rows, &y).unwrap();
    let close = |a: f64, b: f64| (a - b).abs() <= 1e-10 * b.abs().max(1.0);
    assert!(close(fit.coefficients[0], intercept) && close(fit.coefficients[1], slope), "{fit:?}");
    assert!(close(fit.residual_sd, s), "{fit:?}");
    assert!(
        close(fit.standard_errors[0], intercept_se) && close(fit.standard_errors[1], slope_se),
        "{fit:?}"
    );

    // t_{0.975, 10} = 2.228 from any printed table.
    let interval = fit.t_interval(1, 0.95).unwrap();
    assert!((interval.upper - slope - 2.228 * slope_se).abs() < 1e-3 * slope_se);
    assert!((slope - interval.lower - 2.228 * slope_se).abs() < 1e-3 * slope_se);
    assert_eq!(interval.method, Method::LeastSquaresStudentT { degrees_of_freedom: 10 });
    assert_eq!((interval.estimate, interval.n, interval.level), (slope, 12, 0.95));
    let narrower = fit.t_interval(1, 0.5).unwrap();
    let half = student_t_quantile(0.75, 10.0) * slope_se;
    assert!(close(narrower.upper - slope, half));
}

/// A sweep of five points with `per_point` rows each; returns rows, responses and strata.
fn simulated_sweep(
    rng: &mut ChaCha8Rng,
    slope: f64,
    per_point: usize,
) -> (Vec<Vec<f64>>, Vec<f64>, Vec<usize>) {
    let noise = Normal::new(0.0, 1.0).unwrap();
    let mut rows = Vec::new();
    let mut y = Vec::new();
    let mut strata = Vec::new();
    for point in 0..5 {
        let x = 1.0 + point as f64;
        for _ in 0..per_point {
            rows.push(vec![1.0, x]);
            y.push(1.0 + slope * x + noise.sample(rng));
            strata.push(point);
        }
    }
    (rows, y, strata)
}

/// Over 200 simulated sweeps (five points, twenty rows each) with a known slope, the stratified
/// bootstrap's 95% interval covers it in 88% to 99% of them. (Resampling `k` rows within a stratum
/// shrinks the variance by `(k - 1) / k`, so with few rows per point the coverage falls short.)
#[test]
fn bootstrap_covers_the_true_slope() {
    let slope = 0.5;
    let mut rng = ChaCha8Rng::seed_from_u64(2024);
    let mut covered = 0;
    let sweeps = 200;
    for sweep in 0..sweeps {
        let (rows, y, strata) = simulated_sweep(&mut rng, slope, 20);
        let intervals = bootstrap_coefficients(&rows, &y, &strata, 400, sweep, 0.95).unwrap();
        if intervals[1].contains(slope) {
            covered += 1;
        }
    }
    let rate = covered as f64 / sweeps as f64;
    assert!((0.88..=0.99).contains(&rate), "coverage {rate}");
}

#[test]
fn bootstrap_is_seeded_and_centred_on_the_full_fit() {
    let mut rng = ChaCha8Rng::seed_from_u64(5);
    let (rows, y, strata) = simulated_sweep(&mut rng, 2.0, 8);
    let fit = least_squares(&rows, &y).unwrap();
    let first = bootstrap_coefficients(&rows, &y, &strata, 300, 42, 0.9).unwrap();
    let again = bootstrap_coefficients(&rows, &y, &strata, 300, 42, 0.9).unwrap();
    let other = bootstrap_coefficients(&rows, &y, &strata, 300, 43, 0.9).unwrap();
    assert_eq!(first, again);
    assert_ne!(first, other);
    for (interval, estimate) in first.iter().zip(&fit.coefficients) {
        assert_eq!(interval.estimate, *estimate);
        assert!(interval.lower < *estimate && *estimate < interval.upper, "{interval:?}");
        assert_eq!(interval.method, Method::StratifiedPercentileBootstrap { resamples: 300, seed: 42 });
        assert_eq!((interval.n, interval.level), (40, 0.9));
    }
    // The bootstrap interval of the slope is about as wide as the Student-t one.
    let t = fit.t_interval(1, 0.9).unwrap();
    let ratio = first[1].width() / t.width();
    assert!((0.6..1.4).contains(&ratio), "{ratio}");
}

/// Two strata, each with one value of x: resampling within strata keeps both values in every
/// resample, so no resample is rank deficient, whereas resampling all rows together could draw
/// a single value of x.
#[test]
fn strata_keep_every_sweep_point() {
    let rows = vec![vec![1.0, 0.0], vec![1.0, 0.0], vec![1.0, 1.0], vec![1.0, 1.0]];
    let y = [0.1, -0.1, 2.2, 1.8];
    let intervals = bootstrap_coefficients(&rows, &y, &[7, 7, 3, 3], 200, 1, 0.95).unwrap();
    // Every resample's slope lies between the extreme differences of the two strata's means.
    assert!(intervals[1].lower >= 1.7 - 1e-12 && intervals[1].upper <= 2.3 + 1e-12, "{intervals:?}");
}

/// Nineteen columns and twenty rows in one stratum: a resample is full rank only if it draws at
/// least nineteen distinct rows, which almost never happens, so the redraws run out.
#[test]
fn a_resample_that_stays_rank_deficient_is_an_error() {
    let mut rng = ChaCha8Rng::seed_from_u64(9);
    let rows: Vec<Vec<f64>> = (0..20).map(|_| (0..19).map(|_| rng.random::<f64>()).collect()).collect();
    let y: Vec<f64> = (0..20).map(|_| rng.random::<f64>()).collect();
    assert!(least_squares(&rows, &y).is_ok());
    assert_eq!(
        bootstrap_coefficients(&rows, &y, &[0; 20], 10, 3, 0.95).unwrap_err(),
        StatsError::RankDeficientResample { resample: 0, attempts: aesgd_stats::MAX_DRAWS_PER_RESAMPLE }
    );
}

#[test]
fn bad_input_is_an_explicit_error() {
    let rows = vec![vec![1.0, 0.0], vec![1.0, 1.0], vec![1.0, 2.0]];
    let y = [0.0, 1.0, 2.5];
    assert_eq!(
        least_squares(&rows, &y[..2]).unwrap_err(),
        StatsError::RowCountMismatch { what: "y", rows: 3, got: 2 }
    );
    let ragged = vec![vec![1.0, 0.0], vec![1.0], vec![1.0, 2.0]];
    assert_eq!(
        least_squares(&ragged, &y).unwrap_err(),
        StatsError::RaggedRow { row: 1, expected: 2, got: 1 }
    );
    assert_eq!(
        least_squares(&rows[..2], &y[..2]).unwrap_err(),
        StatsError::TooFewRows { rows: 2, columns: 2 }
    );
    assert_eq!(least_squares(&[], &[]).unwrap_err(), StatsError::TooFewRows { rows: 0, columns: 0 });
    assert_eq!(least_squares(&[vec![], vec![]], &[1.0, 2.0]).unwrap_err(), StatsError::NoColumns);
    let mut with_nan = rows.clone();
    with_nan[2][1] = f64::NAN;
    assert!(matches!(
        least_squares(&with_nan, &y).unwrap_err(),
        StatsError::NonFiniteFeature { row: 2, column: 1, .. }
    ));
    assert_eq!(
        least_squares(&rows, &[0.0, f64::INFINITY, 1.0]).unwrap_err(),
        StatsError::NonFiniteResponse { row: 1, value: f64::INFINITY }
    );

    // Column 2 is 1 + 2 x: the first dependent column is named.
    let dependent: Vec<Vec<f64>> = (0..6).map(|i| vec![1.0, i as f64, 1.0 + 2.0 * i as f64]).collect();
    let y6 = [0.0, 1.0, 0.5, 2.0, 1.0, 3.0];
    assert!(matches!(
        least_squares(&dependent, &y6).unwrap_err(),
        StatsError::RankDeficient { column: 2, .. }
    ));
    let zero_column: Vec<Vec<f64>> = (0..6).map(|i| vec![1.0, 0.0, i as f64]).collect();
    assert_eq!(
        least_squares(&zero_column, &y6).unwrap_err(),
        StatsError::RankDeficient { column: 1, relative_residual: 0.0 }
    );
    let message = least_squares(&dependent, &y6).unwrap_err().to_string();
    assert!(message.contains("column 2"), "{message}");

    let fit: LinearFit = least_squares(&rows, &y).unwrap();
    assert_eq!(fit.t_interval(2, 0.95).unwrap_err(), StatsError::NoSuchCoefficient { index: 2, columns: 2 });
    assert_eq!(fit.t_interval(0, 1.0).unwrap_err(), StatsError::InvalidLevel(1.0));
    assert_eq!(
        bootstrap_coefficients(&rows, &y, &[0, 0], 100, 0, 0.95).unwrap_err(),
        StatsError::RowCountMismatch { what: "strata", rows: 3, got: 2 }
    );
    assert_eq!(
        bootstrap_coefficients(&rows, &y, &[0, 0, 0], 1, 0, 0.95).unwrap_err(),
        StatsError::TooFewValues { needed: 2, got: 1 }
    );
    assert_eq!(
        bootstrap_coefficients(&rows, &y, &[0, 0, 0], 100, 0, 0.0).unwrap_err(),
        StatsError::InvalidLevel(0.0)
    );
}
