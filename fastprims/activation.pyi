import numpy as np
import numpy.typing as npt

__all__: list[str]

def relu(x: npt.ArrayLike, *, out: np.ndarray | None = ...) -> np.ndarray: ...
def relu_backward(grad_out: npt.ArrayLike, x: npt.ArrayLike) -> np.ndarray: ...
