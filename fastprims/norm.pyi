from typing import Sequence

import numpy as np
import numpy.typing as npt

__all__: list[str]

def batch_norm(x: npt.ArrayLike, gamma: npt.ArrayLike | None, beta: npt.ArrayLike | None,
               running_mean: np.ndarray | None, running_var: np.ndarray | None, training: bool,
               momentum: float = ..., eps: float = ..., *,
               out: np.ndarray | None = ...) -> tuple[np.ndarray, np.ndarray, np.ndarray]: ...
def batch_norm_backward(grad_out: npt.ArrayLike, x: npt.ArrayLike, gamma: npt.ArrayLike | None,
                        save_mean: npt.ArrayLike, save_invstd: npt.ArrayLike,
                        training: bool = ...) -> tuple[np.ndarray, np.ndarray, np.ndarray]: ...
def layer_norm(x: npt.ArrayLike, normalized_shape: int | Sequence[int], weight: npt.ArrayLike | None = ...,
               bias: npt.ArrayLike | None = ..., eps: float = ..., *,
               out: np.ndarray | None = ...) -> tuple[np.ndarray, np.ndarray, np.ndarray]: ...
def layer_norm_backward(grad_out: npt.ArrayLike, x: npt.ArrayLike, normalized_shape: int | Sequence[int],
                        mean: npt.ArrayLike, rstd: npt.ArrayLike,
                        weight: npt.ArrayLike | None = ...) -> tuple[np.ndarray, np.ndarray, np.ndarray]: ...
def group_norm(x: npt.ArrayLike, num_groups: int, weight: npt.ArrayLike | None = ...,
               bias: npt.ArrayLike | None = ..., eps: float = ..., *,
               out: np.ndarray | None = ...) -> tuple[np.ndarray, np.ndarray, np.ndarray]: ...
def group_norm_backward(grad_out: npt.ArrayLike, x: npt.ArrayLike, num_groups: int, mean: npt.ArrayLike,
                        rstd: npt.ArrayLike,
                        weight: npt.ArrayLike | None = ...) -> tuple[np.ndarray, np.ndarray, np.ndarray]: ...
