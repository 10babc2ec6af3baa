"""Micro- versus macro-expressions (MEGC: at most 0.5 s is micro), held expressions joined, ``--kinds``."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from mer_contrast.cli import predict_video as cli
from mer_contrast.spot.kinds import held_groups, kind_of, parse_kinds
from mer_contrast.spot.metrics import iou
from mer_contrast.spot.source import FootageSource
from mer_contrast.spot.spotting import spot
from mer_contrast.synth.long_video import VIDEO_NAME, LongVideoOptions, render_long_video

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")
WITH_MACRO = LongVideoOptions(
    seconds=8.0, micro_expressions=2, blinks=1, head_moves=1, macro_expressions=1, size=64, fps=100.0, seed=1,
    frames=False,
)  # fmt: skip


@pytest.fixture(scope="module")
def macro_video(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list]:
    out = tmp_path_factory.mktemp("macro") / "long"
    return out, render_long_video(out, WITH_MACRO)


def test_megc_definition() -> None:
    assert kind_of(0, 99, 200.0) == "micro" and kind_of(0, 100, 200.0) == "macro"
    assert kind_of(10, 10, 30.0) == "micro" and kind_of(0, 15, 30.0) == "macro"


def test_held_groups_join_only_while_the_face_stays_moved() -> None:
    spans = [(10, 20, 30), (60, 70, 80), (200, 210, 220), (400, 410, 420)]
    held = {(10, 45), (200, 310)}  # the face stayed moved between spans 0-1 and 2-3

    def still_moved(onset: int, between: int, _next: int) -> bool:
        return (onset, between) in held

    assert held_groups(spans, 100.0, still_moved) == [[0, 1], [2, 3]]
    assert held_groups(spans, 100.0, lambda *_: False) == [[0], [1], [2], [3]]
    assert held_groups(spans, 100.0, lambda *_: True) == [[0, 1, 2], [3]]  # a group lasts at most 4 s
    assert held_groups(spans, 10.0, lambda *_: True) == [[0], [1], [2], [3]]


def test_parse_kinds() -> None:
    assert parse_kinds("micro,macro") == ("micro", "macro") == parse_kinds(" macro , micro ")
    assert parse_kinds("micro") == ("micro",)
    with pytest.raises(ValueError, match="expected micro, macro"):
        parse_kinds("mikro")


def test_a_held_macro_expression_is_one_macro_interval(macro_video: tuple[Path, list]) -> None:
    folder, events = macro_video
    result = spot(FootageSource.open(folder / VIDEO_NAME))
    kinds = [kind_of(i.onset, i.offset, result.fps) for i in result.intervals]
    macro = next(e for e in events if e.kind == "macro")
    found = [(i.onset, i.offset) for i, k in zip(result.intervals, kinds, strict=True) if k == "macro"]
    assert len(found) == 1 and iou(found[0], (macro.onset, macro.offset)) >= 0.5, (found, macro)
    micro = [(i.onset, i.offset) for i, k in zip(result.intervals, kinds, strict=True) if k == "micro"]
    assert not any(iou(f, (macro.onset, macro.offset)) > 0 for f in micro)  # not also reported as micro
    truth = [(e.onset, e.offset) for e in events if e.kind == "me"]
    assert all(any(iou(f, t) >= 0.5 for f in micro) for t in truth)


def test_kinds_column_and_option(macro_video: tuple[Path, list], tmp_path: Path, capsys) -> None:
    folder, _ = macro_video
    assert cli.main([str(folder / VIDEO_NAME), "--out", str(tmp_path), "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)["intervals"]
    assert sorted(r["kind"] for r in rows) == ["macro", "micro", "micro"]
    assert cli.main([str(folder / VIDEO_NAME), "--out", str(tmp_path), "--kinds", "micro"]) == 0
    out = capsys.readouterr().out
    assert "1 macro-expression interval(s) left out (--kinds micro)" in out and out.count(" micro:") == 2
    with pytest.raises(SystemExit):
        cli.main([str(folder / VIDEO_NAME), "--kinds", "big"])
    assert "--kinds 'big'" in capsys.readouterr().err


def test_bench_scores_macro_expressions_apart(tmp_path: Path, capsys) -> None:
    from mer_contrast.cli import bench_spot as bench

    args = ["--generator", "narrow", "--seeds", "1", "--tuning-seeds", "--seconds", "7", "--fps", "100"]
    args += ["--micro-expressions", "1", "--size", "64", "--macro-expressions", "1"]
    assert bench.main([*args, "--work", str(tmp_path), "--json"]) == 0
    figures = json.loads(capsys.readouterr().out)["untouched"]
    macro = figures["macro"]
    assert figures["macro_expressions"] == 1 == macro["tp"] + macro["fn"]
    assert macro["reported_as_micro"] in (0, 1) and figures["micro_expressions"] == 1


def test_a_burst_of_three_close_candidates_is_joined_and_a_pair_is_not() -> None:
    from mer_contrast.spot.extent import Interval, join_close

    burst = [Interval(10, 12, 15, 0.3), Interval(20, 22, 25, 0.5), Interval(30, 33, 35, 0.4)]
    pair = [Interval(100, 103, 106, 0.3), Interval(110, 115, 150, 0.6)]
    joined = join_close([*burst, *pair], gap=8)
    assert joined[0] == Interval(10, 22, 35, 0.5)  # talk: one interval as long as the activity
    assert joined[1:] == pair  # a micro-expression beside a macro-expression's rise stays apart


def test_sustained_activity_is_one_span_and_short_rises_keep_their_apexes() -> None:
    import numpy as np

    from mer_contrast.spot.curve import active_spans, sustained

    curve = np.full(200, 0.05, np.float32)
    curve[20:26] = 0.3  # a micro-expression's rise and fall: 6 frames
    curve[60:90] = 0.4  # talking: 60 frames above the threshold with two short dips
    curve[[70, 80]] = 0.05
    curve[85] = 0.9
    curve[150:153] = np.nan
    assert active_spans(curve, 0.2, bridge=2) == [(20, 25), (60, 89)]
    assert active_spans(curve, 0.2, bridge=0) == [(20, 25), (60, 69), (71, 79), (81, 89)]
    short, held = sustained([22, 65, 85], curve, 0.2, bridge=2, longest=15)
    assert short == [22] and held == [(60, 85, 89)]  # one span, its strongest frame the apex
    assert sustained([22], curve, 0.2, bridge=2, longest=15) == ([22], [])  # no apex: not reported


def test_talking_with_pauses_is_one_macro_interval_not_micro_fragments(tmp_path: Path) -> None:
    """A 30 fps talking spell whose pauses split it into three short candidates (before 2026-12-07 #4:
    three micro-expressions, each a false positive) is one macro-expression."""
    options = LongVideoOptions(
        seconds=4.0, micro_expressions=0, blinks=0, head_moves=0, talks=1, fps=30.0, seed=4, frames=False,
        geometry="broad", amplitude_px=(0.3, 1.5),
    )  # fmt: skip
    talk = next(e for e in render_long_video(tmp_path / "talk", options) if e.kind == "talk")
    result = spot(FootageSource.open(tmp_path / "talk" / VIDEO_NAME))
    kinds = [kind_of(i.onset, i.offset, result.fps) for i in result.intervals]
    assert kinds == ["macro"]
    assert iou((result.intervals[0].onset, result.intervals[0].offset), (talk.onset, talk.offset)) >= 0.5


@pytest.mark.parametrize("seed", [1, 2])
def test_a_long_strong_micro_expression_stays_micro(tmp_path: Path, seed: int) -> None:
    """A 0.4-0.5 s micro-expression of about 2 px lifts the curve for longer than 0.5 s (its length and
    the window either side): with the sustained span cut at 0.5 s it was one macro interval."""
    options = LongVideoOptions(
        seconds=3.0, micro_expressions=1, blinks=0, head_moves=0, fps=200.0, seed=seed, frames=False
    )
    (me,) = render_long_video(tmp_path / "me", options)
    result = spot(FootageSource.open(tmp_path / "me" / VIDEO_NAME))
    assert [kind_of(i.onset, i.offset, result.fps) for i in result.intervals] == ["micro"]
    assert iou((result.intervals[0].onset, result.intervals[0].offset), (me.onset, me.offset)) >= 0.5
