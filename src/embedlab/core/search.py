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
"""

from __future__ import annotations

import hashlib
import math
from typing import Any

import numpy as np
from omegaconf import OmegaConf

from embedlab.core.errors import EmbedlabError

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


def _draw(kind: str, *args: Any, _node_: Any, _root_: Any) -> Any:
    trial = OmegaConf.select(_root_, "trial")
    key = _node_._get_full_key(None)
    if trial is None:
        raise EmbedlabError(
            f"{key} is drawn from a search space: give the trial number (trial=1, or trial=range(1,21))"
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


def register() -> None:
    """The draw resolvers, for every process that composes or resolves a config (idempotent)."""
    for name, resolver in (("draw", _draw), ("draw_pretrained", _draw_pretrained), ("draw_scratch", _draw_scratch)):
        if not OmegaConf.has_resolver(name):
            OmegaConf.register_new_resolver(name, resolver, use_cache=False)


register()
