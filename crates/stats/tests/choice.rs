//! The power-law choice model: closed-form maxima, derivatives against finite differences,
//! recovery of a known exponent from simulated choices, calibration, and the explicit errors.

use aesgd_stats::{
    ChoiceObservation, Method, StatsError, calibration_bins, fit_power_law, largest_wins_mismatches,
    likelihood_ratio_test, power_law_log_likelihood, power_law_log_likelihood_derivatives,
};
use rand::rngs::ChaCha8Rng;
use rand::{RngExt, SeedableRng};
use rand_distr::{Distribution, Normal};

fn observation(weights: &[f64], chosen: usize) -> ChoiceObservation {
    ChoiceObservation { weights: weights.to_vec(), chosen }
}

/// `count` observations with 5 to 10 weights each, the magnitudes of standard Gaussians, and the
/// chosen item drawn from the power law with exponent `alpha`.
fn simulate(alpha: f64, count: usize, seed: u64) -> Vec<ChoiceObservation> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let gaussian: Normal<f64> = Normal::new(0.0, 1.0).unwrap();
    (0..count)
        .map(|_| {
            let items = rng.random_range(5..=10);
            let weights: Vec<f64> = (0..items).map(|_| gaussian.sample(&mut rng).abs().max(1e-300)).collect();
            let exponents: Vec<f64> = weights.iter().map(|u| alpha * u.ln()).collect();
            let largest = exponents.iter().copied().fold(f64::NEG_INFINITY, f64::max);
            let relative: Vec<f64> = exponents.iter().map(|x| (x - largest).exp()).collect();
            let mut remaining = rng.random::<f64>() * relative.iter().sum::<f64>();
            let mut chosen = items - 1;
            for (item, r) in relative.iter().enumerate() {
                if remaining < *r {
                    chosen = item;
                    break;
                }
                remaining -= r;
            }
            ChoiceObservation { weights, chosen }
        })
        .collect()
}

/// Weights 1 and e, the larger chosen twice out of three: `l'(alpha) = 2 - 3 e^alpha / (1 + e^alpha)`,
/// zero at `alpha = ln 2`. Weights 1 and 2, each chosen once: the maximum is at 0.
#[test]
fn closed_form_maxima() {
    let e = std::f64::consts::E;
    let obs = [observation(&[1.0, e], 1), observation(&[e, 1.0], 0), observation(&[1.0, e], 0)];
    let fit = fit_power_law(&obs).unwrap();
    assert!((fit.alpha - 2f64.ln()).abs() < 1e-10, "{fit:?}");
    // l(ln 2) = 2 ln 2 - 3 ln 3.
    assert!((fit.log_likelihood - (2.0 * 2f64.ln() - 3.0 * 3f64.ln())).abs() < 1e-12, "{fit:?}");
    assert_eq!(fit.interval.method, Method::ProfileLikelihood);
    assert_eq!((fit.interval.n, fit.informative, fit.uninformative), (3, 3, 0));

    let balanced = [observation(&[1.0, 2.0], 1), observation(&[1.0, 2.0], 0)];
    let fit = fit_power_law(&balanced).unwrap();
    assert!(fit.alpha.abs() < 1e-12, "{fit:?}");
    // The interval is symmetric about 0 since l(alpha) = l(-alpha) here.
    assert!((fit.interval.lower + fit.interval.upper).abs() < 1e-9, "{fit:?}");
}

#[test]
fn derivatives_match_finite_differences() {
    let obs = simulate(1.5, 200, 3);
    let h = 1e-4;
    for alpha in [-1.0, 0.0, 0.7, 2.5, 8.0] {
        let d = power_law_log_likelihood_derivatives(&obs, alpha).unwrap();
        assert_eq!(d.value, power_law_log_likelihood(&obs, alpha).unwrap());
        let l = |a: f64| power_law_log_likelihood(&obs, a).unwrap();
        let first = |a: f64| power_law_log_likelihood_derivatives(&obs, a).unwrap().first;
        let numeric_first = (l(alpha + h) - l(alpha - h)) / (2.0 * h);
        let numeric_second = (first(alpha + h) - first(alpha - h)) / (2.0 * h);
        assert!(
            (d.first - numeric_first).abs() <= 1e-6 * d.first.abs().max(1.0),
            "{alpha}: {d:?} {numeric_first}"
        );
        assert!((d.second - numeric_second).abs() <= 1e-6 * d.second.abs().max(1.0), "{alpha}: {d:?}");
        assert!(d.second < 0.0);
    }
    // At alpha = 0 every item is equally likely: l(0) = -sum ln m_t.
    let uniform: f64 = obs.iter().map(|o| -(o.weights.len() as f64).ln()).sum();
    assert!((power_law_log_likelihood(&obs, 0.0).unwrap() - uniform).abs() < 1e-9);
}

/// 3000 observations simulated with alpha = 2: the profile interval covers 2, its ends are where
/// the likelihood-ratio statistic is the chi-square quantile, it is close to the Wald interval,
/// and the likelihood-ratio test keeps 2 and rejects 0 and 6.
#[test]
fn recovers_a_known_exponent() {
    let obs = simulate(2.0, 3000, 2024);
    let fit = fit_power_law(&obs).unwrap();
    assert!(fit.interval.contains(2.0), "{fit:?}");
    assert!(fit.interval.width() < 0.5, "{fit:?}");
    assert_eq!((fit.interval.estimate, fit.interval.level, fit.interval.n), (fit.alpha, 0.95, 3000));
    let l_hat = power_law_log_likelihood(&obs, fit.alpha).unwrap();
    assert_eq!(l_hat, fit.log_likelihood);
    assert!(power_law_log_likelihood_derivatives(&obs, fit.alpha).unwrap().first.abs() < 1e-8);
    for end in [fit.interval.lower, fit.interval.upper] {
        let statistic = 2.0 * (l_hat - power_law_log_likelihood(&obs, end).unwrap());
        assert!((statistic - 3.841_458_820_694_124).abs() < 1e-6, "{end}: {statistic}");
        let test = likelihood_ratio_test(&obs, end).unwrap();
        assert!((test.p_value - 0.05).abs() < 1e-6, "{test:?}");
    }
    let curvature = -power_law_log_likelihood_derivatives(&obs, fit.alpha).unwrap().second;
    let wald_half = 1.959_964 / curvature.sqrt();
    for half in [fit.alpha - fit.interval.lower, fit.interval.upper - fit.alpha] {
        assert!((half / wald_half - 1.0).abs() < 0.1, "{half} vs {wald_half}");
    }

    let truth = likelihood_ratio_test(&obs, 2.0).unwrap();
    assert!(truth.p_value > 0.05, "{truth:?}");
    assert_eq!((truth.null_alpha, truth.alpha_hat, truth.informative), (2.0, fit.alpha, 3000));
    for wrong in [0.0, 6.0] {
        let test = likelihood_ratio_test(&obs, wrong).unwrap();
        assert!(test.p_value < 1e-6, "{test:?}");
    }
    let at_maximum = likelihood_ratio_test(&obs, fit.alpha).unwrap();
    assert!(at_maximum.statistic < 1e-8 && at_maximum.p_value > 0.999, "{at_maximum:?}");
}

/// Observations with one eligible item or equal weights change neither the exponent nor its
/// interval; they are counted and add their constant to the log-likelihood.
#[test]
fn uninformative_observations_are_skipped_but_counted() {
    let obs = simulate(1.0, 300, 8);
    let mut padded = obs.clone();
    padded.push(observation(&[0.3], 0));
    padded.insert(0, observation(&[2.0, 2.0, 2.0, 2.0], 3));
    let fit = fit_power_law(&obs).unwrap();
    let padded_fit = fit_power_law(&padded).unwrap();
    assert_eq!(padded_fit.alpha, fit.alpha);
    // The interval's ends move only by the rounding of the constant in the threshold.
    assert!((padded_fit.interval.lower - fit.interval.lower).abs() < 1e-9, "{padded_fit:?}");
    assert!((padded_fit.interval.upper - fit.interval.upper).abs() < 1e-9, "{padded_fit:?}");
    assert_eq!((padded_fit.informative, padded_fit.uninformative, padded_fit.interval.n), (300, 2, 300));
    assert!((padded_fit.log_likelihood - (fit.log_likelihood - 4f64.ln())).abs() < 1e-9);
    assert_eq!(
        fit_power_law(&[observation(&[1.0], 0), observation(&[3.0, 3.0], 1)]).unwrap_err(),
        StatsError::NoInformativeObservations { observations: 2 }
    );
}

#[test]
fn always_the_largest_has_its_maximum_at_infinity() {
    // Ties with the largest count as the largest; the single-item observation is uninformative.
    let largest =
        [observation(&[1.0, 3.0, 2.0], 1), observation(&[5.0, 5.0, 0.1], 0), observation(&[4.0], 0)];
    assert_eq!(fit_power_law(&largest).unwrap_err(), StatsError::MaximumAtPlusInfinity { informative: 2 });
    assert_eq!(
        likelihood_ratio_test(&largest, 1.0).unwrap_err(),
        StatsError::MaximumAtPlusInfinity { informative: 2 }
    );
    assert_eq!(largest_wins_mismatches(&largest).unwrap(), 0);
    // The likelihood does increase towards its supremum, -ln 2 from the tie.
    let l = |a| power_law_log_likelihood(&largest, a).unwrap();
    assert!(l(1.0) < l(10.0) && l(10.0) < l(100.0) && (l(100.0) + 2f64.ln()).abs() < 1e-12);

    let smallest = [observation(&[1.0, 3.0, 2.0], 0), observation(&[0.5, 0.6], 0)];
    assert_eq!(fit_power_law(&smallest).unwrap_err(), StatsError::MaximumAtMinusInfinity { informative: 2 });
    assert_eq!(largest_wins_mismatches(&smallest).unwrap(), 2);

    // One observation that did not choose its largest weight makes the maximum finite.
    let mut mixed = largest.to_vec();
    mixed.push(observation(&[1.0, 2.0], 0));
    assert_eq!(largest_wins_mismatches(&mixed).unwrap(), 1);
    let fit = fit_power_law(&mixed).unwrap();
    assert!(
        fit.alpha.is_finite() && fit.interval.lower < fit.alpha && fit.alpha < fit.interval.upper,
        "{fit:?}"
    );
}

/// Simulated with alpha = 2 and judged at alpha = 2, the mean predicted probability of at least
/// 90% of the bins lies inside the Wilson interval of the bin's observed frequency; judged at
/// alpha = 6 far fewer do.
#[test]
fn calibration_of_the_true_model() {
    let obs = simulate(2.0, 3000, 77);
    let bins = calibration_bins(&obs, 2.0, 20).unwrap();
    let eligible: usize = obs.iter().map(|o| o.weights.len()).sum();
    assert_eq!(bins.iter().map(|b| b.pairs).sum::<u64>(), eligible as u64);
    assert_eq!(bins.iter().map(|b| b.chosen).sum::<u64>(), obs.len() as u64);
    for bin in &bins {
        assert!(
            bin.pairs > 0 && bin.lower <= bin.mean_predicted && bin.mean_predicted <= bin.upper,
            "{bin:?}"
        );
        assert_eq!(bin.observed.method, Method::Wilson);
        assert_eq!(bin.observed.n as u64, bin.pairs);
    }
    let agreeing = |bins: &[aesgd_stats::CalibrationBin]| {
        bins.iter().filter(|b| b.observed.contains(b.mean_predicted)).count() as f64 / bins.len() as f64
    };
    assert!(bins.len() >= 15, "{}", bins.len());
    assert!(agreeing(&bins) >= 0.9, "{}", agreeing(&bins));
    let wrong = calibration_bins(&obs, 6.0, 20).unwrap();
    assert!(agreeing(&wrong) < 0.6, "{}", agreeing(&wrong));

    // Single-item observations are left out; equal weights predict 1/m.
    let few = [observation(&[1.0], 0), observation(&[2.0, 2.0], 1)];
    let bins = calibration_bins(&few, 1.0, 4).unwrap();
    assert_eq!(bins.len(), 1);
    assert_eq!(
        (bins[0].lower, bins[0].upper, bins[0].mean_predicted, bins[0].pairs, bins[0].chosen),
        (0.5, 0.75, 0.5, 2, 1)
    );
}

#[test]
fn bad_input_is_an_explicit_error() {
    let good = [observation(&[1.0, 2.0], 0), observation(&[1.0, 2.0, 3.0], 2)];
    assert_eq!(fit_power_law(&[]).unwrap_err(), StatsError::NoObservations);
    assert_eq!(likelihood_ratio_test(&[], 1.0).unwrap_err(), StatsError::NoObservations);
    assert_eq!(power_law_log_likelihood(&[], 1.0).unwrap_err(), StatsError::NoObservations);
    assert_eq!(calibration_bins(&[], 1.0, 10).unwrap_err(), StatsError::NoObservations);
    assert_eq!(largest_wins_mismatches(&[]).unwrap_err(), StatsError::NoObservations);

    for bad in [0.0, -1.0, f64::NAN, f64::INFINITY] {
        let obs = [good[0].clone(), observation(&[1.0, bad, 2.0], 0)];
        let expected = |e: StatsError| match e {
            StatsError::InvalidWeight { observation: 1, item: 1, value } => value.to_bits() == bad.to_bits(),
            _ => false,
        };
        assert!(expected(fit_power_law(&obs).unwrap_err()));
        assert!(expected(power_law_log_likelihood(&obs, 1.0).unwrap_err()));
        assert!(expected(calibration_bins(&obs, 1.0, 5).unwrap_err()));
        assert!(expected(largest_wins_mismatches(&obs).unwrap_err()));
    }
    let out_of_range = [good[0].clone(), good[1].clone(), observation(&[1.0, 2.0], 2)];
    assert_eq!(
        fit_power_law(&out_of_range).unwrap_err(),
        StatsError::ChosenOutOfRange { observation: 2, chosen: 2, eligible: 2 }
    );
    assert_eq!(
        fit_power_law(&[observation(&[], 0)]).unwrap_err(),
        StatsError::NoEligibleItems { observation: 0 }
    );
    assert_eq!(
        power_law_log_likelihood(&good, f64::NAN).unwrap_err().to_string(),
        "parameter alpha is not finite (NaN)"
    );
    assert!(matches!(
        likelihood_ratio_test(&good, f64::INFINITY).unwrap_err(),
        StatsError::NonFiniteParameter { name: "null_alpha", .. }
    ));
    assert!(matches!(
        power_law_log_likelihood(&good, 1e300).unwrap_err(),
        StatsError::ParameterOutOfRange { name: "alpha", .. }
    ));
    assert_eq!(calibration_bins(&good, 1.0, 0).unwrap_err(), StatsError::NoBins);
    assert_eq!(
        calibration_bins(&[observation(&[1.0], 0)], 1.0, 5).unwrap_err(),
        StatsError::NoInformativeObservations { observations: 1 }
    );
}
