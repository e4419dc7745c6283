"""Commune profiles: one A4 page per commune, in the report (``index.html#xa-<code>``) and as PDF files.

A profile puts on one page what a commune chairman asks about: rank, index, band with its probability and
rank interval; each field against the district mean and the best commune, with the change since the published
previous year; where points were lost and the appraisers' reasons; both surveys with their 95 % intervals,
the satisfaction factors included; the ballot counts.

:func:`profile_data` builds the rows (plain text; the templates escape it). The report shows them in its
section "Hồ sơ từng xã, thị trấn" (one at a time on screen, deep links ``#xa-<code>``); :func:`render_profiles`
is the print view of the same template (``profile.html.j2``) without the rest of the report, and
:func:`write_profile_pdfs` prints it with the headless Chromium the tests use (driven through choreographer,
which kaleido already brings): ``<out>/ho_so_xa/<code>.pdf`` per commune and one combined PDF. The PDFs'
creation dates are fixed, so the same run gives the same bytes.
"""

from __future__ import annotations

import asyncio
import base64
import re
import tempfile
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
from markupsafe import Markup

from ..methodology import Methodology
from ..uncertainty.intervals import satisfaction_design, segment_sums
from .labels import (
    PP,
    int_text,
    num_text,
    pct_text,
    rank_text,
    signed_text,
    text_cell,
)
from .page import template_env
from .xlsx import write_bytes_atomic

PROFILE_DIR = "ho_so_xa"
COMBINED_PDF = "ho_so_tat_ca_xa.pdf"
N_LOST = 6  # criteria listed under "where points were lost"


# ------------------------------------------------------------------------------------------------
# Satisfaction factors with their intervals
# ------------------------------------------------------------------------------------------------
def factor_intervals(satisfaction: pd.DataFrame, meth: Methodology, communes: pd.Series, n_boot: int, seed: int,
                     level: float = 0.95) -> pd.DataFrame:
    """Each satisfaction factor's index (%) per commune with a percentile-bootstrap interval, resampling the
    valid ballots within commune × procedure field as :func:`parindex.uncertainty.intervals.satisfaction_interval`
    does for the overall index (same weights, same strata). Returns commune_code, factor, index_pct, ci_low,
    ci_high (NaN where a commune has no valid answer for the factor)."""
    d = satisfaction_design(satisfaction, meth, communes)       # the survey intervals' ballots, weights, strata
    if d.first.empty:
        return pd.DataFrame(columns=["commune_code", "factor", "index_pct", "ci_low", "ci_high"])
    codes, F = d.codes, d.n_factors
    factors = [f.code for f in meth.satisfaction_survey.factors]
    nv, npos, strata, used = d.stats[:, :F], d.stats[:, F:], d.strata, d.used
    to_commune = (used[:, None] // d.n_fields == np.arange(len(codes))).astype(float)

    def stat(sums: np.ndarray) -> np.ndarray:                       # b × communes × (valid, positive) → b × (C·F)
        with np.errstate(invalid="ignore", divide="ignore"):
            return (sums[..., F:] / sums[..., :F] * 100.0).reshape(sums.shape[0], -1)

    # the padded draws of the survey intervals (same replicates as before the segment sums; see intervals.py)
    boot = segment_sums(d.design, d.stats, d.commune, len(codes), n_boot, seed, stat)
    tot_v = to_commune.T @ np.vstack([np.bincount(strata, weights=nv[:, j], minlength=len(used))
                                      for j in range(F)]).T
    tot_p = to_commune.T @ np.vstack([np.bincount(strata, weights=npos[:, j], minlength=len(used))
                                      for j in range(F)]).T
    with np.errstate(invalid="ignore", divide="ignore"):
        point = tot_p / tot_v * 100.0
    a = (1 - level) / 2
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        lo, hi = np.nanquantile(boot, [a, 1 - a], axis=0)
    return pd.DataFrame({
        "commune_code": np.repeat(codes, len(factors)), "factor": factors * len(codes),
        "index_pct": point.reshape(-1), "ci_low": lo.reshape(-1), "ci_high": hi.reshape(-1)})


# ------------------------------------------------------------------------------------------------
# The rows of each profile
# ------------------------------------------------------------------------------------------------
def _w(v) -> str:
    """A bar width for CSS (0–100, dot decimal); 0 for a missing value."""
    return "0" if v is None or pd.isna(v) else f"{min(max(float(v), 0.0), 100.0):.1f}"


def _field_table(leaf_scores: pd.DataFrame, meth: Methodology, results: pd.DataFrame) -> pd.DataFrame:
    """commune × field: points, applicable maximum, share (%), field points in the methodology."""
    g = leaf_scores.assign(commune_code=leaf_scores["commune_code"].astype(str)).groupby(
        ["commune_code", "field_code"], as_index=False).agg(points=("points", "sum"), max_points=("max_points", "sum"))
    g["pct"] = np.where(g["max_points"] > 0, g["points"] / g["max_points"].where(g["max_points"] > 0) * 100.0, np.nan)
    return g


def profile_data(tables: dict, results: pd.DataFrame, meth: Methodology, *, year: int, district: str, province: str,
                 marks: pd.DataFrame | None, previous: pd.DataFrame | None, previous_year: int | None,
                 n_lost: int = N_LOST) -> list[dict]:
    """One dict per commune (rank order) for ``profile.html.j2``: raw text, escaped by the template."""
    r = results.assign(commune_code=results["commune_code"].astype(str)).sort_values(["rank", "commune_code"])
    n = len(r)
    names = dict(zip(r["commune_code"], r["commune_name"].map(text_cell)))
    bands = {b.code: b for b in meth.bands}
    leaf_scores = tables.get("leaf_scores")
    changes = tables.get("appraisal_changes")
    lv = meth.leaves()
    src = meth.sources
    m = marks.set_index("commune_code") if marks is not None else None
    cols = set(r.columns)

    # fields: this commune, the district mean, the best commune
    ft = None
    if isinstance(leaf_scores, pd.DataFrame):
        ft = _field_table(leaf_scores, meth, r)
        mean = ft.groupby("field_code")["pct"].mean()
        order = dict(zip(r["commune_code"], range(n)))
        best = (ft.assign(_o=ft["commune_code"].map(order)).sort_values(["field_code", "pct", "_o"],
                                                                         ascending=[True, False, True])
                .drop_duplicates("field_code").set_index("field_code"))
    prev = None
    if previous is not None:
        prev = previous.assign(commune_code=previous["commune_code"].astype(str)).set_index("commune_code")
    # where points were lost, with the appraisers' reasons
    lost = None
    if isinstance(leaf_scores, pd.DataFrame):
        ls = leaf_scores.assign(commune_code=leaf_scores["commune_code"].astype(str)).merge(
            lv[["code", "label"]], on="code", how="left")
        ls = ls.assign(lost=ls["max_points"] - ls["points"])
        ls = ls[ls["lost"] > 1e-9].sort_values(["commune_code", "lost", "code"], ascending=[True, False, True])
        lost = ls
    reasons = {}
    if isinstance(changes, pd.DataFrame) and len(changes):
        for x in changes.itertuples():
            reasons[(str(x.commune_code), str(x.code))] = text_cell(x.reason) or "(không ghi lý do)"
    na = {}
    if isinstance(leaf_scores, pd.DataFrame):
        nap = leaf_scores[~leaf_scores["applicable"].astype(bool)]
        labels = dict(zip(lv["code"], lv["label"]))
        for c, g in nap.groupby(nap["commune_code"].astype(str)):
            na[c] = [f"{x} ({text_cell(labels.get(x, ''))})" for x in g["code"]]
    fac, fci = tables.get("satisfaction_factors"), tables.get("satisfaction_factor_ci")
    flabel = {f.code: f.label for f in meth.satisfaction_survey.factors}
    off_max = float(lv.loc[lv["source"] == "officials_survey", "points"].sum())

    out = []
    for x in r.itertuples():
        code = str(x.commune_code)
        b = bands.get(str(x.band))
        p = dict(code=code, anchor=f"xa-{code}", name=names[code], rank=int(x.rank), n=n, year=year,
                 district=district, province=province, index=pct_text(x.index_pct), points=num_text(x.points),
                 max=num_text(x.max_points), band=b.short if b else text_cell(x.band),
                 band_label=b.label if b else "", color=b.color if b else "#888888",
                 reduced=float(x.max_points) < float(meth.scale) - 1e-9, na=na.get(code, []), notes=[], near=False,
                 low=False)
        if m is not None and code in m.index:
            mk = m.loc[code]
            if "rank_median" in m.columns and pd.notna(mk.rank_median):
                p["notes"].append(f"Hạng có thể (5–95 % số lần mô phỏng): {rank_text(mk.rank_p05)} – "
                                  f"{rank_text(mk.rank_p95)}; hạng trung vị {rank_text(mk.rank_median)}.")
                if pd.notna(mk.p_keep) and b is not None:
                    alt = bands.get(str(mk.other))
                    extra = (f"; dễ chuyển sang {alt.short} ({pct_text(100.0 * mk.p_other, 0)})"
                             if alt is not None and bool(mk.low) else "")
                    p["notes"].append(f"Xác suất giữ xếp loại {b.short}: {pct_text(100.0 * mk.p_keep, 0)}{extra}.")
                p["low"] = bool(mk.low)
            if bool(mk.near):
                tb = bands.get(str(mk.threshold_band))
                p["notes"].append(f"Sát ngưỡng xếp loại {tb.short if tb else ''} ({pct_text(mk.threshold, 0)}): "
                                  f"chỉ số cách ngưỡng {num_text(abs(float(x.index_pct) - float(mk.threshold)))} {PP}.")
                p["near"] = True
        if prev is not None and code in prev.index and previous_year:
            q = prev.loc[code]
            move = int(q["rank"]) - int(x.rank)
            how = f"tăng {move} bậc" if move > 0 else f"giảm {-move} bậc" if move < 0 else "giữ nguyên hạng"
            p["notes"].append(f"So với năm {previous_year}: hạng {int(q['rank'])} → {int(x.rank)} ({how}); chỉ số "
                              f"{pct_text(q['index_pct'])} → {pct_text(x.index_pct)} "
                              f"({signed_text(float(x.index_pct) - float(q['index_pct']))} {PP}).")
        if p["reduced"]:
            p["notes"].append(f"* Điểm tối đa {num_text(x.max_points)} thay vì {num_text(meth.scale)}: tiêu chí không "
                              f"áp dụng — {'; '.join(p['na'])}." if p["na"] else
                              f"* Điểm tối đa {num_text(x.max_points)} thay vì {num_text(meth.scale)}.")
        rows = []
        if ft is not None:
            mine = ft[ft["commune_code"] == code].set_index("field_code")
            for f in meth.fields:
                if f.code not in mine.index:
                    continue
                y = mine.loc[f.code]
                bb = best.loc[f.code] if f.code in best.index else None
                ch = ""
                col = f"field_{f.code}_points"
                if prev is not None and code in prev.index and col in prev.columns and previous_year:
                    ch = signed_text(float(y.points) - float(prev.loc[code, col]))
                rows.append(dict(label=f"{f.code}. {f.label}", points=num_text(y.points), max=num_text(y.max_points),
                                 reduced=float(y.max_points) < float(f.points) - 1e-9,
                                 pct=pct_text(y.pct, 1), w=_w(y.pct), mean=pct_text(mean.get(f.code), 1),
                                 mean_w=_w(mean.get(f.code)), best=pct_text(bb.pct, 1) if bb is not None else "–",
                                 best_w=_w(bb.pct if bb is not None else None),
                                 best_name=names.get(str(bb.commune_code), "") if bb is not None else "",
                                 change=ch))
        p["fields"] = rows
        p["has_change"] = any(rw["change"] for rw in rows)
        p["lost"] = []
        if lost is not None:
            for l in lost[lost["commune_code"] == code].head(n_lost).itertuples():
                p["lost"].append(dict(code=text_cell(l.code), label=text_cell(l.label),
                                      source=src.get(l.source, text_cell(l.source)), lost=num_text(l.lost),
                                      of=num_text(l.max_points), reason=reasons.get((code, str(l.code)), "")))
        sv = dict(sat="", sat_ci="", factors=[], off="", off_ci="", ballots="")
        if {"sat_index_pct"} <= cols and pd.notna(x.sat_index_pct):
            sv["sat"] = pct_text(x.sat_index_pct, 1)
            if {"sat_ci_low", "sat_ci_high"} <= cols:
                sv["sat_ci"] = f"{pct_text(x.sat_ci_low, 1)} – {pct_text(x.sat_ci_high, 1)}"
        if isinstance(fac, pd.DataFrame) and len(fac):
            fx = fac[fac["commune_code"].astype(str) == code].set_index("factor")
            ci = (fci[fci["commune_code"].astype(str) == code].set_index("factor")
                  if isinstance(fci, pd.DataFrame) else None)
            sv["factors"] = []
            for f in meth.satisfaction_survey.factors:
                if f.code not in fx.index:
                    continue
                v = 100.0 * float(fx.loc[f.code, "index"])
                c = ci.loc[f.code] if ci is not None and f.code in ci.index else None
                sv["factors"].append(dict(
                    label=text_cell(flabel[f.code]), pct=pct_text(v, 1), w=_w(v), n=int_text(fx.loc[f.code, "n_answers"]),
                    ci=f"{pct_text(c.ci_low, 1)} – {pct_text(c.ci_high, 1)}" if c is not None and pd.notna(c.ci_low) else "",
                    lo_w=_w(c.ci_low) if c is not None else "0", hi_w=_w(c.ci_high) if c is not None else "0"))
        if "officials_points" in cols and pd.notna(x.officials_points):
            sv["off"] = f"{num_text(x.officials_points)} / {num_text(off_max)}"
            if {"officials_ci_low", "officials_ci_high"} <= cols and pd.notna(x.officials_ci_low):
                sv["off_ci"] = f"{num_text(x.officials_ci_low)} – {num_text(x.officials_ci_high)}"
        if {"ballots_received", "ballots_valid", "ballots_excluded"} <= cols:
            sv["ballots"] = (f"{int_text(x.ballots_received)} phiếu nhận, {int_text(x.ballots_valid)} hợp lệ, "
                             f"{int_text(x.ballots_excluded)} bị loại")
        p["survey"] = sv
        out.append(p)
    return out


def profile_csv(profiles: list[dict]) -> pd.DataFrame:
    """The data behind the profiles' field tables, one row per commune × field (text as shown)."""
    rows = []
    for p in profiles:
        for f in p["fields"]:
            rows.append({"Mã xã": p["code"], "Xã, thị trấn": p["name"], "Hạng": p["rank"], "Lĩnh vực": f["label"],
                         "Điểm đạt": f["points"], "Điểm tối đa áp dụng": f["max"], "Tỷ lệ đạt": f["pct"],
                         "Bình quân huyện": f["mean"], "Cao nhất": f["best"], "Xã cao nhất": f["best_name"],
                         "Thay đổi so với năm trước (điểm)": f["change"]})
    return pd.DataFrame(rows)


# ------------------------------------------------------------------------------------------------
# Print view and PDFs
# ------------------------------------------------------------------------------------------------
def render_profiles(profiles: list[dict], title: str, css: str, source: str) -> str:
    """The print view: the profiles alone (each on its own A4 page), same template and style as the report."""
    from ..text import nfc

    return nfc(template_env().get_template("profiles.html.j2").render(
        profiles=profiles, title=title, css=Markup(css), source=source))


_PDF_DATE = re.compile(rb"(/(?:CreationDate|ModDate) \(D:)\d{14}([+\-]\d\d'\d\d')?")


_PDF_NODE = re.compile(rb"\(node(\d{8})\)")


def fixed_pdf_dates(pdf: bytes) -> bytes:
    """Chromium's PDF made reproducible: the creation and modification dates set to 1 January 2000 (UTC), and
    the ids of the tagged structure (``(node00001472)``: the renderer's DOM node counter, which differs from
    one browser session to the next) renumbered 1, 2, … in their order. Every replacement has the length of
    the original, so the cross-reference offsets stay valid: the same page, the same bytes."""
    def repl(m: re.Match) -> bytes:
        return m.group(1) + b"20000101000000" + (b"+00'00'" if m.group(2) else b"")
    pdf = _PDF_DATE.sub(repl, pdf)
    ids = sorted({int(x) for x in _PDF_NODE.findall(pdf)})
    new = {i: k + 1 for k, i in enumerate(ids)}
    return _PDF_NODE.sub(lambda m: b"(node%08d)" % new[int(m.group(1))], pdf)


async def _print_all(pages: list[tuple[Path, Path]], browser_path: str, timeout: float) -> None:
    import choreographer as choreo

    async with choreo.Browser(path=browser_path, headless=True) as browser:
        tab = await browser.create_tab("")
        await tab.send_command("Page.enable")
        for html, pdf in pages:
            loaded = tab.subscribe_once("Page.loadEventFired")
            await tab.send_command("Page.navigate", params={"url": html.resolve().as_uri()})
            await asyncio.wait_for(loaded, timeout)
            r = await tab.send_command("Page.printToPDF", params={
                "printBackground": True, "preferCSSPageSize": True, "displayHeaderFooter": False,
                # untagged: the tags carry the renderer's DOM node ids, which change from one session to the next
                "generateTaggedPDF": False})
            if "error" in r:
                raise RuntimeError(f"Chromium could not print {html.name}: {r['error']}")
            write_bytes_atomic(fixed_pdf_dates(base64.b64decode(r["result"]["data"])), pdf)


def write_profile_pdfs(profiles: list[dict], title: str, css: str, source: str, out_dir: Path,
                       timeout: float = 60.0) -> list[Path]:
    """Print one PDF per commune (``<out_dir>/<code>.pdf``) and the combined one (:data:`COMBINED_PDF`) with
    the headless Chromium the tests use; returns the paths (combined first). Each file is written atomically."""
    from .export import _browser_path, with_watchdog

    browser = _browser_path()
    if browser is None:
        raise RuntimeError("write_profile_pdfs: no Chromium found (/usr/bin/chromium); `make report` installs it")
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="parindex-profiles-") as tmp:
        t = Path(tmp)
        jobs = []
        page = t / "all.html"
        page.write_text(render_profiles(profiles, title, css, source), encoding="utf-8")
        jobs.append((page, out_dir / COMBINED_PDF))
        for p in profiles:
            page = t / f"{p['code']}.html"
            page.write_text(render_profiles([p], f"{title} — {p['name']}", css, source), encoding="utf-8")
            jobs.append((page, out_dir / f"{p['code']}.pdf"))
        # under the watchdog: a browser that never answers is abandoned and the pages printed again (each PDF
        # is written atomically with the same bytes, whichever call writes it)
        with_watchdog(lambda: _run(_print_all(jobs, browser, timeout)), "profile-pdfs")
    return [j[1] for j in jobs]


def _run(coro) -> None:
    """Run a coroutine to the end, also where an event loop is already running (a Jupyter kernel, where the
    stage notebooks run): then in a thread of its own."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        asyncio.run(coro)
        return
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(max_workers=1) as ex:
        ex.submit(asyncio.run, coro).result()
