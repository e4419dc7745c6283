"""The yearly run as functions: one per stage, and ``run_pipeline(params)``, the one way to run a year.

Each stage function takes a :class:`parindex.state.Run` and returns it with its stage filled in:

* :func:`clean` — the raw files of the year → clean tables and the rejection log;
* :func:`score` — the scoring core → results, leaf scores, survey scores with intervals;
* :func:`uncertainty` — the Monte Carlo robustness of the ranking (skipped when switched off);
* :func:`publish` — the report, the xlsx/csv tables, the chart images and the drafts (``van_ban/``: notices,
  reply forms, report, decision; :mod:`parindex.documents`), written into a folder.

:func:`run_pipeline` runs them in a staging folder — in process, or each stage through its notebook with
papermill (``notebooks=True``, what ``parindex run`` does) — then promotes the finished run (see
:mod:`parindex.runner`). A notebook opened by hand in JupyterLab calls :func:`open_stage`: it reads
``params/<year>.yaml``, works in ``scratch/<year>/`` and never touches what is published.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import shutil
import time
from pathlib import Path

from . import runner
from .district import resolve_district
from .methodology import load_methodology, write_effective_methodology
from .params import RunParams, load_params, project_path
from .state import STAGES, Run, sha256_file

ROOT = runner.ROOT
TRIAL_BANNER = "Chế độ thử — không phải kết quả công bố"
TRIAL_BANNER_EN = "Trial mode — not published results"


# ------------------------------------------------------------------------------------------------
# Start
# ------------------------------------------------------------------------------------------------
def start(params: RunParams, root: Path = ROOT, folder: Path | None = None, *, previous="params",
          out_root: Path | None = None, trial: bool = False) -> Run:
    """A new run: the effective methodology written into ``folder``, the district resolved, and the baseline
    of the year-over-year comparison stored (``previous``: "params" = as the parameters say — the published
    run of the earlier year by default —, None, a results table of parindex, or a run folder whose recorded
    baseline is reused, as a replay does). Fills ``run.baseline`` and ``run.history``."""
    from .baseline import Baseline, copy_recorded, read_results_table, resolve_baseline, write_baseline

    root = Path(root)
    folder = Path(folder) if folder is not None else None
    src = project_path(root, params.methodology)
    load_methodology(src)  # refuse a broken methodology before anything is written
    if folder is None:
        raise ValueError("start: a folder for the run is needed")
    recorded = None
    if previous == "params":
        base = resolve_baseline(params, root, Path(out_root) if out_root else root / "reports")
    elif previous is None:
        base = Baseline(None, None, None)
    elif Path(previous).is_dir():
        recorded, base = Path(previous), None
    else:
        read_results_table(Path(previous))   # refused before anything is copied
        base = Baseline(Path(previous), None, None)
    folder.mkdir(parents=True, exist_ok=True)
    write_effective_methodology(src, folder / "methodology.yaml", params.satisfaction.satisfaction_points,
                                params.satisfaction.estimator)
    meth = load_methodology(folder / "methodology.yaml")
    district = resolve_district(params.district, meth, root)
    if recorded is not None:
        copy_recorded(recorded, folder)
    else:
        write_baseline(folder, base)
    run = Run(params=params, root=root, methodology=meth, district=district, folder=folder, trial=trial)
    run.save()
    return Run.load(folder, root=root, trial=trial)


# ------------------------------------------------------------------------------------------------
# Stages
# ------------------------------------------------------------------------------------------------
def clean(run: Run) -> Run:
    """Read and clean the raw files; apply the explanation round when the year has one (:mod:`parindex.rounds`);
    weight the satisfaction ballots as the methodology's estimator says (``satisfaction_survey.estimator``:
    1 each for the plain share, dossier weights otherwise). The table of dossier weights
    (``satisfaction_weights``) is kept either way, for the other estimator's check. A refused input leaves
    its diagnosis in the run folder (see :func:`run_pipeline`)."""
    from .ingest import Ingest, InputError, clean_year
    from .ingest.diagnosis import write_diagnosis
    from .rounds import apply_round2
    from .surveys import apply_estimator

    p = run.params
    raw = project_path(run.root, p.inputs.raw_dir)
    ing = Ingest.from_params(p, run.root, project_path(run.root, p.methodology).parent)
    try:
        data = clean_year(raw, run.methodology, run.communes, survey_start=p.survey.survey_start,
                          survey_end=p.survey.survey_end, salt=run.district.salt, ing=ing)
    except InputError as e:
        if run.folder is not None:  # the diagnosis outlives the refused run (see run_pipeline)
            write_diagnosis(Path(run.folder) / DIAGNOSIS, e, ing)
        raise
    tables = {t: getattr(data, t) for t in ("assessment", "officials", "satisfaction", "ballots", "dossiers")}
    estimator = run.methodology.satisfaction_survey.estimator
    tables["satisfaction"], tables["satisfaction_weights"] = apply_estimator(data.satisfaction, data.dossiers,
                                                                             estimator)
    tables["rejections"] = data.rejections
    tables.update(data.log)
    round2 = apply_round2(raw, data.assessment, run.methodology, run.communes)  # the explanation round, if any
    if round2 is not None:
        tables.update(round2.tables())
    inputs = {runner.rel_path(run.root, f): sha256_file(f) for f in runner.raw_input_files(raw)}
    info = exclusion_info(data.log["exclusions"], p.ingest.warn_excluded_share)
    if round2 is not None:
        info["round2"] = round2.summary()
    run.record("clean", tables, function="parindex.ingest.clean_year",
               arguments={"raw_dir": p.inputs.raw_dir, "survey_start": p.survey.survey_start,
                          "survey_end": p.survey.survey_end, "satisfaction_estimator": estimator,
                          "ingest": p.ingest.model_dump(mode="json")},
               inputs=inputs, info=info)
    return run


DIAGNOSIS = "diagnosis"


def exclusion_info(exclusions, threshold: float) -> dict:
    """The clean stage's summary: ballots read, valid and excluded per survey, and a warning (Vietnamese)
    when a survey's excluded share is above ``threshold``."""
    rows = [dict(survey=x.survey, file=x.file, rows=int(x.rows), valid=int(x.valid), excluded=int(x.excluded))
            for x in exclusions.itertuples()]
    names = {"officials": "phiếu điều tra cán bộ", "satisfaction": "phiếu khảo sát sự hài lòng"}
    over = [r for r in rows if r["rows"] and r["excluded"] / r["rows"] > threshold]
    warning = "; ".join(
        f"{r['excluded']}/{r['rows']} {names.get(r['survey'], r['survey'])} ({r['file']}) bị loại — "
        + f"{100 * r['excluded'] / r['rows']:.1f}".replace(".", ",") + " %" for r in over)
    if warning:
        warning = (f"Nhiều phiếu bị loại hơn ngưỡng {100 * threshold:g} % (tham số ingest.warn_excluded_share): "
                   f"{warning}. Xem Phụ lục chất lượng dữ liệu và tệp rejections.csv.")
    return {"exclusions": rows, "warning": warning}


def check_missing_as_zero(coverage) -> None:
    """``scoring.allow_missing_as_zero`` is for a commune genuinely absent from a survey: refuse it when a
    commune has survey rows that were all excluded (or rows whose commune could not be recognised and
    that may be its)."""
    if coverage is None or len(coverage) == 0:
        return
    lost = coverage[(coverage["rows"] > 0) & (coverage["valid"] == 0)]
    if len(lost):
        names = {"officials": "điều tra cán bộ", "satisfaction": "khảo sát sự hài lòng"}
        which = "; ".join(f"xã {x.commune_code} ({names.get(x.survey, x.survey)}: {x.rows} dòng, không dòng nào hợp lệ)"
                          for x in lost.itertuples())
        raise ValueError(
            "Không thể dùng --allow-missing-as-zero (scoring.allow_missing_as_zero): tham số này chỉ dành cho xã "
            f"thực sự không có trong khảo sát, nhưng các xã sau có phiếu mà không đọc được: {which}. Hãy xem "
            "rejections.csv, sửa tệp rồi chạy lại (allow_missing_as_zero is only for a commune absent from a "
            "survey; these communes have rows that could not be read)")


def score(run: Run) -> Run:
    """Score every commune: appraisal, both surveys (with bootstrap intervals), index, rank and band."""
    from .scoring import score_all
    from .uncertainty.intervals import survey_columns

    c = run.stage_tables("clean")
    p = run.params
    if p.scoring.allow_missing_as_zero:
        check_missing_as_zero(c.get("coverage"))
    scored = score_all(c["assessment"], c["officials"], c["satisfaction"], run.methodology, run.communes,
                       allow_missing_as_zero=p.scoring.allow_missing_as_zero,
                       group_weighting=p.survey.group_weighting, rank_decimals=p.scoring.rank_decimals,
                       dossiers=c["dossiers"])
    scored["results"] = survey_columns(scored["results"], c["satisfaction"], c["officials"], c["ballots"],
                                       run.methodology, group_weighting=p.survey.group_weighting,
                                       n_boot=p.survey.ci_draws, seed=p.seed, layout=p.survey.ci_layout)
    if "assessment_round1" in c:  # the explanation round changed scores: round 1's index and rank beside the final
        from .rounds import round1_results
        scored["round1_results"] = round1_results(
            c["assessment_round1"], c["officials"], c["satisfaction"], run.methodology, run.communes, scored["results"],
            allow_missing_as_zero=p.scoring.allow_missing_as_zero, group_weighting=p.survey.group_weighting,
            rank_decimals=p.scoring.rank_decimals)
    run.record("score", scored, function="parindex.scoring.score_all",
               arguments={"scoring": p.scoring.model_dump(mode="json"),
                          "group_weighting": p.survey.group_weighting, "ci_draws": p.survey.ci_draws, "seed": p.seed,
                          "satisfaction_estimator": run.methodology.satisfaction_survey.estimator},
               inputs={f"clean/{k}": v for k, v in run.table_hashes("clean").items()})
    return run


def uncertainty(run: Run) -> Run:
    """Monte Carlo robustness of the ranking (:mod:`parindex.uncertainty.robustness`); nothing when
    ``robustness.enabled`` is false."""
    from .uncertainty.robustness import run_robustness

    p = run.params
    if not p.robustness.enabled:
        run.tables.pop("uncertainty", None)
        run.info.pop("uncertainty", None)
        return run
    c, s = run.stage_tables("clean"), run.stage_tables("score")
    r = p.robustness
    # the options scoring used are declared (the officials' grouping, the methodology's satisfaction estimator),
    # so the robustness stage checks them rather than detects them
    published = {"officials_groups": p.survey.group_weighting,
                 "satisfaction_estimator": run.methodology.satisfaction_survey.estimator}
    rob = run_robustness(run.methodology, s["leaf_scores"], c["officials"], c["satisfaction"], s["results"], r,
                         seed=p.seed, rank_decimals=p.scoring.rank_decimals, published=published,
                         dossier_weights=c.get("satisfaction_weights"))
    tables = {"robustness": rob.per_commune, "outrank": rob.outrank.reset_index(), "leave_one_out": rob.leave_one_out,
              "sobol": rob.sobol, "convergence": rob.convergence}
    inputs = {f"clean/{k}": v for k, v in run.table_hashes("clean").items() if k in ("officials", "satisfaction")}
    inputs.update({f"score/{k}": v for k, v in run.table_hashes("score").items() if k in ("leaf_scores", "results")})
    run.record("uncertainty", tables, function="parindex.uncertainty.robustness.run_robustness",
               arguments=r.model_dump(mode="json") | {"seed": p.seed, "rank_decimals": p.scoring.rank_decimals,
                                                      "published": published},
               inputs=inputs, info=rob.summary)
    return run


def report_tables(run: Run) -> dict:
    """The tables the report and the exports read, by name (robustness tables in the report's layout)."""
    tables = run.all_tables()
    if "outrank" in tables:
        o = tables["outrank"].set_index("commune_code")
        o.columns = o.columns.astype(str)
        tables["outrank"] = o
    return tables


def publish(run: Run, out_dir: Path | None = None) -> list[Path]:
    """Write the report (index.html), results.csv/xlsx, robustness.csv, rejections.csv, the chart images
    (images/), the commune profiles as PDF files (ho_so_xa/: one per commune and one combined) and the drafts
    (van_ban/, unless ``documents.enabled`` is false) into ``out_dir`` (default: the run folder). Returns the
    paths written."""
    from .csvsafe import write_csv
    from .publish import figures, robustness_figures
    from .publish.export import write_chart_images, write_results_csv, write_results_xlsx
    from .publish.page import TEMPLATES, write_report
    from .publish.profiles import PROFILE_DIR, factor_intervals, write_profile_pdfs
    from .publish.report import ReportContext, previous_results_check, render_report, report_parts, source_line

    out = Path(out_dir or run.folder)
    out.mkdir(parents=True, exist_ok=True)
    meth = run.methodology
    tables = report_tables(run)
    results = run.table("results")
    notes: list[str] = []
    previous_year = None
    if run.previous is not None:
        py = int(run.baseline["year"]) if run.baseline and run.baseline.get("year") else run.year - 1
        ok, note = previous_results_check(run.previous, results, py)
        if ok:
            tables["previous_results"] = run.previous
            previous_year = py
        elif note:
            notes.append(note)
    b = run.baseline
    if previous_year is not None and b and b.get("methodology_id") and b["methodology_id"] != meth.meta.id:
        notes.append(f"Lưu ý: năm {b['year']} được chấm theo bộ tiêu chí “{b.get('methodology_title') or b['methodology_id']}” "
                     f"({b['methodology_id']}), khác bộ tiêu chí năm {run.year} ({meth.meta.id}); so sánh giữa hai năm "
                     "chỉ mang tính tham khảo.")
    if run.info.get("clean", {}).get("warning"):
        notes.append(run.info["clean"]["warning"])
    if run.trial:
        notes.insert(0, f"{TRIAL_BANNER}: lần chạy thử từ JupyterLab, chỉ để xem trước.")
    if "satisfaction" in tables and len(tables["satisfaction"]):
        tables["satisfaction_factor_ci"] = factor_intervals(
            tables["satisfaction"], meth, results["commune_code"], n_boot=run.params.survey.ci_draws,
            seed=run.params.seed + 2)
    ctx = ReportContext(year=run.year, district=run.district.name, province=run.district.province,
                        run_label=f"bộ tiêu chí {meth.meta.id} · hạt giống ngẫu nhiên {run.params.seed}",
                        params=run.params.public_dict(), notes=notes, robustness_summary=run.info.get("uncertainty"),
                        previous_year=previous_year, report=run.params.report,
                        baseline=run.baseline if previous_year is not None else None, history=run.history)
    parts = report_parts(tables, meth, ctx)
    src = source_line(ctx)
    y = run.year
    titles = {"fig-ranking": ("xep_hang", f"Xếp hạng Chỉ số CCHC năm {y}"),
              "fig-fields": ("diem_linh_vuc", f"Điểm theo lĩnh vực năm {y}"),
              "fig-sources": ("diem_nguon", f"Điểm theo nguồn đánh giá năm {y}"),
              "fig-criteria": ("ty_le_tieu_chi", f"Tỷ lệ điểm đạt theo tiêu chí năm {y}"),
              "fig-yoy": ("so_sanh_nam_truoc", f"Thay đổi thứ hạng năm {previous_year} – {y}")}
    charts = {titles[k][0]: (fig, titles[k][1]) for k, fig in parts["charts"].items()}   # the page's own figures
    if "robustness" in tables:
        charts["khoang_thu_hang"] = (robustness_figures.fig_rank_intervals(tables["robustness"]),
                                     f"Khoảng thứ hạng (5–95 % số lần mô phỏng) năm {y}")
    # The chart images and the profile PDFs are drawn by headless Chromium (kaleido / choreographer): this process
    # mostly waits for it, so both run in threads while the tables and the page are written here.
    from concurrent.futures import ThreadPoolExecutor

    pool = ThreadPoolExecutor(max_workers=2, thread_name_prefix="parindex-chromium")
    images_job = pool.submit(write_chart_images,
                             {k: figures.for_image(f, title, src) for k, (f, title) in charts.items()}, out / "images")
    pdf_job = None
    if parts["profiles"] is not None:
        pdf_job = pool.submit(write_profile_pdfs, parts["profiles"]["rows"],
                              f"Hồ sơ Chỉ số CCHC năm {y} — {ctx.district}",
                              (TEMPLATES / "report.css").read_text(encoding="utf-8"), src, out / PROFILE_DIR)
    pool.shutdown(wait=False)
    paths = [out / "results.csv", out / "results.xlsx"]
    write_results_csv(results, meth, out / "results.csv")
    write_results_xlsx(tables, meth, out / "results.xlsx", district=run.district.public(),
                       rank_decimals=run.params.scoring.rank_decimals)
    if "robustness" in tables:
        write_csv(tables["robustness"], out / "robustness.csv")
        paths.append(out / "robustness.csv")
    write_csv(tables["rejections"], out / "rejections.csv")
    write_report(render_report(tables, meth, ctx, parts), out / "index.html")
    paths += [out / "rejections.csv", out / "index.html"]
    images = images_job.result()
    paths += images
    documents: list[Path] = []
    try:
        if run.params.documents.enabled:  # the drafts the district issues: notices, reply forms, report, decision
            from .documents import write_documents   # (they embed the images; the profiles still print meanwhile)
            documents = write_documents(run, tables, out / "van_ban", images={p.stem: p for p in images},
                                        previous_year=previous_year)
    finally:
        if pdf_job is not None:               # waited for even when the documents fail
            paths += pdf_job.result()
    return paths + documents


#: stage name → (function, notebook)
STAGE_FUNCTIONS = {"clean": clean, "score": score, "uncertainty": uncertainty, "publish": publish}
NOTEBOOKS = {"clean": "01_clean", "score": "02_score", "uncertainty": "03_robustness", "publish": "04_report"}
STAGE_LABELS = {
    "clean": "Làm sạch dữ liệu (clean)",
    "score": "Chấm điểm (score)",
    "uncertainty": "Kiểm định độ vững (robustness)",
    "publish": "Lập báo cáo (report)",
}


def stages_of(params: RunParams) -> list[str]:
    return [s for s in STAGE_FUNCTIONS if s != "uncertainty" or params.robustness.enabled]


# ------------------------------------------------------------------------------------------------
# The one way to run a year
# ------------------------------------------------------------------------------------------------
def what_if_parameters(params: RunParams, root: Path) -> tuple[str, ...]:
    """The parameters in which a run differs from its year's own (``params/<year>.yaml``): empty for the
    year's official run; a run with any difference (another methodology, ``--set`` values…) is a what-if."""
    from .params import ParamsError, flatten_params

    try:
        official = load_params(params.year, root=root)
    except ParamsError:
        return ("params",)
    a = flatten_params(official.public_dict(salt="hash"))
    b = flatten_params(params.public_dict(salt="hash"))
    return tuple(k for k in sorted(set(a) | set(b)) if a.get(k) != b.get(k))


def run_pipeline(params: RunParams, *, root: Path = ROOT, out_root: Path | None = None,
                 processed_root: Path | None = None, notebooks: bool = False, log=print,
                 notebooks_dir: Path | None = None, previous: Path | None | str = "params",
                 publish: bool | None = None) -> runner.RunOutcome:
    """Run a year: stages in a staging folder, then the finished run promoted (never half-written) and, when
    it is to be published, made the published run of its year in one step (:mod:`parindex.publication`).

    ``notebooks``: execute each stage's notebook with papermill (the executed notebooks are kept in the
    run folder) instead of calling the stage functions in this process. ``previous``: the earlier year's
    results to compare with — "params" (as the parameters say), None, a results file, or a run folder whose
    recorded baseline is reused (replay). ``publish``: None = publish only the year's official run (its
    parameters equal ``params/<year>.yaml``; anything else is a what-if that keeps its run folder only),
    True/False = publish or not. Concurrent runs of one folder queue on its lock; leftovers of killed runs
    are removed first. Raises :class:`parindex.runner.RunError` on failure."""
    from . import publication

    t0 = time.perf_counter()
    started = dt.datetime.now(dt.timezone.utc)
    root = Path(root)
    out_root = Path(out_root) if out_root else root / "reports"
    processed_root = Path(processed_root) if processed_root else root / "data" / "processed"
    load_methodology(project_path(root, params.methodology))   # fail early, before anything is written
    raw = project_path(root, params.inputs.raw_dir)
    if not raw.is_dir():
        raise runner.RunError(f"Không tìm thấy thư mục dữ liệu thô {raw} (raw input folder not found)")
    differs = what_if_parameters(params, root)
    kind = "what-if" if differs else "official"
    do_publish = (not differs) if publish is None else bool(publish)
    year_dir = out_root / str(params.year)
    processed_dir = processed_root / str(params.year)
    year_dir.mkdir(parents=True, exist_ok=True)
    with publication.locked(year_dir, processed_dir, log=log):
        publication.clean_leftovers(year_dir, processed_dir)
    with publication.staging(year_dir) as stage_dir:
        try:
            run = start(params, root, stage_dir, previous=previous, out_root=out_root)
            names = stages_of(params)
            with contextlib.ExitStack() as stack:
                session = stack.enter_context(runner.NotebookSession(
                    stage_dir, params.year, root, notebooks_dir or root / "notebooks")) if notebooks else None
                for i, name in enumerate(names, 1):
                    log(f"[{i}/{len(names)}] {STAGE_LABELS[name]} …", flush=True)
                    t = time.perf_counter()
                    if session is not None:
                        session.execute(NOTEBOOKS[name], STAGE_LABELS[name])
                    else:
                        run = _run_stage(run, name)
                    log(f"      xong sau {time.perf_counter() - t:.1f} s", flush=True)
                    if name == "clean":
                        _warn_exclusions(stage_dir, log)
        except BaseException as e:
            kept = _keep_diagnosis(stage_dir, year_dir, e)
            if kept is not None and isinstance(e, runner.RunError):
                raise runner.RunError(f"{e}\nChẩn đoán (danh sách lỗi, dòng bị loại, tóm tắt) đã ghi ở {kept} "
                                      f"(diagnosis written to {kept})") from None
            raise
        with publication.locked(year_dir, processed_dir, log=log):
            outcome = runner.promote(params, root, stage_dir, year_dir, started, kind=kind, differs=differs,
                                     notebooks=notebooks)
            shutil.rmtree(year_dir / DIAGNOSIS, ignore_errors=True)  # a finished run: an earlier diagnosis is stale
            if do_publish:
                try:
                    publication.publish_locked(outcome.run_dir, year_dir, processed_dir)
                except BaseException as e:
                    if isinstance(e, runner.RunError):
                        raise runner.RunError(f"{e}\nLần chạy đã được lưu ở {outcome.run_dir} nhưng chưa công bố; "
                                              f"bản công bố trước vẫn giữ nguyên [the run is kept but not published]"
                                              ) from None
                    raise
                outcome.published = True
    outcome.seconds = time.perf_counter() - t0
    return outcome


def _keep_diagnosis(stage_dir: Path, year_dir: Path, error: BaseException | None = None) -> Path | None:
    """Move the diagnosis a refused clean stage wrote in the staging folder to ``<year_dir>/diagnosis``; for
    a run refused after its clean stage, write one from the clean stage's rejection log."""
    src = stage_dir / DIAGNOSIS
    clean_dir = stage_dir / "processed" / "clean"
    if not src.is_dir() and (clean_dir / "rejections.csv").exists() and isinstance(error, Exception):
        from .ingest.diagnosis import write_diagnosis
        from .state import read_table

        conv = read_table(clean_dir / "conversions.parquet") if (clean_dir / "conversions.parquet").exists() else None
        write_diagnosis(src, None, rejections=read_table(clean_dir / "rejections.csv"), conversions=conv,
                        message=str(error))
    if not src.is_dir():
        return None
    dst = year_dir / DIAGNOSIS
    shutil.rmtree(dst, ignore_errors=True)
    shutil.move(str(src), str(dst))
    return dst


def _warn_exclusions(stage_dir: Path, log) -> None:
    import json

    info = stage_dir / "processed" / "clean" / "info.json"
    if info.exists():
        warning = json.loads(info.read_text(encoding="utf-8")).get("warning")
        if warning:
            log(f"      CẢNH BÁO (warning): {warning}", flush=True)


def _run_stage(run: Run, name: str) -> Run:
    """One stage in process, with the same error message as a failed notebook."""
    try:
        if name == "publish":
            publish(run)
        else:
            run = STAGE_FUNCTIONS[name](run)
            run.save()
    except OSError as e:
        from .publication import DISK_ERRORS

        if e.errno in DISK_ERRORS:
            raise   # the command line explains it (parindex.publication.disk_error_message)
        raise runner.RunError(f"Bước {STAGE_LABELS[name]} thất bại — {type(e).__name__}: {e}\n"
                              "(nothing was written)") from None
    except runner.USER_ERRORS as e:
        raise runner.RunError(f"Bước {STAGE_LABELS[name]} thất bại — {type(e).__name__}: {e}\n"
                              "(nothing was written)") from None
    return run


# ------------------------------------------------------------------------------------------------
# Notebooks: one stage each, by the pipeline or by hand
# ------------------------------------------------------------------------------------------------
def find_root(start_dir: Path | None = None) -> Path:
    """The checkout a notebook runs in: the nearest parent of the working folder with pyproject.toml."""
    here = Path(start_dir or Path.cwd()).resolve()
    for p in [here, *here.parents]:
        if (p / "pyproject.toml").exists() and (p / "parindex").is_dir():
            return p
    return ROOT


def scratch_dir(root: Path, year: int) -> Path:
    return Path(root) / "scratch" / str(year)


def open_stage(run_dir: str, year: int, stage: str) -> Run:
    """The run a stage notebook works on.

    Called by the pipeline (``run_dir`` set): the run in the staging folder. Opened by hand (``run_dir``
    empty): a trial run in ``scratch/<year>/`` with the year's parameters (``params/<year>.yaml``); the
    stages before ``stage`` are computed there when missing. A trial run never writes to
    ``data/processed/`` or ``reports/``."""
    if run_dir:
        return Run.load(Path(run_dir))
    root = find_root()
    folder = scratch_dir(root, year)
    params = load_params(year, root=root)
    fresh = not (folder / "params.json").exists() or (
        (folder / "params.json").read_text(encoding="utf-8") != _params_text(params))
    if fresh:
        shutil.rmtree(folder, ignore_errors=True)
        run = start(params, root, folder, trial=True)
    else:
        run = Run.load(folder, root=root, trial=True)
    order = [s for s in STAGES if s != "uncertainty" or params.robustness.enabled]
    for s in order[: order.index(stage)] if stage in order else order:
        if not run.has(s):
            run = STAGE_FUNCTIONS[s](run)
            run.save()
    return run


def _params_text(params: RunParams) -> str:
    from .state import dump_json
    return dump_json(params.to_json_dict())


def banner(run: Run):
    """The trial-mode banner a notebook shows (an HTML object in Jupyter; plain text elsewhere)."""
    if not run.trial:
        return None
    try:
        from IPython.display import HTML
    except ImportError:  # pragma: no cover
        return f"{TRIAL_BANNER} ({TRIAL_BANNER_EN})"
    return HTML(f'<div style="padding:.6em 1em;background:#fff3cd;border:1px solid #d4a017;font-weight:600">'
                f"{TRIAL_BANNER}<br><small>Lần chạy thử trong scratch/{run.year}/ — {TRIAL_BANNER_EN}</small></div>")
