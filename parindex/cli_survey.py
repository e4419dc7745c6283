"""Commands of plan step 1: ``parindex sample-plan`` and ``parindex templates``.

``register(subparsers)`` adds both to the project's argparse CLI. The district (its name, communes and
survey sizes), the methodology, the raw folder and the survey period come from ``params/<year>.yaml``, as
for ``parindex run``; options override them.
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import sys
from pathlib import Path

from .district import DistrictInfo, resolve_district
from .ingest import InputError, find_raw_file
from .methodology import MethodologyError, load_methodology
from .params import ParamsError, load_params, project_path
from .surveyplan.entry_templates import write_district_templates
from .surveyplan.sampleplan import (
    DEFAULT_MARGIN,
    SHEET_REFERENCE,
    SamplePlanError,
    build_sample_plan_from_file,
    write_sample_plan,
)
from .text import fmt_pct

ROOT = Path(__file__).resolve().parent.parent


def _group_sizes(items: list[str] | None) -> dict[str, int] | None:
    """``["HDND=30", "PCM=10"]`` → {"HDND": 30, "PCM": 10}."""
    if not items:
        return None
    out: dict[str, int] = {}
    for it in items:
        code, sep, val = it.partition("=")
        if not sep or not val.strip().isdigit():
            raise SamplePlanError(f"--group {it!r}: cần dạng MÃ=SỐ, ví dụ --group HDND=33 "
                                  "(expected CODE=NUMBER, e.g. --group HDND=33)")
        out[code.strip()] = int(val)
    return out


def _setup(a: argparse.Namespace) -> tuple[Path, object, object, DistrictInfo]:
    """Project root, the year's parameters, the methodology and the district (its communes and survey sizes);
    the options --methodology, --communes and --group override them."""
    root = Path(a.root).resolve()
    params = load_params(a.year, a.params, [], root=root)
    meth = load_methodology(Path(a.methodology) if a.methodology else project_path(root, params.methodology))
    block = params.district
    if a.communes:   # a commune list file in place of the parameters' (it may name its district as well)
        block = block.model_copy(update={"communes": str(Path(a.communes).resolve())})
    district = resolve_district(block, meth, root)
    extra = _group_sizes(a.group)
    if extra:
        district = dataclasses.replace(district, officials_groups={**district.officials_groups, **extra})
    return root, params, meth, district


def _fail(e: Exception) -> int:
    if isinstance(e, OSError) and e.filename:
        e = f"không đọc được tệp {e.filename} ({e.strerror}) (cannot read the file)"
    print(f"LỖI / ERROR: {e}", file=sys.stderr)
    return 2


def cmd_sample_plan(a: argparse.Namespace) -> int:
    """``parindex sample-plan``: read the dossier counts, write the sample plan workbook."""
    try:
        root, params, meth, district = _setup(a)
        src = Path(a.dossiers) if a.dossiers else find_raw_file(project_path(root, params.inputs.raw_dir), "dossiers")
        plan = build_sample_plan_from_file(src, meth, district.communes, year=a.year,
                                           n_per_commune=a.per_commune or district.ballots_per_commune,
                                           margin=a.margin, groups=district.officials_groups)
        out = Path(a.out) if a.out else root / "reports" / str(a.year) / f"ke_hoach_mau_{a.year}.xlsx"
        path = write_sample_plan(out, plan, district=district.authority)
    except (InputError, SamplePlanError, MethodologyError, ParamsError, ValueError, OSError) as e:
        return _fail(e)
    ref = plan.reference
    n_warn = int((ref["warning"] != "").sum())
    print(f"Đã ghi kế hoạch mẫu năm {a.year} — {district.name}, {district.province}: {path}")
    print(f"  số hồ sơ:  {src}")
    print(f"  hài lòng:  {len(plan.communes)} xã × {plan.n_per_commune} phiếu = "
          f"{int(plan.allocation['ballots'].sum())} phiếu")
    print("  cán bộ:    " + ", ".join(f"{g} {n}" for g, n in zip(plan.groups["group_code"], plan.groups["respondents"]))
          + f" = {len(plan.respondents)} người × {len(plan.communes)} xã")
    if n_warn:
        print(f"  cảnh báo:  {n_warn} xã có cỡ mẫu cố định khác cỡ mẫu tham chiếu "
              f"(e = {fmt_pct(plan.margin * 100, 1)}), xem trang '{SHEET_REFERENCE}'")
    return 0


def cmd_templates(a: argparse.Namespace) -> int:
    """``parindex templates``: write the three blank entry forms of the year."""
    try:
        root, params, meth, district = _setup(a)
        start = a.survey_start or params.survey.survey_start
        end = a.survey_end or params.survey.survey_end
        out = Path(a.out) if a.out else root / "templates" / str(a.year)
        paths = write_district_templates(out, meth, district, year=a.year, commune_code=a.commune, n_rows=a.rows,
                                         survey_start=start, survey_end=end)
    except (InputError, SamplePlanError, MethodologyError, ParamsError, ValueError, OSError) as e:
        return _fail(e)
    shown_start = start or dt.date(a.year, 1, 1)
    shown_end = end or dt.date(a.year, 12, 31)
    print(f"Đã ghi {len(paths)} mẫu nhập liệu năm {a.year} — {district.name}, {district.province} "
          f"(phương pháp {meth.meta.id}):")
    for p in paths:
        print(f"  {p}")
    if a.commune:
        print(f"  (mẫu tự đánh giá chỉ cho xã {a.commune}; hai mẫu phiếu khảo sát dùng chung cho cả huyện)")
    print(f"  thời gian khảo sát sự hài lòng: {shown_start:%d/%m/%Y}–{shown_end:%d/%m/%Y}")
    return 0


def _date(s: str) -> dt.date:
    try:
        return dt.date.fromisoformat(s)
    except ValueError:
        try:
            return dt.datetime.strptime(s, "%d/%m/%Y").date()
        except ValueError:
            raise argparse.ArgumentTypeError(f"ngày '{s}' không đọc được; cần yyyy-mm-dd hoặc dd/mm/yyyy") from None


def _common(p: argparse.ArgumentParser) -> None:
    p.add_argument("--year", type=int, required=True)
    p.add_argument("--params", help="parameters file (default params/<year>.yaml when it exists)")
    p.add_argument("--methodology", help="methodology YAML file (default: the one of the year's parameters)")
    p.add_argument("--communes", help="commune list CSV (default: the one of the year's parameters)")
    p.add_argument("--group", action="append", metavar="CODE=N",
                   help="respondents of an officials' group, e.g. --group HDND=30 (repeatable; default: "
                        "district.officials_groups of the year's parameters, else the methodology's)")
    p.add_argument("--root", default=str(ROOT), help=argparse.SUPPRESS)


def register(subparsers) -> None:
    """Add ``sample-plan`` and ``templates`` to the subparsers of the ``parindex`` command."""
    s = subparsers.add_parser("sample-plan", help="survey sample plan of a year (plan step 1) as xlsx")
    _common(s)
    s.add_argument("--dossiers", help="dossier counts (default: so_ho_so_<year>.xlsx in the year's raw folder)")
    s.add_argument("--per-commune", type=int, default=None,
                   help="satisfaction ballots per commune (default: district.ballots_per_commune of the year's "
                        "parameters, else the methodology's)")
    s.add_argument("--margin", type=float, default=DEFAULT_MARGIN,
                   help="margin e of the reference sample size n = N/(1+N·e²) (default 0.05)")
    s.add_argument("--out", help="output xlsx (default reports/<year>/ke_hoach_mau_<year>.xlsx)")
    s.set_defaults(func=cmd_sample_plan)

    t = subparsers.add_parser("templates", help="blank xlsx entry forms of a year (self-assessment, ballots)")
    _common(t)
    t.add_argument("--out", help="output folder (default templates/<year>/)")
    t.add_argument("--commune", help="self-assessment form for this commune code only")
    t.add_argument("--rows", type=int, default=None,
                   help="blank satisfaction ballot rows (default: the district's ballots per commune × communes)")
    t.add_argument("--survey-start", type=_date, help="first day of the satisfaction survey (default: parameters)")
    t.add_argument("--survey-end", type=_date, help="last day of the satisfaction survey (default: parameters)")
    t.set_defaults(func=cmd_templates)
