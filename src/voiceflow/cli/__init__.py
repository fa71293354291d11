"""The ``voiceflow`` command line: the entry point and parser in :mod:`voiceflow.cli.main`, one
module per subcommand beside it (``transcribe``, ``dictate``, ``devices``, ``demo``, ``bench``)."""
