"""voiceflow.bench.long: how the long files are built and how per-clip recall is scored."""

from __future__ import annotations

import argparse
import wave

import numpy as np
import pytest

from voiceflow.bench.long import PAUSE_S, QUIET_DB, LongFile, build_long_files, clip_recall
from voiceflow.cli.bench import add_asr_parser


def make_corpus(folder, n=6):
    folder.mkdir()
    rng = np.random.default_rng(1)
    for k in range(n):
        pcm = (rng.uniform(-0.5, 0.5, 1600 * (k + 2)) * 32767).astype(np.int16)
        with wave.open(str(folder / f"clip{k}.wav"), "wb") as w:
            w.setnchannels(1)
            w.setsampwidth(2)
            w.setframerate(16000)
            w.writeframes(pcm.tobytes())
        (folder / f"clip{k}.txt").write_text(f"word{k} and more word{k}\n")
    return folder


def test_long_files_hold_every_clip_once_with_pauses_and_quiet_clips(tmp_path):
    corpus = make_corpus(tmp_path / "clips")
    files = build_long_files(corpus, orders=3, seed=0)
    assert [f.name for f in files] == ["order0", "order1", "order2"]
    assert [p[0] for p in files[0].pieces] == [f"clip{k}" for k in range(6)]  # ls order first
    assert {tuple(p[0] for p in f.pieces) for f in files[1:]} != {tuple(p[0] for p in files[0].pieces)}
    for f in files:
        assert sorted(p[0] for p in f.pieces) == [f"clip{k}" for k in range(6)]
        gaps = [b[1] - a[2] for a, b in zip(f.pieces, f.pieces[1:])]
        assert all(PAUSE_S[0] - 1e-3 <= g <= PAUSE_S[1] + 1e-3 for g in gaps)
        assert abs(f.pieces[-1][2] - len(f.audio) / 16000) < 1e-3
        quiet = [p for p in f.pieces if p[4]]
        assert len(quiet) == 1
        name, start, end, _, _ = quiet[0]
        loud = build_long_files(corpus, orders=3, seed=0)  # deterministic
        assert np.array_equal(loud[files.index(f)].audio, f.audio)
        piece = f.audio[int(start * 16000) + 10 : int(end * 16000) - 10]
        k = int(name[4:])
        assert np.abs(piece).max() < 0.5 * 10 ** (-QUIET_DB / 20) + 1e-3 and k >= 0


def test_clip_recall_counts_each_clips_words_found_in_order():
    f = LongFile("x", np.zeros(10, np.float32), [
        ("a", 0, 1, "Go forward ten meters.", False),
        ("b", 1, 2, "He was not an ill-disposed young man.", False),
    ])
    assert clip_recall(f, "go forward 10 meters he was not an ill disposed young man") == [1.0, 1.0]
    assert clip_recall(f, "Go forward ten meters.") == [1.0, 0.0]
    low = clip_recall(f, "forward, he was young")
    assert low[0] == pytest.approx(0.25) and 0 < low[1] < 0.5


def test_long_option_checks_its_arguments(tmp_path, capsys):
    parser = argparse.ArgumentParser()
    add_asr_parser(parser.add_subparsers())
    corpus = make_corpus(tmp_path / "clips")
    args = parser.parse_args(["asr", "--long", "--corpus", str(corpus), "--configs", "plain-1thread"])
    assert args.func(args) == 2 and "unknown configuration" in capsys.readouterr().err
    args = parser.parse_args(["asr", "--long", "--corpus", str(corpus), "--orders", "0", "--out", str(tmp_path)])
    assert args.func(args) == 2 and "--orders must be at least 1" in capsys.readouterr().err
