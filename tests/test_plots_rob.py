"""Risk-of-bias summary figures (robvis-style traffic light and weighted bar chart)."""
from __future__ import annotations

import os

os.environ.setdefault("MPLBACKEND", "Agg")

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest
from matplotlib.colors import to_rgba
from matplotlib.text import Text
from test_plots_support import bcg_fit, by_gid, inside_figure, overlapping_texts, rob_frame, to_gallery

import mgmeta
from mgmeta.errors import DataError
from mgmeta.plots import forest, rob_summary, style
from mgmeta.plots.rob import JUDGEMENTS, normalize_judgement, rob_domains, rob_table

DOMAINS = ["rob_randomization", "rob_deviations", "rob_missing", "rob_measurement", "rob_selection", "rob_overall"]


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


def bar_shares(fig):
    """{(domain index, judgement): width in percent} of the drawn bars."""
    out = {}
    for p in by_gid(fig, "rob-bar-", prefix=True):
        _, _, j, *jd = p.get_gid().split("-")
        out[(int(j), " ".join(jd))] = p.get_width()
    return out


def test_traffic_light_dots_and_bars_match_the_judgements():
    res = bcg_fit("RR")
    rob = rob_frame(list(res.labels))
    fig = rob_summary(rob)
    to_gallery(fig, "rob_summary_example")
    n, m = len(rob), len(DOMAINS)
    for i in range(n):
        for j, col in enumerate(DOMAINS):
            (dot,) = [d for d in by_gid(fig, f"rob-dot-{i}-{j}") if hasattr(d, "get_offsets")]
            assert tuple(dot.get_facecolor()[0]) == pytest.approx(to_rgba(style.ROB_COLORS[rob[col].iloc[i]]))
            (glyph,) = by_gid(fig, f"rob-dot-{i}-{j}-glyph")
            assert glyph.get_text() == style.ROB_SYMBOLS[rob[col].iloc[i]]
    assert [t.get_text() for t in by_gid(fig, "rob-study-label")] == list(res.labels)
    assert [t.get_text() for t in by_gid(fig, "rob-domain-header")] == ["D1", "D2", "D3", "D4", "D5", "O"]
    shares = bar_shares(fig)
    for j, col in enumerate(DOMAINS):
        counts = rob[col].value_counts()
        for jd in JUDGEMENTS:
            assert shares.get((j, jd), 0.0) == pytest.approx(100 * counts.get(jd, 0) / n)
        assert sum(shares.get((j, jd), 0.0) for jd in JUDGEMENTS) == pytest.approx(100)
    assert not overlapping_texts(fig)
    assert not inside_figure(fig)


def test_weighted_summary_uses_the_meta_analysis_weights():
    res = bcg_fit("RR")
    rob = rob_frame(list(res.labels))
    fig = rob_summary(rob, kind="summary", weights=res)
    shares = bar_shares(fig)
    for j, col in enumerate(DOMAINS):
        for jd in JUDGEMENTS:
            expected = res.weights[(rob[col] == jd).to_numpy()].sum()
            assert shares.get((j, jd), 0.0) == pytest.approx(expected, rel=1e-9)
    assert fig.axes[0].get_xlabel() == "Share of weight in the meta-analysis"
    # weights as a column, an array and a mapping agree
    rob = rob.assign(w=res.weights)
    for w in ("w", res.weights, dict(zip(res.labels, res.weights))):
        assert bar_shares(rob_summary(rob, kind="summary", weights=w)) == pytest.approx(shares)
    with pytest.raises(DataError, match="weights has 2 values"):
        rob_summary(rob, kind="summary", weights=[1, 2])


def test_trial_data_of_the_project():
    from mgmeta.review import data as mgdata

    trials = mgdata.load_trials()
    fig = rob_summary(trials, title="Magnesium for migraine: risk of bias (RoB 2)")
    to_gallery(fig, "rob_summary_trials")
    cols = rob_domains(trials)
    assert cols[-1] == "rob_overall" and "rob_basis" not in cols
    n = len(trials)
    assert len(by_gid(fig, "rob-study-label")) == n
    shares = bar_shares(fig)
    table = rob_table(trials)
    j = cols.index("rob_overall")
    for jd in JUDGEMENTS:
        assert shares.get((j, jd), 0.0) == pytest.approx(100 * (table["rob_overall"] == jd).mean())
    assert not overlapping_texts(fig)


@pytest.mark.filterwarnings("ignore:forest plot .* no room for the column:mgmeta.errors.MgmetaWarning")
def test_rob2_categories_and_no_unclear_in_the_figures():
    """Data written with RoB 1's "unclear" are drawn as RoB 2's "No information"; "Unclear" is never shown."""
    rob = rob_frame([f"Trial {i}" for i in range(6)])
    rob = rob.replace("no information", "unclear")
    for fig in (rob_summary(rob), forest(bcg_fit("RR", rows=slice(0, 6)), rob=rob.assign(study=list(
            bcg_fit("RR", rows=slice(0, 6)).labels)))):
        words = [t.get_text() for t in fig.findobj(Text)]
        assert not any("unclear" in w.lower() for w in words)
        assert any("No information" in w for w in words)
    fig = rob_summary(rob, kind="summary")
    legend = [t.get_text() for t in fig.axes[0].get_legend().get_texts()]
    assert legend == ["Low", "Some concerns", "High", "No information"]


def test_single_panels_and_axes():
    rob = rob_frame([f"Trial {i}" for i in range(5)])
    fig = rob_summary(rob, kind="traffic_light")
    assert len([d for d in by_gid(fig, "rob-dot-", prefix=True) if hasattr(d, "get_offsets")]) == 5 * 6
    assert not bar_shares(fig)
    fig2, ax = plt.subplots()
    assert rob_summary(rob, kind="summary", ax=ax) is fig2
    assert bar_shares(fig2)
    with pytest.raises(DataError, match="kind='both'"):
        rob_summary(rob, ax=ax)
    with pytest.raises(DataError, match="kind must be"):
        rob_summary(rob, kind="pie")


def test_judgements_are_normalised_and_unknown_ones_named():
    assert normalize_judgement("Low") == "low"
    assert normalize_judgement("Some concerns ") == "some concerns"
    assert normalize_judgement("serious") == "high"
    # RoB 2 has no "unclear": RoB 1's word, the glyph and missing values read as "no information"
    for value in (None, float("nan"), "No information", "unclear", "Unclear risk", "?", ""):
        assert normalize_judgement(value) == "no information"
    assert JUDGEMENTS == ("low", "some concerns", "high", "no information")
    with pytest.raises(DataError, match="study 'Trial 2': unknown risk-of-bias judgement 'probably' in column "
                                        "'rob_missing'"):
        rob_table(pd.DataFrame({"study": ["Trial 1", "Trial 2"], "rob_missing": ["low", "probably"]}))
    with pytest.raises(DataError, match="no risk-of-bias columns"):
        rob_summary(pd.DataFrame({"study": ["a"], "x": [1]}))
    with pytest.raises(DataError, match="not in the data"):
        rob_summary(pd.DataFrame({"study": ["a"], "rob_x": ["low"]}), domains=["rob_y"])
    frame = pd.DataFrame({"rob_a": ["low", "high"]}, index=["A", "B"])
    assert list(rob_table(frame).index) == ["A", "B"]
    assert np.all(rob_table(frame)["rob_a"] == ["low", "high"])
