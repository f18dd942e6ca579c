"""`embedlab tune`: a study with the same tuning budget for every arm, in two sweeps per model family.

    embedlab tune experiment=tuned task=table task.train_path=reviews.jsonl \\
        +arm=scratch,glove6b_finetune,glove6b_frozen,baseline_tfidf_lr,baseline_fasttext --budget 20 --seeds 3

1. trials: the arms that share a model get that model's search space (+search=<model>) and trial=1..B: i.i.d.
   random search scored on dev only (core/search.py);
2. test: the same arms with tuned_from=<the study folder> and seed=1..S: every draw takes the arm's best dev trial's
   value, and the runs score test;
3. untuned: the same arms at the preset's own point (no search space) on the same seeds, into untuned/: the
   verdict one untuned point gives, which the report puts beside the tuned one.
All three phases are ordinary `embedlab sweep`s: resume, locks, failures and the joblib / Ray / SLURM launchers apply,
and a killed tuning study resumes where it stopped. An arm whose model has no search space (majority) skips phase 1.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

from embedlab.core.config import CONFIG_DIR, compose
from embedlab.core.errors import EmbedlabError


def split_arms(overrides: list[str]) -> tuple[list[str], list[str]]:
    """The +arm=a,b,c values (from the command line, else the preset's sweeper params) and the other overrides."""
    arms = [o.split("=", 1)[1] for o in overrides if o.startswith("+arm=")]
    if not arms:
        params = compose(overrides, return_hydra_config=True).hydra.sweeper.get("params") or {}
        arms = [str(params["+arm"])] if "+arm" in params else []
    if not arms:
        raise EmbedlabError("embedlab tune needs the arms to compare: +arm=scratch,glove6b_finetune,...")
    return [a.strip() for value in arms for a in value.split(",") if a.strip()], [
        o for o in overrides if not o.startswith("+arm=")
    ]


def by_model(arms: list[str], overrides: list[str]) -> dict[str, list[str]]:
    """Arms grouped by the model each one runs (a search space belongs to a model)."""
    groups: dict[str, list[str]] = {}
    for arm in arms:
        model = str(compose([*overrides, f"+arm={arm}"]).model.name)
        groups.setdefault(model, []).append(arm)
    return groups


def plan(overrides: list[str], budget: int, seeds: int) -> list[list[str]]:
    """The sweeps to run, in order: every group's trials, then every group's test runs."""
    if budget < 1 or seeds < 1:
        raise EmbedlabError(f"--budget {budget} and --seeds {seeds} must be at least 1")
    arms, rest = split_arms(overrides)
    groups = by_model(arms, rest)
    cfg = compose(rest)
    if not cfg.study:
        raise EmbedlabError("embedlab tune writes a study: give experiment=tuned (or another preset with study=...)")
    folder = Path(str(cfg.paths.results_dir)) / str(cfg.study)
    trials, tests, untuned = [], [], []
    for model, members in groups.items():
        searched = (CONFIG_DIR / "search" / f"{model}.yaml").exists()
        common = [*rest, f"+arm={','.join(members)}", *([f"+search={model}"] if searched else [])]
        tests.append([*common, *([f"tuned_from={folder}"] if searched else []), f"seed=range(1,{seeds + 1})"])
        if searched:  # an arm without a search space has no trials, and is its own untuned run
            trials.append([*common, f"trial=range(1,{budget + 1})"])
            untuned.append([*rest, f"+arm={','.join(members)}", "untuned=true", f"seed=range(1,{seeds + 1})"])
    return trials + tests + untuned


def main(argv: Sequence[str]) -> int:
    parser = argparse.ArgumentParser(
        prog="embedlab tune", description="Equal tuning budget per arm, then the best trial of each on test seeds."
    )
    parser.add_argument("--budget", type=int, default=20, help="random-search trials per arm (default 20)")
    parser.add_argument("--seeds", type=int, default=3, help="test seeds for each arm's best trial (default 3)")
    args, overrides = parser.parse_known_args(argv)
    sweeps = plan(overrides, args.budget, args.seeds)
    for number, sweep in enumerate(sweeps, 1):
        phase = (
            "trials"
            if any(o.startswith("trial=") for o in sweep)
            else "untuned runs"
            if "untuned=true" in sweep
            else "test runs"
        )
        print(f"tune: sweep {number}/{len(sweeps)} ({phase}): embedlab sweep {' '.join(sweep)}", flush=True)
        done = subprocess.run([sys.executable, "-m", "embedlab.cli", "sweep", *sweep], check=False)
        if done.returncode != 0:
            raise EmbedlabError(f"sweep {number} ({phase}) ended with exit {done.returncode}; rerun the same command")
    return 0
