//! Errors of the statistics: explicit, never a NaN.

use std::fmt;

/// Why a summary or an interval could not be computed.
#[derive(Debug, Clone, PartialEq)]
pub enum StatsError {
    /// The method needs at least `needed` values and got `got`.
    TooFewValues {
        /// The minimum number of values.
        needed: usize,
        /// The number given.
        got: usize,
    },
    /// The value at `index` is not finite.
    NonFinite {
        /// Its position in the input.
        index: usize,
        /// The value itself.
        value: f64,
    },
    /// The confidence level is not in `(0, 1)`.
    InvalidLevel(f64),
    /// More successes than trials.
    InvalidCount {
        /// Successes.
        successes: u64,
        /// Trials.
        trials: u64,
    },
    /// Paired samples of different lengths.
    LengthMismatch {
        /// Length of the first sample.
        first: usize,
        /// Length of the second sample.
        second: usize,
    },
    /// An input that needs one entry per row of a regression has a different length.
    RowCountMismatch {
        /// Which input, e.g. `"y"` or `"strata"`.
        what: &'static str,
        /// The number of rows.
        rows: usize,
        /// Its length.
        got: usize,
    },
    /// A regression row has a different number of columns from the first row.
    RaggedRow {
        /// The row's position.
        row: usize,
        /// The number of columns of row 0.
        expected: usize,
        /// The number of columns of this row.
        got: usize,
    },
    /// A regression has no columns (its rows are empty).
    NoColumns,
    /// A least-squares fit with `columns` coefficients needs at least `columns + 1` rows, so that
    /// the residual standard deviation has a degree of freedom.
    TooFewRows {
        /// The number of rows given.
        rows: usize,
        /// The number of columns.
        columns: usize,
    },
    /// A regression feature is not finite.
    NonFiniteFeature {
        /// The row.
        row: usize,
        /// The column.
        column: usize,
        /// The value itself.
        value: f64,
    },
    /// A regression response `y[row]` is not finite.
    NonFiniteResponse {
        /// The row.
        row: usize,
        /// The value itself.
        value: f64,
    },
    /// The design matrix is (numerically) rank deficient: column `column` is a linear combination
    /// of the columns before it.
    RankDeficient {
        /// The first column that lies in the span of the columns before it.
        column: usize,
        /// The norm of its part outside that span divided by its norm (0 for a zero column).
        relative_residual: f64,
    },
    /// A coefficient index beyond the fit's columns.
    NoSuchCoefficient {
        /// The index asked for.
        index: usize,
        /// The number of coefficients.
        columns: usize,
    },
    /// A bootstrap resample stayed rank deficient however often it was redrawn.
    RankDeficientResample {
        /// The resample's position.
        resample: usize,
        /// How many draws were tried for it.
        attempts: usize,
    },
    /// A model parameter is not finite.
    NonFiniteParameter {
        /// The parameter's name.
        name: &'static str,
        /// The value itself.
        value: f64,
    },
    /// A model parameter's magnitude is beyond what the computation can represent.
    ParameterOutOfRange {
        /// The parameter's name.
        name: &'static str,
        /// The value itself.
        value: f64,
        /// The largest magnitude accepted.
        limit: f64,
    },
    /// No observations were given.
    NoObservations,
    /// A choice observation has no eligible items.
    NoEligibleItems {
        /// The observation's position.
        observation: usize,
    },
    /// A choice weight is zero, negative or not finite.
    InvalidWeight {
        /// The observation's position.
        observation: usize,
        /// The item's position among the observation's eligible items.
        item: usize,
        /// The weight itself.
        value: f64,
    },
    /// The chosen item's index is not among the eligible items.
    ChosenOutOfRange {
        /// The observation's position.
        observation: usize,
        /// The chosen index.
        chosen: usize,
        /// The number of eligible items.
        eligible: usize,
    },
    /// Every observation has a single eligible item or equal weights, so the likelihood does not
    /// depend on the exponent.
    NoInformativeObservations {
        /// The number of observations given.
        observations: usize,
    },
    /// Every informative observation chose its largest weight: the likelihood increases without
    /// bound as the exponent goes to plus infinity, so there is no finite maximum.
    MaximumAtPlusInfinity {
        /// The number of informative observations.
        informative: usize,
    },
    /// Every informative observation chose its smallest weight: the likelihood increases without
    /// bound as the exponent goes to minus infinity, so there is no finite maximum.
    MaximumAtMinusInfinity {
        /// The number of informative observations.
        informative: usize,
    },
    /// A calibration needs at least one bin.
    NoBins,
    /// An iterative solver did not converge.
    NoConvergence {
        /// What was being solved for.
        what: &'static str,
    },
}

impl fmt::Display for StatsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::TooFewValues { needed, got } => {
                write!(f, "interval undefined: needs at least {needed} values, got {got}")
            }
            Self::NonFinite { index, value } => write!(f, "value {index} is not finite ({value})"),
            Self::InvalidLevel(level) => write!(f, "confidence level {level} is not in (0, 1)"),
            Self::InvalidCount { successes, trials } => {
                write!(f, "{successes} successes out of {trials} trials")
            }
            Self::LengthMismatch { first, second } => {
                write!(f, "paired samples have lengths {first} and {second}")
            }
            Self::RowCountMismatch { what, rows, got } => {
                write!(f, "{what} has {got} entries but there are {rows} rows (one entry per row is needed)")
            }
            Self::RaggedRow { row, expected, got } => {
                write!(f, "row {row} has {got} columns but row 0 has {expected}")
            }
            Self::NoColumns => write!(f, "the regression rows have no columns"),
            Self::TooFewRows { rows, columns } => write!(
                f,
                "least squares with {columns} columns needs at least {} rows, got {rows}",
                columns + 1
            ),
            Self::NonFiniteFeature { row, column, value } => {
                write!(f, "feature in row {row}, column {column} is not finite ({value})")
            }
            Self::NonFiniteResponse { row, value } => write!(f, "response y[{row}] is not finite ({value})"),
            Self::RankDeficient { column, relative_residual } => {
                if *relative_residual == 0.0 {
                    write!(
                        f,
                        "rank deficient: column {column} is a linear combination of the columns before it (or zero)"
                    )
                } else {
                    write!(
                        f,
                        "rank deficient: column {column} is numerically a linear combination of the columns \
                         before it (its part outside their span is {relative_residual:e} of its norm)"
                    )
                }
            }
            Self::NoSuchCoefficient { index, columns } => {
                write!(f, "coefficient {index} does not exist: the fit has {columns} coefficients")
            }
            Self::RankDeficientResample { resample, attempts } => write!(
                f,
                "bootstrap resample {resample} was rank deficient in each of {attempts} draws \
                 (too few distinct rows in some stratum?)"
            ),
            Self::NonFiniteParameter { name, value } => write!(f, "parameter {name} is not finite ({value})"),
            Self::ParameterOutOfRange { name, value, limit } => {
                write!(
                    f,
                    "parameter {name} = {value:e} is beyond +-{limit:e}, where the computation overflows"
                )
            }
            Self::NoObservations => write!(f, "no observations"),
            Self::NoEligibleItems { observation } => {
                write!(f, "observation {observation} has no eligible items")
            }
            Self::InvalidWeight { observation, item, value } => write!(
                f,
                "observation {observation}: weight {item} is {value}, but weights must be positive and finite"
            ),
            Self::ChosenOutOfRange { observation, chosen, eligible } => write!(
                f,
                "observation {observation}: chosen item {chosen} is out of range ({eligible} eligible items)"
            ),
            Self::NoInformativeObservations { observations } => write!(
                f,
                "none of the {observations} observations carries information about the exponent \
                 (each has one eligible item or equal weights)"
            ),
            Self::MaximumAtPlusInfinity { informative } => write!(
                f,
                "each of the {informative} informative observations chose its largest weight: the \
                 likelihood increases without bound as the exponent goes to +infinity"
            ),
            Self::MaximumAtMinusInfinity { informative } => write!(
                f,
                "each of the {informative} informative observations chose its smallest weight: the \
                 likelihood increases without bound as the exponent goes to -infinity"
            ),
            Self::NoBins => write!(f, "a calibration needs at least one bin"),
            Self::NoConvergence { what } => write!(f, "the search for {what} did not converge"),
        }
    }
}

impl std::error::Error for StatsError {}

/// Checks that every value is finite.
pub(crate) fn check_finite(values: &[f64]) -> Result<(), StatsError> {
    match values.iter().position(|v| !v.is_finite()) {
        Some(index) => Err(StatsError::NonFinite { index, value: values[index] }),
        None => Ok(()),
    }
}
