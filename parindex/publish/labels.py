"""Vietnamese labels and number formatting shared by everything a council member sees: the report, the
xlsx exports and the compare page. Codes stay in the tables; these turn them into words."""

from __future__ import annotations

import datetime as dt
import re
import unicodedata

import numpy as np
import pandas as pd

from ..methodology import ESTIMATOR_LABELS  # noqa: F401  (the satisfaction estimators' labels, re-exported)
from ..scoring import steps_text
from ..text import fmt_num, fmt_pct, nfc

STATUS_LABELS = {"reference_default": "Mặc định tham chiếu", "official": "Chính thức", "variant": "Phương án thử"}
KIND_LABELS = {"cut": "giảm", "raise": "nâng"}
WHICH_LABELS = {"self": "tự chấm", "appraised": "thẩm định"}
#: Decisions of the explanation round (parindex.rounds).
DECISION_LABELS = {"accept": "Chấp nhận", "keep": "Giữ nguyên", "pending": "Chờ xem xét"}
#: Kinds of the clean stage's conversions log (parindex.ingest.context) and of the personal data masked.
CONVERSION_LABELS = {
    "encoding": "Chuyển bảng mã cũ sang Unicode",
    "header_encoding": "Dòng tiêu đề viết bằng bảng mã cũ",
    "csv_encoding": "Tệp CSV viết bằng bảng mã 8 bit",
    "alias": "Tên gọi khác được nhận ra",
    "normalised": "Cách viết khác được nhận ra",
    "total_row": "Dòng tổng cộng bỏ qua",
    "two_level_header": "Tiêu đề hai tầng",
    "heading": "Tiêu đề cột viết khác mẫu",
    "sheet_name": "Tên trang tính viết khác",
    "formula": "Ô công thức: dùng giá trị đã lưu",
    "commune_by_name": "Xác định xã theo tên",
}
PRIVACY_LABELS = {"phone": "Số điện thoại", "id_number": "Số định danh (CCCD)", "name": "Họ tên người trả lời"}
#: Vietnamese labels of the rule codes of the rejection log / ballot exclusions (parindex.ingest.BALLOT_RULES;
#: "duplicate_id" is logged as "duplicate"). An unknown code is shown as it is.
RULE_LABELS = {
    "blank_majority": "Quá nửa số câu bỏ trống",
    "unknown_commune": "Không xác định được xã",
    "ambiguous_commune": "Tên xã khớp nhiều xã",
    "unknown_field": "Không xác định được lĩnh vực",
    "unknown_group": "Không xác định được nhóm đối tượng",
    "out_of_range": "Câu trả lời ngoài thang đo",
    "outside_period": "Ngoài thời gian khảo sát",
    "duplicate": "Phiếu trùng",
    "duplicate_id": "Mã phiếu trùng",
    "ignored_column": "Cột không dùng (bỏ qua)",
}
#: Vietnamese names of the run parameters (parindex.params.RunParams, flattened with dots). An unknown key is
#: shown as it is; the dotted key itself is shown beside the name for analysts.
PARAM_LABELS = {
    "year": "Năm đánh giá",
    "methodology": "Tệp bộ tiêu chí",
    "seed": "Hạt giống ngẫu nhiên",
    "inputs.raw_dir": "Thư mục dữ liệu gốc",
    "district.code": "Mã huyện (Tổng cục Thống kê)",
    "district.name": "Tên huyện",
    "district.province": "Tên tỉnh",
    "district.communes": "Danh sách xã, thị trấn",
    "district.officials_groups": "Số người trả lời phiếu cán bộ theo nhóm",
    "district.ballots_per_commune": "Số phiếu khảo sát sự hài lòng mỗi xã",
    "district.salt": "Chuỗi mã hóa dùng để phát hiện phiếu trùng (bí mật, không công bố)",
    "inputs.previous_results": "Kết quả năm trước (để so sánh)",
    "scoring.allow_missing_as_zero": "Tính 0 điểm cho tiêu chí thiếu dữ liệu",
    "scoring.rank_decimals": "Số chữ số thập phân của chỉ số công bố (dùng để xếp hạng và xếp loại)",
    "survey.ci_layout": "Cách rút mẫu lặp (bootstrap) của khoảng tin cậy khảo sát",
    "survey.group_weighting": "Cách gộp các nhóm đối tượng (điều tra cán bộ, đại biểu)",
    "survey.survey_start": "Ngày bắt đầu khảo sát",
    "survey.survey_end": "Ngày kết thúc khảo sát",
    "survey.ci_draws": "Số lần lấy mẫu lại (bootstrap) để tính khoảng tin cậy 95 %",
    "robustness.enabled": "Kiểm định độ vững của xếp hạng",
    "robustness.n_draws": "Số lần mô phỏng",
    "robustness.weights": "Thay đổi trọng số lĩnh vực",
    "robustness.weight_spread": "Biên độ thay đổi trọng số",
    "robustness.weight_dist": "Phân phối trọng số",
    "robustness.sampling": "Chọn lại mẫu khảo sát (bootstrap)",
    "robustness.officials_joint": "Chọn lại người trả lời phiếu cán bộ chung cho mọi xã",
    "robustness.n_replicates": "Số mẫu lặp bootstrap dùng chung cho các lần mô phỏng",
    "robustness.rules": "Thay đổi quy tắc tính điểm",
    "robustness.alternatives.officials_groups": "Phương án gộp các nhóm đối tượng điều tra cán bộ được thử",
    "robustness.alternatives.satisfaction_factor": "Phương án tính chỉ số từng yếu tố hài lòng được thử",
    "robustness.alternatives.satisfaction_estimator": "Phương án tính chỉ số hài lòng (đơn giản / gia quyền theo hồ sơ) được thử",
    "robustness.alternatives.aggregation": "Phương án tổng hợp điểm các lĩnh vực (cộng / nhân) được thử",
    "robustness.top_k": "Số xã của nhóm dẫn đầu",
    "robustness.sobol_n": "Cỡ mẫu cơ sở của phân tích Sobol",
    "robustness.sobol_resamples": "Số lần lấy mẫu lại để tính khoảng tin cậy của chỉ số Sobol",
    "robustness.outrank_max_communes": "Số xã tối đa để tính ma trận xác suất xếp trên nhau",
    "satisfaction.satisfaction_points": "Điểm tối đa của khảo sát sự hài lòng (thay cho bộ tiêu chí)",
    "satisfaction.estimator": "Cách tính chỉ số hài lòng (thay cho bộ tiêu chí)",
    "documents.enabled": "Soạn dự thảo văn bản (thông báo, báo cáo, quyết định)",
    "documents.issuer": "Tên cơ quan ban hành văn bản (các dòng)",
    "documents.place": "Địa danh ghi ở dòng ngày tháng",
    "documents.signer.authority": "Quyền hạn người ký (TM., KT.)",
    "documents.signer.position": "Chức vụ người ký",
    "documents.signer.name": "Họ và tên người ký",
    "documents.plan.kind": "Kế hoạch xác định Chỉ số: tên loại văn bản",
    "documents.plan.number": "Kế hoạch xác định Chỉ số: số, ký hiệu",
    "documents.plan.date": "Kế hoạch xác định Chỉ số: ngày ban hành",
    "documents.plan.issuer": "Kế hoạch xác định Chỉ số: cơ quan ban hành",
    "documents.plan.subject": "Kế hoạch xác định Chỉ số: trích yếu",
    "documents.basis": "Các văn bản làm căn cứ",
    "documents.notice_date": "Ngày thông báo kết quả thẩm định",
    "documents.reply_deadline": "Hạn gửi văn bản giải trình",
    "documents.report_date": "Ngày báo cáo",
    "documents.decision_date": "Ngày quyết định",
    "documents.templates": "Thư mục mẫu văn bản đã chỉnh sửa",
    "ingest.aliases": "Tệp tên gọi khác của lĩnh vực, nhóm đối tượng, câu trả lời, xã",
    "ingest.unmatched_share": "Tỷ lệ giá trị không khớp danh mục tối đa của một cột (vượt thì dừng)",
    "ingest.unmatched_min_count": "Số giá trị không khớp tối thiểu để dừng",
    "ingest.header_search_rows": "Số dòng đầu tìm dòng tiêu đề",
    "ingest.max_file_mb": "Dung lượng tối đa của một tệp dữ liệu (MB)",
    "ingest.max_unzipped_mb": "Dung lượng tối đa khi giải nén một tệp Excel (MB)",
    "ingest.max_rows": "Số dòng tối đa của một trang tính",
    "ingest.max_columns": "Số cột tối đa của một trang tính",
    "ingest.max_dossiers": "Số hồ sơ tối đa hợp lý của một lĩnh vực ở một xã",
    "ingest.max_adjustment_points": "Điểm thưởng, điểm trừ tối đa hợp lý của một dòng",
    "ingest.duplicate_scope": "Phạm vi phát hiện phiếu trùng (trong xã hoặc toàn huyện)",
    "ingest.warn_excluded_share": "Tỷ lệ phiếu bị loại để cảnh báo",
    "report.band_prob_min": "Đánh dấu xã có xác suất giữ xếp loại dưới mức này",
    "report.near_threshold": "Đánh dấu “sát ngưỡng” khi chỉ số cách ngưỡng xếp loại không quá (điểm phần trăm)",
}
PARAM_VALUE_LABELS = {"pooled": "gộp chung mọi phiếu", "equal": "các nhóm có trọng số bằng nhau",
                      "uniform": "phân phối đều",
                      "dirichlet": "phân phối Dirichlet", "auto": "tự động (kết quả năm trước)",
                      "plain_share": "tỷ lệ đơn giản (mỗi phiếu như nhau)",
                      "dossier_weighted": "tỷ lệ gia quyền theo số hồ sơ của từng lĩnh vực",
                      "share_positive": "tỷ lệ câu trả lời hài lòng (4–5)",
                      "rescaled_mean": "điểm bình quân quy về 0–1",
                      "arithmetic": "bình quân cộng", "geometric": "bình quân nhân",
                      "commune": "trong từng xã", "district": "toàn huyện"}
#: kinds of the score stage's adjustment_log (parindex.scoring.ADJUSTMENT_KINDS)
ADJUSTMENT_KIND_LABELS = {
    "rescaled_form_maximum": "Quy đổi theo điểm tối đa của biểu mẫu",
    "question_without_answers": "Câu hỏi không có câu trả lời hợp lệ",
    "survey_without_answers": "Khảo sát không có câu trả lời hợp lệ",
    "factor_without_answers": "Yếu tố hài lòng không có câu trả lời",
    "commune_without_dossiers": "Xã không có số hồ sơ",
    "field_without_dossiers": "Phiếu của lĩnh vực không có hồ sơ",
    "field_without_ballots": "Lĩnh vực có hồ sơ nhưng không có phiếu",
    "bonus": "Điểm thưởng (từng dòng)",
    "bonus_cap": "Điểm thưởng vượt mức tối đa",
    "deduction": "Điểm trừ (từng dòng)",
    "deduction_cap": "Điểm trừ vượt mức tối đa",
}
ESTIMATOR_SHORT_LABELS = {"plain_share": "tỷ lệ đơn giản", "dossier_weighted": "gia quyền theo hồ sơ"}
SOURCE_LABELS = {"appraisal": "Thẩm định", "officials_survey": "Điều tra cán bộ",
                 "satisfaction_survey": "Khảo sát hài lòng"}
UNCERTAINTY_SOURCE_LABELS = {"weights": "Trọng số lĩnh vực", "sampling": "Chọn mẫu khảo sát", "rules": "Quy tắc tính điểm"}


#: The one minus sign of everything a person reads (U+2212, not the hyphen).
MINUS = "\u2212"
#: Vietnam's time zone (UTC+7 all year, no daylight saving): dates people read are in it.
VN_TZ = dt.timezone(dt.timedelta(hours=7), "ICT")
PP = "điểm phần trăm"


def _minus(s: str) -> str:
    return MINUS + s[1:] if s.startswith("-") else s


def text_cell(x) -> str:
    """Text cell: NFC string, '' for missing values."""
    if x is None or (isinstance(x, float) and np.isnan(x)) or x is pd.NA:
        return ""
    return nfc(str(x))


def num_text(x, d: int = 2) -> str:
    if x is None or x is pd.NA or pd.isna(x):
        return "–"
    v = float(x)
    return _minus(fmt_num(v if round(v, d) != 0 else 0.0, d))


def pct_text(x, d: int = 2) -> str:
    if x is None or x is pd.NA or pd.isna(x):
        return "–"
    v = float(x)
    return _minus(fmt_pct(v if round(v, d) != 0 else 0.0, d))


def int_text(x) -> str:
    """A count with the Vietnamese thousands separator: 1234 → "1.234"."""
    return "–" if x is None or x is pd.NA or pd.isna(x) else fmt_num(float(x), 0)


def date_text(x) -> str:
    """A date as dd/mm/yyyy (a date, a datetime — shown in Vietnam's time — or an ISO string); '' when absent."""
    if x is None or x is pd.NA or (isinstance(x, float) and np.isnan(x)):
        return ""
    if isinstance(x, str):
        try:
            x = dt.datetime.fromisoformat(x.strip().replace("Z", "+00:00"))
        except ValueError:
            return nfc(x)
    if isinstance(x, pd.Timestamp):
        x = x.to_pydatetime()
    if isinstance(x, dt.datetime) and x.tzinfo is not None:
        x = x.astimezone(VN_TZ)
    return x.strftime("%d/%m/%Y")


def datetime_text(x) -> str:
    """An instant as "dd/mm/yyyy hh:mm" in Vietnam's time zone (a naive value is taken as UTC)."""
    if x is None or x == "":
        return ""
    if isinstance(x, str):
        try:
            x = dt.datetime.fromisoformat(x.strip().replace("Z", "+00:00"))
        except ValueError:
            return nfc(x)
    if x.tzinfo is None:
        x = x.replace(tzinfo=dt.timezone.utc)
    return x.astimezone(VN_TZ).strftime("%d/%m/%Y %H:%M")


def vi_quotes(s: str) -> str:
    """One quotation style: text quoted with '…' or "…" is written “…”."""
    return re.sub(r"(?<![\w])['\"]([^'\"\n]{1,200}?)['\"](?![\w])", "“\\1”", s)


def _has_vietnamese(s: str) -> bool:
    return any(ch in "đĐ" or (ord(ch) > 127 and unicodedata.category(ch).startswith("L")
                              and unicodedata.decomposition(ch)) for ch in s)


_GLOSS = re.compile(r"\s*\(([^()]*)\)\s*$")


def detail_vi(x) -> str:
    """A message of the rejection log for people: the English gloss in brackets at its end dropped
    ("…, quá nửa (7 of 12 items blank)" → "…, quá nửa"), quotes made “…”. The log keeps both languages."""
    s = text_cell(x)
    m = _GLOSS.search(s)
    if m:
        inner = re.sub(r"'[^']*'|\"[^\"]*\"", "", m.group(1))
        if not _has_vietnamese(inner) and len(re.findall(r"[A-Za-z]{2,}", inner)) >= 2:
            s = s[:m.start()].rstrip()
    return vi_quotes(s)


def steps_label(steps) -> str:
    return steps_text(steps)


def points_text(v: float) -> str:
    """Methodology points without trailing zeros: 2 → "2", 1.5 → "1,5"."""
    return fmt_num(v, 2).rstrip("0").rstrip(",")


def points_cell(x) -> str:
    """:func:`points_text` of a table cell: "–" for a missing value ("1,5", "64,25", "0", "–")."""
    return "–" if x is None or pd.isna(x) else points_text(float(x))


def param_label(key) -> str:
    """Vietnamese name of a (dotted) run parameter; the key itself when unknown."""
    k = text_cell(key)
    return PARAM_LABELS.get(k, k)


def param_value(v) -> str:
    """A parameter value as a person reads it: có / không, Vietnamese numbers, words for known codes."""
    if v is None or v is pd.NA or (isinstance(v, float) and np.isnan(v)):
        return "(không đặt)"
    if isinstance(v, str):
        low = v.strip().lower()
        if low in ("true", "false"):  # values that went through a text table
            return "có" if low == "true" else "không"
        if low in ("none", "nan", ""):
            return "(không đặt)"
        if re.fullmatch(r"\d{4}-\d{2}-\d{2}", v.strip()):
            return date_text(v)
        return PARAM_VALUE_LABELS.get(v, nfc(v))
    if isinstance(v, (bool, np.bool_)):
        return "có" if v else "không"
    if isinstance(v, (int, np.integer)):
        return str(int(v)) if abs(int(v)) < 10_000 else fmt_num(float(v), 0)
    if isinstance(v, (float, np.floating)):
        return points_text(float(v)) if float(v).is_integer() or abs(float(v)) >= 0.01 else str(v)
    if isinstance(v, dict):
        return "; ".join(f"{text_cell(k)}: {param_value(x)}" for k, x in sorted(v.items()))
    if isinstance(v, (list, tuple)):
        return ", ".join(param_value(x) for x in v)
    if isinstance(v, (dt.date, dt.datetime)):
        return date_text(v)
    return text_cell(v)


def rule_label(code) -> str:
    """Vietnamese label of a rejection rule code (the code itself when unknown)."""
    c = text_cell(code)
    return RULE_LABELS.get(c, c)


def rank_text(x) -> str:
    if x is None or pd.isna(x):
        return "–"
    x = float(x)
    return fmt_num(x, 0) if x.is_integer() else fmt_num(x, 1)


def band_rule_text(meth, decimals: int = 2) -> str:
    """The one rule for bands at the boundary, as the report's method appendix and the xlsx state it."""
    top = meth.bands[0]
    t = float(top.min_pct)
    step = 10.0 ** -decimals
    return (f"Xếp loại và xếp hạng theo chỉ số công bố: chỉ số làm tròn đến {decimals} chữ số thập phân (từ 5 trở "
            f"lên làm tròn lên) rồi so với ngưỡng, ví dụ {fmt_num(t - step / 2, decimals + 1)} % được công bố là "
            f"{fmt_num(t, decimals)} % và thuộc loại “{top.label}”; {fmt_num(t - 0.51 * step, decimals + 2)} % được "
            f"công bố là {fmt_num(t - step, decimals)} % và không thuộc loại đó.")


def signed_text(x, d: int = 2) -> str:
    """+1,50 / −2,00 / 0,00 (the minus sign U+2212; a value that rounds to zero has no sign)."""
    if x is None or pd.isna(x):
        return "–"
    v = round(float(x), d)
    if v == 0:
        return fmt_num(0.0, d)
    return ("+" if v > 0 else "") + _minus(fmt_num(v, d))


def band_map(meth) -> dict[str, "object"]:
    return {b.code: b for b in meth.bands}


def band_name(meth, code) -> str:
    """The short name of a band code ("A" → "Tốt"); the code itself when the methodology has no such band."""
    b = band_map(meth).get(text_cell(code))
    return b.short if b else text_cell(code)


# ------------------------------------------------------------------------------------------------
# Colour contrast (WCAG 2): text drawn on a coloured mark must reach 4.5:1
# ------------------------------------------------------------------------------------------------
INK = "#1a1a1a"
PAPER = "#ffffff"


def _rgb(color: str) -> tuple[int, int, int]:
    h = color.strip().lstrip("#")
    if len(h) == 3:
        h = "".join(c * 2 for c in h)
    if re.fullmatch(r"[0-9a-fA-F]{6}", h):
        return int(h[0:2], 16), int(h[2:4], 16), int(h[4:6], 16)
    m = re.fullmatch(r"rgba?\((\d+),\s*(\d+),\s*(\d+)(?:,\s*[\d.]+)?\)", color.strip())
    if not m:
        raise ValueError(f"not a colour: {color!r}")
    return int(m.group(1)), int(m.group(2)), int(m.group(3))


def luminance(color: str) -> float:
    """Relative luminance of an sRGB colour (WCAG 2)."""
    def lin(c: int) -> float:
        v = c / 255.0
        return v / 12.92 if v <= 0.04045 else ((v + 0.055) / 1.055) ** 2.4
    r, g, b = _rgb(color)
    return 0.2126 * lin(r) + 0.7152 * lin(g) + 0.0722 * lin(b)


def contrast_ratio(a: str, b: str) -> float:
    la, lb = sorted((luminance(a), luminance(b)), reverse=True)
    return (la + 0.05) / (lb + 0.05)


def ink_on(background: str) -> str:
    """The text colour (dark ink or white) with the higher contrast on ``background``."""
    return INK if contrast_ratio(INK, background) >= contrast_ratio(PAPER, background) else PAPER


def scale_color(scale: list, t: float) -> str:
    """The colour of a plotly colour scale ([[0, c0], …, [1, cn]]) at t ∈ [0, 1], interpolated in RGB as plotly
    does."""
    t = min(max(float(t), 0.0), 1.0)
    for (t0, c0), (t1, c1) in zip(scale[:-1], scale[1:]):
        if t0 <= t <= t1:
            f = 0.0 if t1 == t0 else (t - t0) / (t1 - t0)
            a, b = _rgb(c0), _rgb(c1)
            return "#" + "".join(f"{round(x + (y - x) * f):02x}" for x, y in zip(a, b))
    return scale[-1][1]


# ------------------------------------------------------------------------------------------------
# Vietnamese for the chart library's own interface (toolbar tooltips, notices): registered with
# Plotly.register({moduleType: "locale", name: "vi", …}) and chosen with the config's locale "vi".
# ------------------------------------------------------------------------------------------------
PLOTLY_LOCALE = {
    "moduleType": "locale",
    "name": "vi",
    "dictionary": {
        "Autoscale": "Tự động co giãn trục",
        "Box Select": "Chọn theo hình chữ nhật",
        "Cancel": "Hủy",
        "Click to enter Colorscale title": "Bấm để nhập tiêu đề thang màu",
        "Click to enter Component A title": "Bấm để nhập tiêu đề thành phần A",
        "Click to enter Component B title": "Bấm để nhập tiêu đề thành phần B",
        "Click to enter Component C title": "Bấm để nhập tiêu đề thành phần C",
        "Click to enter Plot subtitle": "Bấm để nhập tiêu đề phụ",
        "Click to enter Plot title": "Bấm để nhập tiêu đề biểu đồ",
        "Click to enter X axis title": "Bấm để nhập tiêu đề trục hoành",
        "Click to enter Y axis title": "Bấm để nhập tiêu đề trục tung",
        "Click to enter radial axis title": "Bấm để nhập tiêu đề trục bán kính",
        "Compare data on hover": "So sánh số liệu khi di chuột",
        "Double-click on legend to isolate one trace": "Bấm đúp vào chú giải để chỉ xem riêng một nhóm",
        "Double-click to zoom back out": "Bấm đúp để trở về cỡ ban đầu",
        "Download plot as JSON": "Tải biểu đồ (JSON)",
        "Download plot as a PNG": "Tải ảnh biểu đồ (PNG)",
        "Download plot": "Tải ảnh biểu đồ",
        "Draw circle": "Vẽ hình tròn",
        "Draw closed freeform": "Vẽ hình khép kín",
        "Draw line": "Vẽ đường thẳng",
        "Draw open freeform": "Vẽ đường tự do",
        "Draw rectangle": "Vẽ hình chữ nhật",
        "Erase active shape": "Xóa hình đang chọn",
        "If you don't have a Plotly Cloud account yet, you'll have a chance to create one.":
            "Chức năng chia sẻ lên mạng đã bị tắt.",
        "Image download succeeded": "Đã tải ảnh xong",
        "JSON download succeeded": "Đã tải tệp JSON xong",
        "Lasso Select": "Chọn tự do",
        "Orbital rotation": "Xoay quanh tâm",
        "Pan": "Kéo để di chuyển",
        "Preparing image - this may take a few seconds": "Đang chuẩn bị ảnh, xin chờ vài giây",
        "Produced with Plotly.js": "Vẽ bằng Plotly.js",
        "Reset axes": "Trở về trục ban đầu",
        "Reset camera to default": "Trở về góc nhìn mặc định",
        "Reset camera to last save": "Trở về góc nhìn đã lưu",
        "Reset view": "Trở về cách xem ban đầu",
        "Reset views": "Trở về cách xem ban đầu",
        "Reset": "Đặt lại",
        "Share chart": "Chia sẻ biểu đồ (đã tắt)",
        "Share chart...": "Chia sẻ biểu đồ (đã tắt)",
        "Share": "Chia sẻ (đã tắt)",
        "Show closest data on hover": "Hiện số liệu gần nhất khi di chuột",
        "Sorry, there was a problem downloading your JSON file!": "Không tải được tệp JSON.",
        "Sorry, there was a problem downloading your image!": "Không tải được ảnh biểu đồ.",
        "This chart will be sent to {serverUrl}.": "Chức năng chia sẻ lên mạng đã bị tắt.",
        "This chart will be uploaded to {Plotly Cloud} to create a sharing link. Only you can see it until "
        "you change its visibility.": "Chức năng chia sẻ lên mạng đã bị tắt.",
        "Toggle Spike Lines": "Bật/tắt đường gióng",
        "Toggle show closest data on hover": "Bật/tắt hiện số liệu gần nhất khi di chuột",
        "Turntable rotation": "Xoay như bàn xoay",
        "Zoom in": "Phóng to",
        "Zoom out": "Thu nhỏ",
        "Zoom": "Phóng to vùng chọn",
        "close:": "đóng cửa:",
        "concentration:": "nồng độ:",
        "high:": "cao nhất:",
        "incoming flow count:": "số luồng vào:",
        "kde:": "mật độ:",
        "lat:": "vĩ độ:",
        "lon:": "kinh độ:",
        "low:": "thấp nhất:",
        "lower fence:": "giới hạn dưới:",
        "max:": "lớn nhất:",
        "mean ± σ:": "trung bình ± σ:",
        "mean:": "trung bình:",
        "median:": "trung vị:",
        "min:": "nhỏ nhất:",
        "new text": "văn bản mới",
        "open:": "mở cửa:",
        "outgoing flow count:": "số luồng ra:",
        "q1:": "tứ phân vị 1:",
        "q3:": "tứ phân vị 3:",
        "source:": "nguồn:",
        "target:": "đích:",
        "trace": "dãy số liệu",
        "upper fence:": "giới hạn trên:",
    },
    "format": {
        "days": ["Chủ nhật", "Thứ hai", "Thứ ba", "Thứ tư", "Thứ năm", "Thứ sáu", "Thứ bảy"],
        "shortDays": ["CN", "T2", "T3", "T4", "T5", "T6", "T7"],
        "months": [f"tháng {i}" for i in range(1, 13)],
        "shortMonths": [f"th{i}" for i in range(1, 13)],
        "date": "%d/%m/%Y",
        "decimal": ",",
        "thousands": ".",
    },
}
