"""Every embedding as gensim KeyedVectors, so one code path writes every neighbour report."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd
from gensim.models import KeyedVectors

from embedlab.core.rundir import RunDir
from embedlab.data.text import FIRST_WORD, Vocabulary
from embedlab.vectors.space import nearest


def unseen_words(vocab: Vocabulary, n: int) -> list[str]:
    """The most frequent dev/test words training never saw (indexed with count 0 by task.vocab.eval_words).

    Their neighbours answer the 'Alps' and 'Himalaya' question directly: in a pretrained space an unseen word sits
    near words of its meaning that training did see; in a scratch space its row is still the random initialisation.
    """
    extra = [w for w, c in zip(vocab.words[FIRST_WORD:], vocab.counts[FIRST_WORD:], strict=True) if c == 0]
    return [w for w in extra if w.isalpha() and len(w) > 2][:n]


def frequent_words(vocab: Vocabulary, n: int) -> list[str]:
    """The n most frequent content words (alphabetic, not stop words): frequent words worth probing."""
    from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS

    picked = []
    for word in vocab.words[FIRST_WORD:]:
        if word.isalpha() and len(word) > 2 and word not in ENGLISH_STOP_WORDS:
            picked.append(word)
            if len(picked) == n:
                break
    return picked


def neighbour_table(spaces: dict[str, KeyedVectors], probes: Sequence[str], k: int) -> pd.DataFrame:
    """One row per (probe, space, rank); a probe missing from a space gets one row saying so.

    The neighbours are vectors.space.nearest's: gensim's `most_similar(probe, topn=k)` for all probes at once.
    """
    found = {(word, space): near for space, kv in spaces.items() for word, near in nearest(kv, probes, k).items()}
    rows = []
    for probe in probes:
        for space in spaces:
            if (probe, space) not in found:
                rows.append(
                    {"probe": probe, "space": space, "rank": None, "neighbour": None, "cosine": None, "missing": True}
                )
                continue
            for rank, (word, cos) in enumerate(found[probe, space], start=1):
                rows.append(
                    {
                        "probe": probe,
                        "space": space,
                        "rank": rank,
                        "neighbour": word,
                        "cosine": round(cos, 4),
                        "missing": False,
                    }
                )
    return pd.DataFrame(rows, columns=["probe", "space", "rank", "neighbour", "cosine", "missing"])


Cells = dict[tuple[str, str], list[tuple[str, float]] | None]


def _by_probe(table: pd.DataFrame) -> Cells:
    """(probe, space) -> its neighbours in rank order with their cosines, or None when the space lacks the probe:
    the table as the markdown and HTML pages read it, built once for both."""
    cells: Cells = {}
    ordered = table.sort_values(["rank"], kind="stable", na_position="first")
    for probe, space, word, cosine, missing in ordered[["probe", "space", "neighbour", "cosine", "missing"]].itertuples(
        index=False
    ):
        if bool(missing):
            cells[probe, space] = None
        else:
            cells.setdefault((probe, space), [])
            cells[probe, space].append((word, cosine))  # type: ignore[union-attr]
    return cells


def neighbour_markdown(cells: Cells, probes: Sequence[str], spaces: Sequence[str]) -> str:
    """Side by side: one line per probe, one column per space, neighbours in rank order."""
    lines = ["| probe | " + " | ".join(spaces) + " |", "|---|" + "---|" * len(spaces)]
    for probe in dict.fromkeys(probes):
        row = []
        for space in spaces:
            found = cells.get((probe, space))
            row.append("*(missing)*" if not found else ", ".join(str(word) for word, _ in found))
        lines.append(f"| **{probe}** | " + " | ".join(row) + " |")
    return "\n".join(lines) + "\n"


def overlap_at_k(table: pd.DataFrame, spaces: Sequence[str], k: int) -> pd.DataFrame:
    """Mean share of top-k neighbours two spaces agree on, over the probe words both spaces have."""
    found = table[~table["missing"].astype(bool)]
    sets = {(p, s): set(g["neighbour"]) for (p, s), g in found.groupby(["probe", "space"], sort=False)}
    probes = list(dict.fromkeys(table["probe"]))
    matrix = pd.DataFrame(np.nan, index=list(spaces), columns=list(spaces))
    for a in spaces:
        for b in spaces:
            shared = [len(sets[p, a] & sets[p, b]) / k for p in probes if (p, a) in sets and (p, b) in sets]
            matrix.loc[a, b] = float(np.mean(shared)) if shared else np.nan
    return matrix


def neighbour_html(
    title: str, cells: Cells, probes: Sequence[str], spaces: Sequence[str], overlap: pd.DataFrame, k: int
) -> str:
    """A self-contained page: neighbours side by side (cosine on hover), then the overlap matrix."""
    from html import escape

    head = "".join(f"<th>{escape(s)}</th>" for s in spaces)
    rows = []
    for probe in dict.fromkeys(probes):
        tds = []
        for space in spaces:
            found = cells.get((probe, space))
            if not found:
                tds.append('<td class="missing">(missing)</td>')
            else:
                words = [f'<span title="{c:.3f}">{escape(str(w))}</span>' for w, c in found]
                tds.append("<td>" + ", ".join(words) + "</td>")
        rows.append(f"<tr><th>{escape(str(probe))}</th>{''.join(tds)}</tr>")
    grid = "".join(
        f"<tr><th>{escape(a)}</th>"
        + "".join(f"<td>{'' if pd.isna(overlap.loc[a, b]) else f'{overlap.loc[a, b]:.2f}'}</td>" for b in spaces)
        + "</tr>"
        for a in spaces
    )
    style = (
        "body{font-family:sans-serif;margin:2em}table{border-collapse:collapse;margin-bottom:2em}"
        "td,th{border:1px solid #ccc;padding:4px 8px;vertical-align:top;text-align:left}"
        ".missing{color:#999;font-style:italic}"
    )
    return (
        f"<!doctype html><html><head><meta charset='utf-8'><title>{escape(title)}</title><style>{style}</style>"
        f"</head><body><h1>{escape(title)}</h1><p>Top-{k} cosine neighbours within the task vocabulary "
        "(hover a word for its cosine).</p>"
        f"<table><tr><th>probe</th>{head}</tr>{''.join(rows)}</table>"
        f"<h2>Overlap@{k}</h2><p>Mean share of the top-{k} neighbours two spaces agree on.</p>"
        f"<table><tr><th></th>{head}</tr>{grid}</table></body></html>\n"
    )


def write_neighbour_report(
    out_dir: Path, spaces: dict[str, KeyedVectors], probes: Sequence[str], k: int, title: str
) -> pd.DataFrame:
    """neighbours.csv / .md / .html for the probes in every space; returns the overlap@k matrix."""
    table = neighbour_table(spaces, probes, k)
    overlap = overlap_at_k(table, list(spaces), k)
    table.to_csv(RunDir(out_dir).neighbours, index=False)
    overlap.to_csv(Path(out_dir) / "neighbour_overlap.csv", index_label="space")
    cells = _by_probe(table)
    body = neighbour_markdown(cells, probes, list(spaces))
    names = list(spaces)
    grid = ["| | " + " | ".join(names) + " |", "|---|" + "---|" * len(names)]
    for a in names:
        values = ["" if pd.isna(overlap.loc[a, b]) else f"{overlap.loc[a, b]:.2f}" for b in names]
        grid.append(f"| **{a}** | " + " | ".join(values) + " |")
    RunDir(out_dir).neighbours_md.write_text(
        f"# {title}\n\nTop-{k} cosine neighbours within the task vocabulary.\n\n{body}\n"
        f"## Overlap@{k}\n\nMean share of the top-{k} neighbours two spaces agree on, over probes both have.\n\n"
        + "\n".join(grid)
        + "\n"
    )
    RunDir(out_dir).neighbours_html.write_text(neighbour_html(title, cells, probes, list(spaces), overlap, k))
    return overlap
