"""Type stubs of the native module. Use the wrappers in `aesgd`; these are their Rust side."""

from typing import Any, Callable, Dict, List, Optional

import numpy as np
import numpy.typing as npt

def loss(w: npt.NDArray[np.float64], data: Optional[npt.NDArray[np.float64]], activation_name: str) -> float: ...
def gradient(
    w: npt.NDArray[np.float64], data: Optional[npt.NDArray[np.float64]], activation_name: str
) -> npt.NDArray[np.float64]: ...
def hessian(
    w: npt.NDArray[np.float64], data: Optional[npt.NDArray[np.float64]], activation_name: str
) -> npt.NDArray[np.float64]: ...
def hessian_trace(w: npt.NDArray[np.float64], data: Optional[npt.NDArray[np.float64]], activation_name: str) -> float: ...
def run_grid(
    arguments: Dict[str, Any],
    batches: List[int],
    seeds: int,
    seed: int,
    points: Optional[npt.NDArray[np.float64]],
    progress: Optional[Callable[[int, int], Any]],
) -> List[str]: ...
def run_trajectory(
    arguments: Dict[str, Any], batch: int, seed: int, run_index: int, points: Optional[npt.NDArray[np.float64]]
) -> str: ...
def repro(
    specs: str,
    out: str,
    quick: bool,
    only: List[str],
    jobs: Optional[int],
    fresh: bool,
    check: bool,
    progress: Optional[Callable[[int, int], Any]],
    committed: bool,
) -> str: ...
def load_spec(path: str) -> str: ...
