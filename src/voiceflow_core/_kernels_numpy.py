"""Pure-NumPy backend: the slow, obviously correct reference every fast backend is tested against.

Each function states the contract once, in the plainest NumPy that implements it; speed is not a
goal here.  The argument checks (``check_*``) are shared with the numba backend so that every
backend rejects the same inputs with the same ``ValueError``.

The arithmetic contract (what "bit-identical" means across backends):

* conversion: each sample becomes an exact-as-possible float64 value -- floats as they are,
  signed integers ``x / 2**(bits-1)``, unsigned integers ``(x - 2**(bits-1)) / 2**(bits-1)``
  (int64 is rounded to the nearest float64 first);
* ``to_float32``: that float64 value rounded once to float32 (beyond the float32 range: +-inf);
* ``downmix``: per frame ``s = v[0]; s += v[1]; ...; s += v[ch-1]`` in float64, then ``s / ch``,
  rounded once to float32;
* repair (on float32 values): NaN -> 0, +inf -> +32, -inf -> -32, then values above ``limit`` ->
  ``limit`` and below ``-limit`` -> ``-limit``, where ``limit`` is rounded once to float32.
"""

from __future__ import annotations

import operator
import threading

import numpy as np

from voiceflow_core._results import CLEAN, RepairCounts, ScanResult

SUPPORTED_DTYPES = tuple(
    np.dtype(name)
    for name in (
        "float16", "float32", "float64",
        "int8", "int16", "int32", "int64",
        "uint8", "uint16", "uint32",
    )
)  # fmt: skip
_SUPPORTED_NAMES = ", ".join(dt.name for dt in SUPPORTED_DTYPES)

REPLACEMENT_FOR_INF = np.float32(32.0)
_ROUNDS_TO_FLOAT32_INF = 3.4028235677973366e38  # float32 max + half an ulp (a tie rounds to inf)


# --- argument checks (shared with the numba backend) ----------------------------------------


def check_samples(x, ndims: tuple[int, ...] | None, kernel: str) -> np.ndarray:
    """``x`` as an ndarray of a supported dtype in native byte order, with an allowed ndim."""
    if not isinstance(x, np.ndarray):
        try:
            x = np.asarray(x)
        except Exception as exc:  # ragged lists, objects that refuse conversion, ...
            raise ValueError(f"{kernel}: cannot convert input to an array ({exc})") from None
    dtype = x.dtype
    if not dtype.isnative and dtype.kind in "fiu":
        x = x.astype(dtype.newbyteorder("="))
        dtype = x.dtype
    if dtype not in SUPPORTED_DTYPES:
        raise ValueError(
            f"{kernel}: unsupported dtype {dtype}; supported dtypes are {_SUPPORTED_NAMES}"
        )
    if ndims is not None and x.ndim not in ndims:
        allowed = " or ".join(f"{n}-D" for n in ndims)
        raise ValueError(f"{kernel}: expected a {allowed} array, got shape {x.shape}")
    if x.ndim == 2 and x.shape[1] == 0:
        raise ValueError(f"{kernel}: a (frames, channels) array needs at least one channel")
    return x


def check_limit(limit, kernel: str) -> np.float32:
    """The clip limit rounded once to float32; must be a real number ``>= 0`` (``inf`` allowed)."""
    try:
        value = float(limit)
    except (TypeError, ValueError, OverflowError):
        raise ValueError(f"{kernel}: limit must be a real number, got {limit!r}") from None
    if not value >= 0.0:  # also rejects NaN
        raise ValueError(f"{kernel}: limit must be >= 0, got {limit!r}")
    if value >= _ROUNDS_TO_FLOAT32_INF:  # no clipping
        return np.float32(np.inf)
    return np.float32(value)


def check_out(out, shape: tuple[int, ...], kernel: str) -> np.ndarray | None:
    """``out`` when it is a writable, C-contiguous float32 array of exactly ``shape``."""
    if out is None:
        return None
    if not isinstance(out, np.ndarray) or out.dtype != np.float32:
        raise ValueError(f"{kernel}: out must be a float32 ndarray")
    if out.shape != shape:
        raise ValueError(f"{kernel}: out has shape {out.shape}, expected {shape}")
    if not out.flags.c_contiguous or not out.flags.writeable:
        raise ValueError(f"{kernel}: out must be C-contiguous and writeable")
    return out


def check_out_at_least(out, length: int, kernel: str) -> np.ndarray | None:
    """``out`` when it is a writable, C-contiguous 1-D float32 array of at least ``length``."""
    if out is None:
        return None
    if not isinstance(out, np.ndarray) or out.dtype != np.float32 or out.ndim != 1:
        raise ValueError(f"{kernel}: out must be a 1-D float32 ndarray")
    if out.shape[0] < length:
        raise ValueError(f"{kernel}: out holds {out.shape[0]} samples, needs at least {length}")
    if not out.flags.c_contiguous or not out.flags.writeable:
        raise ValueError(f"{kernel}: out must be C-contiguous and writeable")
    return out


def check_count(value, name: str, kernel: str, minimum: int) -> int:
    """A Python int ``>= minimum`` (frame, hop, n, total, capacity)."""
    try:
        number = operator.index(value)
    except TypeError:
        raise ValueError(f"{kernel}: {name} must be an integer, got {value!r}") from None
    if number < minimum:
        raise ValueError(f"{kernel}: {name} must be >= {minimum}, got {number}")
    return number


def n_energy_frames(length: int, frame: int, hop: int) -> int:
    """How many frames ``frame_energy`` returns for ``length`` samples."""
    return 0 if length < frame else 1 + (length - frame) // hop


# --- the arithmetic --------------------------------------------------------------------------


_quiet = np.errstate(invalid="ignore", over="ignore")  # inf - inf, float64 -> float32 overflow


def as_float64(x: np.ndarray) -> np.ndarray:
    """Each sample as float64, integer PCM scaled into [-1, 1)."""
    if x.dtype.kind == "f":
        return x.astype(np.float64)
    half_range = 2.0 ** (x.dtype.itemsize * 8 - 1)
    if x.dtype.kind == "i":
        return x.astype(np.float64) / half_range
    return (x.astype(np.float64) - half_range) / half_range


def mean_of_channels(v: np.ndarray) -> np.ndarray:
    """Float64 ``(frames, channels)`` -> float64 per-frame mean, summed in channel order."""
    total = v[:, 0].copy()
    for channel in range(1, v.shape[1]):
        total += v[:, channel]
    return total / v.shape[1]


def repaired(v: np.ndarray, limit: np.float32) -> tuple[np.ndarray, RepairCounts]:
    """Float32 samples with NaN/inf replaced and everything clipped to ``+-limit``, and counts."""
    nan = np.isnan(v)
    posinf = v == np.inf
    neginf = v == -np.inf
    finite = ~(nan | posinf | neginf)
    clipped = finite & ((v > limit) | (v < -limit))
    fixed = v.copy()
    fixed[nan] = 0.0
    fixed[posinf] = REPLACEMENT_FOR_INF
    fixed[neginf] = -REPLACEMENT_FOR_INF
    fixed = np.where(fixed > limit, limit, fixed)
    fixed = np.where(fixed < -limit, -limit, fixed).astype(np.float32)
    counts = RepairCounts(
        int(nan.sum()), int(posinf.sum()), int(neginf.sum()), int(clipped.sum())
    )
    return fixed, (CLEAN if counts == CLEAN else counts)


def _deliver(result: np.ndarray, out: np.ndarray | None) -> np.ndarray:
    if out is None:
        return np.ascontiguousarray(result, dtype=np.float32)
    out[...] = result
    return out


# --- kernels ---------------------------------------------------------------------------------


@_quiet
def scan(x, limit) -> ScanResult:
    """Counts of NaN, +inf, -inf and finite ``|x| > limit`` samples, and the finite peak ``|x|``."""
    x = check_samples(x, None, "scan")
    lim = check_limit(limit, "scan")
    v = as_float64(x).astype(np.float32).ravel()
    finite = np.abs(v[np.isfinite(v)])
    return ScanResult(
        nan=int(np.isnan(v).sum()),
        posinf=int((v == np.inf).sum()),
        neginf=int((v == -np.inf).sum()),
        over_limit=int((finite > lim).sum()),
        peak=float(finite.max()) if finite.size else 0.0,
    )


@_quiet
def to_float32(x, out=None) -> np.ndarray:
    """Any supported dtype, 1-D or 2-D, to float32 of the same shape (PCM scaled)."""
    x = check_samples(x, (1, 2), "to_float32")
    out = check_out(out, x.shape, "to_float32")
    return _deliver(as_float64(x).astype(np.float32), out)


@_quiet
def downmix(x, out=None) -> np.ndarray:
    """``(frames, channels)`` (or 1-D mono) to 1-D float32: float64 mean, rounded once."""
    x = check_samples(x, (1, 2), "downmix")
    out = check_out(out, (x.shape[0],), "downmix")
    v = as_float64(x)
    mono = v if v.ndim == 1 else mean_of_channels(v)
    return _deliver(mono.astype(np.float32), out)


@_quiet
def repair_clip(x, limit, out=None) -> tuple[np.ndarray, RepairCounts]:
    """1-D samples to float32 with NaN -> 0, +-inf -> +-32, then clipped to ``+-limit``."""
    x = check_samples(x, (1,), "repair_clip")
    lim = check_limit(limit, "repair_clip")
    out = check_out(out, x.shape, "repair_clip")
    fixed, counts = repaired(as_float64(x).astype(np.float32), lim)
    return _deliver(fixed, out), counts


@_quiet
def sanitize(x, limit, out=None) -> tuple[np.ndarray, RepairCounts]:
    """Raw 1-D or ``(frames, channels)`` block -> convert -> downmix -> repair -> clip."""
    x = check_samples(x, (1, 2), "sanitize")
    lim = check_limit(limit, "sanitize")
    out = check_out(out, (x.shape[0],), "sanitize")
    v = as_float64(x)
    mono = v if v.ndim == 1 else mean_of_channels(v)
    fixed, counts = repaired(mono.astype(np.float32), lim)
    return _deliver(fixed, out), counts


@_quiet
def frame_energy(x, frame, hop, out=None) -> np.ndarray:
    """RMS of each ``frame``-sample window, windows ``hop`` samples apart, as float32."""
    x = check_samples(x, (1,), "frame_energy")
    frame = check_count(frame, "frame", "frame_energy", 1)
    hop = check_count(hop, "hop", "frame_energy", 1)
    n = n_energy_frames(x.shape[0], frame, hop)
    out = check_out(out, (n,), "frame_energy")
    v = as_float64(x).astype(np.float32).astype(np.float64)
    rms = np.empty(n, np.float32)
    for k in range(n):
        window = v[k * hop : k * hop + frame]
        rms[k] = np.sqrt(np.sum(window * window) / frame)
    return _deliver(rms, out)


# --- ring buffer -----------------------------------------------------------------------------


class RingBuffer:
    """Fixed-capacity float32 ring (reference implementation; see ``voiceflow_core.RingBuffer``).

    Sample number ``t`` (counted from 0 over the ring's whole life) lives at ``t % capacity``.
    One lock guards every read and write, so no reader ever sees part of a block.
    """

    def __init__(self, capacity):
        self._capacity = check_count(capacity, "capacity", "RingBuffer", 1)
        self._storage = np.zeros(self._capacity, np.float32)
        self._total = 0
        self._cleared_at = 0
        self._lock = threading.Lock()

    @property
    def capacity(self) -> int:
        return self._capacity

    @property
    def total(self) -> int:
        return self._total

    @property
    def size(self) -> int:
        with self._lock:
            return self._held()

    def _held(self) -> int:
        return min(self._total - self._cleared_at, self._capacity)

    def _store(self, block: np.ndarray) -> None:
        kept = block[-self._capacity :] if block.shape[0] > self._capacity else block
        end = self._total + block.shape[0]
        self._storage[np.arange(end - kept.shape[0], end) % self._capacity] = kept
        self._total = end

    def _copy(self, start: int, out: np.ndarray | None) -> np.ndarray:
        samples = self._storage[np.arange(start, self._total) % self._capacity]
        if out is None:
            return samples
        out[: samples.shape[0]] = samples
        return out[: samples.shape[0]]

    def write(self, block) -> None:
        block = np.asarray(block)
        if block.dtype != np.float32 or block.ndim != 1:
            raise ValueError(
                f"RingBuffer.write: expected a 1-D float32 array, got {block.dtype} "
                f"shape {block.shape} (use write_sanitized for raw audio)"
            )
        with self._lock:
            self._store(block)

    def write_sanitized(self, raw, limit) -> RepairCounts:
        clean, counts = self._sanitize(raw, limit)
        with self._lock:
            self._store(clean)
        return counts

    _sanitize = staticmethod(sanitize)

    def latest(self, n, out=None) -> np.ndarray:
        n = check_count(n, "n", "RingBuffer.latest", 0)
        out = check_out_at_least(out, min(n, self._capacity), "RingBuffer.latest")
        with self._lock:
            return self._copy(self._total - min(n, self._held()), out)

    def since(self, total, out=None) -> tuple[np.ndarray, int]:
        total = check_count(total, "total", "RingBuffer.since", 0)
        out = check_out_at_least(out, self._capacity, "RingBuffer.since")
        with self._lock:
            start = min(max(total, self._total - self._held()), self._total)
            return self._copy(start, out), self._total

    def snapshot(self, out=None) -> np.ndarray:
        out = check_out_at_least(out, self._capacity, "RingBuffer.snapshot")
        with self._lock:
            return self._copy(self._total - self._held(), out)

    def clear(self) -> None:
        with self._lock:
            self._cleared_at = self._total

    def __len__(self) -> int:
        return self.size

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(capacity={self._capacity}, size={self.size}, "
            f"total={self._total})"
        )
