from typing import Literal, overload

import numpy as np
import numpy.typing as npt

__all__: list[str]

_Reduction = Literal["mean", "sum", "none"]
# "mean"/"sum" give a NumPy scalar of the input dtype, "none" an array.
_Loss = np.ndarray | np.floating
_GradOut = float | npt.ArrayLike

@overload
def l1_loss(input: npt.ArrayLike, target: npt.ArrayLike, reduction: _Reduction = ..., *,
            return_grad: Literal[False] = ..., out: np.ndarray | None = ...) -> _Loss: ...
@overload
def l1_loss(input: npt.ArrayLike, target: npt.ArrayLike, reduction: _Reduction = ..., *,
            return_grad: Literal[True], out: np.ndarray | None = ...) -> tuple[_Loss, np.ndarray]: ...
def l1_loss_backward(grad_out: _GradOut, input: npt.ArrayLike, target: npt.ArrayLike,
                     reduction: _Reduction = ...) -> np.ndarray: ...
@overload
def mse_loss(input: npt.ArrayLike, target: npt.ArrayLike, reduction: _Reduction = ..., *,
             return_grad: Literal[False] = ..., out: np.ndarray | None = ...) -> _Loss: ...
@overload
def mse_loss(input: npt.ArrayLike, target: npt.ArrayLike, reduction: _Reduction = ..., *,
             return_grad: Literal[True], out: np.ndarray | None = ...) -> tuple[_Loss, np.ndarray]: ...
def mse_loss_backward(grad_out: _GradOut, input: npt.ArrayLike, target: npt.ArrayLike,
                      reduction: _Reduction = ...) -> np.ndarray: ...
@overload
def smooth_l1_loss(input: npt.ArrayLike, target: npt.ArrayLike, reduction: _Reduction = ..., beta: float = ..., *,
                   return_grad: Literal[False] = ..., out: np.ndarray | None = ...) -> _Loss: ...
@overload
def smooth_l1_loss(input: npt.ArrayLike, target: npt.ArrayLike, reduction: _Reduction = ..., beta: float = ..., *,
                   return_grad: Literal[True], out: np.ndarray | None = ...) -> tuple[_Loss, np.ndarray]: ...
def smooth_l1_loss_backward(grad_out: _GradOut, input: npt.ArrayLike, target: npt.ArrayLike,
                            reduction: _Reduction = ..., beta: float = ...) -> np.ndarray: ...
@overload
def huber_loss(input: npt.ArrayLike, target: npt.ArrayLike, reduction: _Reduction = ..., delta: float = ..., *,
               return_grad: Literal[False] = ..., out: np.ndarray | None = ...) -> _Loss: ...
@overload
def huber_loss(input: npt.ArrayLike, target: npt.ArrayLike, reduction: _Reduction = ..., delta: float = ..., *,
               return_grad: Literal[True], out: np.ndarray | None = ...) -> tuple[_Loss, np.ndarray]: ...
def huber_loss_backward(grad_out: _GradOut, input: npt.ArrayLike, target: npt.ArrayLike,
                        reduction: _Reduction = ..., delta: float = ...) -> np.ndarray: ...
@overload
def binary_cross_entropy_with_logits(input: npt.ArrayLike, target: npt.ArrayLike, weight: npt.ArrayLike | None = ...,
                                     pos_weight: npt.ArrayLike | None = ..., reduction: _Reduction = ..., *,
                                     return_grad: Literal[False] = ..., out: np.ndarray | None = ...) -> _Loss: ...
@overload
def binary_cross_entropy_with_logits(input: npt.ArrayLike, target: npt.ArrayLike, weight: npt.ArrayLike | None = ...,
                                     pos_weight: npt.ArrayLike | None = ..., reduction: _Reduction = ..., *,
                                     return_grad: Literal[True],
                                     out: np.ndarray | None = ...) -> tuple[_Loss, np.ndarray]: ...
def binary_cross_entropy_with_logits_backward(grad_out: _GradOut, input: npt.ArrayLike, target: npt.ArrayLike,
                                              weight: npt.ArrayLike | None = ...,
                                              pos_weight: npt.ArrayLike | None = ...,
                                              reduction: _Reduction = ...) -> np.ndarray: ...
@overload
def sigmoid_focal_loss(inputs: npt.ArrayLike, targets: npt.ArrayLike, alpha: float = ..., gamma: float = ...,
                       reduction: _Reduction = ..., *, return_grad: Literal[False] = ...,
                       out: np.ndarray | None = ...) -> _Loss: ...
@overload
def sigmoid_focal_loss(inputs: npt.ArrayLike, targets: npt.ArrayLike, alpha: float = ..., gamma: float = ...,
                       reduction: _Reduction = ..., *, return_grad: Literal[True],
                       out: np.ndarray | None = ...) -> tuple[_Loss, np.ndarray]: ...
def sigmoid_focal_loss_backward(grad_out: _GradOut, inputs: npt.ArrayLike, targets: npt.ArrayLike,
                                alpha: float = ..., gamma: float = ..., reduction: _Reduction = ...) -> np.ndarray: ...
@overload
def cross_entropy(input: npt.ArrayLike, target: npt.ArrayLike, weight: npt.ArrayLike | None = ...,
                  ignore_index: int = ..., reduction: _Reduction = ..., label_smoothing: float = ..., *,
                  return_grad: Literal[False] = ..., out: np.ndarray | None = ...) -> _Loss: ...
@overload
def cross_entropy(input: npt.ArrayLike, target: npt.ArrayLike, weight: npt.ArrayLike | None = ...,
                  ignore_index: int = ..., reduction: _Reduction = ..., label_smoothing: float = ..., *,
                  return_grad: Literal[True], out: np.ndarray | None = ...) -> tuple[_Loss, np.ndarray]: ...
def cross_entropy_backward(grad_out: _GradOut, input: npt.ArrayLike, target: npt.ArrayLike,
                           weight: npt.ArrayLike | None = ..., ignore_index: int = ...,
                           reduction: _Reduction = ..., label_smoothing: float = ...) -> np.ndarray: ...
@overload
def nll_loss(input: npt.ArrayLike, target: npt.ArrayLike, weight: npt.ArrayLike | None = ...,
             ignore_index: int = ..., reduction: _Reduction = ..., *, return_grad: Literal[False] = ...,
             out: np.ndarray | None = ...) -> _Loss: ...
@overload
def nll_loss(input: npt.ArrayLike, target: npt.ArrayLike, weight: npt.ArrayLike | None = ...,
             ignore_index: int = ..., reduction: _Reduction = ..., *, return_grad: Literal[True],
             out: np.ndarray | None = ...) -> tuple[_Loss, np.ndarray]: ...
def nll_loss_backward(grad_out: _GradOut, input: npt.ArrayLike, target: npt.ArrayLike,
                      weight: npt.ArrayLike | None = ..., ignore_index: int = ...,
                      reduction: _Reduction = ...) -> np.ndarray: ...
@overload
def softmax_focal_loss(input: npt.ArrayLike, target: npt.ArrayLike, alpha: float | npt.ArrayLike | None = ...,
                       gamma: float = ..., reduction: _Reduction = ..., ignore_index: int = ..., *,
                       return_grad: Literal[False] = ..., out: np.ndarray | None = ...) -> _Loss: ...
@overload
def softmax_focal_loss(input: npt.ArrayLike, target: npt.ArrayLike, alpha: float | npt.ArrayLike | None = ...,
                       gamma: float = ..., reduction: _Reduction = ..., ignore_index: int = ..., *,
                       return_grad: Literal[True], out: np.ndarray | None = ...) -> tuple[_Loss, np.ndarray]: ...
def softmax_focal_loss_backward(grad_out: _GradOut, input: npt.ArrayLike, target: npt.ArrayLike,
                                alpha: float | npt.ArrayLike | None = ..., gamma: float = ...,
                                reduction: _Reduction = ..., ignore_index: int = ...) -> np.ndarray: ...

_PPOLosses = tuple[np.floating, np.floating, np.floating, np.floating]
_PPOGrads = tuple[np.ndarray, np.ndarray, np.ndarray]

@overload
def ppo_clip_loss(new_logp: npt.ArrayLike, old_logp: npt.ArrayLike, advantages: npt.ArrayLike,
                  values: npt.ArrayLike, returns: npt.ArrayLike, entropy: npt.ArrayLike, clip_eps: float = ...,
                  value_coef: float = ..., entropy_coef: float = ..., *,
                  return_grad: Literal[False] = ...) -> _PPOLosses: ...
@overload
def ppo_clip_loss(new_logp: npt.ArrayLike, old_logp: npt.ArrayLike, advantages: npt.ArrayLike,
                  values: npt.ArrayLike, returns: npt.ArrayLike, entropy: npt.ArrayLike, clip_eps: float = ...,
                  value_coef: float = ..., entropy_coef: float = ..., *,
                  return_grad: Literal[True]) -> tuple[_PPOLosses, _PPOGrads]: ...
def ppo_clip_loss_backward(grad_out: float, new_logp: npt.ArrayLike, old_logp: npt.ArrayLike,
                           advantages: npt.ArrayLike, values: npt.ArrayLike, returns: npt.ArrayLike,
                           entropy: npt.ArrayLike, clip_eps: float = ..., value_coef: float = ...,
                           entropy_coef: float = ...) -> _PPOGrads: ...
