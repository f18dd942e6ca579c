"""Expected validation performance (Dodge et al. 2019, "Show Your Work"): how good an arm's best dev accuracy is
expected to be after n random-search trials, for every budget n = 1..B, from the B trials it ran; and whether a
comparison between two arms holds at every budget from some k on, or flips.

The estimator treats the B trial scores as the empirical distribution of one trial's score and gives the mean and
spread of the maximum of n i.i.d. draws from it (with replacement): with v_(1) <= ... <= v_(B),
P(max = v_(i)) = (i/B)^n - ((i-1)/B)^n. That assumes i.i.d. trials, which core/search.py's draws are.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

ARM = ["task", "model", "embedding", "mode"]


def expected_max(scores: Sequence[float], budget: int) -> tuple[float, float]:
    """Mean and standard deviation of the best of `budget` i.i.d. draws from the trials' scores."""
    values = np.sort(np.asarray([s for s in scores if np.isfinite(s)], dtype=float))
    if len(values) == 0 or budget < 1:
        return float("nan"), float("nan")
    share = np.arange(1, len(values) + 1) / len(values)
    weights = share**budget - (share - 1 / len(values)) ** budget
    mean = float(np.sum(weights * values))
    return mean, float(np.sqrt(max(0.0, np.sum(weights * (values - mean) ** 2))))


def trial_runs(frame: pd.DataFrame) -> pd.DataFrame:
    """The completed random-search trials (config.trial set), scored on dev only."""
    if "config.trial" not in frame:
        return frame.iloc[0:0]
    return frame[(frame["status"] == "completed") & frame["config.trial"].notna()]


def evp_table(frame: pd.DataFrame, metric: str = "dev_accuracy_best") -> pd.DataFrame:
    """Per arm of the completed trial runs (config.trial set): expected best dev score and its spread for every
    budget 1..B (evp.csv)."""
    if "config.trial" not in frame or metric not in frame:
        return pd.DataFrame()
    trials = trial_runs(frame)
    rows = []
    for key, group in trials.groupby(ARM, dropna=False, sort=True):
        group = group.drop_duplicates("config.trial", keep="last")
        scores = pd.to_numeric(group[metric], errors="coerce").to_numpy()
        for budget in range(1, len(group) + 1):
            mean, std = expected_max(scores, budget)
            rows.append({**dict(zip(ARM, key, strict=True)), "budget": budget, "expected_max": mean, "std": std})
        rows[-1]["trials"] = len(group)
    table = pd.DataFrame(rows)
    if not table.empty:
        table["trials"] = table.groupby(ARM, dropna=False)["budget"].transform("max")
    return table


def budget_verdict(evp: pd.DataFrame, arm: dict[str, str], reference: dict[str, str]) -> tuple[int | None, str]:
    """Where an arm's expected best leads or trails the reference's: (k, 'leads' | 'trails') when the sign holds at
    every budget from k to the largest both ran, (None, 'flips') when it does not hold even at that budget alone."""

    def curve(which: dict[str, str]) -> pd.Series:
        mine = evp
        for column, value in which.items():
            mine = mine[mine[column] == value]
        return mine.set_index("budget")["expected_max"]

    a, b = curve(arm), curve(reference)
    budgets = sorted(set(a.index) & set(b.index))
    if not budgets:
        return None, "flips"
    difference = np.array([a[n] - b[n] for n in budgets])
    sign = np.sign(difference[-1])
    if sign == 0:
        return None, "flips"
    k = len(budgets)
    while k > 0 and np.sign(difference[k - 1]) == sign:
        k -= 1
    return budgets[k], "leads" if sign > 0 else "trails"


def verdict_sentence(name: str, reference: str, k: int | None, word: str, largest: int) -> str:
    """'GloVe 6B 100d, fine-tuned leads scratch Embedding from budget 4 on (through 20)'."""
    if k is None:
        return f"{name} and {reference}: no stable order up to budget {largest}"
    if k == 1:
        return f"{name} {word} {reference} at every budget (1 to {largest})"
    return f"{name} {word} {reference} from budget {k} on (through {largest}); below it the order differs"
