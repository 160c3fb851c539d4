"""Import of Cochrane review data (issue 8): RevMan 5 .rm5 XML, RevMan (web) data packages, RevMan 5 CSV.

The tests write small files in each format themselves (the layout follows RevMan 5.0.23's file for Fleiss
1993 that R meta ships, and the data-package specification), then check the trial-data layout and that the
analyses re-run to RevMan's published numbers.
"""
from __future__ import annotations

import io
import math
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import mgmeta
from mgmeta.cochrane import (
    ANALYSIS_COLUMNS,
    DATA_COLUMNS,
    CochraneReview,
    read_cochrane,
    read_data_package,
    read_rm5,
    read_revman5_csv,
)
from mgmeta.errors import DataError
from mgmeta.reproduce import reproduce

pytestmark = pytest.mark.filterwarnings("ignore::mgmeta.errors.MgmetaWarning")

STUDIES = [("STD-MRC_x002d_1", "MRC-1", 1974), ("STD-CDP", "CDP", 1976), ("STD-MRC_x002d_2", "MRC-2", 1979),
           ("STD-GASP", "GASP", 1979), ("STD-PARIS", "PARIS", 1980), ("STD-AMIS", "AMIS", 1980),
           ("STD-ISIS_x002d_2", "ISIS-2", 1988), ("STD-Davis", "Davis", 1973), ("STD-Florell", "Florell", 1971)]
ASPIRIN = [("STD-MRC_x002d_1", 49, 615, 67, 624), ("STD-CDP", 44, 758, 64, 771), ("STD-MRC_x002d_2", 102, 832, 126, 850),
           ("STD-GASP", 32, 317, 38, 309), ("STD-PARIS", 85, 810, 52, 406), ("STD-AMIS", 246, 2267, 219, 2257),
           ("STD-ISIS_x002d_2", 1570, 8587, 1720, 8600)]
# RevMan 5.0.23's pooled result for these data (MH OR, fixed)
PUB = dict(EFFECT_SIZE=0.8968655609130709, CI_START=0.8405144008917793, CI_END=0.9569947088336491,
           CHI2=9.946055983220074, DF=6, P_CHI2=0.1269422521561745, I2=39.67458045558399, Z=3.287633061337987,
           P_Z=0.0010103343130005407, TAU2=0.0)


def rm5_text() -> str:
    studies = "".join(f'<STUDY DATA_SOURCE="PUB" ID="{i}" NAME="{n}" YEAR="{y}"><IDENTIFIERS/></STUDY>'
                      for i, n, y in STUDIES)
    dich = "".join(f'<DICH_DATA EVENTS_1="{a}" TOTAL_1="{n1}" EVENTS_2="{c}" TOTAL_2="{n2}" STUDY_ID="{s}" '
                   f'ORDER="{j}" WEIGHT="1.0" SE="0.1"/>' for j, (s, a, n1, c, n2) in enumerate(ASPIRIN, 1))
    pub = " ".join(f'{k}="{v}"' for k, v in PUB.items())
    sub1 = "".join(f'<DICH_DATA EVENTS_1="{a}" TOTAL_1="{n1}" EVENTS_2="{c}" TOTAL_2="{n2}" STUDY_ID="{s}"/>'
                   for s, a, n1, c, n2 in ASPIRIN[:3])
    sub2 = "".join(f'<DICH_DATA EVENTS_1="{a}" TOTAL_1="{n1}" EVENTS_2="{c}" TOTAL_2="{n2}" STUDY_ID="{s}"/>'
                   for s, a, n1, c, n2 in ASPIRIN[3:5])
    return f"""<?xml version="1.0" encoding="ISO-8859-1" standalone="no"?>
<COCHRANE_REVIEW REVMAN_SUB_VERSION="5.0.23" REVMAN_VERSION="5" TYPE="INTERVENTION">
<COVER_SHEET><TITLE>Magnesium examples (\xe9dition test)</TITLE></COVER_SHEET>
<STUDIES_AND_REFERENCES><STUDIES><INCLUDED_STUDIES>{studies}</INCLUDED_STUDIES></STUDIES></STUDIES_AND_REFERENCES>
<ANALYSES_AND_DATA CALCULATED_DATA="YES">
<COMPARISON ID="CMP-001" NO="1"><NAME>Aspirin versus placebo</NAME>
<DICH_OUTCOME CI_STUDY="95" CI_TOTAL="95" EFFECT_MEASURE="OR" ID="CMP-001.01" METHOD="MH" NO="1" RANDOM="NO"
 STUDIES="7" SUBGROUPS="NO" SWAP_EVENTS="NO" TOTAL_1="14186" TOTAL_2="13817" {pub}>
<NAME>Death</NAME><GROUP_LABEL_1>Aspirin</GROUP_LABEL_1><GROUP_LABEL_2>Control</GROUP_LABEL_2>
<GRAPH_LABEL_1>Favours aspirin</GRAPH_LABEL_1><GRAPH_LABEL_2>Favours control</GRAPH_LABEL_2>
{dich}
</DICH_OUTCOME>
<DICH_OUTCOME CI_STUDY="95" CI_TOTAL="95" EFFECT_MEASURE="RR" METHOD="MH" NO="2" RANDOM="YES" SUBGROUPS="YES"
 SWAP_EVENTS="YES" DF="4">
<NAME>Survival (events swapped)</NAME><GROUP_LABEL_1>Aspirin</GROUP_LABEL_1><GROUP_LABEL_2>Control</GROUP_LABEL_2>
<DICH_SUBGROUP NO="1"><NAME>Early trials</NAME>{sub1}</DICH_SUBGROUP>
<DICH_SUBGROUP NO="2"><NAME>Later trials</NAME>{sub2}</DICH_SUBGROUP>
</DICH_OUTCOME>
<CONT_OUTCOME CI_STUDY="95" CI_TOTAL="95" EFFECT_MEASURE="SMD" METHOD="IV" NO="3" RANDOM="YES">
<NAME>Medical utilisation</NAME>
<CONT_DATA MEAN_1="5.0" SD_1="4.7" TOTAL_1="13" MEAN_2="6.5" SD_2="3.8" TOTAL_2="13" STUDY_ID="STD-Davis"/>
<CONT_DATA MEAN_1="4.9" SD_1="1.71" TOTAL_1="30" MEAN_2="6.1" SD_2="2.3" TOTAL_2="50" STUDY_ID="STD-Florell"/>
</CONT_OUTCOME>
<IV_OUTCOME CI_STUDY="95" CI_TOTAL="95" LOG_DATA="YES" NO="4" RANDOM="NO">
<NAME>Time to recurrence</NAME><EFFECT_MEASURE>Hazard Ratio</EFFECT_MEASURE>
<IV_DATA EFFECT_SIZE="0.8" SE="0.2" STUDY_ID="STD-Davis"/>
<IV_DATA EFFECT_SIZE="0.5" SE="0.3" STUDY_ID="STD-Florell"/>
</IV_OUTCOME>
<IPD_OUTCOME CI_STUDY="95" CI_TOTAL="95" NO="5">
<NAME>Headache days (O-E)</NAME>
<IPD_DATA O_E="-3.2" VAR="10.5" STUDY_ID="STD-AMIS"/>
<IPD_DATA O_E="-1.0" VAR="4.0" STUDY_ID="STD-CDP"/>
</IPD_OUTCOME>
</COMPARISON>
</ANALYSES_AND_DATA>
</COCHRANE_REVIEW>
"""


@pytest.fixture
def rm5_file(tmp_path: Path) -> Path:
    p = tmp_path / "review.rm5"
    p.write_bytes(rm5_text().encode("iso-8859-1"))
    return p


def test_rm5_layout(rm5_file):
    rv = read_rm5(rm5_file)
    assert isinstance(rv, CochraneReview) and rv.format == "rm5"
    assert rv.title == "Magnesium examples (\xe9dition test)"
    assert list(rv.data.columns) == DATA_COLUMNS and list(rv.analyses.columns) == ANALYSIS_COLUMNS
    assert len(rv.analyses) == 5 and len(rv.data) == 7 + 5 + 2 + 2 + 2
    a = rv.analyses.set_index("outcome_no")
    assert a.loc[1, "measure"] == "OR" and a.loc[1, "method"] == "MH" and a.loc[1, "model"] == "fixed"
    assert a.loc[2, "measure"] == "RR" and a.loc[2, "model"] == "random" and bool(a.loc[2, "swap_events"])
    assert a.loc[3, "data_type"] == "continuous" and a.loc[3, "measure"] == "SMD"
    assert a.loc[4, "data_type"] == "generic" and a.loc[4, "measure"] == "HR"
    assert a.loc[5, "data_type"] == "o_e" and a.loc[5, "method"] == "PETO"
    assert a.loc[1, "estimate"] == PUB["EFFECT_SIZE"] and a.loc[1, "q"] == PUB["CHI2"] and a.loc[1, "k"] == 7
    assert a.loc[1, "participants"] == 14186 + 13817 and a.loc[1, "level"] == 0.95
    assert a.loc[1, "label_1"] == "Aspirin"
    d = rv.analysis(1, 1)
    assert d.attrs["measure"] == "OR" and list(d["study"]) == [STUDIES[i][1] for i in range(7)]
    assert d["year"].tolist() == [1974, 1976, 1979, 1979, 1980, 1980, 1988]
    assert d["ai"].tolist() == [s[1] for s in ASPIRIN] and d["n2i"].tolist() == [s[4] for s in ASPIRIN]


def test_rm5_subgroups_swapped_events_generic_and_oe(rm5_file):
    rv = read_rm5(rm5_file)
    d = rv.analysis(1, 2)
    assert d["subgroup"].tolist() == ["Early trials"] * 3 + ["Later trials"] * 2
    assert d["ai"].tolist() == [615 - 49, 758 - 44, 832 - 102, 317 - 32, 810 - 85]  # non-events
    assert len(rv.analysis(1, 2, subgroup=2)) == 2 and len(rv.analysis(1, 2, subgroup="Early trials")) == 3
    g = rv.analysis(1, 4)
    np.testing.assert_allclose(g["yi"], np.log([0.8, 0.5]))  # LOG_DATA="YES": ratios stored, logged on import
    assert g["sei"].tolist() == [0.2, 0.3]
    es = rv.effect_sizes(1, 5)
    np.testing.assert_allclose(es["yi"], [-3.2 / 10.5, -1.0 / 4.0])
    np.testing.assert_allclose(es["vi"], [1 / 10.5, 1 / 4.0])


def test_rm5_reanalysis_reproduces_revman(rm5_file):
    rv = read_rm5(rm5_file)
    res = rv.meta_analysis(1, 1)  # fixed MH OR, RevMan 5 conventions
    assert math.exp(res.estimate) == pytest.approx(PUB["EFFECT_SIZE"], rel=1e-12)
    assert math.exp(res.ci_lower) == pytest.approx(PUB["CI_START"], rel=1e-12)
    assert res.q == pytest.approx(PUB["CHI2"], rel=1e-12) and res.i2 == pytest.approx(PUB["I2"], rel=1e-12)
    pub = rv.published(1, 1)
    assert pub["estimate"] == PUB["EFFECT_SIZE"] and pub["model"] == "fixed (MH)" and pub["k"] == 7
    tab = reproduce(pub, rv.analysis(1, 1), profiles=["revman5", "metafor"])
    t = tab.set_index("quantity")
    assert t.loc["estimate", "revman5"] == pytest.approx(PUB["EFFECT_SIZE"], rel=1e-12)
    smd = rv.meta_analysis(1, 3)  # random, DL under revman5
    assert smd.method == "DL" and smd.k == 2 and smd.profile == "revman5"
    es = rv.effect_sizes(1, 3)
    assert es.attrs["measure"] == "SMD" and list(es["study"]) == ["Davis", "Florell"]


def test_rm5_errors(tmp_path):
    with pytest.raises(DataError, match="no such file"):
        read_rm5(tmp_path / "missing.rm5")
    bad = tmp_path / "bad.rm5"
    bad.write_text("<COCHRANE_REVIEW><unclosed>", encoding="utf-8")
    with pytest.raises(DataError, match="not a RevMan 5 XML"):
        read_rm5(bad)
    empty = tmp_path / "empty.rm5"
    empty.write_text("<COCHRANE_REVIEW><COVER_SHEET/></COCHRANE_REVIEW>", encoding="utf-8")
    with pytest.raises(DataError, match="ANALYSES_AND_DATA"):
        read_rm5(empty)


def test_unknown_analysis_is_an_error(rm5_file):
    rv = read_rm5(rm5_file)
    with pytest.raises(DataError, match="no analysis 2.1"):
        rv.analysis(2, 1)


# --------------------------------------------------------------------------
# data package
# --------------------------------------------------------------------------

SETTINGS_HEADER = ("Analysis group,Analysis number,Analysis name,Analysis group name,Data source,"
                   "Data source eligibility,Data type,Log-scale data,Outcome,Intervention grouping,"
                   "Experimental intervention,Control intervention,Subgroup by,Filter criteria,"
                   "Experimental group label,Control group label,Statistical method,Effect measure,"
                   "Unit of effect measure,Analysis model,Subgroup estimates,Overall estimates,"
                   "Test for subgroup differences,Swap event and non-event,Study CI,Estimate CI,Experimental cases,"
                   "Experimental N,Control cases,Control N,Mean,CI start,CI end,Heterogeneity Tau²,"
                   "Heterogeneity Chi²,Heterogeneity df,Heterogeneity P,Heterogeneity I²,Effect Z,Effect P,"
                   "Subgroup Chi²,Subgroup df,Subgroup P,Subgroup I²,ID")
ROWS_HEADER = ("Analysis group,Analysis number,Analysis name,Subgroup,Applicability,Study,Study year,GIV Mean,"
               "GIV SE,Experimental mean,Experimental SD,Experimental cases,Experimental N,Control mean,Control SD,"
               "Control cases,Control N,O-E,Variance,Weight,Mean,CI start,CI end,Footnotes")


def package_texts() -> tuple[str, str]:
    settings = [SETTINGS_HEADER,
                "1,1,Death,Aspirin versus placebo,Custom input,#N/A,Dichotomous,true,,,,,,,Aspirin,Control,MH,"
                "Odds Ratio,,Fixed effect,true,true,true,false,95%,95%,2128,14186,2286,13817,"
                f"{PUB['EFFECT_SIZE']},{PUB['CI_START']},{PUB['CI_END']},,{PUB['CHI2']},6,{PUB['P_CHI2']},"
                f"{PUB['I2']},{PUB['Z']},{PUB['P_Z']},,,,,analysis:1",
                "1,2,Medical utilisation,Aspirin versus placebo,Custom input,#N/A,Continuous,false,,,,,,,,,IV,"
                "Std. Mean Difference,,Random effects,true,true,true,false,95%,95%,,43,,63,,,,,,,,,,,,,,,analysis:2",
                "1,3,Recurrence,Aspirin versus placebo,Custom input,#N/A,Contrast level,true,,,,,,,,,IV,"
                "Risk Ratio,,Fixed effect,true,true,true,false,95%,95%,,,,,,,,,,,,,,,,,,,analysis:3"]
    rows = [ROWS_HEADER]
    names = {s[0]: (s[1], s[2]) for s in STUDIES}
    for sid, a, n1, c, n2 in ASPIRIN:
        n, y = names[sid]
        rows.append(f"1,1,Death,,SUBGROUP_AND_OVERALL,{n},{y},0.0,0.0,0.0,0.0,{a},{n1},0.0,0.0,{c},{n2},0.0,0.0,"
                    "1.0,1.0,0.5,2.0,")
    rows.append("1,2,Medical utilisation,Adults,SUBGROUP_AND_OVERALL,Davis,1973,0.0,0.0,5.0,4.7,0,13,6.5,3.8,0,13,"
                "0.0,0.0,0,0,0,0,")
    rows.append("1,2,Medical utilisation,Children,SUBGROUP_AND_OVERALL,Florell,1971,0.0,0.0,4.9,1.71,0,30,6.1,2.3,0,"
                "50,0.0,0.0,0,0,0,0,")
    rows.append("1,3,Recurrence,,SUBGROUP_AND_OVERALL,Davis,1973,-0.22314355,0.2,0,0,0,0,0,0,0,0,0,0,50,0.8,0.5,1.2,")
    rows.append("1,3,Recurrence,,SUBGROUP_AND_OVERALL,Florell,1971,-0.69314718,0.3,0,0,0,0,0,0,0,0,0,0,50,0.5,0.3,0.9,")
    return "\ufeff" + "\n".join(rows) + "\n", "\ufeff" + "\n".join(settings) + "\n"


def write_package(folder: Path, cd: str = "CD000123") -> Path:
    rows, settings = package_texts()
    ad = folder / f"{cd}-analysis-data"
    ad.mkdir(parents=True)
    (ad / f"{cd}-data-rows.csv").write_text(rows, encoding="utf-8")
    (ad / f"{cd}-overall-estimates-and-settings.csv").write_text(settings, encoding="utf-8")
    return folder


def check_package(rv: CochraneReview) -> None:
    assert rv.format == "data package" and len(rv.analyses) == 3 and len(rv.data) == 11
    a = rv.analyses.set_index("outcome_no")
    assert a.loc[1, "measure"] == "OR" and a.loc[1, "method"] == "MH" and a.loc[1, "model"] == "fixed"
    assert a.loc[2, "measure"] == "SMD" and a.loc[2, "model"] == "random" and a.loc[2, "data_type"] == "continuous"
    assert a.loc[3, "data_type"] == "generic" and a.loc[3, "measure"] == "RR"
    assert a.loc[1, "estimate"] == pytest.approx(PUB["EFFECT_SIZE"], rel=1e-15) and a.loc[1, "k"] == 7
    d = rv.analysis(1, 1)
    assert list(d["study"]) == ["MRC-1", "CDP", "MRC-2", "GASP", "PARIS", "AMIS", "ISIS-2"]
    assert d["ai"].tolist() == [s[1] for s in ASPIRIN] and d["n1i"].tolist() == [s[2] for s in ASPIRIN]
    c = rv.analysis(1, 2)
    assert c["m1i"].tolist() == [5.0, 4.9] and c["subgroup"].tolist() == ["Adults", "Children"]
    assert c["subgroup_no"].tolist() == [1, 2]
    g = rv.analysis(1, 3)
    np.testing.assert_allclose(g["yi"], [-0.22314355, -0.69314718])  # log scale already ("Log-scale data" true)
    res = rv.meta_analysis(1, 1)
    assert math.exp(res.estimate) == pytest.approx(PUB["EFFECT_SIZE"], rel=1e-12)
    assert res.q == pytest.approx(PUB["CHI2"], rel=1e-12)
    gen = rv.meta_analysis(1, 3)
    assert gen.k == 2 and gen.measure == "RR"


def test_data_package_folder_csv_and_zip(tmp_path):
    folder = write_package(tmp_path / "pkg")
    check_package(read_data_package(folder))
    check_package(read_data_package(folder / "CD000123-analysis-data" / "CD000123-data-rows.csv"))
    check_package(read_cochrane(folder))
    # a ZIP holding the data ZIP, as RevMan exports it
    inner = io.BytesIO()
    with zipfile.ZipFile(inner, "w") as zf:
        rows, settings = package_texts()
        zf.writestr("CD000123-analysis-data/CD000123-data-rows.csv", rows.encode("utf-8"))
        zf.writestr("CD000123-analysis-data/CD000123-overall-estimates-and-settings.csv", settings.encode("utf-8"))
    outer = tmp_path / "CD000123-dataPackage.zip"
    with zipfile.ZipFile(outer, "w") as zf:
        zf.writestr("CD000123-files/CD000123-data.zip", inner.getvalue())
    rv = read_cochrane(outer, title="Test review")
    check_package(rv)
    assert rv.title == "Test review"


def test_data_package_errors(tmp_path):
    with pytest.raises(DataError, match="no such file"):
        read_data_package(tmp_path / "nothing")
    (tmp_path / "empty").mkdir()
    with pytest.raises(DataError, match="needs"):
        read_data_package(tmp_path / "empty")
    z = tmp_path / "empty.zip"
    with zipfile.ZipFile(z, "w") as zf:
        zf.writestr("readme.txt", "nothing")
    with pytest.raises(DataError, match="holds no analysis data"):
        read_data_package(z)
    notzip = tmp_path / "bad.zip"
    notzip.write_text("not a zip")
    with pytest.raises(DataError, match="not a ZIP"):
        read_data_package(notzip)
    folder = write_package(tmp_path / "orphan")
    rows = folder / "CD000123-analysis-data" / "CD000123-data-rows.csv"
    rows.write_text(rows.read_text(encoding="utf-8") + "9,9,Other,,,X,2000,0,0,0,0,1,10,0,0,2,10,0,0,0,0,0,0,\n",
                    encoding="utf-8")
    with pytest.raises(DataError, match="belongs to no analysis"):
        read_data_package(folder)


# --------------------------------------------------------------------------
# RevMan 5 analysis-data CSV
# --------------------------------------------------------------------------

def test_revman5_csv_export(tmp_path):
    head = ("Comparison Number,Outcome Number,Subgroup Number,Name,Data Type,Statistical Method,Effect Measure,"
            "Analysis Model,Events 1,Mean 1,SD 1,Total 1,Events 2,Mean 2,SD 2,Total 2,Effect Estimate,SE,CI Start,"
            "CI End,Weight,Q,P(Q),I²(Q),Tau²,Z,P(Z),Qint,P(Qint),I²(Qint),df,Group Label 1,Group Label 2,"
            "Left Graph Label,Right Graph Label,Year of study,User defined order")
    lines = [head, "1,0,0,Aspirin versus placebo" + "," * 33,
             f"1,1,0,Death,DIC,MH,OR,Fixed,2128,,,14186,2286,,,13817,{PUB['EFFECT_SIZE']},,{PUB['CI_START']},"
             f"{PUB['CI_END']},100,{PUB['CHI2']},{PUB['P_CHI2']},{PUB['I2']},0,{PUB['Z']},{PUB['P_Z']},0,0,0,6,"
             "Aspirin,Control,Favours aspirin,Favours control,,"]
    names = {s[0]: (s[1], s[2]) for s in STUDIES}
    for j, (sid, a, n1, c, n2) in enumerate(ASPIRIN, 1):
        n, y = names[sid]
        lines.append(f"1,1,0,{n},,,,,{a},0,0,{n1},{c},0,0,{n2},0.7,0.2,0.5,1.1,3.0,,,,,,,,,,,,,,,{y},{j}")
    lines.append("1,2,0,Medical utilisation,CON,IV,MD,Random,0,,,43,0,,,63,-0.7,,-1.2,-0.1,100,1,0.3,0,0,2,0.05,0,0,"
                 "0,1,A,B,C,D,,")
    lines.append("1,2,0,Davis,,,,,0,5,4.7,13,0,6.5,3.8,13,-1.5,1.6,-4.7,1.7,10,,,,,,,,,,,,,,,1973,1")
    lines.append("1,2,0,Florell,,,,,0,4.9,1.71,30,0,6.1,2.3,50,-1.2,0.45,-2.0,-0.3,90,,,,,,,,,,,,,,,1971,2")
    p = tmp_path / "export.csv"
    p.write_text("\n".join(lines) + "\n", encoding="utf-8")
    rv = read_cochrane(p)
    assert rv.format == "revman5 csv" and len(rv.analyses) == 2 and len(rv.data) == 9
    a = rv.analyses.set_index("outcome_no")
    assert a.loc[1, "comparison"] == "Aspirin versus placebo" and a.loc[2, "data_type"] == "continuous"
    assert a.loc[2, "model"] == "random" and a.loc[1, "i2"] == pytest.approx(PUB["I2"], rel=1e-15)
    res = rv.meta_analysis(1, 1)
    assert math.exp(res.estimate) == pytest.approx(PUB["EFFECT_SIZE"], rel=1e-12)
    md = rv.analysis(1, 2)
    assert md["sd2i"].tolist() == [3.8, 2.3] and md["year"].tolist() == [1973, 1971]
    bad = tmp_path / "nothing.csv"
    bad.write_text("a,b\n1,2\n", encoding="utf-8")
    with pytest.raises(DataError):
        read_revman5_csv(bad)


def test_review_repr_and_frames_are_copies(rm5_file):
    rv = read_rm5(rm5_file)
    assert "analyses=5" in repr(rv)
    d = rv.analysis(1, 1)
    d.loc[0, "ai"] = -1
    assert rv.analysis(1, 1).loc[0, "ai"] == 49
    assert isinstance(rv.data, pd.DataFrame)
