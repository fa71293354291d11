"""Benchmarks that measure voiceflow side by side with its peers (``voiceflow bench ...``)."""
