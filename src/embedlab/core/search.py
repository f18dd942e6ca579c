"""Random search as config: a search space (configs/search/*.yaml) writes a hyperparameter as a draw,
`trainer.learning_rate: ${draw:loguniform,0.0001,0.003}`, and each trial run resolves it to a number.

A draw is a pure function of (study, arm, trial, key): the same on every machine and under every launcher (joblib,
Ray, SLURM resolve the config where the job runs and get the same number), independent across keys, arms and
trials, so B trials of an arm are i.i.d. draws from its space, which the expected-maximum estimator in
studies/tuning.py assumes. The resolved value is what the run's config.yaml records.

    ${draw:loguniform,LOW,HIGH}   ${draw:uniform,LOW,HIGH}   ${draw:int,LOW,HIGH}   ${draw:choice,A,B,...}
    ${draw_pretrained:...}  the draw for a pretrained source's knob (row scale, embedding learning-rate factor);
                            null for the scratch table
    ${draw_scratch:...,DEFAULT}  the draw for the scratch table's own knob (its init range); DEFAULT otherwise

Phase two of a tuned study is the same command with `tuned_from=<the trials' folder> seed=1,2,3` instead of
`trial=...`: every draw then takes the value the arm's best trial (highest dev accuracy, then lowest trial number)
recorded in its config.yaml, and the runs score the test split.
"""

from __future__ import annotations

import functools
import hashlib
import math
import re
from pathlib import Path
from typing import Any

import numpy as np
import yaml
from omegaconf import OmegaConf

from embedlab.core.errors import EmbedlabError
from embedlab.core.rundir import STATUS_FILE, read_status

KINDS = ("loguniform", "uniform", "int", "choice")


def arm_of(root: Any) -> str:
    """What makes an arm: the task, the embedding source and mode, and the model."""
    multichannel = bool(OmegaConf.select(root, "model.multichannel", default=False))
    mode = "multichannel" if multichannel else OmegaConf.select(root, "embedding.mode")
    parts = [OmegaConf.select(root, key) for key in ("task.name", "embedding.name")] + [mode]
    return "|".join(str(p) for p in [*parts, OmegaConf.select(root, "model.name")])


def draw_value(kind: str, args: tuple[Any, ...], study: str, arm: str, trial: int, key: str) -> Any:
    """One draw of `key` for (study, arm, trial): seeded by their hash, so it never depends on order or process."""
    if kind not in KINDS:
        raise EmbedlabError(f"{key}: ${{draw:{kind},...}} is not a kind of draw; use one of {', '.join(KINDS)}")
    digest = hashlib.sha256(f"{study}\x1f{arm}\x1f{trial}\x1f{key}".encode()).digest()
    rng = np.random.default_rng(int.from_bytes(digest[:8], "little"))
    if kind == "choice":
        if not args:
            raise EmbedlabError(f"{key}: ${{draw:choice,...}} needs at least one option")
        return args[int(rng.integers(len(args)))]
    if len(args) != 2:
        raise EmbedlabError(f"{key}: ${{draw:{kind},LOW,HIGH}} needs two bounds, got {list(args)}")
    low, high = (float(a) for a in args)
    if not (math.isfinite(low) and math.isfinite(high) and low <= high) or (kind == "loguniform" and low <= 0):
        raise EmbedlabError(
            f"{key}: ${{draw:{kind},{args[0]},{args[1]}}} needs finite bounds, low <= high (> 0 for log)"
        )
    if kind == "int":
        return int(rng.integers(int(low), int(high) + 1))
    value = math.exp(rng.uniform(math.log(low), math.log(high))) if kind == "loguniform" else rng.uniform(low, high)
    return float(f"{value:.6g}")


@functools.lru_cache(maxsize=64)
def best_trial_config(folder: str, arm: str) -> dict[str, Any]:
    """The resolved config of the arm's best completed trial below folder (highest dev_accuracy_best, then the lowest
    trial number): what phase two retrains."""
    best: tuple[float, int, Path] | None = None
    for path in sorted(Path(folder).rglob(STATUS_FILE)):
        record = read_status(path.parent)
        if record is None or record.get("status") != "completed" or record.get("trial") is None:
            continue
        if "|".join(str(record.get(k)) for k in ("task", "embedding", "mode", "model")) != arm:
            continue
        candidate = (-float(record.get("dev_accuracy_best", float("nan"))), int(record["trial"]), path.parent)
        if math.isfinite(candidate[0]) and (best is None or candidate[:2] < best[:2]):
            best = candidate
    if best is None:
        raise EmbedlabError(f"tuned_from={folder} holds no completed trial of {arm}; run its trials first (trial=...)")
    return yaml.safe_load((best[2] / "config.yaml").read_text()) or {}


def recorded(config: dict[str, Any], key: str) -> Any:
    """A dotted key of a recorded config, list items as [i] ('model.C[0]')."""
    node: Any = config
    for part in key.split("."):
        name = part.split("[", 1)[0]
        node = node[name]
        for index in re.findall(r"\[(\d+)\]", part):
            node = node[int(index)]
    return node


def _draw(kind: str, *args: Any, _node_: Any, _root_: Any) -> Any:
    trial = OmegaConf.select(_root_, "trial")
    key = _node_._get_full_key(None)
    tuned = OmegaConf.select(_root_, "tuned_from")
    if trial is None and tuned:
        return recorded(best_trial_config(str(tuned), arm_of(_root_)), str(key))
    if trial is None:
        raise EmbedlabError(
            f"{key} is drawn from a search space: give the trial number (trial=1, or trial=range(1,21)), or "
            "tuned_from=<the trials' folder> to retrain the best trial"
        )
    study = OmegaConf.select(_root_, "study") or "no-study"
    return draw_value(kind, args, str(study), arm_of(_root_), int(trial), str(key))


def _pretrained(root: Any) -> bool:
    """A table of vectors from elsewhere (published files or embedlab's pretraining), not the scratch layer."""
    return OmegaConf.select(root, "embedding.source") != "scratch"


def _draw_pretrained(kind: str, *args: Any, _node_: Any, _root_: Any) -> Any:
    return _draw(kind, *args, _node_=_node_, _root_=_root_) if _pretrained(_root_) else None


def _draw_scratch(kind: str, *args: Any, _node_: Any, _root_: Any) -> Any:
    *bounds, default = args
    return default if _pretrained(_root_) else _draw(kind, *bounds, _node_=_node_, _root_=_root_)


def _tuning_subdir(*, _root_: Any) -> str:
    """A tuned study's run folder: trials/<task>/<arm>_t<trial> for a trial, runs/<task>/<arm>_s<seed> for a tuned
    run that scores test, untuned/<task>/<arm>_s<seed> for the same arm at the preset's own point."""
    arm = f"{OmegaConf.select(_root_, 'embedding.name')}-{OmegaConf.select(_root_, 'embedding.mode')}"
    arm += f"_{OmegaConf.select(_root_, 'model.name')}"
    task, trial = OmegaConf.select(_root_, "task.name"), OmegaConf.select(_root_, "trial")
    if trial is not None:
        return f"trials/{task}/{arm}_t{trial}"
    folder = "untuned" if OmegaConf.select(_root_, "untuned") else "runs"
    return f"{folder}/{task}/{arm}_s{OmegaConf.select(_root_, 'seed')}"


def register() -> None:
    """The draw resolvers, for every process that composes or resolves a config (idempotent)."""
    resolvers = (("draw", _draw), ("draw_pretrained", _draw_pretrained), ("draw_scratch", _draw_scratch))
    for name, resolver in (*resolvers, ("tuning_subdir", _tuning_subdir)):
        if not OmegaConf.has_resolver(name):
            OmegaConf.register_new_resolver(name, resolver, use_cache=False)


register()
