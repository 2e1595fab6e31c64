"""Research analysis: collect runs, compare them honestly, break scores down, aggregate stance.

>>> from stance.analysis import load_runs, compare
>>> runs = load_runs("outputs/multirun/2026-01-01")          # doctest: +SKIP
>>> print(compare(runs.iloc[1], runs.iloc[0]).verdict)        # doctest: +SKIP
"""

from stance.analysis.breakdown import (
    breakdown,
    calibration_table,
    learning_curve_table,
    most_confident_errors,
    plot_breakdown,
    plot_calibration,
    plot_learning_curve,
)
from stance.analysis.compare import Comparison, align_predictions, compare, mcnemar_exact
from stance.analysis.plotting import save_figure
from stance.analysis.runs import find_runs, load_runs, summary_table, varying_columns
from stance.analysis.shares import plot_shares
from stance.evaluation.shares import (
    add_period,
    adjust_shares,
    misclassification_matrix,
    stance_shares,
)

__all__ = [
    "Comparison",
    "add_period",
    "adjust_shares",
    "align_predictions",
    "breakdown",
    "calibration_table",
    "compare",
    "find_runs",
    "learning_curve_table",
    "load_runs",
    "mcnemar_exact",
    "misclassification_matrix",
    "most_confident_errors",
    "plot_breakdown",
    "plot_calibration",
    "plot_learning_curve",
    "plot_shares",
    "save_figure",
    "stance_shares",
    "summary_table",
    "varying_columns",
]
