//! The exact Hessian of `L` for `k` neurons: the `kd x kd` matrix, its closed-form trace and
//! its eigenvalues. The formulas are derived in the [parent module's docs](super); this module
//! does not choose where to evaluate (the raw iterate or an identified limit point).

use super::{Neurons, dot, fits, sample_state};
use crate::config::Activation;
use crate::data::Data;
use crate::error::ConfigError;
use faer::{Mat, Side};

/// The `kd x kd` Hessian of `L` at `W` (index `j d + c` for entry `c` of row `j`), exactly
/// symmetric, from the blocks of the [module docs](super).
pub fn hessian(data: &Data, activation: Activation, weights: &Neurons) -> Result<Mat<f64>, ConfigError> {
    fits(data, weights)?;
    let (k, d) = (weights.k, weights.d);
    let n = data.n() as f64;
    let gram: Vec<f64> = (0..k * k).map(|jm| dot(weights.row(jm / k), weights.row(jm % k))).collect();
    let mut h = Mat::<f64>::zeros(k * d, k * d);
    for i in 0..data.n() {
        let x = data.point(i);
        let st = sample_state(activation, weights, x);
        for j in 0..k {
            for m in 0..=j {
                let (wj, wm) = (weights.row(j), weights.row(m));
                let (aa, as_, sa) = (st.a[j] * st.a[m], st.a[j] * st.s[m], st.s[j] * st.a[m]);
                let ss = st.s[j] * st.s[m] * gram[j * k + m];
                let own = if j == m { st.s[j] } else { 0.0 };
                for row in 0..d {
                    for col in 0..d {
                        let mut v = as_ * wm[row] * x[col] + sa * x[row] * wj[col] + ss * x[row] * x[col];
                        v -= own * (st.residual[row] * x[col] + x[row] * st.residual[col]);
                        if row == col {
                            v += aa;
                        }
                        h[(j * d + row, m * d + col)] += v / n;
                    }
                }
            }
        }
    }
    // The upper triangle from the lower one, so that H is exactly symmetric.
    for col in 0..k * d {
        for row in col + 1..k * d {
            h[(col, row)] = h[(row, col)];
        }
    }
    Ok(h)
}

/// `tr H` in closed form ([module docs](super)), in O(n k d) without the matrix.
pub fn hessian_trace(data: &Data, activation: Activation, weights: &Neurons) -> Result<f64, ConfigError> {
    fits(data, weights)?;
    let d = weights.d as f64;
    let norms_sq: Vec<f64> = (0..weights.k).map(|j| dot(weights.row(j), weights.row(j))).collect();
    let mut total = 0.0;
    for i in 0..data.n() {
        let x = data.point(i);
        let st = sample_state(activation, weights, x);
        let r_dot_x = dot(&st.residual, x);
        let c = data.norms_sq()[i];
        for (((&a, &s), &z), &r) in st.a.iter().zip(&st.s).zip(&st.z).zip(&norms_sq) {
            total += d * a * a + 2.0 * a * s * z + s * r * c - 2.0 * s * r_dot_x;
        }
    }
    Ok(total / data.n() as f64)
}

/// The eigenvalues of `H`, increasing.
pub fn hessian_eigenvalues(
    data: &Data,
    activation: Activation,
    weights: &Neurons,
) -> Result<Vec<f64>, ConfigError> {
    let h = hessian(data, activation, weights)?;
    let values = h.self_adjoint_eigenvalues(Side::Lower).map_err(|e| {
        ConfigError::new("weights", format!("{e:?}"), "must give a Hessian whose eigenvalues converge")
    })?;
    Ok(values)
}
