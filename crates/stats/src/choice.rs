//! A power law for which of several items is chosen.
//!
//! Observation `t` has positive weights `u_t[0..m_t]`, one per eligible item, and the index `c_t`
//! of the item that was chosen. The model is
//! `P(c | u, alpha) = u_c^alpha / sum_j u_j^alpha`: `alpha = 0` chooses uniformly, `alpha = 1`
//! in proportion to the weights, and `alpha -> +infinity` always the largest weight.
//!
//! What it does:
//! - [`power_law_log_likelihood`] and [`power_law_log_likelihood_derivatives`]: the
//!   log-likelihood `l(alpha) = sum_t (alpha ln u_{c_t} - ln sum_j u_{t,j}^alpha)`, computed by
//!   log-sum-exp of `alpha ln u`, and its first two derivatives
//!   `l'(alpha) = sum_t (ln u_{c_t} - E_p[ln u_t])` and `l''(alpha) = -sum_t Var_p[ln u_t]`, where `p`
//!   is the model's distribution over the observation's items.
//! - [`fit_power_law`]: the maximum-likelihood `alpha` (`l` is concave, so the root of `l'` is
//!   found by Newton's method safeguarded by bisection inside a bracket) with its profile-likelihood
//!   interval, the `alpha` where `2 (l(alpha_hat) - l(alpha))` equals the chi-square (1 degree of
//!   freedom) quantile of the level.
//! - [`likelihood_ratio_test`] of a given exponent, [`largest_wins_mismatches`], and
//!   [`calibration_bins`] of predicted probabilities against observed choices.
//!
//! Observations whose eligible weights are all equal (in particular those with a single eligible
//! item) have the same probability under every `alpha`, so they carry no information about it:
//! the fit skips them but counts them ([`PowerLawFit::uninformative`]), and they still add their
//! constant `-ln m_t` to the log-likelihood.
//!
//! What it does not do: no covariates and no other choice models (there is one parameter, so
//! intervals are one-dimensional); no finite fit when every informative observation chose its
//! largest (or smallest) weight, where the likelihood increases without bound and the result is
//! [`StatsError::MaximumAtPlusInfinity`] (or [`StatsError::MaximumAtMinusInfinity`]); and no
//! one-sided bound for those cases.
//!
//! Every function checks its observations first: at least one observation, at least one
//! eligible item each, every weight positive and finite, every chosen index in range. The exponent
//! must be finite with magnitude at most [`MAX_ABS_ALPHA`], beyond which `u^alpha` overflows even
//! in logarithms.

use crate::error::StatsError;
use crate::interval::{DEFAULT_LEVEL, Interval, Method, proportion_interval};
use serde::{Deserialize, Serialize};
use statrs::distribution::{ChiSquared, ContinuousCDF};

/// The largest magnitude of the exponent the functions accept.
pub const MAX_ABS_ALPHA: f64 = 1e200;

/// The relative tolerance of the root searches of the fit and its interval.
const ROOT_TOLERANCE: f64 = 1e-12;

/// The most iterations of one root search, and the most doublings while bracketing a root.
const MAX_ITERATIONS: usize = 2000;

/// One choice: the weights of the eligible items and which of them was chosen.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChoiceObservation {
    /// The positive weight of each eligible item.
    pub weights: Vec<f64>,
    /// The position of the chosen item in `weights`.
    pub chosen: usize,
}

/// The log-likelihood of the power law at one exponent and its first two derivatives there.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct LogLikelihoodDerivatives {
    /// `l(alpha)`.
    pub value: f64,
    /// `l'(alpha)`.
    pub first: f64,
    /// `l''(alpha)`, never positive.
    pub second: f64,
}

/// The maximum-likelihood fit of the power law.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PowerLawFit {
    /// The maximum-likelihood exponent.
    pub alpha: f64,
    /// The log-likelihood at `alpha`, over all observations.
    pub log_likelihood: f64,
    /// The 95% profile-likelihood interval of the exponent; its `n` is the number of informative
    /// observations.
    pub interval: Interval,
    /// The number of observations whose weights are not all equal.
    pub informative: usize,
    /// The number of observations skipped because their weights are all equal (including those
    /// with a single eligible item).
    pub uninformative: usize,
}

/// The likelihood-ratio test of an exponent against the maximum-likelihood one.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LikelihoodRatio {
    /// The exponent tested.
    pub null_alpha: f64,
    /// The maximum-likelihood exponent.
    pub alpha_hat: f64,
    /// `2 (l(alpha_hat) - l(null_alpha))`, at least 0.
    pub statistic: f64,
    /// The probability that a chi-square variable with 1 degree of freedom exceeds `statistic`.
    pub p_value: f64,
    /// The number of informative observations.
    pub informative: usize,
}

/// One bin of predicted probabilities with the choices observed in it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CalibrationBin {
    /// Lower edge of the bin of predicted probability.
    pub lower: f64,
    /// Upper edge (the last bin includes 1).
    pub upper: f64,
    /// The mean predicted probability of the bin's (observation, item) pairs.
    pub mean_predicted: f64,
    /// The number of (observation, item) pairs in the bin.
    pub pairs: u64,
    /// How many of them were the chosen item.
    pub chosen: u64,
    /// The observed frequency `chosen / pairs` with its Wilson 95% interval.
    pub observed: Interval,
}

/// An informative observation reduced to what the likelihood needs.
struct Prepared {
    /// `ln u_j` of each eligible item.
    log_weights: Vec<f64>,
    /// The chosen item's position.
    chosen: usize,
}

/// The checked observations, split into informative ones and the constant of the others.
struct Observations {
    informative: Vec<Prepared>,
    /// The number of observations whose weights are all equal.
    uninformative: usize,
    /// Their log-likelihood, `sum -ln m_t`, the same for every exponent.
    uninformative_log_likelihood: f64,
}

impl Observations {
    fn check(observations: &[ChoiceObservation]) -> Result<Self, StatsError> {
        if observations.is_empty() {
            return Err(StatsError::NoObservations);
        }
        let mut informative = Vec::new();
        let mut uninformative = 0;
        let mut uninformative_log_likelihood = 0.0;
        for (index, observation) in observations.iter().enumerate() {
            check_observation(index, observation)?;
            let log_weights: Vec<f64> = observation.weights.iter().map(|u| u.ln()).collect();
            // Equality is judged on the logarithms, which is what the likelihood sees.
            if log_weights.iter().all(|&l| l == log_weights[0]) {
                uninformative += 1;
                uninformative_log_likelihood -= (log_weights.len() as f64).ln();
            } else {
                informative.push(Prepared { log_weights, chosen: observation.chosen });
            }
        }
        Ok(Self { informative, uninformative, uninformative_log_likelihood })
    }

    /// `l`, `l'` and `l''` at `alpha`, which the caller has checked.
    fn derivatives(&self, alpha: f64) -> LogLikelihoodDerivatives {
        let mut value = self.uninformative_log_likelihood;
        let mut first = 0.0;
        let mut second = 0.0;
        for observation in &self.informative {
            let largest =
                observation.log_weights.iter().fold(f64::NEG_INFINITY, |largest, &l| largest.max(alpha * l));
            // Weights relative to the largest term, so that none overflows and at least one is 1.
            let mut total = 0.0;
            let mut weighted_log = 0.0;
            for &l in &observation.log_weights {
                let relative = (alpha * l - largest).exp();
                total += relative;
                weighted_log += relative * l;
            }
            let mean_log = weighted_log / total;
            let variance_log = observation
                .log_weights
                .iter()
                .map(|&l| (alpha * l - largest).exp() * (l - mean_log).powi(2))
                .sum::<f64>()
                / total;
            let chosen_log = observation.log_weights[observation.chosen];
            value += alpha * chosen_log - largest - total.ln();
            first += chosen_log - mean_log;
            second -= variance_log;
        }
        LogLikelihoodDerivatives { value, first, second }
    }

    /// `l(alpha)`.
    fn log_likelihood(&self, alpha: f64) -> f64 {
        self.derivatives(alpha).value
    }
}

fn check_observation(index: usize, observation: &ChoiceObservation) -> Result<(), StatsError> {
    if observation.weights.is_empty() {
        return Err(StatsError::NoEligibleItems { observation: index });
    }
    if let Some(item) = observation.weights.iter().position(|u| !(u.is_finite() && *u > 0.0)) {
        return Err(StatsError::InvalidWeight { observation: index, item, value: observation.weights[item] });
    }
    if observation.chosen >= observation.weights.len() {
        return Err(StatsError::ChosenOutOfRange {
            observation: index,
            chosen: observation.chosen,
            eligible: observation.weights.len(),
        });
    }
    Ok(())
}

fn check_alpha(name: &'static str, alpha: f64) -> Result<f64, StatsError> {
    if !alpha.is_finite() {
        return Err(StatsError::NonFiniteParameter { name, value: alpha });
    }
    if alpha.abs() > MAX_ABS_ALPHA {
        return Err(StatsError::ParameterOutOfRange { name, value: alpha, limit: MAX_ABS_ALPHA });
    }
    Ok(alpha)
}

/// The power law's log-likelihood of the observations at exponent `alpha`.
pub fn power_law_log_likelihood(observations: &[ChoiceObservation], alpha: f64) -> Result<f64, StatsError> {
    Ok(power_law_log_likelihood_derivatives(observations, alpha)?.value)
}

/// The power law's log-likelihood at `alpha` with its first and second derivatives in `alpha`.
pub fn power_law_log_likelihood_derivatives(
    observations: &[ChoiceObservation],
    alpha: f64,
) -> Result<LogLikelihoodDerivatives, StatsError> {
    let alpha = check_alpha("alpha", alpha)?;
    Ok(Observations::check(observations)?.derivatives(alpha))
}

/// The maximum-likelihood exponent of the power law with its 95% profile-likelihood interval.
///
/// Errors: [`StatsError::NoInformativeObservations`] when no observation has unequal weights,
/// [`StatsError::MaximumAtPlusInfinity`] when every informative observation chose a largest
/// weight, [`StatsError::MaximumAtMinusInfinity`] when every one chose a smallest weight.
pub fn fit_power_law(observations: &[ChoiceObservation]) -> Result<PowerLawFit, StatsError> {
    let checked = Observations::check(observations)?;
    let alpha = maximum_likelihood_alpha(&checked, observations.len())?;
    let maximum = checked.derivatives(alpha);
    let interval = profile_interval(&checked, alpha, maximum, DEFAULT_LEVEL)?;
    Ok(PowerLawFit {
        alpha,
        log_likelihood: maximum.value,
        interval,
        informative: checked.informative.len(),
        uninformative: checked.uninformative,
    })
}

/// The likelihood-ratio test of `null_alpha`: `2 (l(alpha_hat) - l(null_alpha))` against a
/// chi-square distribution with 1 degree of freedom.
///
/// It fails where [`fit_power_law`] fails, including when the maximum is at infinity.
pub fn likelihood_ratio_test(
    observations: &[ChoiceObservation],
    null_alpha: f64,
) -> Result<LikelihoodRatio, StatsError> {
    let null_alpha = check_alpha("null_alpha", null_alpha)?;
    let checked = Observations::check(observations)?;
    let alpha_hat = maximum_likelihood_alpha(&checked, observations.len())?;
    // Rounding can make the difference slightly negative when `null_alpha` is the maximum.
    let statistic = (2.0 * (checked.log_likelihood(alpha_hat) - checked.log_likelihood(null_alpha))).max(0.0);
    Ok(LikelihoodRatio {
        null_alpha,
        alpha_hat,
        statistic,
        p_value: chi_square_one().sf(statistic),
        informative: checked.informative.len(),
    })
}

/// How many observations did not choose a largest weight (a chosen weight equal to the largest
/// counts as largest).
pub fn largest_wins_mismatches(observations: &[ChoiceObservation]) -> Result<usize, StatsError> {
    if observations.is_empty() {
        return Err(StatsError::NoObservations);
    }
    let mut mismatches = 0;
    for (index, observation) in observations.iter().enumerate() {
        check_observation(index, observation)?;
        let largest = observation.weights.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        if observation.weights[observation.chosen] < largest {
            mismatches += 1;
        }
    }
    Ok(mismatches)
}

/// Predicted probabilities against observed choices, in `bins` equal-width bins of `[0, 1]`.
///
/// Every (observation, eligible item) pair has the predicted probability `p` of the power law at
/// `alpha` and an outcome, chosen or not; pair `p` falls in bin `floor(p bins)` (the last bin
/// includes 1). Each non-empty bin reports its mean predicted probability, its number of pairs,
/// how many were chosen and the Wilson 95% interval of that frequency; empty bins are left out.
/// If the model is right, the mean predicted probability of a bin is usually inside the interval.
///
/// Observations with a single eligible item are left out: their item is chosen with probability 1
/// under every model, so they would only fill the top bin with agreement. If every observation is
/// of that kind the result is [`StatsError::NoInformativeObservations`].
pub fn calibration_bins(
    observations: &[ChoiceObservation],
    alpha: f64,
    bins: usize,
) -> Result<Vec<CalibrationBin>, StatsError> {
    let alpha = check_alpha("alpha", alpha)?;
    if bins == 0 {
        return Err(StatsError::NoBins);
    }
    if observations.is_empty() {
        return Err(StatsError::NoObservations);
    }
    let mut predicted_sum = vec![0.0; bins];
    let mut pairs = vec![0_u64; bins];
    let mut chosen = vec![0_u64; bins];
    for (index, observation) in observations.iter().enumerate() {
        check_observation(index, observation)?;
        if observation.weights.len() == 1 {
            continue;
        }
        let exponents: Vec<f64> = observation.weights.iter().map(|u| alpha * u.ln()).collect();
        let largest = exponents.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        let relative: Vec<f64> = exponents.iter().map(|x| (x - largest).exp()).collect();
        let total: f64 = relative.iter().sum();
        for (item, r) in relative.iter().enumerate() {
            let probability = r / total;
            let bin = ((probability * bins as f64) as usize).min(bins - 1);
            predicted_sum[bin] += probability;
            pairs[bin] += 1;
            if item == observation.chosen {
                chosen[bin] += 1;
            }
        }
    }
    if pairs.iter().all(|&count| count == 0) {
        return Err(StatsError::NoInformativeObservations { observations: observations.len() });
    }
    let mut result = Vec::new();
    for bin in 0..bins {
        if pairs[bin] == 0 {
            continue;
        }
        result.push(CalibrationBin {
            lower: bin as f64 / bins as f64,
            upper: (bin + 1) as f64 / bins as f64,
            mean_predicted: predicted_sum[bin] / pairs[bin] as f64,
            pairs: pairs[bin],
            chosen: chosen[bin],
            observed: proportion_interval(chosen[bin], pairs[bin], DEFAULT_LEVEL)?,
        });
    }
    Ok(result)
}

fn chi_square_one() -> ChiSquared {
    // One degree of freedom is a valid parameter.
    ChiSquared::new(1.0).expect("chi-square with 1 degree of freedom")
}

/// The root of `l'`, after ruling out the cases where there is none.
fn maximum_likelihood_alpha(checked: &Observations, observations: usize) -> Result<f64, StatsError> {
    let informative = checked.informative.len();
    if informative == 0 {
        return Err(StatsError::NoInformativeObservations { observations });
    }
    // As alpha -> +infinity, `E_p[ln u]` tends to the largest `ln u`, so `l'` tends to
    // `sum_t (ln u_{c_t} - max ln u_t)`, which is 0 exactly when every observation chose a largest
    // weight; `l'` decreases towards it, so it stays positive and the maximum is at +infinity.
    // The same holds for -infinity with the smallest weights.
    let all_chose_largest = checked
        .informative
        .iter()
        .all(|o| o.log_weights[o.chosen] == o.log_weights.iter().copied().fold(f64::NEG_INFINITY, f64::max));
    if all_chose_largest {
        return Err(StatsError::MaximumAtPlusInfinity { informative });
    }
    let all_chose_smallest = checked
        .informative
        .iter()
        .all(|o| o.log_weights[o.chosen] == o.log_weights.iter().copied().fold(f64::INFINITY, f64::min));
    if all_chose_smallest {
        return Err(StatsError::MaximumAtMinusInfinity { informative });
    }
    let what = "the maximum-likelihood exponent";
    let score = |alpha: f64| {
        let d = checked.derivatives(alpha);
        (d.first, d.second)
    };
    let at_zero = score(0.0).0;
    if at_zero == 0.0 {
        return Ok(0.0);
    }
    // `l'` decreases, so the root lies on the side of zero where `l'` points.
    let direction = at_zero.signum();
    let far = bracket(|alpha| score(alpha).0 * direction > 0.0, 0.0, direction, what)?;
    find_root(score, 0.0, far, what)
}

/// The profile-likelihood interval at `level` around the maximum `alpha_hat`.
fn profile_interval(
    checked: &Observations,
    alpha_hat: f64,
    maximum: LogLikelihoodDerivatives,
    level: f64,
) -> Result<Interval, StatsError> {
    let threshold = maximum.value - chi_square_one().inverse_cdf(level) / 2.0;
    // `l - threshold` is positive at the maximum and decreases to -infinity on both sides (each
    // side has an observation whose chosen weight is not the extreme one).
    let excess = |alpha: f64| {
        let d = checked.derivatives(alpha);
        (d.value - threshold, d.first)
    };
    // Start the bracketing at about one standard error.
    let step = if maximum.second < 0.0 { (-maximum.second).sqrt().recip() } else { 1.0 };
    let mut ends = [0.0; 2];
    for (end, direction) in ends.iter_mut().zip([-1.0, 1.0]) {
        let what = if direction < 0.0 {
            "the lower profile-likelihood bound"
        } else {
            "the upper profile-likelihood bound"
        };
        let far = bracket(|alpha| excess(alpha).0 > 0.0, alpha_hat, direction * step, what)?;
        *end = find_root(excess, alpha_hat, far, what)?;
    }
    Ok(Interval {
        estimate: alpha_hat,
        lower: ends[0],
        upper: ends[1],
        level,
        method: Method::ProfileLikelihood,
        n: checked.informative.len(),
    })
}

/// The first point `start + step 2^k` (k = 0, 1, ...) where `inside` is false, within
/// [`MAX_ABS_ALPHA`].
fn bracket(
    inside: impl Fn(f64) -> bool,
    start: f64,
    step: f64,
    what: &'static str,
) -> Result<f64, StatsError> {
    let mut step = step;
    for _ in 0..MAX_ITERATIONS {
        let candidate = start + step;
        if candidate.abs() > MAX_ABS_ALPHA {
            break;
        }
        if !inside(candidate) {
            return Ok(candidate);
        }
        step *= 2.0;
    }
    Err(StatsError::NoConvergence { what })
}

/// The root of `f` between `a` and `b`, where `f` has opposite signs (or is zero), by Newton's
/// method on `f` and its derivative (both returned by `f`), falling back to bisection when a
/// Newton step leaves the bracket or does not at least halve the step before last.
fn find_root(f: impl Fn(f64) -> (f64, f64), a: f64, b: f64, what: &'static str) -> Result<f64, StatsError> {
    let (value_a, _) = f(a);
    let (value_b, _) = f(b);
    if value_a == 0.0 {
        return Ok(a);
    }
    if value_b == 0.0 {
        return Ok(b);
    }
    if value_a.signum() == value_b.signum() {
        return Err(StatsError::NoConvergence { what });
    }
    // The bracket's end where `f` is negative and the end where it is positive.
    let (mut negative_end, mut positive_end) = if value_a < 0.0 { (a, b) } else { (b, a) };
    let mut x = 0.5 * (a + b);
    let mut step_before_last = (b - a).abs();
    let mut last_step = step_before_last;
    let (mut value, mut slope) = f(x);
    for _ in 0..MAX_ITERATIONS {
        if value == 0.0 {
            return Ok(x);
        }
        if value < 0.0 {
            negative_end = x;
        } else {
            positive_end = x;
        }
        let newton = x - value / slope;
        let newton_inside = newton.is_finite() && (newton - negative_end) * (newton - positive_end) < 0.0;
        let newton_fast = (2.0 * value).abs() < (step_before_last * slope).abs();
        step_before_last = last_step;
        let next = if newton_inside && newton_fast { newton } else { 0.5 * (negative_end + positive_end) };
        last_step = next - x;
        let tolerance = ROOT_TOLERANCE * (1.0 + next.abs());
        if last_step.abs() <= tolerance || (positive_end - negative_end).abs() <= tolerance {
            return Ok(next);
        }
        x = next;
        (value, slope) = f(x);
    }
    Err(StatsError::NoConvergence { what })
}
