//! What `k` neurons' data coordinates `U = W X` (`k x n`, row `j` is neuron `j`'s `<w_j, x_i>`)
//! say: each neuron's support and selected data point, the distinct points selected,
//! collisions and dead neurons, and `diag(W^T W)` read in data coordinates.
//!
//! Rows of a linear `W` may rotate inside the subspace they span (`W` and `Q W` for an orthogonal
//! `Q` reconstruct alike), so for the linear activation a row's support is the wrong measure of
//! sparsity: the subspace is. `diag(U^T U)`, entry `i` being `sum_j <w_j, x_i>^2 = x_i^T W^T W
//! x_i`, does not depend on the rotation; `W` sits on a coordinate subspace of the data exactly
//! when `k` entries are 1 and the rest 0. This module measures and never decides when a run
//! stops.

use crate::config::Activation;
use crate::metrics::support_indices;

/// The metrics of `k` neurons' data coordinates.
#[derive(Debug, Clone, PartialEq)]
pub struct NeuronsMetrics {
    /// Each neuron's support: its coordinates above `support_threshold` times its largest.
    pub supports: Vec<usize>,
    /// Each neuron's selected data point: its one coordinate, when its support is one and that
    /// sample is active.
    pub selected: Vec<Option<usize>>,
    /// The selected points sorted, one a neuron, when every neuron selects one.
    pub selected_points: Option<Vec<usize>>,
    /// The number of distinct points selected.
    pub distinct_selected: usize,
    /// Neurons that select a point another neuron selects too, beyond the first: the
    /// selecting neurons less the distinct points.
    pub collisions: usize,
    /// Neurons with no active sample (`sigma(<w_j, x_i>) = 0` for every `i`): every gradient of
    /// theirs is zero, so no step moves them again.
    pub dead_neurons: usize,
    /// Data points in the support of two or more neurons at an active coordinate: 0 when the
    /// neurons share the points they use out among themselves (the ReLU minima; for the linear
    /// activation rows rotate inside their subspace, so this says little there).
    pub shared_points: usize,
    /// `diag(W^T W)` in data coordinates: `sum_j <w_j, x_i>^2` for every data point `i`.
    pub projection_diagonal: Vec<f64>,
}

impl NeuronsMetrics {
    /// The metrics of `u` (`k` rows of `n`, row by row).
    pub fn of(u: &[f64], k: usize, activation: Activation, support_threshold: f64) -> Self {
        let n = u.len().checked_div(k).unwrap_or(0);
        let rows: Vec<&[f64]> = (0..k).map(|j| &u[j * n..(j + 1) * n]).collect();
        let indices: Vec<Vec<usize>> =
            rows.iter().map(|row| support_indices(row, support_threshold)).collect();
        let supports: Vec<usize> = indices.iter().map(Vec::len).collect();
        // A neuron selects its one coordinate only where that sample is active: a dead ReLU
        // neuron with one negative coordinate reconstructs nothing.
        let selected: Vec<Option<usize>> = indices
            .iter()
            .zip(&rows)
            .map(|(i, row)| (i.len() == 1 && activation.is_active(row[i[0]])).then(|| i[0]))
            .collect();
        let mut chosen: Vec<usize> = selected.iter().flatten().copied().collect();
        let single = chosen.len();
        chosen.sort_unstable();
        let all_single = single == k;
        let selected_points = all_single.then(|| chosen.clone());
        chosen.dedup();
        let distinct_selected = chosen.len();
        let dead_neurons = rows.iter().filter(|row| row.iter().all(|&z| activation.value(z) == 0.0)).count();
        let mut users = vec![0usize; n];
        for (i, row) in indices.iter().zip(&rows) {
            for &point in i.iter().filter(|&&point| activation.is_active(row[point])) {
                users[point] += 1;
            }
        }
        let shared_points = users.iter().filter(|&&count| count > 1).count();
        let projection_diagonal = (0..n).map(|i| rows.iter().map(|row| row[i] * row[i]).sum()).collect();
        Self {
            supports,
            selected,
            selected_points,
            distinct_selected,
            collisions: single - distinct_selected,
            dead_neurons,
            shared_points,
            projection_diagonal,
        }
    }
}
