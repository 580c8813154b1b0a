from typing import Literal, Sequence

import numpy as np
import numpy.typing as npt

__all__: list[str]

_Pair = int | tuple[int, int]
_Padding = int | tuple[int, int] | Literal["same", "valid"]
_Algorithm = Literal["auto", "direct", "im2col", "winograd"]

def gemm_backend() -> str: ...
def conv2d(
    x: npt.ArrayLike,
    weight: npt.ArrayLike,
    bias: npt.ArrayLike | None = ...,
    stride: _Pair = ...,
    padding: _Padding = ...,
    dilation: _Pair = ...,
    groups: int = ...,
    *,
    algorithm: _Algorithm = ...,
    out: np.ndarray | None = ...,
) -> np.ndarray: ...
def conv2d_backward(
    grad_out: npt.ArrayLike,
    x: npt.ArrayLike,
    weight: npt.ArrayLike,
    stride: _Pair = ...,
    padding: _Padding = ...,
    dilation: _Pair = ...,
    groups: int = ...,
    *,
    algorithm: _Algorithm = ...,
    needs_input_grad: tuple[bool, bool, bool] = ...,
) -> tuple[np.ndarray | None, np.ndarray | None, np.ndarray | None]: ...
def im2col(x: npt.ArrayLike, kernel_size: _Pair, dilation: _Pair = ..., padding: _Pair = ...,
           stride: _Pair = ...) -> np.ndarray: ...
def col2im(col: npt.ArrayLike, output_size: _Pair, kernel_size: _Pair, dilation: _Pair = ...,
           padding: _Pair = ..., stride: _Pair = ...) -> np.ndarray: ...
def im2col_workspace_bytes(x_shape: Sequence[int], weight_shape: Sequence[int], stride: _Pair = ...,
                           padding: _Padding = ..., dilation: _Pair = ..., groups: int = ..., *,
                           dtype: npt.DTypeLike = ..., backward: bool = ...,
                           n_threads: int | None = ...) -> int: ...
def winograd_workspace_bytes(x_shape: Sequence[int], weight_shape: Sequence[int], padding: _Padding = ...,
                             groups: int = ..., *, dtype: npt.DTypeLike = ..., backward: bool = ...,
                             n_threads: int | None = ...) -> int: ...
def conv_output_size(size: _Pair, kernel: _Pair, stride: _Pair = ..., padding: _Pair = ...,
                     dilation: _Pair = ..., ceil_mode: bool = ...) -> int | tuple[int, int]: ...
def conv2d_params(in_channels: int, out_channels: int, kernel_size: _Pair, groups: int = ...,
                  bias: bool = ...) -> int: ...
def conv2d_flops(input_shape: Sequence[int], out_channels: int, kernel_size: _Pair, stride: _Pair = ...,
                 padding: _Padding = ..., dilation: _Pair = ..., groups: int = ..., bias: bool = ...) -> int: ...
def receptive_field(layers: Sequence[Sequence[int]]) -> list[tuple[int, int]]: ...
