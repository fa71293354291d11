"""voiceflow.cli.bench: option checking of ``voiceflow bench asr`` before anything is timed."""

import argparse
from pathlib import Path

import pytest

from voiceflow.cli.bench import add_asr_parser


def test_cli_parser_and_bad_arguments(tmp_path, capsys):
    parser = argparse.ArgumentParser()
    sub = parser.add_subparsers()
    add_asr_parser(sub)
    args = parser.parse_args(["asr", "--corpus", str(tmp_path / "none"), "--configs", "speed"])
    assert args.func(args) == 2 and "not found" in capsys.readouterr().err
    args = parser.parse_args(["asr", "--corpus", str(tmp_path), "--configs", "warp"])
    assert args.func(args) == 2 and "unknown configuration" in capsys.readouterr().err
    args = parser.parse_args(["asr", "--corpus", str(tmp_path), "--repeats", "0"])
    assert args.func(args) == 2 and "--repeats must be at least 1" in capsys.readouterr().err


def _parser():
    parser = argparse.ArgumentParser()
    add_asr_parser(parser.add_subparsers())
    return parser


def test_missing_extras_are_reported_before_anything_is_timed(tmp_path, capsys, monkeypatch):
    from voiceflow.bench import asr

    assert asr.missing_extras() == []  # the test extra has them
    monkeypatch.setattr(asr, "missing_extras", lambda: ["jiwer", "whisper-normalizer"])
    monkeypatch.setattr(asr, "run_benchmark", lambda *a, **k: pytest.fail("timed without its extras"))
    args = _parser().parse_args(["asr", "--corpus", str(tmp_path)])
    assert args.func(args) == 2
    assert capsys.readouterr().err == (
        "voiceflow bench asr: error: needs jiwer, whisper-normalizer: pip install 'voiceflow[bench]'\n"
    )


def test_missing_extras_finds_absent_modules(monkeypatch):
    from voiceflow.bench import asr

    monkeypatch.setitem(asr.BENCH_EXTRAS, "voiceflow_no_such_module", "no-such-package")
    assert asr.missing_extras() == ["no-such-package"]


def test_an_empty_corpus_is_one_line(tmp_path, capsys):
    (tmp_path / "a.wav").write_bytes(b"RIFF")  # no .txt reference: not a clip
    args = _parser().parse_args(["asr", "--corpus", str(tmp_path)])
    assert args.func(args) == 2
    err = capsys.readouterr().err
    assert err == f"voiceflow bench asr: error: no *.wav clips with a .txt reference beside them in {tmp_path}\n"


def test_results_go_to_the_current_directory_by_default():
    assert _parser().parse_args(["asr"]).out == Path(".")


def test_help_is_plain_text_with_defaults(capsys):
    with pytest.raises(SystemExit):
        _parser().parse_args(["asr", "--help"])
    text = capsys.readouterr().out
    assert "``" not in text
    for default in ("(default: 3)", "(default: the current directory)", "(default:\n", "../shared/corpus/clips"):
        assert default.rstrip("\n") in text
    assert "plain,plain-1thread,quality,balanced,speed" in text.replace(" ", "").replace("\n", "")


def test_one_configuration_table_has_no_ratio_columns():
    from voiceflow.bench.asr import Row, markdown_table

    details = {"clips": ["a"], "audio_s": 5.0, "n_short": 1, "repeats": 3}
    table = markdown_table([Row("speed", 40.0, 0.06, 0.09, 0.0, 255, 1.1, 238)], details)
    assert "x plain" not in table and "nan" not in table.lower() and "Ratios" not in table
    assert table.splitlines()[-1] == "| speed | 40.0 | 60 | 90 | 0.00 | 255 | 1.10 | 238 |"
    two = markdown_table([Row("plain", 10.0, 0.3, 0.4, 0.0, 250, 1.2, 240), Row("speed", 40.0, 0.06, 0.09, 0.0, 255, 1.1, 238)], details)
    assert two.count("x plain") == 3 and "nan" not in two.lower()  # WER 0 in plain: "n/a", not NaN
    assert "| speed | 40.0 | 4.00 | 60 | 0.20 | 90 | 0.00 | n/a |" in two


def test_stream_parser_and_bad_arguments(tmp_path, capsys):
    from voiceflow.cli.bench import add_stream_parser

    parser = argparse.ArgumentParser()
    add_stream_parser(parser.add_subparsers())
    args = parser.parse_args(["stream", "--corpus", str(tmp_path / "none")])
    assert args.func(args) == 2 and "not found" in capsys.readouterr().err
    args = parser.parse_args(["stream", "--corpus", str(tmp_path), "--modes", "warp"])
    assert args.func(args) == 2 and "unknown mode" in capsys.readouterr().err
    args = parser.parse_args(["stream", "--corpus", str(tmp_path), "--limit", "0"])
    assert args.func(args) == 2 and "--limit" in capsys.readouterr().err
    assert parser.parse_args(["stream", "--replay"]).replay and not parser.parse_args(["stream"]).replay
