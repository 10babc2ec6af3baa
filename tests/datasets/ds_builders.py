"""Builders of tiny synthetic datasets in the real on-disk layouts, each real quirk reproduced.

Nothing here reads the real sheets: every value is invented, only the formats are copied (see
``notes/datasets.md``). Frames are empty ``.jpg`` files: the readers list folders, they never decode.
"""

from __future__ import annotations

import csv
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path

import openpyxl

from mer_contrast.synth import sheets


def write_xlsx(
    path: Path,
    rows: Sequence[Sequence[object]],
    *,
    title: str = "Sheet1",
    extra_sheets: Iterable[str] = (),
    text_columns: Iterable[int] = (),
) -> Path:
    """Write ``rows`` to the first sheet; cells of ``text_columns`` get Excel's text format ``@``."""
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    assert sheet is not None
    sheet.title = title
    text = set(text_columns)
    for row in rows:
        sheet.append(list(row))
    for row_cells in sheet.iter_rows(min_row=2):
        for cell in row_cells:
            if cell.column - 1 in text:
                cell.number_format = "@"
    for name in extra_sheets:
        workbook.create_sheet(name)
    path.parent.mkdir(parents=True, exist_ok=True)
    workbook.save(path)
    return path


def edit_sheet(path: Path, edit: Callable[[list[list[object]], int], None]) -> None:
    """Rewrite the first worksheet after ``edit(rows, header_index)`` (the header: first cell ``Subject``)."""
    workbook = openpyxl.load_workbook(path)
    sheet = workbook.worksheets[0]
    rows = [list(row) for row in sheet.iter_rows(values_only=True)]
    header = next(i for i, row in enumerate(rows) if row and row[0] == "Subject")
    edit(rows, header)
    sheet.delete_rows(1, sheet.max_row)
    for row in rows:
        sheet.append(row)
    workbook.save(path)


def write_csv(path: Path, rows: Sequence[Sequence[object]], *, crlf: bool = False) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="", encoding="utf-8") as handle:
        csv.writer(handle, lineterminator="\r\n" if crlf else "\n").writerows(
            ["" if cell is None else cell for cell in row] for row in rows
        )
    return path


def make_frames(folder: Path, numbers: Iterable[int], pattern: str) -> list[Path]:
    """Empty frame files named ``pattern.format(n)``."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = [folder / pattern.format(number) for number in numbers]
    for path in paths:
        path.write_bytes(b"")
    return paths


# ----------------------------------------------------------------------------------------------- CASME II
CASME2_HEADER = (
    "Subject",
    "Filename",
    None,
    "OnsetFrame",
    "ApexFrame",
    "OffsetFrame",
    None,
    "Action Units",
    "Estimated Emotion",
)
# (subject text, clip, onset, apex, offset, AUs, emotion, frames on disk or None = same as the sheet)
CASME2_ROWS: list[tuple[str, str, int, object, int, object, str, range | None]] = [
    ("01", "EP02_01f", 8, 10, 12, 12, "happiness", None),  # int AU; img9 < img10 numerically
    ("01", "EP19_05f", 20, 22, 24, "4+L10", "disgust", None),
    ("02", "EP03_02", 5, "/", 8, "?", "others", None),  # apex '/', AU '?'
    ("02", "EP01_11f", 30, 31, 33, "R12", "repression", None),
    ("03", "EP09_06", 8, 9, 12, "L14+L15", "surprise", range(8, 11)),  # folder lacks 11, 12
    ("03", "EP06_01", 15, 16, 18, 14, "others", range(56, 59)),  # no overlap with the sheet
    ("04", "EP12_02f", 3, 4, 5, 4, "fear", None),
    ("04", "EP05_03", 6, 7, 9, "1+2", "sadness", None),
]


def build_casme2(
    root: Path, *, version: str = "20140508", cropped: bool = True, raw: bool = True, doubled_raw: bool = True
) -> Path:
    """CASME II: coding sheet, ``Cropped/`` and a doubled ``CASME2_RAW_selected/`` with a stray ``.lnk``."""
    header: tuple[object, ...] = CASME2_HEADER + (("Objective Classes",) if version == "20190701" else ())
    rows: list[tuple[object, ...]] = [header]
    for subject, clip, onset, apex, offset, aus, emotion, _ in CASME2_ROWS:
        cells: tuple[object, ...] = (subject, clip, None, onset, apex, offset, None, aus, emotion)
        rows.append(cells + ((7,) if version == "20190701" else ()))
    write_xlsx(
        root / f"CASME2-coding-{version}.xlsx", rows, extra_sheets=("Sheet2", "Sheet3"), text_columns=(0,)
    )
    trees = []
    if cropped:
        trees.append((root / "Cropped", "reg_img{}.jpg"))
    if raw:
        raw_dir = root / "CASME2_RAW_selected"
        trees.append((raw_dir / "CASME2_RAW_selected" if doubled_raw else raw_dir, "img{}.jpg"))
    for tree, pattern in trees:
        for subject, clip, onset, _, offset, _, _, on_disk in CASME2_ROWS:
            numbers = on_disk if on_disk is not None else range(onset, offset + 1)
            make_frames(tree / f"sub{subject}" / clip, numbers, pattern)
        (tree / "sub01" / "Desktop - Shortcut.lnk").write_bytes(b"lnk")
        (tree / "sub01" / "EP02_01f" / "Desktop - Shortcut.lnk").write_bytes(b"lnk")
    return root


# ----------------------------------------------------------------------------------------------- MMEW
MMEW_HEADER = sheets.MMEW_HEADER  # the one spelling of it
MMEW_ROWS: list[tuple[object, ...]] = [
    (1, "S01-01-001", 1, 3, 5, "6+12", "happiness", None),
    (1, "S01-04-001", 1, 2, 4, 4, "others", None),  # lives in Micro_Expression/repression/
    (2, "S02-02-001", 1, 3, 6, "12L", "surprise", None),  # nested S02/surprise/ layout
    (2, "S02-07-001", 1, 2, 3, "R10", "anger", None),
    (2, "S02-05-001", 1, 2, 4, "4R+7", "fear", None),
]


def build_mmew(root: Path, *, csv_sheet: bool = False) -> Path:
    """MMEW: sheet (xlsx or csv) and ``Micro_Expression/`` with both folder layouts and ``repression``."""
    rows = [MMEW_HEADER, *MMEW_ROWS]
    if csv_sheet:
        write_csv(root / "MMEW_Micro_Exp.csv", rows)
    else:
        write_xlsx(root / "MMEW_Micro_Exp.xlsx", rows)
    frames = root / "Micro_Expression"
    for _, clip, _, _, offset, _, emotion, _ in MMEW_ROWS:
        folder_name = "repression" if emotion == "others" else str(emotion)
        base = frames / "S02" / folder_name if clip == "S02-02-001" else frames / folder_name
        make_frames(base / str(clip), range(1, int(str(offset)) + 1), "{}.jpg")
    return root


# ----------------------------------------------------------------------------------------------- SAMM
SAMM_HEADER = sheets.SAMM_HEADER  # the one spelling of it (tests/synth/test_sheets.py pins it word for word)
SAMM_ROWS: list[tuple[object, ...]] = [
    ("006", "006_1_2", 1, 5562, 5564, 5566, 5, "Micro - 1/2", "4+7", "Anger", 3, None),
    ("006", "006_1_3", 1, 3912, 3913, 3915, 4, "Micro - 1/2", 4, "Anger", 3, "While blinking"),
    ("007", "007_7_1", 7, 100, 101, 103, 4, "Micro - 1/2", "R14A or 17A or 24A", "Happiness", 1, None),
    ("028", "028_4_1", 4, 1071, 1143, 1074, 4, "Micro - 1/2", "(R6 or R12)+R15", "Surprise", 6, None),
    ("011", "011_2_1", 2, 10, 11, 12, 3, "Micro - 1/2", "A1B+T18+43E", "Disgust", 7, None),
    ("012", "012_3_1", 3, 50, 51, 52, 3, "Micro - 1/2", "ref(10)+B23+soft focus", "Other", 7, None),
]


def samm_preamble() -> list[tuple[object, ...]]:
    """13 rows like the real sheet's title, citation notes and symbol key."""
    rows: list[tuple[object, ...]] = [
        ("SAMM Dataset - Master FACS Codes",),
        (),
        ("9/9/17 - New updates with Emotional and Objective Classes",),
        (None, None, None, None, "(Note to the users: please cite ...)"),
        (),
        ("Symbol Key:",),
        ('"/" = or',),
        ('"?" = some AU\'s continue for a while and have unclear offset',),
        (),
        ("AU Help:",),
        ('"L2 or R2" = Unilateral AU 2 on left side of face / right side of face',),
        ('"A2" = Asymmetric AU 2. Occurs on both sides of face but stronger on one side',),
        (),
    ]
    assert len(rows) == 13
    return rows


def build_samm(root: Path, *, preamble: bool = True, nested: bool = True) -> Path:
    """SAMM: sheet with the 13-row preamble and frames ``[SAMM/]<sub>/<clip>/<sub>_<NNNNN>.jpg``."""
    rows = [*(samm_preamble() if preamble else []), SAMM_HEADER, *SAMM_ROWS]
    write_xlsx(root / "SAMM_Micro_FACS_Codes_v2.xlsx", rows, title="MICRO_ONLY")
    frames = root / "SAMM" if nested else root
    for subject, clip, _, onset, _, offset, *_ in SAMM_ROWS:
        make_frames(
            frames / str(subject) / str(clip),
            range(int(str(onset)), int(str(offset)) + 1),
            f"{subject}_{{:05d}}.jpg",
        )
    return root


# ----------------------------------------------------------------------------------------------- CAS(ME)^3
CASME3_HEADER = ("Subject", "Filename", "Onset", "Apex", "Offset", "AU", "Objective class", "emotion")
CASME3_ROWS: list[tuple[str, ...]] = [  # every cell text, as in the real sheet
    ("spNO.1", "a", "10", "12", "14", "5", "II", "others"),
    ("spNO.1", "a", "20", "21", "23", "R12", "I", "happy"),  # second ME of video a -> clip a_2
    ("spNO.1", "b", "5", "6", "8", "4+L2", "III", "Others"),  # capitalised
    ("spNO.2", "c", "30", "31", "29", "1+2", "II", "disgust"),  # offset < onset -> skipped
    ("spNO.2", "d", "3", "4", "6", "B23", "I", "sad"),  # frame 5 dropped on disk
]


def build_casme3(root: Path) -> Path:
    """CAS(ME)^3 Part A: label sheet (text cells) and whole videos ``part_A/<sub>/<letter>/color/<N>.jpg``."""
    write_xlsx(
        root / "cas(me)3_part_A_ME_label_JpgIndex_v2.xlsx",
        [CASME3_HEADER, *CASME3_ROWS],
        title="label",
        extra_sheets=("Sheet1",),
    )
    videos = root / "part_A"
    make_frames(videos / "spNO.1" / "a" / "color", range(1, 31), "{}.jpg")
    make_frames(videos / "spNO.1" / "b" / "color", range(1, 11), "{}.jpg")
    make_frames(videos / "spNO.2" / "c" / "color", range(1, 40), "{}.jpg")
    make_frames(videos / "spNO.2" / "d" / "color", [1, 2, 3, 4, 6, 7], "{}.jpg")
    return root


CASME3_C_ROWS: list[tuple[object, ...]] = [
    ("sub", "count", "onset", "offset", "au", "emotion"),
    (1, 1, 373, 385, "R4,5", "negative"),
    (1, 2, 6450, 6464, "4，11", "surprise"),  # Chinese comma
    (2, 1, 100, 110, "14,L24,", "positive"),  # trailing comma
    (2, 2, 200, 210, "13?", "others"),
]


# ----------------------------------------------------------------------------------------------- MEGC2019
MEGC_ROWS = [
    ("casme2", "sub01", "EP02_01f", 1),
    ("casme2", "sub01", "EP19_05f", 0),
    ("casme2", "sub02", "EP01_11f", 0),
    ("casme2", "sub09", "EP99_01", 0),  # not in the CASME II sheet
    ("samm", "6", "006_1_2", 0),
    ("samm", "7", "007_7_1", 1),
    ("samm", "28", "028_4_1", 2),
    ("smic", "s01", "s01_ne_01", 0),
    ("smic", "s02", "s02_po_01", 1),
]


def build_megc(
    root: Path,
    *,
    with_casme2: bool = True,
    with_samm: bool = True,
    with_smic: bool = False,
    rows: Sequence[Sequence[object]] = MEGC_ROWS,
) -> Path:
    """MEGC2019: headerless CRLF ground truth plus ``CASME2/``, ``SAMM/`` (and ``SMIC/``) in their layouts."""
    write_csv(root / "combined_3class_gt.csv", rows, crlf=True)
    if with_casme2:
        build_casme2(root / "CASME2")
    if with_samm:
        build_samm(root / "SAMM")
    if with_smic:
        build_smic(root / "SMIC")
    return root


# ----------------------------------------------------------------------------------------------- SMIC-HS
# (subject folder, emotion folder, clip folder, frame numbers): labels are folder names, no sheet.
SMIC_CLIPS: list[tuple[str, str, str, Sequence[int]]] = [
    ("s1", "negative", "s1_ne_01", range(106718, 106723)),  # 6-digit frame numbers
    ("s1", "negative", "s1_ne_02", [8, 9, 10, 11]),  # image9 < image10 numerically
    ("s2", "positive", "s2_po_01", range(40, 44)),
    ("s3", "surprise", "s3_sur_01", [77]),  # a single frame: skipped
    ("s12", "surprise", "s12_sur_05", range(1200, 1203)),  # s12 after s3 in natural order
]
#: Clips under ``non_micro/`` (not micro-expressions): the reader must ignore them.
SMIC_NON_MICRO: list[tuple[str, str, str]] = [("s1", "positive", "s1_po_09"), ("s4", "negative", "s4_ne_01")]


def build_smic(
    root: Path,
    *,
    layout: str = "cropped",
    padded: bool = False,
    clips: Sequence[tuple[str, str, str, Sequence[int]]] = SMIC_CLIPS,
) -> Path:
    """SMIC-HS as released: ``<release>/HS/<subject>/micro/<emotion>/<clip>/<prefix><N>.bmp``.

    ``layout``: ``cropped`` (``SMIC_all_cropped/HS``, ``reg_image<N>.bmp``), ``raw``
    (``SMIC_all_raw/HS``, ``image<N>.bmp``), ``both``, or ``hs`` (``root/HS`` with cropped frames).
    ``padded`` writes ``s01``/``s01_ne_01`` folders instead of ``s1``/``s1_ne_01``. Subject ``s4`` has
    only ``non_micro/``; a ``Thumbs.db`` lies in one clip folder.
    """
    trees = {
        "cropped": [(root / "SMIC_all_cropped" / "HS", "reg_image{}.bmp")],
        "raw": [(root / "SMIC_all_raw" / "HS", "image{}.bmp")],
        "hs": [(root / "HS", "reg_image{}.bmp")],
    }
    trees["both"] = trees["cropped"] + trees["raw"]

    def pad(name: str) -> str:
        head, sep, tail = name.partition("_")
        return f"s{int(head[1:]):02d}{sep}{tail}" if padded else name

    for hs, pattern in trees[layout]:
        for subject, emotion, clip, numbers in clips:
            make_frames(hs / pad(subject) / "micro" / emotion / pad(clip), numbers, pattern)
        for subject, emotion, clip in SMIC_NON_MICRO:
            make_frames(hs / pad(subject) / "non_micro" / emotion / pad(clip), range(1, 4), pattern)
        first = clips[0]
        (hs / pad(first[0]) / "micro" / first[1] / pad(first[2]) / "Thumbs.db").write_bytes(b"db")
    return root
