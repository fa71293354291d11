"""Audio input devices: listing them, and opening one with the rate / channel fallbacks.

Many devices refuse 16 kHz (PortAudio error -9997, ``paInvalidSampleRate``) or mono (-9998,
``paInvalidChannelCount``).  :func:`open_input_stream` then retries at the device's default rate
(the caller resamples to 16 kHz outside the audio callback) and with the device's own channels
(the callback downmixes).  Any other failure, or running out of fallbacks, raises
:class:`DeviceError` naming the device, every setting tried with PortAudio's answer, and the fix.

Nothing here runs in the audio callback.  ``sounddevice`` (and PortAudio) are imported on first
use, so importing this module works on a machine without PortAudio.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

__all__ = [
    "DeviceError",
    "InputDevice",
    "OpenedStream",
    "input_devices",
    "open_input_stream",
    "resolve_input",
]

PA_INVALID_CHANNEL_COUNT = -9998
PA_INVALID_SAMPLE_RATE = -9997
_FIX = "run `voiceflow devices` to list the inputs, then pass one by index or name (--device / device=)"


class DeviceError(RuntimeError):
    """An input device could not be found or opened; the message says what was tried and the fix."""


@dataclass(frozen=True)
class InputDevice:
    """One PortAudio device with at least one input channel."""

    index: int
    """PortAudio device index (valid until PortAudio re-scans)."""
    name: str
    hostapi: str
    """Host API name (ALSA, PulseAudio, Core Audio, MME, WASAPI, ...)."""
    channels: int
    """Maximum input channels."""
    default_samplerate: float
    """The rate (Hz) the device prefers; the fallback when it refuses the requested one."""
    low_latency: float
    """Default low input latency, seconds."""
    high_latency: float
    """Default high input latency, seconds."""
    is_default: bool
    """This is the default input device."""

    def describe(self) -> str:
        return f"{self.name!r} (index {self.index}, {self.hostapi})"


@dataclass(frozen=True)
class OpenedStream:
    """What :func:`open_input_stream` opened (the stream is created, not started)."""

    stream: Any
    """The ``sounddevice.InputStream`` (float32 samples)."""
    device: InputDevice
    samplerate: int
    """Rate the stream runs at (Hz); differs from the request after a -9997 fallback."""
    channels: int
    """Channels the callback receives; more than 1 after a -9998 fallback (or on request)."""
    attempts: tuple[str, ...]
    """Every setting tried, in order, with PortAudio's answer (the last one is ``opened``)."""


def _sd() -> Any:
    try:
        import sounddevice
    except OSError as exc:  # sounddevice raises OSError when the PortAudio library is missing
        raise DeviceError(
            f"cannot load PortAudio ({exc}). Fix: install it (Debian/Ubuntu: apt install "
            "libportaudio2; macOS: brew install portaudio)"
        ) from exc
    return sounddevice


def _to_input_device(sd: Any, info: dict, default_index: int) -> InputDevice:
    return InputDevice(
        index=int(info["index"]),
        name=str(info["name"]),
        hostapi=str(sd.query_hostapis(info["hostapi"])["name"]),
        channels=int(info["max_input_channels"]),
        default_samplerate=float(info["default_samplerate"]),
        low_latency=float(info["default_low_input_latency"]),
        high_latency=float(info["default_high_input_latency"]),
        is_default=int(info["index"]) == default_index,
    )


def _default_input_index(sd: Any) -> int:
    try:
        return int(sd.default.device[0])
    except (TypeError, ValueError):
        return -1


def input_devices() -> list[InputDevice]:
    """Every device with an input channel, in PortAudio's order."""
    sd = _sd()
    default = _default_input_index(sd)
    return [
        _to_input_device(sd, info, default)
        for info in sd.query_devices()
        if info["max_input_channels"] > 0
    ]


def resolve_input(device: int | str | None) -> InputDevice:
    """The input device for ``device``: ``None`` (the default input), an index, or a name
    (any unique substring, as ``sounddevice`` matches it).  Raises :class:`DeviceError`."""
    sd = _sd()
    default = _default_input_index(sd)
    if device is None and default < 0:
        raise DeviceError(f"no default input device is configured; {_FIX}")
    try:
        info = sd.query_devices(default if device is None else device, "input")
    except (ValueError, sd.PortAudioError) as exc:
        names = ", ".join(f"{d.index}: {d.name!r}" for d in input_devices()) or "none found"
        raise DeviceError(f"no usable input device {device!r} ({exc}); inputs: {names}; {_FIX}") from None
    return _to_input_device(sd, info, default)


def error_code(exc: BaseException) -> int | None:
    """The PortAudio error code a ``sounddevice.PortAudioError`` carries, if any."""
    args = getattr(exc, "args", ())
    return args[1] if len(args) > 1 and isinstance(args[1], int) else None


def open_input_stream(
    device: int | str | None,
    samplerate: int | None,
    channels: int | None,
    *,
    callback: Callable[..., None],
    blocksize: Callable[[int], int] | int = 0,
    latency: str | float = "high",
) -> OpenedStream:
    """Create (not start) a float32 ``InputStream`` on ``device``, falling back as needed.

    ``samplerate=None`` means the device's default rate; ``channels=None`` means mono.  On -9997
    the stream is retried at the device's default rate; on -9998 with 2 channels, then with the
    device's maximum.  ``blocksize`` may be a function of the rate the stream is opened at.
    Raises :class:`DeviceError` (with every attempt listed) when nothing works.
    """
    sd = _sd()
    dev = resolve_input(device)
    device_rate = int(round(dev.default_samplerate))
    rate = device_rate if samplerate is None else int(samplerate)
    want_channels = 1 if channels is None else int(channels)
    if want_channels < 1:
        raise ValueError(f"channels must be >= 1, got {channels}")
    rates = [rate] if rate == device_rate else [rate, device_rate]
    channel_options = [want_channels]
    for more in (2, dev.channels):
        if channels is None and more > channel_options[-1]:
            channel_options.append(more)
    attempts: list[str] = []
    r = c = 0  # indexes into rates / channel_options
    while True:
        setting = f"{rates[r]} Hz, {channel_options[c]} ch"
        size = blocksize(rates[r]) if callable(blocksize) else int(blocksize)
        try:
            stream = sd.InputStream(
                device=dev.index, samplerate=rates[r], channels=channel_options[c],
                dtype="float32", blocksize=size, latency=latency, callback=callback,
            )
        except sd.PortAudioError as exc:
            code = error_code(exc)
            attempts.append(f"{setting}: {exc}")
            if code == PA_INVALID_SAMPLE_RATE and r + 1 < len(rates):
                r += 1
                continue
            if code == PA_INVALID_CHANNEL_COUNT and c + 1 < len(channel_options):
                c += 1
                continue
            raise DeviceError(_open_failure(dev, attempts, code)) from exc
        attempts.append(f"{setting}: opened")
        return OpenedStream(stream, dev, rates[r], channel_options[c], tuple(attempts))


def _open_failure(dev: InputDevice, attempts: list[str], code: int | None) -> str:
    if code == PA_INVALID_SAMPLE_RATE:
        fix = f"pass a rate the device supports (samplerate=, --samplerate; its default is {dev.default_samplerate:g} Hz)"
    elif code == PA_INVALID_CHANNEL_COUNT:
        fix = f"pass a channel count the device supports (channels=, --channels; it reports {dev.channels})"
    else:
        fix = "check that the device is connected and not held exclusively by another program, or " + _FIX
    tried = "; ".join(attempts)
    return f"could not open input device {dev.describe()}; tried {tried}. Fix: {fix}"


def format_device_table(devices: list[InputDevice]) -> str:
    """The ``voiceflow devices`` listing: one input per line, ``*`` marks the default."""
    if not devices:
        return "no input devices found (is a microphone connected? is PortAudio's host API running?)"
    width = max(len(d.name) for d in devices)
    lines = [f"    {'#':>3}  {'name':<{width}}  {'host API':<12} {'ch':>3} {'default rate':>13}"]
    for d in devices:
        mark = "*" if d.is_default else " "
        lines.append(
            f"  {mark} {d.index:>3}  {d.name:<{width}}  {d.hostapi:<12} {d.channels:>3} "
            f"{d.default_samplerate:>10.0f} Hz"
        )
    return "\n".join(lines)
