"""ASR latency / WER benchmark: plain faster-whisper vs voiceflow's modes, one markdown table.

    python benches/bench_asr.py [--corpus ../shared/corpus/clips] [--configs plain,balanced]

Same as ``voiceflow bench asr``, except that the results go to the checkout's ``docs/`` unless
``--out`` says otherwise; see ``voiceflow.bench.asr`` for what is measured and how.
"""

import sys

from voiceflow.bench.asr import main

if __name__ == "__main__":
    sys.exit(main())
