"""A study's comparison report: report.md and a self-contained report.html (figures inlined), figures also as PNG.

Everything comes from the results table (rebuilt from the run directories) and the files inside those runs, so a
copied folder of runs gives the same report. The notebook calls these same functions. `embedlab report FOLDER`.

The parts, in the order a report is made: tables (numbers from the runs) -> prose (the answer in sentences) ->
figures -> browser (the neighbour browser) -> render (markdown and HTML) -> build (the sections in reading order,
`publish`); names holds the one format per kind of number and the display names.
"""

from embedlab.studies.report.browser import browser_data, browser_html, opening_word, script_json
from embedlab.studies.report.build import header, main, publish, sections, write_report
from embedlab.studies.report.figures import plot_accuracy, plot_intrinsic, plot_learning_curves, projection_figures
from embedlab.studies.report.prose import answer, p_text, paper_sentences
from embedlab.studies.report.render import Section
from embedlab.studies.report.tables import (
    accuracy_table,
    baseline_table,
    completed,
    coverage_table,
    drift_table,
    intrinsic_table,
    learning_curves,
    load_study,
    neighbour_table,
    paper_comparison,
    paper_table_path,
    semantic_table,
    unseen_summary,
    versus_scratch,
)

__all__ = [
    "Section",
    "accuracy_table",
    "answer",
    "baseline_table",
    "browser_data",
    "browser_html",
    "completed",
    "coverage_table",
    "drift_table",
    "header",
    "intrinsic_table",
    "learning_curves",
    "load_study",
    "main",
    "neighbour_table",
    "opening_word",
    "p_text",
    "paper_comparison",
    "paper_sentences",
    "paper_table_path",
    "plot_accuracy",
    "plot_intrinsic",
    "plot_learning_curves",
    "projection_figures",
    "publish",
    "script_json",
    "sections",
    "semantic_table",
    "unseen_summary",
    "versus_scratch",
    "write_report",
]
