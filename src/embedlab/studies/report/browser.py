"""The in-page neighbour browser: its data (neighbours of frequent and probe words in every space) and HTML."""

from __future__ import annotations

import html
import json
from importlib.resources import files
from pathlib import Path

import numpy as np
import pandas as pd

from embedlab.core.rundir import RunDir
from embedlab.data.text import OOV, PAD
from embedlab.studies.report.names import source_name
from embedlab.studies.report.tables import completed
from embedlab.vectors.space import INITIAL, TRAINED, nearest

BROWSER_WORDS = 400  # the most frequent training words (and the probes) the in-page browser answers for

BROWSER_K = 8


def browser_data(frame: pd.DataFrame, task: str, n_words: int = BROWSER_WORDS, k: int = BROWSER_K) -> dict | None:
    """Neighbours of the task's most frequent words in every space of the study, for the report's word browser.

    Spaces: each source's trained embedding (its lowest seed) and, once per pretrained source, its vectors before
    training. Each word carries its training count and class log-odds (from the run's projector metadata).
    """
    from gensim.models import KeyedVectors

    done = completed(frame)
    done = done[(done["task"] == task).to_numpy()]
    has = np.array([RunDir(d).space(TRAINED).exists() for d in done["run_dir"]], dtype=bool)
    runs = done[has].sort_values(["seed", "run_dir"]).drop_duplicates("source")
    if runs.empty:
        return None
    spaces: dict[str, KeyedVectors] = {}
    for record in runs.sort_values("source").to_dict("records"):
        folder = Path(record["run_dir"])
        spaces[f"{source_name(record['embedding'], record['mode'])}, trained"] = KeyedVectors.load_word2vec_format(
            str(RunDir(folder).space(TRAINED)), binary=True
        )
        before = f"{source_name(record['embedding'])}, before training"
        if record["embedding"] != "scratch" and before not in spaces:
            spaces[before] = KeyedVectors.load_word2vec_format(str(RunDir(folder).space(INITIAL)), binary=True)
    first = next(iter(spaces.values()))
    probes = runs.get("config.task.probe_words")
    extra = json.loads(str(probes.dropna().iloc[0])) if probes is not None and probes.notna().any() else []
    frequent = [w for w in first.index_to_key if w.strip() and w not in (PAD, OOV)][:n_words]
    words = list(dict.fromkeys([*extra, *frequent]))
    words = [w for w in words if w in first.key_to_index]
    info: dict[str, dict[str, float]] = {}
    for record in runs.to_dict("records"):
        meta = RunDir(record["run_dir"]).projector_metadata
        if meta.exists():
            table = pd.read_csv(meta, sep="\t", keep_default_na=False, quoting=3)
            odds = [c for c in table.columns if c.startswith("log_odds_")]
            for row in table.to_dict("records"):
                info[str(row["word"])] = {"count": int(row["count"]), **{c: float(row[c]) for c in odds}}
            break
    neighbours: dict[str, dict[str, list[str]]] = {w: {} for w in words}
    for name, kv in spaces.items():  # run files hold no <pad> / <unk> rows; other files might
        for word, near in nearest(kv, words, k, exclude=(PAD, OOV)).items():
            neighbours[word][name] = [w for w, _ in near]
    return {
        "spaces": list(spaces),
        "words": {w: {"neighbours": neighbours[w], **info.get(w, {})} for w in words},
        "first": opening_word(words, extra, spaces),
    }


def opening_word(words: list[str], probes: list[str], spaces: dict) -> str:
    """The word the browser opens on: the first probe word every space holds, else the most frequent such word
    with a letter in it (not `.` or `,`, whose neighbours show nothing)."""
    shared = [w for w in words if all(w in kv.key_to_index for kv in spaces.values())]
    for candidates in ([w for w in shared if w in probes], [w for w in shared if any(c.isalpha() for c in w)], shared):
        if candidates:
            return candidates[0]
    return words[0] if words else ""


BROWSER_SCRIPT = (files(__package__) / "browser.js").read_text(encoding="utf-8")  # a package file, tested in Chromium


def script_json(data: object) -> str:
    """JSON for a <script type="application/json"> element: no <, > or & survives, so nothing in the data (a word
    such as `</script><img onerror=...>`) can close the element or open a tag; JSON.parse reads it back unchanged."""
    text = json.dumps(data, ensure_ascii=False)
    for char, escaped in (("<", "\\u003c"), (">", "\\u003e"), ("&", "\\u0026"), ("\u2028", "\\u2028")):
        text = text.replace(char, escaped)
    return text.replace("\u2029", "\\u2029")


def browser_html(task: str, data: dict) -> str:
    """A word box and its neighbours in every space; the data sits in the page (no server, no network)."""
    words = list(data["words"])
    options = "".join(f'<option value="{html.escape(w)}">' for w in words)
    first = html.escape(data.get("first") or (words[0] if words else ""))
    task_id = html.escape(task)
    return (
        f'<div class="browser" data-task="{task_id}"><label>Word: <input list="words-{task_id}" '
        f'value="{first}" autocomplete="off"></label><datalist id="words-{task_id}">{options}</datalist>'
        f'<div class="answer"></div><script type="application/json">{script_json(data)}</script></div>'
    )
