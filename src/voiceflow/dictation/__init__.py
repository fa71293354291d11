"""Dictation sessions: what ``voiceflow dictate`` runs on top of capture and ASR."""
