"""voiceflow.cli.bench: option checking of ``voiceflow bench asr`` before anything is timed."""

import argparse

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
