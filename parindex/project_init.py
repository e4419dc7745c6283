"""``parindex init --district <code or name> --year <year> [--demo]``: set a checkout up for a district's year.

Run inside the project folder (the nearest parent of the working folder holding ``pyproject.toml`` and
``parindex/``), it writes:

* ``params/<year>.yaml`` — every run parameter with its Vietnamese label as a comment, the district named by
  its statistics-office code (name, province and communes are read from the national list the project ships),
  survey sizes from the methodology, the plan's survey period, a random duplicate-detection salt;
* ``templates/<year>/`` — the three blank entry forms, as ``parindex templates`` writes them;
* with ``--demo``, ``data/raw/<year>/`` — the four SYNTHETIC raw files of the seeded demo generator
  (:mod:`parindex.demo`), so that ``parindex run --year <year>`` runs at once.

An existing parameters file or raw folder is kept unless ``--force``; an ambiguous district name lists the
candidates with their codes (exit 2). Every value written comes from the parameter models
(:mod:`parindex.params`), the methodology or the national list — none is written here.
"""

from __future__ import annotations

import argparse
import os
import secrets
import shutil
import sys
from dataclasses import dataclass, field
from pathlib import Path

import yaml
from pydantic import BaseModel

from .district import NATIONAL_LIST, DistrictEntry, DistrictInfo, find_district, resolve_district
from .methodology import MethodologyError, load_methodology
from .params import ParamsError, RunParams, default_params, load_params, project_path, survey_period


class InitError(ValueError):
    """``parindex init`` cannot proceed (message in Vietnamese, English in brackets)."""


@dataclass
class InitOutcome:
    district: DistrictInfo
    params_file: Path
    templates: list[Path] = field(default_factory=list)
    demo_files: list[Path] = field(default_factory=list)


def project_root(start: Path | None = None) -> Path:
    """The checkout ``parindex init`` works in: the nearest parent of ``start`` (default: the working folder)
    holding pyproject.toml and parindex/."""
    here = Path(start or Path.cwd()).resolve()
    for p in [here, *here.parents]:
        if (p / "pyproject.toml").is_file() and (p / "parindex").is_dir():
            return p
    raise InitError(f"{here} không nằm trong thư mục dự án parindex — hãy chạy lệnh trong thư mục dự án "
                    "(not inside a parindex checkout: run the command in the project folder)")


# ------------------------------------------------------------------------------------------------
# The parameters file
# ------------------------------------------------------------------------------------------------
def new_params(year: int, entry: DistrictEntry, root: Path, *, seed: int | None = None,
               methodology: str | None = None, salt: str | None = None) -> RunParams:
    """The parameters of a new year for district ``entry``: the models' defaults, the district by its code,
    survey sizes of the methodology, the plan's survey period and a random salt (``secrets``)."""
    d = default_params(year)
    if seed is not None:
        d["seed"] = seed
    if methodology is not None:
        d["methodology"] = methodology
    meth_path = d.get("methodology", RunParams.model_fields["methodology"].default)
    meth = load_methodology(project_path(root, meth_path))
    start, end = survey_period(year)
    d["district"] = {"code": entry.code,
                     "officials_groups": {g.code: g.size for g in meth.officials_survey.groups},
                     "ballots_per_commune": meth.satisfaction_survey.ballots_per_commune,
                     "salt": salt or secrets.token_urlsafe(24)}
    d["survey"] = {"survey_start": start, "survey_end": end}
    return RunParams.model_validate(d)


def _scalar(v: object) -> str:
    """One YAML value as PyYAML writes it (flow style for mappings), so that it reads back the same."""
    return yaml.safe_dump(v, allow_unicode=True, default_flow_style=True, width=10_000).removesuffix(
        "\n...\n").rstrip("\n")


def _comments(entry: DistrictEntry) -> dict[str, str]:
    from .publish.labels import PARAM_LABELS

    notes = dict(PARAM_LABELS)
    notes["district.code"] = f"{PARAM_LABELS.get('district.code', 'district.code')}: {entry.name}, {entry.province}"
    notes["district.name"] = f"null = \"{entry.name}\" theo danh mục; ghi tên khác để thay"
    notes["district.province"] = f"null = \"{entry.province}\" theo danh mục; ghi tên khác để thay"
    notes["district.communes"] = (f"null = {entry.n_communes} xã, phường, thị trấn theo danh mục; hoặc một tệp "
                                  "danh sách xã")
    return notes


def params_text(params: RunParams, entry: DistrictEntry) -> str:
    """``params/<year>.yaml`` of a new year: every parameter, one per line, with its Vietnamese label."""
    notes = _comments(entry)
    lines = [
        f"# Parameters of the {params.year} yearly run of {entry.name}, {entry.province} (written by `parindex init`;",
        "# see `parindex run --help`; override with --set key=value).",
        f"# The district is named by its statistics-office code: its name, province and {entry.n_communes} communes "
        "are read",
        f"# from {NATIONAL_LIST}. district.salt is a secret: keep it, never publish it.",
    ]
    width = 34

    def walk(model: BaseModel, prefix: str, indent: int) -> None:
        for name in type(model).model_fields:
            value = getattr(model, name)
            key = f"{prefix}{name}"
            if isinstance(value, BaseModel):
                lines.append(" " * indent + f"{name}:")
                walk(value, key + ".", indent + 2)
                continue
            text = " " * indent + f"{name}: {_scalar(value)}"
            note = notes.get(key)
            lines.append(f"{text.ljust(width)} # {note}" if note else text)

    walk(params, "", 0)
    return "\n".join(lines) + "\n"


# ------------------------------------------------------------------------------------------------
# init
# ------------------------------------------------------------------------------------------------
def init_year(root: Path, query: str, year: int, *, province: str | None = None, demo: bool = False,
              force: bool = False, seed: int | None = None, methodology: str | None = None,
              salt: str | None = None) -> InitOutcome:
    """Write the parameters, the blank entry forms and (``demo``) synthetic raw files of ``year`` for the
    district ``query`` names (code or name; ``province`` to choose between districts of the same name).

    Refuses (:class:`InitError`) to replace ``params/<year>.yaml`` or a non-empty ``data/raw/<year>/``
    without ``force``; a name that fits several districts raises
    :class:`parindex.district.DistrictLookupError` listing them. Nothing is written before every check has
    passed; the parameters file is written last, atomically."""
    from .demo import generate
    from .surveyplan.entry_templates import write_district_templates

    root = Path(root)
    entry = find_district(query, province, root=root)
    pfile = root / "params" / f"{year}.yaml"
    raw = root / "data" / "raw" / str(year)
    refused = []
    if pfile.exists() and not force:
        refused.append(f"tệp tham số {pfile.relative_to(root)} đã có (parameters file exists)")
    if demo and raw.is_dir() and any(raw.iterdir()) and not force:
        refused.append(f"thư mục dữ liệu thô {raw.relative_to(root)}/ đã có tệp (raw folder is not empty)")
    if refused:
        raise InitError("Không ghi đè: " + "; ".join(refused) + ". Dùng --force để ghi đè "
                        "(nothing overwritten; use --force to replace them)")
    params = new_params(year, entry, root, seed=seed, methodology=methodology, salt=salt)
    text = params_text(params, entry)
    if RunParams.model_validate(yaml.safe_load(text)) != params:   # the file must read back as these parameters
        raise AssertionError("params_text does not read back as the parameters")  # pragma: no cover
    meth = load_methodology(project_path(root, params.methodology))
    district = resolve_district(params.district, meth, root)
    out = InitOutcome(district=district, params_file=pfile)
    start, end = params.survey.survey_start, params.survey.survey_end
    out.templates = write_district_templates(root / "templates" / str(year), meth, district, year=year,
                                             survey_start=start, survey_end=end)
    if demo:
        tmp = raw.parent / f".init-{year}-{os.getpid()}"
        shutil.rmtree(tmp, ignore_errors=True)
        try:
            files = generate(year, tmp, params.seed, meth, district, survey_start=start, survey_end=end)
            raw.mkdir(parents=True, exist_ok=True)
            for f in files:
                os.replace(f, raw / f.name)
                out.demo_files.append(raw / f.name)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
    pfile.parent.mkdir(parents=True, exist_ok=True)
    tmp_file = pfile.with_name(f".{pfile.name}.{os.getpid()}.tmp")
    tmp_file.write_text(text, encoding="utf-8")
    os.replace(tmp_file, pfile)
    load_params(year, pfile, [], root=root)   # reads back through the same path `parindex run` takes
    return out


def cmd_init(a: argparse.Namespace) -> int:
    try:
        root = Path(a.root).resolve() if a.root else project_root()
        out = init_year(root, a.district, a.year, province=a.province, demo=a.demo, force=a.force, seed=a.seed,
                        methodology=a.methodology)
    except (InitError, ParamsError, MethodologyError) as e:
        print(f"LỖI / ERROR: {e}", file=sys.stderr)
        return 2
    except OSError as e:
        print(f"LỖI / ERROR: không ghi được tệp {e.filename} ({e.strerror}) (cannot write the file)", file=sys.stderr)
        return 2
    d = out.district
    rel = lambda p: os.path.relpath(p, root)  # noqa: E731
    print(f"Đã khởi tạo năm {a.year} cho {d.name}, {d.province} (mã {d.code}, {len(d.communes)} xã, phường, "
          f"thị trấn) (initialised):")
    print(f"  tham số:        {rel(out.params_file)}")
    print(f"  mẫu nhập liệu:  {rel(out.templates[0].parent)}/ ({len(out.templates)} tệp)")
    if out.demo_files:
        print(f"  dữ liệu MÔ PHỎNG (synthetic demo data): {rel(out.demo_files[0].parent)}/ ({len(out.demo_files)} tệp)")
    print(f"Tiếp theo (next): parindex run --year {a.year}")
    return 0


def register(subparsers) -> None:
    """Add ``init`` to the subparsers of the ``parindex`` command."""
    p = subparsers.add_parser(
        "init", help="set up a year for a district: params/<year>.yaml, blank entry forms, optional demo data",
        description="Write params/<year>.yaml for a district of Vietnam (named by its statistics-office code or its "
                    "name), the blank entry forms into templates/<year>/ and, with --demo, synthetic raw files into "
                    "data/raw/<year>/; then `parindex run --year <year>` runs it. Run inside the project folder.")
    p.add_argument("--district", required=True,
                   help='statistics-office district code ("042") or name ("Vị Xuyên", "huyen vi xuyen", '
                        '"TX Kỳ Anh", "Châu Thành, Long An")')
    p.add_argument("--year", type=int, required=True)
    p.add_argument("--province", help="province name or code, to choose between districts of the same name")
    p.add_argument("--demo", action="store_true", help="also write SYNTHETIC demo raw files into data/raw/<year>/")
    p.add_argument("--force", action="store_true", help="replace an existing params/<year>.yaml and demo raw files")
    p.add_argument("--seed", type=int, default=None, help="random seed of the run and of the demo data (default: the year)")
    p.add_argument("--methodology", default=None, help="methodology file (default: the parameters' default)")
    p.add_argument("--root", default=None, help=argparse.SUPPRESS)
    p.set_defaults(func=cmd_init)
