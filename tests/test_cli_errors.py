"""Every failure a user can cause ends in a one-paragraph message in Vietnamese and English on stderr, exit code
2 — never a traceback — run through the real command line (a subprocess); Ctrl-C stops cleanly (exit 130),
removing the staging folder. Bounded inputs: the YAML alias bomb is refused within a second, error messages
quote at most a few hundred characters, counts have upper bounds, `inputs.previous_results` must be a
parindex results table before anything is copied."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml
from conftest import REFERENCE_METHODOLOGY, ROOT

from parindex.params import ParamsError, load_params

# A 1.2 KB parameter file whose nested aliases expand to 9^10 nodes (the audit's 351 MB error message).
BOMB = "year: 2023\nseed: &a [\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\"]\n" + "".join(
    f"k{i}: &{chr(98 + i)} [{','.join(['*' + chr(97 + i)] * 9)}]\n" for i in range(9)) + "inputs: {raw_dir: *j}\n"


def cli(args: list[str]) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "parindex.cli", *args], cwd=ROOT, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env={**os.environ, "PARINDEX_DEBUG": ""})


def write(tmp: Path, name: str, data: str | bytes) -> Path:
    p = tmp / name
    p.write_bytes(data.encode("utf-8") if isinstance(data, str) else data)
    return p


def _cases(tmp: Path) -> list[tuple[str, list[str], str]]:
    """(case, arguments, a phrase the message must hold)."""
    out = ["--output", str(tmp / "reports"), "--processed", str(tmp / "processed"), "--no-notebooks"]
    run = ["run", "--year", "2023", *out]
    meth = yaml.safe_load(REFERENCE_METHODOLOGY.read_text(encoding="utf-8"))
    inf = dict(meth, fields=[dict(meth["fields"][0], points=float("inf"))] + meth["fields"][1:])
    cap = dict(meth, adjustments=dict(meth["adjustments"], bonus=dict(meth["adjustments"]["bonus"], cap=500)))
    ballots = ROOT / "data" / "raw" / "2023" / "phieu_hai_long_2023.xlsx"
    csv_ballots = write(tmp, "ballots.csv", "Họ và tên,Số điện thoại,Số CCCD\nNguyễn Văn A,0912345678,001234567890\n")
    blocker = write(tmp, "a-file", "not a folder")
    return [
        ("params not YAML", [*run, "--params", str(write(tmp, "p1.yaml", "year: [2023\nseed: 1\n"))], "YAML"),
        ("params not UTF-8", [*run, "--params", str(write(tmp, "p2.yaml", b"year: 2023\nseed: \xff\xfe1\n"))],
         "UTF-8"),
        ("params with a Python tag", [*run, "--params", str(write(tmp, "p3.yaml",
                                                                  "year: !!python/object/apply:os.system ['true']\n"))],
         "YAML"),
        ("params with an unknown tag", [*run, "--params", str(write(tmp, "p4.yaml", "year: !custom 2023\n"))], "YAML"),
        ("params a list", [*run, "--params", str(write(tmp, "p5.yaml", "- 1\n- 2\n"))], "mapping"),
        ("params missing", [*run, "--params", str(tmp / "absent.yaml")], "absent.yaml"),
        ("alias bomb", [*run, "--params", str(write(tmp, "bomb.yaml", BOMB))], "bí danh"),
        ("--set broken YAML", [*run, "--set", "survey.group_weighting=[equal"], "YAML"),
        ("--set starting with @", [*run, "--set", "survey.group_weighting=@equal"], "'@'"),
        ("--set starting with %", [*run, "--set", "seed=%TAG"], "'%'"),
        ("--set impossible date", [*run, "--set", "survey.survey_start=2023-02-30"], "day is out of range"),
        ("params impossible date", [*run, "--params", str(write(tmp, "p6.yaml",
                                                                "year: 2023\nsurvey:\n  survey_end: 2023-13-01\n"))],
         "month must be in 1..12"),
        ("survey period reversed", [*run, "--set", "survey.survey_start=2023-12-01",
                                    "--set", "survey.survey_end=2023-10-01"], "before survey_start"),
        ("--set without =", [*run, "--set", "seed"], "key=value"),
        ("unknown parameter", [*run, "--set", "survey.weights=on"], "unknown parameter"),
        ("draws above the bound", [*run, "--set", "robustness.n_draws=100000000"], "less than or equal to 50000"),
        ("ci draws above the bound", [*run, "--set", "survey.ci_draws=100000000"], "less than or equal to 20000"),
        ("negative seed", [*run, "--seed", "-1"], "greater than or equal to 0"),
        ("infinite points", [*run, "--methodology", str(write(tmp, "inf.yaml", yaml.safe_dump(inf, allow_unicode=True)))],
         "finite number"),
        ("bonus cap above the scale", [*run, "--methodology",
                                       str(write(tmp, "cap.yaml", yaml.safe_dump(cap, allow_unicode=True)))],
         "above the scale"),
        ("previous results: a ballot workbook", [*run, "--set", f"inputs.previous_results={ballots}"],
         "không phải bảng kết quả"),
        ("previous results: a ballot CSV", [*run, "--set", f"inputs.previous_results={csv_ballots}"],
         "Số điện thoại"),
        ("output under a file", ["run", "--year", "2023", "--no-notebooks", "--output", str(blocker / "r"),
                                 "--processed", str(tmp / "processed")], "[cannot write or read"),
        ("verify not a run", ["verify", str(tmp)], "neither a run folder"),
        ("publish not a run", ["publish", str(tmp)], "not a run folder"),
        ("replay not a run", ["replay", str(tmp)], "neither a run folder"),
    ]


def test_user_errors_end_in_a_bilingual_message_without_traceback(tmp_path):
    failures = []
    cases = _cases(tmp_path)
    for i in range(0, len(cases), 4):   # four commands at a time
        batch = [(name, cli(args), phrase, time.monotonic()) for name, args, phrase in cases[i:i + 4]]
        for name, p, phrase, t0 in batch:
            _, err = p.communicate(timeout=120)
            took = time.monotonic() - t0
            ok = (p.returncode == 2 and "Traceback" not in err and err.startswith("LỖI / ERROR:") and phrase in err
                  and len(err) < 4500 and took < 60 and "[" in err)
            if not ok:
                failures.append((name, p.returncode, round(took, 1), err[-1500:]))
    assert not failures, "\n\n".join(map(str, failures))
    # nothing was written by the refused runs (no run folder, no staging, nothing copied)
    assert not list((tmp_path / "reports").glob("2023/runs/*")) if (tmp_path / "reports").exists() else True
    assert not list(tmp_path.rglob(".staging-*")) and not list(tmp_path.rglob("previous_results.csv"))


def test_alias_bomb_is_refused_fast_and_briefly():
    p = Path("/dev/null")
    assert len(BOMB.encode()) < 1300
    t0 = time.monotonic()
    from parindex.safeyaml import YamlError, load_yaml
    with pytest.raises(YamlError) as e:
        load_yaml(BOMB, "bomb.yaml")
    assert time.monotonic() - t0 < 1.0 and len(str(e.value)) < 300
    # a recursive alias and a deep nesting are refused too
    with pytest.raises(YamlError, match="recursive"):
        load_yaml("a: &x [*x]\n", "rec.yaml")
    with pytest.raises(YamlError):
        load_yaml("[" * 100_000, "deep.yaml")
    # ordinary files with a few aliases still load
    assert load_yaml("a: &x {b: 1}\nc: *x\n", "ok.yaml") == {"a": {"b": 1}, "c": {"b": 1}}
    del p


def test_messages_quote_at_most_a_few_hundred_characters(tmp_path):
    huge = "x" * 100_000
    f = tmp_path / "p.yaml"
    f.write_text(f"year: 2023\nsurvey:\n  group_weighting: {huge}\n", encoding="utf-8")
    with pytest.raises(ParamsError) as e:
        load_params(2023, f)
    assert len(str(e.value)) < 3000 and "x" * 201 not in str(e.value)
    with pytest.raises(ParamsError) as e:
        load_params(2023, None, [f"survey.group_weighting={'y' * 900}"])
    assert "y" * 201 not in str(e.value)
    with pytest.raises(ParamsError) as e:
        load_params(2023, None, [f"{'k' * 5000}=1"])
    assert "k" * 201 not in str(e.value)
    big = tmp_path / "big.yaml"
    big.write_text("year: 2023\n# " + "z" * 300_000 + "\n", encoding="utf-8")
    with pytest.raises(ParamsError, match="quá lớn"):
        load_params(2023, big)


def test_previous_results_must_be_a_parindex_results_table(tmp_path):
    from parindex.baseline import read_results_table
    from parindex.runner import RunError

    good = tmp_path / "r.csv"
    good.write_text("commune_code,commune_name,points,max_points,index_pct,rank,band,band_label,field_1_points\n"
                    "11239,Thị trấn Thanh Miện,88.5,100,88.5,1,B,Khá,9\n", encoding="utf-8-sig")
    assert read_results_table(good)["index_pct"].tolist() == [88.5]
    for text, phrase in [
        ("commune_code,commune_name,points\n1,a,2\n", "thiếu cột"),
        ("commune_code,commune_name,points,max_points,index_pct,rank,band,Họ và tên\n1,a,1,1,1,1,A,Nguyễn\n", "cột lạ"),
        ("commune_code,commune_name,points,max_points,index_pct,rank,band\n1,a,x,1,1,1,A\n", "không phải số"),
        ("commune_code,commune_name,points,max_points,index_pct,rank,band\n1,a,1,1,1,0.5,A\n", "số nguyên"),
        ("commune_code,commune_name,points,max_points,index_pct,rank,band\n1,a,1,1,1,1,A\n1,b,1,1,1,2,A\n", "trùng"),
    ]:
        p = tmp_path / "bad.csv"
        p.write_text(text, encoding="utf-8")
        with pytest.raises(RunError, match=phrase):
            read_results_table(p)
    p.write_bytes(b"\xff\xfe\x00binary")
    with pytest.raises(RunError, match="UTF-8"):
        read_results_table(p)


def test_ctrl_c_stops_cleanly_and_removes_the_staging_folder(tmp_path):
    """Ctrl-C in a terminal (SIGINT to the whole process group: the command and its notebook kernel) while
    the notebooks run: a short message, exit code 130, no traceback, no staging folder, nothing published."""
    out = tmp_path / "reports"
    p = subprocess.Popen([sys.executable, "-m", "parindex.cli", "run", "--year", "2023", "--publish",
                          "--set", "robustness.n_draws=5000", "--output", str(out),
                          "--processed", str(tmp_path / "processed")],
                         cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True)
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and not list((out / "2023").glob(".staging-*/processed/score")):
            time.sleep(0.05)
        assert list((out / "2023").glob(".staging-*/processed/score")), "the run never reached its score stage"
        os.killpg(p.pid, signal.SIGINT)
        _, err = p.communicate(timeout=120)
    finally:
        if p.poll() is None:
            os.killpg(p.pid, signal.SIGKILL)
    assert p.returncode == 130, err
    assert "Traceback" not in err and "Ctrl-C" in err and "[stopped" in err
    assert not list((out / "2023").glob(".staging-*")) and not (out / "2023" / "runs").exists()
    assert not (out / "2023" / "index.html").exists()
    shutil.rmtree(tmp_path, ignore_errors=True)
