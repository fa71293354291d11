"""Speech to text: the :class:`~voiceflow.asr.transcriber.Transcriber` and what it uses.

Modules: ``transcriber`` (the public engine), ``pipeline`` (transcribe while the next utterance
records), ``models`` (where a model is found), and the decoding rules behind them: ``features``
(log-mel), ``chunking`` (VAD and chunk boundaries), ``decode`` (one window), ``context`` (which
window, and when to fall back) and ``text`` (loop and compression guards).
"""
