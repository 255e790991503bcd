//! The figure error: a drawing backend failure or an input that cannot be drawn.

use plotters::drawing::DrawingAreaErrorKind;
use std::fmt;

/// Why a figure could not be drawn.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FigureError {
    message: String,
}

impl FigureError {
    /// An error with this message.
    pub fn new(message: impl Into<String>) -> Self {
        Self { message: message.into() }
    }
}

impl fmt::Display for FigureError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "cannot draw figure: {}", self.message)
    }
}

impl std::error::Error for FigureError {}

impl<E: std::error::Error + Send + Sync> From<DrawingAreaErrorKind<E>> for FigureError {
    fn from(error: DrawingAreaErrorKind<E>) -> Self {
        Self::new(error.to_string())
    }
}
