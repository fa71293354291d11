"""voiceflow_core: the compiled audio kernels and ring buffer, with a choice of backend.

Backends, all bit-identical except ``frame_energy`` (relative error <= 1e-6):

* ``"cython"`` (default): compiled ``nogil`` kernels (``_kernels_cy``, ``_ring_cy``);
* ``"numba"``: ``@njit(nogil=True, cache=True)`` twins, present only when numba is installed
  (``pip install voiceflow[numba]``); compiled and warmed the first time it is selected;
* ``"numpy"``: plain NumPy, slow and obviously correct -- the reference the tests compare with.

The environment variable ``VOICEFLOW_BACKEND`` picks the backend at import;
:func:`use_backend` switches later.  Switching rebinds this module's attributes, so call
through the module (``voiceflow_core.sanitize(...)``) to follow a switch; a name imported with
``from voiceflow_core import sanitize`` stays bound to the backend active at that moment.

Supported input dtypes: float16, float32, float64, int8, int16, int32, int64, uint8, uint16,
uint32.  Integer PCM is scaled into [-1, 1): signed ``x / 2**(bits-1)``, unsigned
``(x - 2**(bits-1)) / 2**(bits-1)``, in float64, rounded once to float32.  Every kernel raises
``ValueError`` (never ``TypeError``) for an unsupported dtype, shape, limit or ``out``.
"""

# The standard modules are imported under private names so ``dir(voiceflow_core)`` lists only
# the API (``__all__``) and private helpers.
import importlib as _importlib
import importlib.util as _importlib_util
import os as _os
import types as _types
import warnings as _warnings

from voiceflow_core import _kernels_numpy
from voiceflow_core._results import RepairCounts, ScanResult

__all__ = [
    "RepairCounts",
    "RingBuffer",
    "SUPPORTED_DTYPES",
    "ScanResult",
    "active_backend",
    "available_backends",
    "downmix",
    "frame_energy",
    "repair_clip",
    "sanitize",
    "scan",
    "to_float32",
    "use_backend",
]

SUPPORTED_DTYPES = _kernels_numpy.SUPPORTED_DTYPES
"""The input dtypes every backend accepts (native byte order), as a tuple of ``numpy.dtype``."""

_PUBLIC = ("scan", "to_float32", "downmix", "repair_clip", "sanitize", "frame_energy", "RingBuffer")
_BACKEND_ORDER = ("cython", "numba", "numpy")
_loaded: dict[str, _types.SimpleNamespace] = {}
_active = ""


def _load_cython() -> _types.SimpleNamespace:
    from voiceflow_core import _kernels_cy, _ring_cy

    names = {name: getattr(_kernels_cy, name) for name in _PUBLIC if name != "RingBuffer"}
    return _types.SimpleNamespace(**names, RingBuffer=_ring_cy.RingBuffer)


def _load_numba() -> _types.SimpleNamespace:
    module = _importlib.import_module("voiceflow_core._kernels_numba")
    module.warm_up()
    return _types.SimpleNamespace(**{name: getattr(module, name) for name in _PUBLIC})


def _load_numpy() -> _types.SimpleNamespace:
    return _types.SimpleNamespace(**{name: getattr(_kernels_numpy, name) for name in _PUBLIC})


def _cython_importable() -> bool:
    try:
        _importlib.import_module("voiceflow_core._kernels_cy")
        _importlib.import_module("voiceflow_core._ring_cy")
    except ImportError:
        return False
    return True


def available_backends() -> tuple[str, ...]:
    """Names of the backends that can be selected here, fastest first."""
    found = []
    if _cython_importable():
        found.append("cython")
    if _importlib_util.find_spec("numba") is not None:
        found.append("numba")
    found.append("numpy")
    return tuple(found)


def active_backend() -> str:
    """Name of the backend the module-level functions currently dispatch to."""
    return _active


def use_backend(name: str) -> None:
    """Make ``name`` (``"cython"``, ``"numba"`` or ``"numpy"``) the active backend.

    Loads (and for numba, compiles and warms) the backend on first use; raises ``ValueError``
    for an unknown name or a backend that is not available here.  Not meant to be called while
    other threads are using the module-level functions.
    """
    global _active
    if name not in _BACKEND_ORDER:
        raise ValueError(f"unknown backend {name!r}; choose one of {', '.join(_BACKEND_ORDER)}")
    if name not in available_backends():
        hint = " (pip install voiceflow[numba])" if name == "numba" else " (extension not built)"
        raise ValueError(f"backend {name!r} is not available here{hint}")
    if name not in _loaded:
        _loaded[name] = {"cython": _load_cython, "numba": _load_numba, "numpy": _load_numpy}[
            name
        ]()
    globals().update(vars(_loaded[name]))
    _active = name


def _select_at_import() -> None:
    requested = _os.environ.get("VOICEFLOW_BACKEND", "").strip().lower()
    if requested:
        use_backend(requested)
    elif _cython_importable():
        use_backend("cython")
    else:
        _warnings.warn(
            "voiceflow_core: the compiled extension is missing; using the slow numpy backend "
            "(reinstall voiceflow to build it)",
            RuntimeWarning,
            stacklevel=3,
        )
        use_backend("numpy")


# Placeholders so the names exist for static tools; _select_at_import rebinds them.
scan = _kernels_numpy.scan
to_float32 = _kernels_numpy.to_float32
downmix = _kernels_numpy.downmix
repair_clip = _kernels_numpy.repair_clip
sanitize = _kernels_numpy.sanitize
frame_energy = _kernels_numpy.frame_energy
RingBuffer = _kernels_numpy.RingBuffer

_select_at_import()
