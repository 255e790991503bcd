//! JSON for numbers that may not be finite.
//!
//! JSON has no NaN or infinity, and serde_json writes them as `null`, which then cannot be read
//! back into an `f64`. A record of a diverged run holds such values, and must round-trip, so
//! its floats go through these modules: a finite number is written as a number, NaN as the
//! string `"NaN"`, infinities as `"inf"` and `"-inf"`. Reading accepts the same. Use them with
//! `#[serde(with = "...")]`.

use serde::de::{self, Deserializer, Visitor};
use serde::{Deserialize, Serialize, Serializer};
use std::fmt;

/// A configuration value in words: as written (`0.1`) when that is short, in scientific notation
/// (`1e300`, `1e-12`) when it would otherwise take many digits. Labels and tables use it.
pub fn parameter(x: f64) -> String {
    if x == 0.0 || (x.is_finite() && (1e-4..1e6).contains(&x.abs())) {
        x.to_string()
    } else {
        format!("{x:e}")
    }
}

/// A float as written: a number, or one of the three words.
#[derive(Serialize, Deserialize)]
#[serde(untagged)]
enum Written {
    Number(f64),
    Word(String),
}

fn to_written(x: f64) -> Written {
    if x.is_finite() {
        Written::Number(x)
    } else if x.is_nan() {
        Written::Word("NaN".into())
    } else if x > 0.0 {
        Written::Word("inf".into())
    } else {
        Written::Word("-inf".into())
    }
}

struct FloatVisitor;

impl Visitor<'_> for FloatVisitor {
    type Value = f64;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a number, \"NaN\", \"inf\" or \"-inf\"")
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<f64, E> {
        Ok(v)
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<f64, E> {
        Ok(v as f64)
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<f64, E> {
        Ok(v as f64)
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<f64, E> {
        match v {
            "NaN" => Ok(f64::NAN),
            "inf" => Ok(f64::INFINITY),
            "-inf" => Ok(f64::NEG_INFINITY),
            other => Err(E::invalid_value(de::Unexpected::Str(other), &self)),
        }
    }
}

/// A wrapper that reads and writes one float this way.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Float(f64);

impl Serialize for Float {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        to_written(self.0).serialize(serializer)
    }
}

impl<'de> Deserialize<'de> for Float {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(FloatVisitor).map(Float)
    }
}

/// `f64`.
pub mod float {
    use super::Float;
    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    /// Writes a float.
    pub fn serialize<S: Serializer>(x: &f64, serializer: S) -> Result<S::Ok, S::Error> {
        Float(*x).serialize(serializer)
    }

    /// Reads a float.
    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<f64, D::Error> {
        Float::deserialize(deserializer).map(|f| f.0)
    }
}

/// `Option<f64>`: `None` is `null`.
pub mod optional {
    use super::Float;
    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    /// Writes an optional float.
    pub fn serialize<S: Serializer>(x: &Option<f64>, serializer: S) -> Result<S::Ok, S::Error> {
        x.map(Float).serialize(serializer)
    }

    /// Reads an optional float.
    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<f64>, D::Error> {
        Option::<Float>::deserialize(deserializer).map(|f| f.map(|f| f.0))
    }
}

/// `Option<Vec<f64>>`: `None` is `null`.
pub mod optional_list {
    use super::Float;
    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    /// Writes an optional list of floats.
    pub fn serialize<S: Serializer>(x: &Option<Vec<f64>>, serializer: S) -> Result<S::Ok, S::Error> {
        x.as_ref().map(|v| v.iter().copied().map(Float).collect::<Vec<_>>()).serialize(serializer)
    }

    /// Reads an optional list of floats.
    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<Vec<f64>>, D::Error> {
        Option::<Vec<Float>>::deserialize(deserializer)
            .map(|v| v.map(|v| v.into_iter().map(|f| f.0).collect()))
    }
}

#[cfg(test)]
mod tests {
    use serde::{Deserialize, Serialize};

    #[derive(Debug, Serialize, Deserialize)]
    struct T {
        #[serde(with = "super::float")]
        x: f64,
        #[serde(with = "super::optional")]
        y: Option<f64>,
        #[serde(with = "super::optional_list")]
        z: Option<Vec<f64>>,
    }

    fn same(a: f64, b: f64) -> bool {
        a.to_bits() == b.to_bits() || (a.is_nan() && b.is_nan())
    }

    #[test]
    fn parameters_are_short() {
        use super::parameter;
        assert_eq!(parameter(0.1), "0.1");
        assert_eq!(parameter(0.5), "0.5");
        assert_eq!(parameter(20.0), "20");
        assert_eq!(parameter(1e300), "1e300");
        assert_eq!(parameter(1e-12), "1e-12");
        assert_eq!(parameter(f64::NAN), "NaN");
    }

    #[test]
    fn every_float_round_trips_bit_for_bit() {
        for x in [
            0.0,
            -0.0,
            1.5,
            1e-310,
            f64::MAX,
            f64::MIN_POSITIVE,
            f64::NAN,
            f64::INFINITY,
            f64::NEG_INFINITY,
            0.1 + 0.2,
        ] {
            let t = T { x, y: Some(x), z: Some(vec![x, 1.0]) };
            let text = serde_json::to_string(&t).unwrap();
            let back: T = serde_json::from_str(&text).unwrap();
            assert!(
                same(back.x, x) && same(back.y.unwrap(), x) && same(back.z.unwrap()[0], x),
                "{x}: {text}"
            );
        }
        let text = serde_json::to_string(&T { x: f64::NAN, y: None, z: None }).unwrap();
        assert_eq!(text, r#"{"x":"NaN","y":null,"z":null}"#);
        assert!(serde_json::from_str::<T>(r#"{"x":"nan","y":null,"z":null}"#).is_err());
        assert_eq!(serde_json::from_str::<T>(r#"{"x":3,"y":null,"z":null}"#).unwrap().x, 3.0);
    }
}
