"""Sentence representations right after the embedding layer (mean-pooled), projected to 2-D and drawn per space.

Every run of a task draws the same test sentences (a fixed seed, independent of the run's seed), so panels of
different runs compare. One run's figure has a panel per space (trained, initial, references); a comparison
figure across runs (a sweep's end, or `embedlab projection out.png RUN_DIR...`) has one per run.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from embedlab.core import memo
from embedlab.core.errors import EmbedlabError, print_error
from embedlab.core.jsonio import atomic_write
from embedlab.core.rundir import RunDir
from embedlab.data.text import OOV_ID
from embedlab.vectors.space import INITIAL, RUN_SPACES, TRAINED, Space

if TYPE_CHECKING:  # the schema imports Hydra; a stage needs only its dataclasses' attributes
    from embedlab.core.schema import Projection as ProjectionConfig

METHODS = ("pca", "tsne", "umap")
# t-SNE from a PCA start: on SST-2's 500 sentences KL divergence is 1.399 after 500 iterations and 1.397 after
# 1000 (trustworthiness@10 0.798 vs 0.802) at 60% of the time, so 500 is the default (analysis.projection).
TSNE_ITERATIONS = 500


@dataclass(frozen=True)
class SentenceSample:
    """Test sentences to draw: their test-split index, label and token ids, plus labelled example sentences."""

    index: np.ndarray
    labels: np.ndarray
    ids: np.ndarray
    classes: tuple[str, ...]
    example_texts: tuple[str, ...] = ()
    example_ids: np.ndarray | None = None


def sample_sentences(
    ids: np.ndarray,
    labels: np.ndarray,
    classes: Sequence[str],
    n: int,
    seed: int = 0,
    example_texts: Sequence[str] = (),
    example_ids: np.ndarray | None = None,
) -> SentenceSample:
    """A fixed random sample of n test sentences (all of them when fewer), in test order."""
    count = len(labels)
    index = np.sort(np.random.default_rng(seed).choice(count, size=min(n, count), replace=False))
    return SentenceSample(index, labels[index], ids[index], tuple(classes), tuple(example_texts), example_ids)


def mean_pool(ids: np.ndarray, space: Space, include_unk: bool) -> np.ndarray:
    """Mean of the token vectors a sentence has in the space (padding skipped; <unk> kept for a run's own layer)."""
    usable = space.present.copy()
    usable[OOV_ID] = include_unk
    mask = usable[ids]
    sums = np.einsum("nl,nld->nd", mask.astype(np.float32), space.matrix[ids])
    return sums / np.maximum(mask.sum(axis=1, keepdims=True), 1)


def project(
    points: np.ndarray,
    method: str,
    seed: int = 0,
    cache_dir: Path | None = None,
    tsne_iterations: int = TSNE_ITERATIONS,
) -> np.ndarray:
    """2-D coordinates by PCA, t-SNE or UMAP; t-SNE and UMAP memoised by content (reference spaces repeat)."""
    if method != "pca" and cache_dir is not None:
        digest = memo.key(points.astype(np.float32), method, seed, *([tsne_iterations] if method == "tsne" else []))
        return memo.array(
            cache_dir, f"projection-{method}", digest, lambda: project(points, method, seed, None, tsne_iterations)
        )
    if method == "pca":
        from sklearn.decomposition import PCA

        return PCA(2, random_state=seed).fit_transform(points)
    if method == "tsne":
        from sklearn.manifold import TSNE

        perplexity = float(min(30, max(2, (len(points) - 1) // 3)))
        return TSNE(
            2, perplexity=perplexity, init="pca", learning_rate="auto", max_iter=tsne_iterations, random_state=seed
        ).fit_transform(points)
    if method == "umap":
        import umap  # type: ignore[import-not-found]

        return umap.UMAP(n_components=2, random_state=seed).fit_transform(points)
    raise EmbedlabError(f"analysis.projection.methods: {method!r} is not known; use any of {METHODS}")


def available_methods(methods: Sequence[str]) -> list[str]:
    """The configured methods, UMAP dropped when umap-learn is not installed."""
    import importlib.util

    unknown = [m for m in methods if m not in METHODS]
    if unknown:
        raise EmbedlabError(f"analysis.projection.methods: {unknown} not known; use any of {METHODS}")
    return [m for m in methods if m != "umap" or importlib.util.find_spec("umap") is not None]


@dataclass(frozen=True)
class Panel:
    title: str
    reps: np.ndarray  # sentences, then examples
    labels: np.ndarray
    examples: tuple[str, ...]


def all_coordinates(
    panels: Sequence[Panel], methods: Sequence[str], cache_dir: Path | None, tsne_iterations: int
) -> dict[tuple[int, str], np.ndarray]:
    """Every panel's 2-D coordinates per method, two projections at a time (t-SNE's gradient alone keeps one of
    two cores busy: two at once take 1.5 s where one after the other take 2.2 s); identical panels computed once."""
    from concurrent.futures import ThreadPoolExecutor

    content = [memo.key(panel.reps.astype(np.float32)) for panel in panels]
    keys = {(col, method): (content[col], method) for col in range(len(panels)) for method in methods}
    first = {key: col for (col, _), key in reversed(keys.items())}
    with ThreadPoolExecutor(max_workers=2) as pool:
        futures = {
            key: pool.submit(project, panels[col].reps, key[1], 0, cache_dir, tsne_iterations)
            for key, col in first.items()
        }
        done = {key: future.result() for key, future in futures.items()}
    return {where: done[key] for where, key in keys.items()}


def draw(
    panels: Sequence[Panel],
    classes: Sequence[str],
    methods: Sequence[str],
    out: Path,
    title: str,
    cache_dir: Path | None = None,
    tsne_iterations: int = TSNE_ITERATIONS,
) -> pd.DataFrame:
    """One column per panel, one row per method; returns the 2-D coordinates drawn."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(len(methods), len(panels), figsize=(4.2 * len(panels), 4.0 * len(methods)), squeeze=False)
    colours = plt.get_cmap("tab10")
    coords = all_coordinates(panels, methods, cache_dir, tsne_iterations)
    frames = []
    for col, panel in enumerate(panels):
        n = len(panel.labels)
        for row, method in enumerate(methods):
            xy = coords[col, method]
            ax = axes[row][col]
            for c, name in enumerate(classes):
                hit = panel.labels == c
                ax.scatter(xy[:n][hit, 0], xy[:n][hit, 1], s=6, alpha=0.6, color=colours(c % 10), label=name)
            for i, text in enumerate(panel.examples):
                x, y = xy[n + i]
                ax.scatter([x], [y], marker="*", s=140, color="black")
                ax.annotate(
                    text if len(text) <= 40 else text[:37] + "...",
                    (x, y),
                    fontsize=7,
                    xytext=(4, 4),
                    textcoords="offset points",
                )
            ax.set_title(f"{panel.title} ({method.upper()})", fontsize=9)
            ax.set_xticks([])
            ax.set_yticks([])
            frames.append(
                pd.DataFrame(
                    {
                        "panel": panel.title,
                        "method": method,
                        "point": range(len(xy)),
                        "label": [*panel.labels.tolist(), *([None] * len(panel.examples))],
                        "example": [None] * n + list(panel.examples),
                        "x": xy[:, 0],
                        "y": xy[:, 1],
                    }
                )
            )
    axes[0][0].legend(loc="best", fontsize=7, markerscale=2)
    fig.suptitle(title, fontsize=11)
    fig.tight_layout()
    try:  # whole, under a name unique to this process: two sweeps ending into one study may draw the same figure
        atomic_write(out, lambda tmp: fig.savefig(tmp, dpi=110), suffix=".png")
    finally:
        plt.close(fig)
    return pd.concat(frames, ignore_index=True)


def write_projections(
    out_dir: Path,
    spaces: Sequence[Space],
    sample: SentenceSample,
    cfg: ProjectionConfig,
    title: str,
    cache_dir: Path | None = None,
) -> None:
    """sentences.npz (representations per space), projection.png (panel per space) and projection.csv."""
    iterations = cfg.tsne_iterations
    if iterations < 250:
        raise EmbedlabError(f"analysis.projection.tsne_iterations: {iterations} is below 250, t-SNE's minimum")
    methods = available_methods(cfg.methods)
    reps, example_reps = {}, {}
    for space in spaces:
        own = space.name in RUN_SPACES
        reps[space.name] = mean_pool(sample.ids, space, include_unk=own)
        if sample.example_ids is not None and len(sample.example_texts):
            example_reps[space.name] = mean_pool(sample.example_ids, space, include_unk=own)
    np.savez_compressed(
        RunDir(out_dir).sentences,
        index=sample.index,
        labels=sample.labels,
        classes=np.array(sample.classes, dtype=str),
        examples=np.array(sample.example_texts, dtype=str),
        spaces=np.array(list(reps), dtype=str),
        **{f"rep_{name}": value for name, value in reps.items()},
        **{f"example_{name}": value for name, value in example_reps.items()},
    )
    panels = [
        Panel(
            name,
            _stack(reps[name], example_reps.get(name)),
            sample.labels,
            sample.example_texts if name in example_reps else (),
        )
        for name in reps
    ]
    coords = draw(panels, sample.classes, methods, RunDir(out_dir).projection, title, cache_dir, iterations)
    coords.to_csv(out_dir / "projection.csv", index=False)


def _stack(reps: np.ndarray, examples: np.ndarray | None) -> np.ndarray:
    return reps if examples is None else np.vstack([reps, examples])


def _run_label(run_dir: Path) -> str:
    status = RunDir(run_dir).status
    metrics = json.loads(status.read_text()) if status.exists() else {}
    if not metrics:
        return run_dir.name
    return f"{metrics.get('embedding')} ({metrics.get('mode')}), seed {metrics.get('seed')}"


def compare_projections(
    run_dirs: Sequence[Path],
    out: Path,
    methods: Sequence[str] = ("pca", "tsne"),
    cache_dir: Path | None = None,
) -> Path:
    """One panel per run (its trained space) plus each reference space once, for runs of one task.

    With the runs' cache_dir, t-SNE/UMAP coordinates the runs already computed are read back, not recomputed.
    """
    panels: list[Panel] = []
    seen_refs: set[str] = set()
    index = classes = None
    for run_dir in run_dirs:
        path = RunDir(run_dir).sentences
        if not path.exists():
            raise EmbedlabError(f"{run_dir} has no {path.name}; run it with analysis enabled (analysis.enabled=true)")
        with np.load(path) as data:
            if index is None:
                index, classes = data["index"], tuple(data["classes"].tolist())
            elif not np.array_equal(index, data["index"]):
                raise EmbedlabError(f"{run_dir} drew other test sentences than {run_dirs[0]}; compare runs of one task")
            examples = tuple(data["examples"].tolist())
            for name in data["spaces"].tolist():
                if name != TRAINED and (name == INITIAL or name in seen_refs):
                    continue
                title = _run_label(Path(run_dir)) if name == TRAINED else f"{name} (reference)"
                example = data[f"example_{name}"] if f"example_{name}" in data else None
                panels.append(
                    Panel(
                        title,
                        _stack(data[f"rep_{name}"], example),
                        data["labels"],
                        examples if example is not None else (),
                    )
                )
                if name != TRAINED:
                    seen_refs.add(name)
    if not panels or classes is None:
        raise EmbedlabError("no run directories given to compare")
    draw(
        panels,
        classes,
        available_methods(methods),
        Path(out),
        f"Test sentences, mean-pooled embeddings ({len(index)} sentences)",
        cache_dir,
    )
    return Path(out)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="One projection figure comparing runs of one task.")
    parser.add_argument("out", type=Path, help="PNG file to write")
    parser.add_argument("runs", type=Path, nargs="+", help="run directories (with sentences.npz)")
    parser.add_argument("--methods", default="pca,tsne", help="comma-separated: pca, tsne, umap")
    parser.add_argument("--force", action="store_true", help="replace the PNG if it exists")
    parser.add_argument(
        "--cache-dir", type=Path, default=None, help="the runs' EMBEDLAB_CACHE_DIR, to reuse their t-SNE coordinates"
    )
    args = parser.parse_args(argv)
    if args.out.exists() and not args.force:
        print_error(f"{args.out} exists; pick another name or pass --force")
        return 2
    try:
        compare_projections(args.runs, args.out, args.methods.split(","), args.cache_dir)
    except EmbedlabError as exc:
        print_error(exc)
        return 2
    print(args.out)
    return 0
