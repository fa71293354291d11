"""The ``voiceflow devices`` command: the audio input devices with their rates and channels.

Exit code 0 with the table on stdout; 1 with one line on stderr when PortAudio fails or finds no
input device (the line says what to check).
"""

from __future__ import annotations

import argparse
import sys

__all__ = ["add_parser", "run"]


def add_parser(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    parser = subparsers.add_parser(
        "devices", help="list audio input devices",
        description="List the audio input devices with their default rate and channel count "
        "(* marks the default input). Pass the index or a unique part of the name to "
        "`voiceflow dictate --device`.",
    )
    parser.set_defaults(func=run)
    return parser


def run(args: argparse.Namespace) -> int:
    from voiceflow.capture.devices import DeviceError, format_device_table, input_devices

    try:
        devices = input_devices()
    except DeviceError as exc:
        print(f"voiceflow devices: {exc}", file=sys.stderr)
        return 1
    if not devices:  # the hint goes where errors go; scripts see a failure
        print(f"voiceflow devices: {format_device_table(devices)}", file=sys.stderr)
        return 1
    print(format_device_table(devices))
    return 0
