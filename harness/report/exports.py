"""The headline as CSV (every configuration and every number, for re-analysis) and as a
booktabs LaTeX table (the headline rows), both with intervals and significance marks."""
from __future__ import annotations

import io

import pandas as pd

from harness.report.collect import ALL_METRICS, version_label
from harness.report.headline import Headline
from harness.report.stats import INTERVAL_REPLICATES, LEVEL
from harness.report.tables import (HEADLINE_COLUMNS, WITH_INTERVAL, headline_rows,
                                   test_columns, verdict)
from harness.report.uncertainty import Uncertainty

INTERVAL_METHOD = (f"percentile bootstrap over test clips, {INTERVAL_REPLICATES} resamples, "
                   f"{100 * LEVEL:g} %")


def summary_frame(headlines: list[Headline], uncertainty: dict[str, dict[str, Uncertainty]]
                  ) -> pd.DataFrame:
    """One row per configuration; ``headline`` rows are the models' validation choices."""
    records = []
    for headline in headlines:
        bench = headline.benchmark
        rank = {row.configuration.key: i + 1 for i, row in enumerate(headline.rows)}
        chosen_on = {row.configuration.key: row.chosen_on for row in headline.rows}
        marked = headline.marked
        for config in bench.configurations:
            measured = uncertainty[bench.split_hash].get(config.key)
            record = {
                "dataset": bench.dataset, "vocab": bench.vocab, "split_hash": bench.split_hash,
                "split_protocol": bench.protocol, "test_coverage": bench.coverage,
                "model": config.model, "variant": config.variant,
                "plugin_version": version_label(config.version), "inputs": config.inputs,
                # n and seeds as the tables count them: the runs with a test top-1
                "n": config.stats["top1"].n,
                "seeds": " ".join(map(str, config.seeds)),
                "seeds_left_out": " ".join(map(str, config.left_out)),
                "run_ids": " ".join(config.run_ids),
                "headline": config.key in rank, "chosen_on": chosen_on.get(config.key, ""),
                "rank": rank.get(config.key, ""),
                "marked_best": marked is not None and marked.configuration.key == config.key,
            }
            for metric in ALL_METRICS:
                stat = config.stats[metric.key]
                record[f"{metric.mlflow}_mean"] = stat.mean
                record[f"{metric.mlflow}_std"] = stat.std
                if metric.key in WITH_INTERVAL:
                    bounds = measured.intervals.get(metric.key) if measured else None
                    record[f"{metric.mlflow}_ci_low"] = bounds.low if bounds else float("nan")
                    record[f"{metric.mlflow}_ci_high"] = bounds.high if bounds else float("nan")
            record["ci_method"] = INTERVAL_METHOD
            first = rank.get(config.key) == 1 and len(headline.rows) > 1
            record["compared_with"] = headline.rows[1].configuration.variant if first else ""
            record.update({k: (v if first else ("" if isinstance(v, str) else float("nan")))
                           for k, v in test_columns(headline.test).items()})
            records.append(record)
    return pd.DataFrame.from_records(records)


def summary_csv(headlines: list[Headline], uncertainty: dict[str, dict[str, Uncertainty]]
                ) -> str:
    buffer = io.StringIO()
    summary_frame(headlines, uncertainty).to_csv(buffer, index=False, float_format="%.6g")
    return buffer.getvalue()


_LATEX_SPECIAL = {"\\": r"\textbackslash{}", "&": r"\&", "%": r"\%", "$": r"\$", "#": r"\#",
                  "_": r"\_", "{": r"\{", "}": r"\}", "~": r"\textasciitilde{}",
                  "^": r"\textasciicircum{}", "±": r"$\pm$", "–": "--", "★": r"$\star$",
                  "<": r"$<$", ">": r"$>$"}


def latex_escape(text: str) -> str:
    return "".join(_LATEX_SPECIAL.get(ch, ch) for ch in str(text))


def _latex_cell(cell) -> str:
    text = cell.value.replace("–", "--")
    if cell.strong:
        text = f"\\textbf{{{text}}}$^{{\\star}}$"
    if cell.spread:
        text += f" $\\pm$ {cell.spread}"
    if cell.interval:
        text += f" {{\\scriptsize [{cell.interval.replace('–', ', ')}]}}"
    if cell.left_out:
        text += f" {{\\scriptsize ({cell.left_out})}}"
    return text


def summary_latex(headlines: list[Headline]) -> str:
    """A booktabs table (``\\usepackage{booktabs}``): one block per benchmark."""
    heads = [latex_escape(c.heading) for c in HEADLINE_COLUMNS]
    width = 2 + len(heads)
    caption = ("Test accuracy of each model (where a model ran in several configurations, the "
               "one with the best validation top-1): mean "
               "$\\pm$ sample std over $n$ seeds, and in brackets the 95\\,\\% interval of the "
               "seed mean (percentile bootstrap over test clips). $\\star$: best, ahead of the "
               "second by a paired bootstrap test over the same test clips at $p < 0.05$.")
    lines = ["% Generated by `slrbench report`; needs \\usepackage{booktabs}.",
             "% In a two-column paper use table* (or \\resizebox{\\textwidth}{!}{...}).",
             "\\begin{table}[t]", "\\centering", "\\small", f"\\caption{{{caption}}}",
             "\\label{tab:slrbench-headline}", f"\\begin{{tabular}}{{l{'r' * (width - 1)}}}",
             "\\toprule", " & ".join(["Model", "$n$", *heads]) + " \\\\"]
    verdicts = []
    for headline in headlines:
        bench = headline.benchmark
        title = f"{bench.dataset}, {bench.vocab} signs, split {bench.short_hash}"
        if bench.coverage:
            title += f", test clips {bench.coverage} of the official split"
        lines += ["\\midrule", f"\\multicolumn{{{width}}}{{l}}{{\\emph{{{latex_escape(title)}}}}} \\\\"]
        for row in headline_rows(headline):
            lines.append(" & ".join([latex_escape(row.variant), str(row.n),
                                     *(_latex_cell(c) for c in row.cells)]) + " \\\\")
        if headline.test is not None:
            verdicts.append(f"\\emph{{{latex_escape(title)}}}: {latex_escape(verdict(headline))}")
    lines += ["\\bottomrule", "\\end{tabular}"]
    if verdicts:
        # beneath the table, wrapped to its width: in an l column a sentence of 200
        # characters does not wrap, and widens the table past the page
        lines += ["", "\\smallskip", "\\begin{minipage}{\\linewidth}\\footnotesize\\raggedright",
                  "\\par\n".join(verdicts), "\\end{minipage}"]
    lines += ["\\end{table}", ""]
    return "\n".join(lines)

