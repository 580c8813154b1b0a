from typing import Literal, Sequence

import numpy as np
import numpy.typing as npt

__all__: list[str]

class UndefinedMetricWarning(UserWarning): ...

_Average = Literal["micro", "macro", "weighted"] | None
_ZeroDivision = Literal["warn"] | float

def confusion_matrix(
    y_true: npt.ArrayLike,
    y_pred: npt.ArrayLike,
    num_classes: int | None = ...,
    labels: Sequence[int] | npt.ArrayLike | None = ...,
    sample_weight: npt.ArrayLike | None = ...,
    normalize: Literal["true", "pred", "all"] | None = ...,
) -> np.ndarray: ...
def accuracy(y_true: npt.ArrayLike, y_pred: npt.ArrayLike, sample_weight: npt.ArrayLike | None = ...) -> float: ...
def precision_recall_fscore(
    y_true: npt.ArrayLike,
    y_pred: npt.ArrayLike,
    average: Literal["binary", "micro", "macro", "weighted"] | None = ...,
    pos_label: int | bool = ...,
    beta: float = ...,
    sample_weight: npt.ArrayLike | None = ...,
    zero_division: _ZeroDivision = ...,
    labels: Sequence[int] | npt.ArrayLike | None = ...,
) -> tuple[float | np.ndarray, float | np.ndarray, float | np.ndarray, np.ndarray | None]: ...
def precision(
    y_true: npt.ArrayLike,
    y_pred: npt.ArrayLike,
    average: Literal["binary", "micro", "macro", "weighted"] | None = ...,
    pos_label: int | bool = ...,
    sample_weight: npt.ArrayLike | None = ...,
    zero_division: _ZeroDivision = ...,
    labels: Sequence[int] | npt.ArrayLike | None = ...,
) -> float | np.ndarray: ...
def recall(
    y_true: npt.ArrayLike,
    y_pred: npt.ArrayLike,
    average: Literal["binary", "micro", "macro", "weighted"] | None = ...,
    pos_label: int | bool = ...,
    sample_weight: npt.ArrayLike | None = ...,
    zero_division: _ZeroDivision = ...,
    labels: Sequence[int] | npt.ArrayLike | None = ...,
) -> float | np.ndarray: ...
def f1_score(
    y_true: npt.ArrayLike,
    y_pred: npt.ArrayLike,
    average: Literal["binary", "micro", "macro", "weighted"] | None = ...,
    pos_label: int | bool = ...,
    sample_weight: npt.ArrayLike | None = ...,
    zero_division: _ZeroDivision = ...,
    labels: Sequence[int] | npt.ArrayLike | None = ...,
) -> float | np.ndarray: ...
def roc_curve(
    y_true: npt.ArrayLike,
    y_score: npt.ArrayLike,
    pos_label: int | bool | None = ...,
    sample_weight: npt.ArrayLike | None = ...,
    drop_intermediate: bool = ...,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]: ...
def precision_recall_curve(
    y_true: npt.ArrayLike,
    y_score: npt.ArrayLike,
    pos_label: int | bool | None = ...,
    sample_weight: npt.ArrayLike | None = ...,
    drop_intermediate: bool = ...,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]: ...
def roc_auc(
    y_true: npt.ArrayLike,
    y_score: npt.ArrayLike,
    average: _Average = ...,
    multi_class: Literal["raise", "ovr"] = ...,
    sample_weight: npt.ArrayLike | None = ...,
    max_fpr: float | None = ...,
) -> float | np.ndarray: ...
def average_precision(
    y_true: npt.ArrayLike,
    y_score: npt.ArrayLike,
    average: _Average = ...,
    pos_label: int | bool = ...,
    sample_weight: npt.ArrayLike | None = ...,
) -> float | np.ndarray: ...
