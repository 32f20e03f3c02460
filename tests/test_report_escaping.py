"""What the user names (experiments, titles, models, config values, glosses) reaches the
report's figures, page, CSV and LaTeX as given: nothing in a name is read as markup, a
formula, a shell word or a URL part."""
from __future__ import annotations

import html
import re
import shlex
import urllib.parse

import numpy as np
import pytest

from harness.report import figures
from harness.report.build import ReportConfig, build_report
from harness.run.tracking import client
from tests.report_store import Run, Split, ranks_for, write_store


def _svg_text(image) -> list[str]:
    return re.findall(r">([^<]{1,60})</text>", urllib.parse.unquote(image.uri.split(",", 1)[1]))


def test_a_dollar_pair_in_a_name_or_gloss_is_drawn_as_written():
    names = ["spoter (path=$x$)", "lstm"]
    points = [figures.Point(name, "my$set$", x, y) for name in names
              for x, y in ((10, 0.8), (100, 0.6))]
    curve = figures.vocabulary_curve(points, figures.colours(names), figures.markers(names))
    words = _svg_text(curve)
    assert "spoter (path=$x$)" in words and "my$set$" in words
    # a gloss that is no valid formula once read as one: a ValueError traceback before
    glosses = ["$\\frac{$", "50$", "a"]
    image = figures.confusion_heatmap(np.eye(3, dtype=int), glosses, "m $\\sqrt$", None)
    assert image.uri.startswith("data:image/png")


NAME = '<b>&"\' %_#$\\{}~^ αβ 中文'          # every character HTML, LaTeX or a shell reads


@pytest.fixture(scope="module")
def special(tmp_path_factory):
    """One real run in an experiment whose name is made of special characters, reported
    under a title made of them too, into a file whose name holds '#', '%' and a space."""
    folder = tmp_path_factory.mktemp("special")
    split = Split.make("signo", 4, 12)
    uri, _ = write_store(folder, [Run("pooled_logreg", split, 0,
                                      ranks_for(0.5, 12, np.random.default_rng(0)), 0.5)])
    mlflow_client, _ = client(uri, writes=True)
    [experiment] = [e for e in mlflow_client.search_experiments() if e.name != "Default"]
    mlflow_client.rename_experiment(experiment.experiment_id, NAME)
    out = folder / "a #1 50%.html"
    files = build_report(ReportConfig(out=out, tracking_uri=uri, experiments=(NAME,),
                                      title=f"T {NAME}"))
    return {"files": files, "text": files.html.read_text(encoding="utf-8"), "uri": uri}


def test_the_footer_command_regenerates_the_same_page_in_a_shell(special):
    [command] = re.findall(r"Regenerate with\s*<code>(.*?)</code>", special["text"], re.S)
    words = shlex.split(html.unescape(command))
    assert words[:2] == ["slrbench", "report"]
    options = dict(zip(words[2::2], words[3::2]))
    assert options == {"--tracking-uri": special["uri"], "--experiment": NAME,
                       "--title": f"T {NAME}", "--out": str(special["files"].html)}


def test_the_footer_links_reach_the_tables_beside_the_page(special):
    files = special["files"]
    page = files.html.as_uri()
    links = re.findall(r'<footer>.*?</footer>', special["text"], re.S)[0]
    targets = [urllib.parse.unquote(urllib.parse.urlsplit(urllib.parse.urljoin(page, href)).path)
               for href in re.findall(r'href="([^"]+)"', links)]
    assert targets == [str(files.csv), str(files.tex)]
