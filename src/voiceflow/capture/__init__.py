"""Live audio capture: the push-to-talk :class:`~voiceflow.capture.recorder.Recorder` and the
PortAudio input devices it opens (:mod:`~voiceflow.capture.devices`)."""
