//! Sweep values that depend on `n`: batch sizes (`8`, `"n"`, `"n-1"`, `"n/2"`) and dimensions
//! (`100`, `"n"`), parsed once into typed expressions and resolved for each `n`.
//!
//! A string that is not one of these forms is refused when the spec is read, with the value
//! and the forms allowed. This module does not build run configurations; `plan` does.

use serde::de::{self, Deserializer, Visitor};
use serde::{Deserialize, Serialize, Serializer};
use std::fmt;

/// A batch size: a number, or an expression in `n`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum BatchSize {
    /// An absolute batch size.
    Fixed(usize),
    /// `n`: full batch.
    N,
    /// `n - k`.
    NMinus(usize),
    /// `n / k`, rounded down.
    NOver(usize),
}

/// The forms a batch size may take, for error messages.
pub const BATCH_FORMS: &str = "a whole number, or \"n\", \"n-K\", \"n/K\" with K a whole number";

impl BatchSize {
    /// Parses `"n"`, `"n-K"`, `"n/K"` (spaces ignored) or a whole number.
    pub fn parse(text: &str) -> Option<Self> {
        let t: String = text.chars().filter(|c| !c.is_whitespace()).collect();
        if t == "n" {
            Some(Self::N)
        } else if let Some(k) = t.strip_prefix("n-") {
            k.parse().ok().map(Self::NMinus)
        } else if let Some(k) = t.strip_prefix("n/") {
            k.parse().ok().filter(|&k| k > 0).map(Self::NOver)
        } else {
            t.parse().ok().map(Self::Fixed)
        }
    }

    /// The batch size at `n`, or why there is none: `n - k` must be at least 1 and `n / k` must
    /// not round down to 0 (a silently clamped batch size would be another experiment).
    pub fn resolve(self, n: usize) -> Result<usize, String> {
        match self {
            Self::Fixed(b) => Ok(b),
            Self::N => Ok(n),
            Self::NMinus(k) => n.checked_sub(k).filter(|&b| b >= 1).ok_or_else(|| {
                format!("n-{k} is {} at n = {n}; it must be at least 1", n as i128 - k as i128)
            }),
            Self::NOver(k) => Some(n / k)
                .filter(|&b| b >= 1)
                .ok_or_else(|| format!("n/{k} rounds down to 0 at n = {n}; it must be at least 1")),
        }
    }
}

impl fmt::Display for BatchSize {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Fixed(b) => write!(f, "{b}"),
            Self::N => f.write_str("n"),
            Self::NMinus(k) => write!(f, "n-{k}"),
            Self::NOver(k) => write!(f, "n/{k}"),
        }
    }
}

/// The dimension: a number, or `"n"`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Dimension {
    /// An absolute dimension.
    Fixed(usize),
    /// `d = n`.
    N,
}

impl Dimension {
    /// The dimension at `n`.
    pub fn resolve(self, n: usize) -> usize {
        match self {
            Self::Fixed(d) => d,
            Self::N => n,
        }
    }
}

impl fmt::Display for Dimension {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Fixed(d) => write!(f, "{d}"),
            Self::N => f.write_str("n"),
        }
    }
}

/// A visitor for "a whole number or one of these strings".
struct NumberOrText<T> {
    expecting: &'static str,
    from_number: fn(usize) -> T,
    from_text: fn(&str) -> Option<T>,
}

impl<T> Visitor<'_> for NumberOrText<T> {
    type Value = T;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.expecting)
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<T, E> {
        usize::try_from(v)
            .map(self.from_number)
            .map_err(|_| E::invalid_value(de::Unexpected::Signed(v), &self))
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<T, E> {
        usize::try_from(v)
            .map(self.from_number)
            .map_err(|_| E::invalid_value(de::Unexpected::Unsigned(v), &self))
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<T, E> {
        (self.from_text)(v).ok_or_else(|| E::invalid_value(de::Unexpected::Str(v), &self))
    }
}

impl<'de> Deserialize<'de> for BatchSize {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(NumberOrText {
            expecting: "a batch size: a whole number, or \"n\", \"n-K\", \"n/K\" with K a whole number",
            from_number: Self::Fixed,
            from_text: Self::parse,
        })
    }
}

impl<'de> Deserialize<'de> for Dimension {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(NumberOrText {
            expecting: "a dimension: a whole number or \"n\"",
            from_number: Self::Fixed,
            from_text: |t| (t.trim() == "n").then_some(Self::N),
        })
    }
}

impl Serialize for BatchSize {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            Self::Fixed(b) => serializer.serialize_u64(*b as u64),
            other => serializer.collect_str(other),
        }
    }
}

impl Serialize for Dimension {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            Self::Fixed(d) => serializer.serialize_u64(*d as u64),
            Self::N => serializer.serialize_str("n"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn batch_sizes_resolve_at_n() {
        let at = |text: &str, n: usize| BatchSize::parse(text).unwrap().resolve(n);
        assert_eq!(at("n", 20), Ok(20));
        assert_eq!(at("n-1", 20), Ok(19));
        assert_eq!(at("n - 3", 20), Ok(17));
        assert_eq!(at("n/2", 20), Ok(10));
        assert_eq!(at("n/3", 20), Ok(6));
        assert_eq!(at("n/4", 6), Ok(1));
        assert_eq!(at("7", 20), Ok(7));
        // Nothing is clamped: a batch size that does not exist at this n is an error.
        assert!(at("n/100", 6).unwrap_err().contains("rounds down to 0"));
        assert!(at("n-6", 6).unwrap_err().contains("n-6 is 0"));
        assert!(at("n-7", 6).unwrap_err().contains("n-7 is -1"));
    }

    #[test]
    fn malformed_batch_sizes_are_refused() {
        for text in ["m/2", "n/0", "n*2", "n-", "2n", "-1", "", "n/-2"] {
            assert_eq!(BatchSize::parse(text), None, "{text}");
        }
    }

    #[test]
    fn labels_are_written_as_parsed() {
        for text in ["n", "n-1", "n/2", "5"] {
            assert_eq!(BatchSize::parse(text).unwrap().to_string(), text);
        }
        assert_eq!(BatchSize::parse(" n / 4 ").unwrap().to_string(), "n/4");
    }

    #[test]
    fn toml_reads_numbers_and_expressions_and_refuses_negatives() {
        #[derive(Deserialize)]
        struct T {
            b: Vec<BatchSize>,
            d: Vec<Dimension>,
        }
        let t: T = toml::from_str("b = [1, \"n\", \"n-1\", \"n/2\"]\nd = [100, \"n\"]").unwrap();
        assert_eq!(t.b, vec![BatchSize::Fixed(1), BatchSize::N, BatchSize::NMinus(1), BatchSize::NOver(2)]);
        assert_eq!(t.d, vec![Dimension::Fixed(100), Dimension::N]);
        let error = toml::from_str::<T>("b = [-1]\nd = []").err().unwrap().to_string();
        assert!(error.contains("-1") && error.contains("a batch size"), "{error}");
        let error = toml::from_str::<T>("b = []\nd = [\"m\"]").err().unwrap().to_string();
        assert!(error.contains("\"m\"") && error.contains("a dimension"), "{error}");
    }
}
