"""Streaming transcription benchmark: release-to-text of ``TranscriptStream.finish()`` against
one-shot ``transcribe()`` and plain faster-whisper, clips fed at real-time pace.

    python benches/bench_stream.py [--corpus ../shared/corpus/clips] [--limit 4] [--modes balanced]

Same as ``voiceflow bench stream``; see ``voiceflow.bench.stream`` for what is measured and how.
"""

import sys

from voiceflow.bench.stream import main

if __name__ == "__main__":
    sys.exit(main())
