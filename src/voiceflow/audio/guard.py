"""``audio_validation_guard``: the drop-in audio guard, built on the compiled kernels.

Contract (``docs/drop-in.md``): any audio-like input becomes a 1-D, C-contiguous ``float32``
array of mono samples.  Integer PCM is scaled to [-1, 1), ``(frames, channels)`` blocks are
averaged to mono (in float64, rounded once), then NaN and ±inf are repaired and samples are
clipped (policy ``"repair"``, the default) or the call raises ``ValueError`` (policy
``"reject"``).  Every sample is checked; the guard never writes into the caller's array.

Threading: the guard keeps no per-call state; it may be called from any number of threads
(including an audio callback) at once.  The compiled kernels release the GIL.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from typing import Any

import numpy as np

import voiceflow_core as _core
from voiceflow_core._results import CLEAN  # the shared all-zero counts of the clean path
from voiceflow.config import Config

__all__ = ["audio_validation_guard", "DEFAULT_CLIP_LIMIT", "DEFAULT_REJECT_AMPLITUDE", "MAX_CHANNELS"]

logger = logging.getLogger("voiceflow.guard")  # the drop-in contract names this logger

DEFAULT_CLIP_LIMIT = 100.0
"""Repair policy: samples are clipped to ±this when ``cfg.audio_clip_limit`` is absent."""
DEFAULT_REJECT_AMPLITUDE = 10.0
"""Reject policy: ``|x|`` above this raises when ``cfg.audio_reject_amplitude`` is absent."""
MAX_CHANNELS = 64
"""A 2-D block with more columns than this is refused (it is probably ``(channels, frames)``)."""

LOG_INTERVAL_S = 1.0
"""At most one repair line per ``operation_name`` per this many seconds."""

_F32 = np.dtype(np.float32)
_ndarray = np.ndarray
_SUPPORTED = frozenset(_core.SUPPORTED_DTYPES)  # a set: the per-call membership test is a hash
_SUPPORTED_NAMES = ", ".join(dt.name for dt in _core.SUPPORTED_DTYPES)
_INF = math.inf


# (reject, limit, amplitude_warnings, warn_above): limit is the clip limit (repair) or the
# reject amplitude (reject); warn_above is inf when amplitude warnings are off.  A plain tuple:
# unpacking it is the first thing every call does, and a NamedTuple unpacks 3x slower.
_Policy = tuple[bool, float, bool, float]

_DEFAULT_POLICY: _Policy = (False, DEFAULT_CLIP_LIMIT, False, _INF)


def audio_validation_guard(
    audio_data: Any,
    operation_name: str = "audio_operation",
    allow_empty: bool = False,
    cfg: Any = None,
    *,
    out: np.ndarray | None = None,
) -> np.ndarray:
    """Return ``audio_data`` as clean mono ``float32`` samples, or raise ``ValueError``.

    Parameters
    ----------
    audio_data
        ndarray (1-D samples or 2-D ``(frames, channels)`` with at most 64 channels), list,
        tuple, numpy scalar or any buffer of real numbers.  Supported dtypes: float16/32/64,
        int8/16/32/64 (scaled by ``1/2**(bits-1)``), uint8/16/32 (offset by ``2**(bits-1)``,
        then scaled).  ``None`` and empty inputs are allowed only with ``allow_empty``.
    operation_name
        Names the caller in error messages and log lines.
    allow_empty
        Return a new empty ``float32`` array for ``None`` or a size-0 input instead of raising.
    cfg
        Any object (or ``None``), read with ``getattr`` and defaults: ``audio_guard_policy``
        (``"repair"`` | ``"reject"``), ``audio_clip_limit`` (100.0), ``audio_reject_amplitude``
        (10.0), ``disable_amplitude_warnings`` (True).  The old sampling flags are ignored:
        every sample is always checked.
    out
        Optional preallocated 1-D C-contiguous writable ``float32`` array with at least as many
        elements as the result has samples; the result is written there and ``out[:n]`` is
        returned (``out`` itself when the lengths match), so a hot loop allocates nothing.

    Returns
    -------
    numpy.ndarray
        1-D, C-contiguous ``float32``.  Without ``out``, this is the caller's own array only
        when it already was 1-D C-contiguous ``float32`` and nothing needed changing; otherwise
        a new array.  The caller's array is never written to.

    Raises
    ------
    ValueError
        Only this, with a message starting ``"[AudioGuard] {operation_name}: "``: unusable
        input (dtype, shape, ``None``/empty without ``allow_empty``), a bad ``out`` or ``cfg``
        value, or, with the reject policy, NaN, ±inf or ``|x| > audio_reject_amplitude``.
    """
    if cfg is None:
        policy = _DEFAULT_POLICY
    else:
        cached = _cached_policy
        policy = cached[1] if cached[0] is cfg else _policy_for(cfg, operation_name)
    reject, limit, amplitude_warnings, warn_above = policy
    if type(audio_data) is _ndarray and out is None:
        # Hot path 1: a float32 mono block (what a float32 audio callback delivers).  One
        # read-only scan; when it finds nothing the caller's array is returned with no copy.
        if audio_data.dtype is _F32 and audio_data.ndim == 1 and audio_data.flags.c_contiguous:
            nan, posinf, neginf, over_limit, peak = found = _core.scan(audio_data, limit)
            if not (nan or posinf or neginf or over_limit):
                if peak > warn_above:  # warn_above is inf unless amplitude warnings are on
                    _log_rate_limited(operation_name, _amplitude_message(peak), "amplitude")
                if peak or audio_data.shape[0]:
                    return audio_data
            elif reject:
                raise ValueError(_reject_message(operation_name, found, limit))
            else:
                result, counts = _core.sanitize(audio_data, limit)
                _log_repair(operation_name, counts, limit)
                if amplitude_warnings:
                    _warn_amplitude(operation_name, result, warn_above)
                return result
        # Hot path 2: any other array (int16 frames from a callback, ...) under the repair
        # policy.  The kernel refuses what it cannot take (dtype, ndim, no channel); what it
        # takes is accepted unless empty or wider than MAX_CHANNELS (size <= frames * 64).
        # Anything refused goes down the checked path below, which says why.
        elif not reject:
            try:
                result, counts = _core.sanitize(audio_data, limit)
            except ValueError:
                pass
            else:
                frames = len(result)
                if frames and audio_data.size <= frames * MAX_CHANNELS:
                    if counts is not CLEAN:
                        _log_repair(operation_name, counts, limit)
                    if amplitude_warnings:
                        _warn_amplitude(operation_name, result, warn_above)
                    return result

    x = audio_data
    if not (
        type(x) is _ndarray
        and x.dtype in _SUPPORTED
        and x.size
        and (x.ndim == 1 or (x.ndim == 2 and x.shape[1] <= MAX_CHANNELS))
    ):
        x = _as_audio_array(x, operation_name)
        if x is None or x.size == 0:
            if allow_empty:
                return np.empty(0, dtype=np.float32)
            what = "audio data is None" if x is None else f"audio data is empty (shape {x.shape})"
            raise ValueError(f"[AudioGuard] {operation_name}: {what}; pass allow_empty=True to accept it")
    if out is None:
        target = None
    elif type(out) is _ndarray and out.ndim == 1 and out.shape[0] == x.shape[0]:
        target = out  # the kernel checks dtype, contiguity and writeability
    else:
        target = _checked_out(out, x.shape[0], operation_name)

    try:
        if not reject:
            result, counts = _core.sanitize(x, limit, target)
            if counts is not CLEAN:
                _log_repair(operation_name, counts, limit)
            if amplitude_warnings:
                _warn_amplitude(operation_name, result, warn_above)
            return result
        mono = _core.downmix(x, out=target)
    except ValueError as exc:  # only a bad `out` gets this far
        raise ValueError(f"[AudioGuard] {operation_name}: {exc}") from None
    found = _core.scan(mono, limit)
    if found.nan or found.posinf or found.neginf or found.over_limit:
        raise ValueError(_reject_message(operation_name, found, limit))
    if found.peak > warn_above:
        _log_rate_limited(operation_name, _amplitude_message(found.peak), "amplitude")
    return mono


_cached_policy: tuple[Any, _Policy] = (None, _DEFAULT_POLICY)


def _policy_for(cfg: Any, operation_name: str) -> _Policy:
    """The policy ``cfg`` selects; remembered for the last frozen ``Config`` seen (immutable)."""
    global _cached_policy
    policy = _read_policy(cfg, operation_name)
    if type(cfg) is Config:
        _cached_policy = (cfg, policy)
    return policy


def _read_policy(cfg: Any, operation_name: str) -> _Policy:
    name = getattr(cfg, "audio_guard_policy", "repair")
    if name == "repair":
        reject = False
        limit = getattr(cfg, "audio_clip_limit", DEFAULT_CLIP_LIMIT)
    elif name == "reject":
        reject = True
        limit = getattr(cfg, "audio_reject_amplitude", DEFAULT_REJECT_AMPLITUDE)
    else:
        raise ValueError(
            f"[AudioGuard] {operation_name}: cfg.audio_guard_policy must be 'repair' or 'reject', "
            f"got {name!r}"
        )
    try:
        limit = float(limit)
    except (TypeError, ValueError):
        limit = math.nan
    if not limit > 0.0:  # also refuses NaN
        field = "audio_reject_amplitude" if reject else "audio_clip_limit"
        raise ValueError(f"[AudioGuard] {operation_name}: cfg.{field} must be a positive number, got {limit!r}")
    if getattr(cfg, "disable_amplitude_warnings", True):
        return (reject, limit, False, _INF)
    warn_above = getattr(cfg, "audio_reject_amplitude", DEFAULT_REJECT_AMPLITUDE)
    try:
        warn_above = float(warn_above)
    except (TypeError, ValueError):
        warn_above = DEFAULT_REJECT_AMPLITUDE
    return (reject, limit, True, warn_above)


def _as_audio_array(data: Any, operation_name: str) -> np.ndarray | None:
    """Any accepted input -> ndarray of a supported native dtype, 1-D or 2-D (<= 64 channels)."""
    if data is None:
        return None
    prefix = f"[AudioGuard] {operation_name}: "
    if type(data) is not np.ndarray:
        try:
            data = np.asarray(data)
        except Exception as exc:  # ragged lists, objects without a buffer, ...
            raise ValueError(f"{prefix}cannot convert {type(data).__name__} to an array ({exc})") from None
    dtype = data.dtype
    if dtype not in _SUPPORTED:
        if dtype.kind in "fiu" and not dtype.isnative:
            data = data.astype(dtype.newbyteorder("="))
        else:
            raise ValueError(f"{prefix}unsupported dtype {dtype} (supported: {_SUPPORTED_NAMES})")
        if data.dtype not in _SUPPORTED:
            raise ValueError(f"{prefix}unsupported dtype {dtype} (supported: {_SUPPORTED_NAMES})")
    if data.size == 0:
        return data
    if data.ndim == 0:
        return data.reshape(1)
    if data.ndim > 2:
        raise ValueError(
            f"{prefix}audio has {data.ndim} dimensions (shape {data.shape}); "
            "expected 1-D samples or 2-D (frames, channels)"
        )
    if data.ndim == 2 and data.shape[1] > MAX_CHANNELS:
        raise ValueError(
            f"{prefix}audio of shape {data.shape} has {data.shape[1]} channels (more than "
            f"{MAX_CHANNELS}); the array may be transposed: pass (frames, channels), e.g. data.T"
        )
    return data


def _checked_out(out: Any, frames: int, operation_name: str) -> np.ndarray:
    if (
        type(out) is not np.ndarray
        or out.dtype != _F32
        or out.ndim != 1
        or not out.flags.c_contiguous
        or not out.flags.writeable
        or out.shape[0] < frames
    ):
        desc = (
            f"{out.dtype} array of shape {out.shape}" if isinstance(out, np.ndarray) else type(out).__name__
        )
        raise ValueError(
            f"[AudioGuard] {operation_name}: out must be a writable 1-D C-contiguous float32 array "
            f"with at least {frames} elements, got {desc}"
        )
    return out if out.shape[0] == frames else out[:frames]


def _reject_message(operation_name: str, found: Any, limit: float) -> str:
    problems = []
    if found.nan:
        problems.append(f"{found.nan} NaN sample(s)")
    if found.posinf or found.neginf:
        problems.append(f"{found.posinf} +inf and {found.neginf} -inf sample(s)")
    if found.over_limit:
        problems.append(
            f"{found.over_limit} sample(s) above the reject amplitude ±{limit:g} (peak {found.peak:g})"
        )
    return f"[AudioGuard] {operation_name}: rejected: " + ", ".join(problems)


def _amplitude_message(peak: float) -> str:
    return f"high audio amplitude: peak {peak:.2f}"


def _warn_amplitude(operation_name: str, result: np.ndarray, warn_above: float) -> None:
    peak = _core.scan(result, _INF).peak
    if peak > warn_above:
        _log_rate_limited(operation_name, _amplitude_message(peak), "amplitude")


def _log_repair(operation_name: str, counts: Any, limit: float) -> None:
    """One rate-limited WARNING naming what was repaired (nothing when nothing was)."""
    if not (counts.nan or counts.posinf or counts.neginf or counts.clipped):
        return
    _log_rate_limited(
        operation_name,
        f"repaired {counts.nan} NaN (-> 0), {counts.posinf} +inf, {counts.neginf} -inf (-> ±32), "
        f"clipped {counts.clipped} sample(s) to ±{limit:g}",
        "repair",
    )


_monotonic = time.monotonic
_log_lock = threading.Lock()
_last_logged: dict[tuple[str, str], float] = {}
_suppressed: dict[tuple[str, str], int] = {}


def _log_rate_limited(operation_name: str, message: str, kind: str) -> None:
    key = (operation_name, kind)
    now = _monotonic()
    with _log_lock:
        last = _last_logged.get(key)
        if last is not None and now - last < LOG_INTERVAL_S:
            _suppressed[key] = _suppressed.get(key, 0) + 1
            return
        if len(_last_logged) > 4096:  # many distinct names: forget the ones that went quiet
            for stale in [k for k, t in _last_logged.items() if now - t >= LOG_INTERVAL_S]:
                del _last_logged[stale]
                _suppressed.pop(stale, None)
        _last_logged[key] = now
        skipped = _suppressed.pop(key, 0)
    if skipped:
        message += f" ({skipped} similar call(s) not logged in the last {LOG_INTERVAL_S:g} s)"
    logger.warning("[AudioGuard] %s: %s", operation_name, message)
