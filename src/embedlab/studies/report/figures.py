"""The report's figures as PNG (matplotlib): accuracy, learning curves, intrinsic scores, projections."""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pandas as pd

from embedlab.analysis.projection import compare_projections
from embedlab.core.errors import EmbedlabError
from embedlab.core.jsonio import atomic_write
from embedlab.core.rundir import RunDir
from embedlab.studies.report.names import model_name, source_label, source_name, task_name
from embedlab.studies.report.tables import FIGURES, completed
from embedlab.training.baselines import BASELINES

log = logging.getLogger("embedlab")


def figure_path(out_dir: Path, name: str) -> Path:
    (out_dir / FIGURES).mkdir(parents=True, exist_ok=True)
    return out_dir / FIGURES / name


def save_figure(fig, out: Path) -> Path:
    """A figure as PNG, written whole under a name unique to this process (two sweeps may report at once)."""
    import matplotlib.pyplot as plt

    atomic_write(out, lambda tmp: fig.savefig(tmp, dpi=110), suffix=".png")
    plt.close(fig)
    return out


SCRATCH, PRETRAINED, BASELINE = "scratch", "pretrained", "baseline"
COLOURS = {SCRATCH: "#dd8452", PRETRAINED: "#4c72b0", BASELINE: "#555555"}
MARKERS = {SCRATCH: "D", PRETRAINED: "o", BASELINE: "s"}


def arm_label(model: str, embedding: str, mode: str) -> str:
    """'CNN, GloVe 6B 100d, fine-tuned'; a baseline by its model alone, or with the vectors it uses."""
    if model in BASELINES:
        return model_name(model) + ("" if embedding == "scratch" else f" + {source_name(embedding)}")
    return f"{model_name(model)}, {source_name(embedding, mode)}"


def forest_rows(cells: pd.DataFrame) -> pd.DataFrame:
    """What an accuracy figure draws, one row per arm: its panel (task, training size), label, mean and 95% interval
    in %, and its kind (scratch, pretrained, baseline). Neural arms first (by model, then mean), baselines last."""
    rows = []
    for record in cells.to_dict("records"):
        baseline = record["model"] in BASELINES
        scratch = record["embedding"] == "scratch" and record["mode"] == "scratch"
        label = arm_label(record["model"], record["embedding"], record["mode"])
        mean = 100 * float(record["mean"])
        low, high = (100 * float(record[k]) if pd.notna(record[k]) else mean for k in ("ci95_low", "ci95_high"))
        rows.append(
            {
                "task": record["task"],
                "train_size": record["train_size"],
                "label": label,
                "model": record["model"],
                "mean": mean,
                "low": low,
                "high": high,
                "kind": BASELINE if baseline else SCRATCH if scratch else PRETRAINED,
            }
        )
    frame = pd.DataFrame(rows)
    if frame.empty:
        return frame
    frame["order"] = frame["kind"].map({SCRATCH: 0, PRETRAINED: 0, BASELINE: 1})
    frame = frame.sort_values(["task", "order", "model", "mean"], ascending=[True, True, True, False])
    return frame.drop(columns="order").reset_index(drop=True)


def forest_limits(rows: pd.DataFrame) -> tuple[float, float]:
    """One x-range for every panel of a figure, holding every interval with a margin, within 0-100%."""
    low, high = float(rows["low"].min()), float(rows["high"].max())
    margin = max(0.5, 0.08 * (high - low))
    return max(0.0, low - margin), min(100.0, high + margin)


def plot_accuracy(cells: pd.DataFrame, out: Path | None = None):
    """Accuracy per arm as a dot and its 95% interval (a forest plot), every arm and baseline of the cells on one
    shared axis in %, one panel per training size; scratch marked, its mean drawn as a reference line."""
    import matplotlib.pyplot as plt  # the backend is the caller's: Agg when headless, inline in a notebook

    rows = forest_rows(cells)
    panels = list(rows.groupby(["task", "train_size"], dropna=False, sort=True))
    height = max(len(group) for _, group in panels)
    fig, axes = plt.subplots(
        len(panels), 1, figsize=(9, len(panels) * (0.38 * height + 1.2)), sharex=True, squeeze=False
    )
    for ax, ((task, size), group) in zip(axes[:, 0], panels, strict=True):
        y = np.arange(len(group))[::-1]
        for kind in (PRETRAINED, SCRATCH, BASELINE):
            mine = (group["kind"] == kind).to_numpy()
            if not mine.any():
                continue
            part = group[mine]
            ax.errorbar(
                part["mean"],
                y[mine],
                xerr=[part["mean"] - part["low"], part["high"] - part["mean"]],
                fmt=MARKERS[kind],
                color=COLOURS[kind],
                capsize=3,
                label=kind,
            )
        for scratch in group[group["kind"] == SCRATCH]["mean"]:
            ax.axvline(scratch, color=COLOURS[SCRATCH], linestyle="--", linewidth=0.8, alpha=0.7)
        ax.set_yticks(y, group["label"])
        size_text = "" if pd.isna(size) else f", training size {size:g}"
        ax.set_title(f"{task_name(task)}{size_text}", fontsize=10)
        ax.grid(axis="x", alpha=0.3)
    axes[0, 0].set_xlim(*forest_limits(rows))
    spread = "95% interval" if (rows["high"] > rows["low"]).any() else "one seed per arm: no interval"
    axes[-1, 0].set_xlabel(f"test accuracy, % (mean over seeds, {spread}); dashed: scratch Embedding")
    axes[0, 0].legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False)
    return finish(fig, out)


def accuracy_figures(cells: pd.DataFrame, out_dir: Path) -> list[Path]:
    """accuracy_<task>.png for every task: its arms and baselines on one axis."""
    written = []
    for task, group in cells.groupby("task", sort=True):
        path = figure_path(out_dir, f"accuracy_{task}.png")
        plot_accuracy(group, path)
        written.append(path)
    return written


def finish(fig, out: Path | None):
    """Lay the figure out; write it when out is given (a notebook shows it instead)."""
    fig.tight_layout()
    if out is not None:
        save_figure(fig, out)
    return fig


def dots_and_lines(ax, label: str, x, mean, below, above) -> None:
    """One curve of an interval figure: a dot and its interval at each x (fractions drawn in %), a thin line."""
    ax.errorbar(x, 100 * mean, yerr=[100 * below, 100 * above], marker="o", capsize=3, linewidth=0.8, label=label)


def plot_learning_curves(curves: pd.DataFrame, out: Path | None = None):
    """Accuracy (%) against the number of training examples (log scale): per source a dot and 95% interval at each
    size, joined by a thin line, every source of a task on one axis."""
    import matplotlib.pyplot as plt  # the backend is the caller's: Agg when headless, inline in a notebook

    tasks = sorted(curves["task"].unique())
    fig, axes = plt.subplots(1, len(tasks), figsize=(6 * len(tasks), 4.5), squeeze=False)
    for ax, task in zip(axes[0], tasks, strict=True):
        for curve, group in curves[curves["task"] == task].groupby("curve"):
            group = group.sort_values("n_train")
            low, high = group["ci95_low"].fillna(group["mean"]), group["ci95_high"].fillna(group["mean"])
            dots_and_lines(
                ax, source_label(curve), group["n_train"], group["mean"], group["mean"] - low, high - group["mean"]
            )
        ax.set_xscale("log")
        ax.set_title(task_name(task))
        ax.set_xlabel("training examples")
        ax.set_ylabel("test accuracy, % (95% interval)")
        ax.grid(alpha=0.3)
    axes[0, -1].legend(fontsize=7, loc="lower right")
    return finish(fig, out)


def plot_budget(evp: pd.DataFrame, out: Path | None = None):
    """Expected best dev accuracy (%) against the tuning budget (log scale): per arm a dot and its spread (one
    standard deviation) at each budget, joined by a thin line, every arm of a task on one axis."""
    import matplotlib.pyplot as plt  # the backend is the caller's: Agg when headless, inline in a notebook

    tasks = sorted(evp["task"].unique())
    fig, axes = plt.subplots(1, len(tasks), figsize=(6.5 * len(tasks), 4.5), squeeze=False, sharey=True)
    for ax, task in zip(axes[0], tasks, strict=True):
        for (model, embedding, mode), group in evp[evp["task"] == task].groupby(["model", "embedding", "mode"]):
            group = group.sort_values("budget")
            spread = group["std"].fillna(0)
            dots_and_lines(
                ax, arm_label(model, embedding, mode), group["budget"], group["expected_max"], spread, spread
            )
        ax.set_xscale("log")
        ticks = [b for b in (1, 2, 3, 5, 10, 20, 50, 100) if b <= evp["budget"].max()]
        ax.set_xticks(ticks, [str(b) for b in ticks])
        ax.minorticks_off()
        ax.set_title(task_name(task))
        ax.set_xlabel("tuning budget (random-search trials)")
        ax.grid(alpha=0.3)
    axes[0, 0].set_ylabel("expected best dev accuracy, % (+- 1 std)")
    axes[0, -1].legend(fontsize=7, loc="lower right")
    return finish(fig, out)


def plot_intrinsic(table: pd.DataFrame, out: Path | None = None):
    """WordSim-353 of the run's space before (open) and after (filled) training against test accuracy."""
    import matplotlib.pyplot as plt  # the backend is the caller's: Agg when headless, inline in a notebook

    tasks = sorted(table["task"].unique())
    fig, axes = plt.subplots(1, len(tasks), figsize=(6 * len(tasks), 4.5))
    axes = np.atleast_1d(axes)
    for ax, task in zip(axes, tasks, strict=True):
        group = table[table["task"] == task]
        for record in group.to_dict("records"):
            x0, x1, y = (
                record["wordsim353_spearman_initial"],
                record["wordsim353_spearman_trained"],
                record["test_accuracy"],
            )
            ax.annotate("", (x1, 100 * y), (x0, 100 * y), arrowprops={"arrowstyle": "->", "color": "grey", "lw": 0.8})
            ax.scatter([x0], [100 * y], facecolors="none", edgecolors="#4c72b0")
            ax.scatter([x1], [100 * y], color="#4c72b0")
            ax.annotate(
                source_label(record["source"]), (x1, 100 * y), fontsize=7, xytext=(3, 3), textcoords="offset points"
            )
        ax.set_title(task_name(task))
        ax.set_xlabel("WordSim-353 Spearman of the run's embedding (open: before, filled: after training)")
        ax.set_ylabel("test accuracy, %")
    return finish(fig, out)


CAPTIONS = {
    "accuracy": "Every arm and baseline of the task on one axis: the dot is the mean accuracy over seeds, the line "
    "its 95% interval, the dashed line the scratch Embedding's mean. Arms whose intervals miss the dashed line differ "
    "from scratch beyond seed noise (the paired test in the tables is the sharper check).",
    "learning_curves": "Accuracy against the number of training examples (log scale) with 95% bands: where a "
    "pretrained curve lies above scratch at the left and meets it at the right, pretraining helps most when "
    "labels are scarce.",
    "budget": "Each arm's expected best dev accuracy after n random-search trials (Dodge et al. 2019) with one "
    "standard deviation: where two arms' curves cross, the verdict depends on the budget; where they stay apart from "
    "some budget on, it holds from there.",
    "intrinsic_vs_accuracy": "Each run's WordSim-353 before (open) and after (filled) training against its accuracy: "
    "the arrow's length is how much word meaning training added or removed; its height is what the task gained.",
    "projection": "The same test sentences after each source's embedding, coloured by class: the more the colours "
    "separate in a panel, the more that space encodes the label before any classifier layer.",
}


def caption_for(figure: Path) -> str:
    """What to look for in a figure of the report."""
    stem = figure.stem
    if stem in CAPTIONS:
        return CAPTIONS[stem]
    return CAPTIONS["projection" if stem.startswith("projection") else "accuracy"]


def projection_figures(frame: pd.DataFrame, folder: Path, cache_dir: Path | None = None) -> list[Path]:
    """One comparison figure per task of the completed runs that drew sentence projections (one run per source)."""
    written: list[Path] = []
    if "status" not in frame or "task" not in frame:
        return written
    done = completed(frame).sort_values(["seed", "run_dir"])
    for task, runs in done.groupby("task"):
        drawn = runs[[RunDir(d).sentences.exists() for d in runs["run_dir"]]]  # baselines draw none
        first = drawn.drop_duplicates(["embedding", "mode"])  # the lowest seed of each source: one panel per source
        dirs = [Path(d) for d in first["run_dir"]]
        if len(dirs) < 2:
            continue
        out = folder / f"projection_{task}.png"
        try:
            written.append(compare_projections(dirs, out, cache_dir=cache_dir))
        except EmbedlabError as exc:  # e.g. runs that drew other sentences: say so, keep the table
            log.warning("no projection comparison for %s: %s", task, exc)
    return written
