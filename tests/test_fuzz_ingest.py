"""Fuzz test of the readers (seeded): the 2023 demo workbooks corrupted at random — cells blanked, retyped,
swapped, rows swapped or duplicated, text re-encoded in TCVN3 or VNI, junk and total rows inserted,
headings damaged — must either be read with every row accounted for (kept, or excluded and logged, or a
total row skipped and logged) or be refused with a located message. Never an internal exception.

Bounded: 36 cases (9 per file), about a minute on a 2-core machine."""

from __future__ import annotations

import random
import unicodedata
from pathlib import Path

import openpyxl
import pytest
from conftest import ROOT

from parindex.communes import CommuneMatcher, load_communes
from parindex.ingest import Ingest, InputError, read_assessment, read_dossiers, read_officials, read_satisfaction
from parindex.ingest.legacy import tables
from parindex.ingest.workbook import Limits, read_grid
from parindex.methodology import load_methodology

RAW = ROOT / "data" / "raw" / "2023"
FILES = {"assessment": ("tu_danh_gia_tham_dinh_2023.xlsx", "ChamDiem"),
         "officials": ("phieu_can_bo_2023.xlsx", "PhieuCanBo"),
         "satisfaction": ("phieu_hai_long_2023.xlsx", "PhieuHaiLong"),
         "dossiers": ("so_ho_so_2023.xlsx", "HoSo")}
CASES = [(kind, seed) for kind in FILES for seed in range(9)]


@pytest.fixture(scope="module")
def base():
    meth = load_methodology(ROOT / "methodologies" / "reference-default-v1.yaml")
    matcher = CommuneMatcher(load_communes(ROOT / "data" / "reference" / "thanh_mien_communes_2023.csv"))
    grids = {k: read_grid(RAW / f, s, Limits()).rows for k, (f, s) in FILES.items()}
    return meth, matcher, grids


def _tcvn3(s: str) -> str:
    inv = {u: c for c, u in tables()[0].items()}
    return "".join(inv.get(ch, inv.get(ch.lower(), ch)) for ch in unicodedata.normalize("NFC", s))


def _vni(s: str) -> str:
    inv = {u: k for k, u in tables()[1].items()}
    return "".join(inv.get(ch, ch) for ch in unicodedata.normalize("NFC", s))


def mutate(grid: list[list], rng: random.Random) -> tuple[list[list], list[str]]:
    """1–4 random corruptions of a copy of ``grid``; returns the grid and what was done."""
    g = [list(r) for r in grid]
    done = []
    header = next(i for i, r in enumerate(g) if sum(v is not None for v in r) >= 3)
    data = list(range(header + 1, len(g)))
    width = max(len(r) for r in g)
    for r in g:
        r.extend([None] * (width - len(r)))

    def cell():
        return rng.choice(data), rng.randrange(width)

    for _ in range(rng.randint(1, 4)):
        op = rng.choice(["blank", "retype", "swap_cells", "swap_rows", "dup_row", "tcvn3_cell", "vni_column",
                         "junk", "total_row", "heading", "letterhead", "number_text"])
        if op == "blank":
            i, j = cell()
            g[i][j] = None
        elif op == "retype":
            i, j = cell()
            v = g[i][j]
            if isinstance(v, str) and len(v) > 2:
                k = rng.randrange(len(v) - 1)
                g[i][j] = rng.choice([v[:k] + v[k + 1] + v[k] + v[k + 2:], v + ".", " " + v.upper() + " ",
                                      v.lower(), v[:k]])
            elif isinstance(v, (int, float)):
                g[i][j] = rng.choice([str(v).replace(".", ","), v * 10, -v, f"{v} điểm", 11251])
        elif op == "swap_cells":
            i, j = cell()
            k = rng.randrange(width)
            g[i][j], g[i][k] = g[i][k], g[i][j]
        elif op == "swap_rows":
            a, b = rng.choice(data), rng.choice(data)
            g[a], g[b] = g[b], g[a]
        elif op == "dup_row":
            i = rng.choice(data)
            g.insert(i + 1, list(g[i]))
            data = list(range(header + 1, len(g)))
        elif op == "tcvn3_cell":
            i, j = cell()
            if isinstance(g[i][j], str):
                g[i][j] = _tcvn3(g[i][j])
        elif op == "vni_column":
            j = rng.randrange(width)
            for i in data:
                if isinstance(g[i][j], str):
                    g[i][j] = _vni(g[i][j])
        elif op == "junk":
            i, j = cell()
            g[i][j] = rng.choice(["=SUM(A1:A3)", "0987 654 321", "x" * 5000, "#REF!", "Không biết", "\u200b", "A."])
        elif op == "total_row":
            g.append([None, "Tổng cộng"] + [None] * (width - 2))
            data = list(range(header + 1, len(g)))
        elif op == "heading":
            j = rng.randrange(width)
            g[header][j] = rng.choice([None, "Ghi chú", str(g[header][j]) + " (điểm)", _tcvn3(str(g[header][j]))])
        elif op == "letterhead":
            k = rng.randint(1, 12)
            for _ in range(k):
                g.insert(0, ["ỦY BAN NHÂN DÂN HUYỆN THANH MIỆN"] + [None] * (width - 1))
            header += k
            data = list(range(header + 1, len(g)))
        elif op == "number_text":
            i, j = cell()
            if isinstance(g[i][j], (int, float)):
                g[i][j] = str(g[i][j])
        done.append(op)
    return g, done


def write(grid: list[list], path: Path, sheet: str) -> Path:
    wb = openpyxl.Workbook(write_only=True)
    ws = wb.create_sheet(sheet)
    for r in grid:
        ws.append(r)
    wb.save(path)
    return path


@pytest.mark.parametrize("kind,seed", CASES, ids=[f"{k}-{s}" for k, s in CASES])
def test_corrupted_demo_workbook_is_read_with_every_row_accounted_for_or_refused(kind, seed, base, tmp_path):
    meth, matcher, grids = base
    rng = random.Random(f"{kind}-{seed}")
    grid, ops = mutate(grids[kind], rng)
    fname, sheet = FILES[kind]
    path = write(grid, tmp_path / fname, sheet)
    ing = Ingest()
    try:
        if kind == "assessment":
            out = read_assessment(path, meth, matcher, ing)
        elif kind == "officials":
            out = read_officials(path, meth, matcher, ing)
        elif kind == "satisfaction":
            out = read_satisfaction(path, meth, matcher, ing=ing, salt="test")
        else:
            out = read_dossiers(path, meth, matcher, ing)
    except InputError as e:
        assert e.problems, ops
        for p in e.problems:
            assert p.file == fname and (p.row is not None or p.column or p.sheet), (ops, str(p))
        assert len(str(e)) < 60_000
        return
    # read: every data row of the sheet is kept, excluded with a log line, or a total row skipped with one
    sh = ing.last_sheet
    conv = ing.conversions_table()
    totals = int((conv["kind"] == "total_row").sum())
    rej = out[-1]
    excluded = rej[rej["rule"] != "ignored_column"]
    if kind == "assessment":
        assert len(out[0]) == len(sh.data), ops
    elif kind == "dossiers":
        assert len(out[0]) == len(sh.data) * len(meth.satisfaction_survey.procedure_fields), ops
    elif kind == "officials":
        valid = len(out[0]) // len(meth.leaf_codes("officials_survey"))
        assert valid + len(excluded) == len(sh.data), ops
    else:
        ballots = out[1]
        assert len(ballots) == len(sh.data), ops
        assert (ballots["status"] == "excluded").sum() == len(excluded), ops
    body = [r for r in grid[sh.header_row:] if any(v not in (None, "") for v in r)]
    assert len(sh.data) + totals == len(body), ops
