"""Long-file ASR benchmark: voiceflow's modes vs faster-whisper long-form and batched pipeline.

    python benches/bench_long.py [--corpus ../shared/corpus/clips] [--orders 3] [--configs plain,speed]

Same as ``voiceflow bench asr --long``; see ``voiceflow.bench.long`` for what is measured and how.
"""

import sys

from voiceflow.bench.long import main

if __name__ == "__main__":
    sys.exit(main())
