# cython: boundscheck=False, wraparound=False, cdivision=True, initializedcheck=False, language_level=3
"""Compiled fixed-capacity float32 ring buffer (the ``cython`` backend).  Docs: ``_ring_cy.pyi``.

Sample number ``t`` (counted from 0 over the ring's whole life) lives at ``t % capacity``.  One
short internal lock (a ``PyThread`` lock, taken without the GIL whenever it has to wait) guards
every read and write, so a reader sees either none or all of a block.  Copies of at least
``NOGIL_MIN_SAMPLES`` samples run with the GIL released.
"""

from cpython.pythread cimport (
    NOWAIT_LOCK, WAIT_LOCK, PyThread_acquire_lock, PyThread_allocate_lock, PyThread_free_lock,
    PyThread_release_lock, PyThread_type_lock,
)
from cpython.buffer cimport PyBUF_FORMAT, PyBUF_STRIDES, PyBuffer_Release, PyObject_GetBuffer
from libc.string cimport memcpy

from voiceflow_core._kernels cimport buffer_is_c_contiguous, contiguous_mono, repair_counts

import numpy as np

from voiceflow_core._kernels_cy import NOGIL_MIN_SAMPLES, check_count, check_limit, check_samples
from voiceflow_core._results import CLEAN, RepairCounts

cdef Py_ssize_t _NOGIL_MIN = NOGIL_MIN_SAMPLES
cdef object _ndarray = np.ndarray
cdef object _empty = np.empty
cdef object _float32 = np.dtype(np.float32)


cdef class RingBuffer:
    """Fixed-capacity float32 ring: one writer and many readers at once, never a torn block.

    ``total`` counts every sample ever written (monotonic); ``size`` is what is held now.
    """

    cdef readonly Py_ssize_t capacity
    cdef object _array
    cdef float[::1] _storage
    cdef long long _total
    cdef long long _cleared_at
    cdef PyThread_type_lock _lock

    def __cinit__(self, capacity):
        self.capacity = check_count(capacity, "capacity", "RingBuffer", 1)
        self._array = np.zeros(self.capacity, _float32)
        self._storage = self._array
        self._total = 0
        self._cleared_at = 0
        self._lock = PyThread_allocate_lock()
        if self._lock == NULL:
            raise MemoryError("RingBuffer: cannot allocate a lock")

    def __dealloc__(self):
        if self._lock != NULL:
            PyThread_free_lock(self._lock)

    # --- locking: the GIL is never held while waiting --------------------------------------------

    cdef inline void _enter(self) noexcept:
        if not PyThread_acquire_lock(self._lock, NOWAIT_LOCK):
            with nogil:
                PyThread_acquire_lock(self._lock, WAIT_LOCK)

    cdef inline void _leave(self) noexcept nogil:
        PyThread_release_lock(self._lock)

    # --- state and copies (call with the lock held) ----------------------------------------------

    cdef inline Py_ssize_t _held(self) noexcept nogil:
        cdef long long since_clear = self._total - self._cleared_at
        return <Py_ssize_t>since_clear if since_clear < self.capacity else self.capacity

    cdef void _copy_in(self, const float* source, Py_ssize_t n) noexcept nogil:
        """Store the newest ``min(n, capacity)`` of ``n`` samples; ``total`` advances by ``n``."""
        cdef Py_ssize_t skipped = n - self.capacity if n > self.capacity else 0
        cdef Py_ssize_t kept = n - skipped
        cdef Py_ssize_t position = (self._total + skipped) % self.capacity
        cdef Py_ssize_t first_part = min(kept, self.capacity - position)
        if kept > 0:
            memcpy(&self._storage[position], source + skipped, first_part * sizeof(float))
        if kept > first_part:
            memcpy(&self._storage[0], source + skipped + first_part,
                   (kept - first_part) * sizeof(float))
        self._total += n

    cdef void _copy_out(self, long long start, Py_ssize_t count, float* target) noexcept nogil:
        """Copy samples ``start:start+count`` (absolute numbers, all still held) to ``target``."""
        cdef Py_ssize_t position = start % self.capacity
        cdef Py_ssize_t first_part = min(count, self.capacity - position)
        if count > 0:
            memcpy(target, &self._storage[position], first_part * sizeof(float))
        if count > first_part:
            memcpy(target + first_part, &self._storage[0], (count - first_part) * sizeof(float))

    cdef void _sanitize_in(self, const char* frames_data, int code, Py_ssize_t frames,
                           Py_ssize_t channels, Py_ssize_t itemsize, float limit,
                           repair_counts* counts) noexcept nogil:
        """Sanitize C-contiguous ``frames x channels`` samples into the storage, wrapping (an
        oversize block leaves its newest ``capacity`` frames; every frame is counted)."""
        cdef Py_ssize_t done = 0
        cdef Py_ssize_t position = self._total % self.capacity
        cdef Py_ssize_t part
        while done < frames:
            part = min(frames - done, self.capacity - position)
            contiguous_mono(frames_data + done * channels * itemsize, code, part, channels,
                            &self._storage[position], True, limit, counts)
            done += part
            position = 0
        self._total += frames

    cdef inline long long _oldest(self) noexcept nogil:
        return self._total - self._held()

    # --- properties ------------------------------------------------------------------------------

    @property
    def total(self):
        """Samples ever written (monotonic)."""
        self._enter()
        cdef long long total = self._total
        self._leave()
        return total

    @property
    def size(self):
        """Samples held now (at most ``capacity``)."""
        self._enter()
        cdef Py_ssize_t held = self._held()
        self._leave()
        return held

    def __len__(self):
        return self.size

    def __repr__(self):
        return f"RingBuffer(capacity={self.capacity}, size={self.size}, total={self.total})"

    # --- writer ----------------------------------------------------------------------------------

    def write(self, block):
        """Append a 1-D float32 block (an oversize block keeps its newest ``capacity``)."""
        cdef Py_buffer source
        if type(block) is not _ndarray and not isinstance(block, _ndarray):
            self._refuse(block)
        try:
            PyObject_GetBuffer(block, &source, PyBUF_STRIDES | PyBUF_FORMAT)
        except (ValueError, TypeError, BufferError):  # dtypes with no buffer format
            self._refuse(block)
        cdef bint float32_1d = (source.ndim == 1 and source.itemsize == 4 and
                                source.format != NULL and source.format[0] == b"f" and
                                source.format[1] == 0)
        cdef bint contiguous = float32_1d and buffer_is_c_contiguous(&source)
        cdef Py_ssize_t n = source.shape[0] if float32_1d else 0
        try:
            if contiguous and n >= _NOGIL_MIN:
                with nogil:
                    PyThread_acquire_lock(self._lock, WAIT_LOCK)
                    self._copy_in(<const float*>source.buf, n)
                    self._leave()
            elif contiguous and n > 0:
                self._enter()
                self._copy_in(<const float*>source.buf, n)
                self._leave()
        finally:
            PyBuffer_Release(&source)
        if not float32_1d:
            self._refuse(block)
        if not contiguous:
            self.write(np.ascontiguousarray(block))

    cdef _refuse(self, block):
        shape = getattr(block, "shape", None)
        dtype = getattr(block, "dtype", type(block).__name__)
        raise ValueError(
            f"RingBuffer.write: expected a 1-D float32 array, got {dtype} shape {shape} "
            "(use write_sanitized for raw audio)"
        )

    def write_sanitized(self, raw, limit):
        """``sanitize(raw, limit)`` straight into the ring's storage; returns its counts."""
        cdef float lim = check_limit(limit, "RingBuffer.write_sanitized")
        cdef int code
        x, code = check_samples(raw, "RingBuffer.write_sanitized", 1, 2)
        cdef repair_counts counts = repair_counts(0, 0, 0, 0)
        cdef Py_buffer source
        cdef Py_ssize_t frames, channels
        PyObject_GetBuffer(x, &source, PyBUF_STRIDES)
        if not buffer_is_c_contiguous(&source):  # strided or Fortran order: a compact copy
            PyBuffer_Release(&source)
            x = np.ascontiguousarray(x)
            PyObject_GetBuffer(x, &source, PyBUF_STRIDES)
        try:
            frames = source.shape[0]
            channels = source.shape[1] if source.ndim == 2 else 1
            if frames * channels >= _NOGIL_MIN:
                with nogil:
                    PyThread_acquire_lock(self._lock, WAIT_LOCK)
                    self._sanitize_in(<const char*>source.buf, code, frames, channels,
                                      source.itemsize, lim, &counts)
                    self._leave()
            else:
                self._enter()
                self._sanitize_in(<const char*>source.buf, code, frames, channels,
                                  source.itemsize, lim, &counts)
                self._leave()
        finally:
            PyBuffer_Release(&source)
        if counts.nan == 0 and counts.posinf == 0 and counts.neginf == 0 and counts.clipped == 0:
            return CLEAN
        return tuple.__new__(RepairCounts, (counts.nan, counts.posinf, counts.neginf, counts.clipped))

    def clear(self):
        """Forget the content in O(1); ``total`` keeps counting."""
        self._enter()
        self._cleared_at = self._total
        self._leave()

    # --- readers ---------------------------------------------------------------------------------

    cdef object _target(self, object out, Py_ssize_t required, str method):
        """``out`` checked: a writable C-contiguous 1-D float32 array of at least ``required``."""
        if not isinstance(out, _ndarray) or out.dtype != _float32 or out.ndim != 1:
            raise ValueError(f"RingBuffer.{method}: out must be a 1-D float32 ndarray")
        if out.shape[0] < required:
            raise ValueError(
                f"RingBuffer.{method}: out holds {out.shape[0]} samples, needs at least {required}"
            )
        flags = out.flags
        if not flags.c_contiguous or not flags.writeable:
            raise ValueError(f"RingBuffer.{method}: out must be C-contiguous and writeable")
        return out

    cdef Py_ssize_t _read(self, bint newest, long long start, Py_ssize_t wanted, float[::1] target,
                          long long* end) noexcept:
        """Copy held samples to ``target`` under the lock: the newest ``min(wanted, held)``
        (``newest``), or all from absolute position ``start`` on (clamped to what is held).
        Returns the count, or ``-count`` without copying when ``target`` is too short for it;
        ``end`` receives the position just after the last sample."""
        cdef Py_ssize_t count
        cdef float* first = &target[0]
        cdef Py_ssize_t room = target.shape[0]
        if room >= _NOGIL_MIN:
            with nogil:
                PyThread_acquire_lock(self._lock, WAIT_LOCK)
                count = self._read_locked(newest, start, wanted, room, first, end)
                self._leave()
        else:
            self._enter()
            count = self._read_locked(newest, start, wanted, room, first, end)
            self._leave()
        return count

    cdef Py_ssize_t _read_locked(self, bint newest, long long start, Py_ssize_t wanted,
                                 Py_ssize_t room, float* target, long long* end) noexcept nogil:
        cdef long long oldest = self._oldest()
        cdef Py_ssize_t count
        if newest:
            count = min(wanted, self._held())
            start = self._total - count
        else:
            start = min(max(start, oldest), self._total)
            count = <Py_ssize_t>(self._total - start)
        if count > room:
            return -count
        self._copy_out(start, count, target)
        end[0] = start + count
        return count

    cdef tuple _read_new(self, bint newest, long long start, Py_ssize_t wanted, Py_ssize_t guess):
        """Read into a new array sized ``guess`` (a look taken before the lock), once more into
        a full-capacity one if the writer added samples in between."""
        cdef long long end
        target = _empty(guess, _float32)
        cdef Py_ssize_t count = self._read(newest, start, wanted, target, &end)
        if count < 0:
            target = _empty(self.capacity, _float32)
            count = self._read(newest, start, wanted, target, &end)
        return (target if count == target.shape[0] else target[:count]), end

    cdef inline void _peek(self, long long* total, long long* oldest) noexcept:
        self._enter()
        total[0] = self._total
        oldest[0] = self._oldest()
        self._leave()

    def latest(self, n, out=None):
        """The newest ``min(n, size)`` samples, oldest first."""
        cdef Py_ssize_t wanted = check_count(n, "n", "RingBuffer.latest", 0)
        if wanted > self.capacity:
            wanted = self.capacity
        cdef long long total, oldest, end
        if out is None:
            self._peek(&total, &oldest)
            return self._read_new(True, 0, wanted, min(wanted, <Py_ssize_t>(total - oldest)))[0]
        target = self._target(out, wanted, "latest")
        cdef Py_ssize_t count = self._read(True, 0, wanted, target, &end)
        return target if count == target.shape[0] else target[:count]

    def since(self, total, out=None):
        """``(samples from position total on, position after them)``; a lagging reader gets the
        oldest samples still held."""
        cdef long long start = check_count(total, "total", "RingBuffer.since", 0)
        cdef long long now, oldest, end
        if out is None:
            self._peek(&now, &oldest)
            return self._read_new(False, start, 0, <Py_ssize_t>(now - min(max(start, oldest), now)))
        target = self._target(out, self.capacity, "since")
        cdef Py_ssize_t count = self._read(False, start, 0, target, &end)
        return (target if count == target.shape[0] else target[:count]), end

    def snapshot(self, out=None):
        """Everything held, oldest first."""
        cdef long long total, oldest, end
        if out is None:
            self._peek(&total, &oldest)
            return self._read_new(True, 0, self.capacity, <Py_ssize_t>(total - oldest))[0]
        target = self._target(out, self.capacity, "snapshot")
        cdef Py_ssize_t count = self._read(True, 0, self.capacity, target, &end)
        return target if count == target.shape[0] else target[:count]

