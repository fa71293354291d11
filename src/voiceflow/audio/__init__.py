"""Audio in: the drop-in guard, the pre-roll ring buffer, the validator, and file reading.

Modules: :mod:`~voiceflow.audio.guard` (``audio_validation_guard``),
:mod:`~voiceflow.audio.ring` (``BoundedRingBuffer``), :mod:`~voiceflow.audio.validator`
(``SmartAudioValidator``) and :mod:`~voiceflow.audio.file` (read any file, resample to 16 kHz).
"""
