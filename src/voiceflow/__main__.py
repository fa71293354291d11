"""``python -m voiceflow``: the ``voiceflow`` command line."""

import sys

from voiceflow.cli.main import main

sys.exit(main())
