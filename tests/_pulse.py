"""Capture-test support: a private PulseAudio server with a null sink as a real input device.

``PulseServer.start()`` runs ``pulseaudio`` in user mode inside a temporary HOME / runtime dir
(it also works as root: the daemon warns but serves), loads ``module-native-protocol-unix`` and
``module-null-sink sink_name=vf_sink`` (16 kHz mono s16le, so a 16 kHz int16 clip passes through
bit-exact), makes ``vf_sink.monitor`` the default source and keeps one low-latency ``parec``
reader attached (without it the null sink renders in 2 s blocks).  ``PULSE_SERVER`` is exported
into this process so that PortAudio's ALSA ``pulse`` device (libasound2-plugins) reaches it, and
PortAudio re-scans its devices.  ``play(path)`` plays a file into the sink with ``paplay``.

Tests get the one shared server from :func:`shared_server` (started once per process, stopped at
exit) and skip with the reason from :func:`missing_requirements` when the tools are absent.
"""

from __future__ import annotations

import atexit
import ctypes.util
import os
import shutil
import subprocess
import tempfile
import time
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import numpy as np

SINK = "vf_sink"
SINK_RATE = 16000
INPUT_DEVICE = "pulse"  # ALSA's pulse PCM, as PortAudio lists it


def missing_requirements() -> str | None:
    """Why a PulseAudio-backed capture test cannot run here, or None when it can."""
    for tool in ("pulseaudio", "pactl", "paplay", "parec"):
        if shutil.which(tool) is None:
            return f"{tool} not found (apt-get install pulseaudio pulseaudio-utils)"
    if ctypes.util.find_library("portaudio") is None:
        return "libportaudio not found (apt-get install libportaudio2)"
    try:
        import sounddevice  # noqa: F401
    except OSError as exc:  # pragma: no cover - depends on the system
        return f"sounddevice cannot load PortAudio: {exc}"
    plugin_dirs = [Path("/usr/lib") / d / "alsa-lib" for d in os.listdir("/usr/lib") if "linux" in d]
    plugin_dirs.append(Path("/usr/lib/alsa-lib"))
    if not any((d / "libasound_module_pcm_pulse.so").exists() for d in plugin_dirs):
        return "ALSA pulse plugin not found (apt-get install libasound2-plugins)"
    return None


class PulseServer:
    """One private ``pulseaudio`` process with a null sink; see the module docstring."""

    def __init__(self) -> None:
        self.root: Path | None = None
        self.env: dict[str, str] = {}
        self._daemon: subprocess.Popen | None = None
        self._reader: subprocess.Popen | None = None
        self._saved_env: dict[str, str | None] = {}
        self._daemon_rc: int | None = None

    # --- lifecycle -----------------------------------------------------------------------
    def start(self, timeout: float = 15.0) -> "PulseServer":
        self.root = Path(tempfile.mkdtemp(prefix="vf-pulse-"))
        home, runtime = self.root / "home", self.root / "run"
        home.mkdir()
        runtime.mkdir(mode=0o700)
        socket = runtime / "native"
        script = self.root / "default.pa"
        script.write_text(
            f"load-module module-native-protocol-unix auth-anonymous=1 socket={socket}\n"
            f"load-module module-null-sink sink_name={SINK} rate={SINK_RATE} channels=1 format=s16le\n"
            f"set-default-sink {SINK}\n"
            f"set-default-source {SINK}.monitor\n"
        )
        # For clients started with self.env (HOME above): ALSA's default PCM is this server.
        (home / ".asoundrc").write_text("pcm.!default { type pulse }\nctl.!default { type pulse }\n")
        self.env = {
            **os.environ,
            "HOME": str(home),
            "XDG_RUNTIME_DIR": str(runtime),
            "PULSE_RUNTIME_PATH": str(runtime / "pulse"),
            "PULSE_SERVER": f"unix:{socket}",
        }
        log = open(self.root / "pulseaudio.log", "wb")
        self._daemon = subprocess.Popen(
            [
                "pulseaudio", "-n", "-F", str(script), "--daemonize=no", "--exit-idle-time=-1",
                "--use-pid-file=no", "--disallow-exit", "--resample-method=soxr-vhq",
                "--log-target=stderr", "--log-level=warning",
            ],
            env=self.env, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
        )
        log.close()
        deadline = time.monotonic() + timeout
        while True:
            if self._daemon.poll() is not None:
                text = (self.root / "pulseaudio.log").read_text(errors="replace")
                self.stop()
                raise RuntimeError(f"pulseaudio exited with {self._daemon_rc}:\n{text}")
            ok = subprocess.run(["pactl", "info"], env=self.env, capture_output=True).returncode == 0
            if ok:
                break
            if time.monotonic() > deadline:
                self.stop()
                raise RuntimeError("pulseaudio did not come up within %.0f s" % timeout)
            time.sleep(0.05)
        self._reader = subprocess.Popen(
            ["parec", "--latency-msec=10", "-d", f"{SINK}.monitor"],
            env=self.env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            stdin=subprocess.DEVNULL,
        )
        self._export_to_this_process()
        self._wait_until_streaming(deadline + 10.0)
        return self

    def _wait_until_streaming(self, deadline: float) -> None:
        """Block until a capture stream gets audio without delay.

        A fresh null sink renders in 2 s blocks for its first seconds, so the first stream
        opened on it stalls; probe with short streams until one runs on time."""
        import sounddevice as sd

        frames = [0]

        def count(indata, n, time_info, status):
            frames[0] += n

        while True:
            frames[0] = 0
            with sd.InputStream(device=INPUT_DEVICE, samplerate=SINK_RATE, channels=1,
                                dtype="float32", blocksize=512, callback=count):
                time.sleep(0.3)
            if frames[0] >= 0.15 * SINK_RATE:
                return
            if time.monotonic() > deadline:
                self.stop()
                raise RuntimeError("the PulseAudio monitor source delivers no audio")

    def stop(self) -> None:
        for proc in (self._reader, self._daemon):
            if proc is not None:
                terminate(proc)
        if self._daemon is not None:
            self._daemon_rc = self._daemon.returncode
        self._reader = self._daemon = None
        for key, value in self._saved_env.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        self._saved_env = {}
        if self.root is not None:
            shutil.rmtree(self.root, ignore_errors=True)
            self.root = None

    def _export_to_this_process(self) -> None:
        self._saved_env = {"PULSE_SERVER": os.environ.get("PULSE_SERVER")}
        os.environ["PULSE_SERVER"] = self.env["PULSE_SERVER"]
        import sounddevice as sd

        sd._terminate()  # re-scan: PortAudio may have been initialised before the server existed
        sd._initialize()

    # --- playback ------------------------------------------------------------------------
    def play(self, path: str | os.PathLike, *, wait: bool = True) -> subprocess.Popen:
        """Play an audio file into the null sink; block until it has played out when ``wait``."""
        proc = subprocess.Popen(
            ["paplay", f"--device={SINK}", str(path)], env=self.env,
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL,
        )
        if wait:
            self.wait(proc)
        return proc

    @staticmethod
    def wait(proc: subprocess.Popen, timeout: float = 120.0) -> None:
        _, err = proc.communicate(timeout=timeout)
        if proc.returncode != 0:
            raise RuntimeError(f"paplay failed ({proc.returncode}): {err.decode(errors='replace')}")


_shared: PulseServer | None = None
_shared_error: str | None = None


def shared_server() -> PulseServer:
    """The process-wide server (started on first use, stopped at exit); raises when unavailable."""
    global _shared, _shared_error
    if _shared_error is not None:
        raise RuntimeError(_shared_error)
    if _shared is None:
        reason = missing_requirements()
        if reason is not None:
            _shared_error = reason
            raise RuntimeError(reason)
        try:
            _shared = PulseServer().start()
        except Exception as exc:
            _shared_error = f"could not start a private PulseAudio server: {exc}"
            raise RuntimeError(_shared_error) from exc
        atexit.register(_shared.stop)
    return _shared


# --- audio helpers for the capture tests ---------------------------------------------------------
def load_clip(path: str | os.PathLike) -> "np.ndarray":
    """A corpus clip as the float32 16 kHz mono samples the capture is compared with."""
    from voiceflow.audio.file import read_audio

    return read_audio(path)


def align(captured: "np.ndarray", reference: "np.ndarray", upsample: int = 1) -> tuple[int, float]:
    """``(lag, corr)``: ``captured[lag + k]`` lines up with ``reference[k]`` (lag < 0: the capture
    starts ``-lag`` samples into the reference); ``corr`` is the Pearson correlation of the
    overlapping parts.  ``upsample > 1`` aligns both at that multiple of the rate, for captures
    that went through a resampler and may be shifted by a fraction of a sample."""
    import numpy as np

    if upsample > 1:
        import soxr

        lag, corr = align(soxr.resample(captured, 1, upsample, "VHQ"),
                          soxr.resample(reference, 1, upsample, "VHQ"))
        return int(round(lag / upsample)), corr

    n = 1 << int(np.ceil(np.log2(len(captured) + len(reference))))
    spectrum = np.fft.rfft(captured, n) * np.conj(np.fft.rfft(reference, n))
    lag = int(np.argmax(np.fft.irfft(spectrum, n)))
    if lag >= n - len(reference):
        lag -= n
    x = captured[max(lag, 0):]
    r = reference[max(-lag, 0):]
    m = min(len(x), len(r))
    if m < 2:
        return lag, 0.0
    return lag, float(np.corrcoef(x[:m], r[:m])[0, 1])


def server_or_skip() -> PulseServer:
    """The shared server for a test fixture: skips when the tools are missing, fails in CI when
    they are installed but the server does not come up."""
    import pytest

    try:
        return shared_server()
    except RuntimeError as exc:
        if os.environ.get("CI") and missing_requirements() is None:
            pytest.fail(f"PulseAudio tools are installed but the test server failed: {exc}")
        pytest.skip(str(exc))


_transcriber = None


def transcriber_or_skip():
    """One real ``voiceflow.Transcriber`` shared by the capture tests (skips when unavailable)."""
    global _transcriber
    import pytest

    if _transcriber is None:
        try:
            from voiceflow.asr.transcriber import Transcriber
        except ImportError as exc:
            pytest.skip(f"voiceflow.asr.transcriber unavailable: {exc}")
        _transcriber = Transcriber()
        atexit.register(_transcriber.close)
    return _transcriber


def terminate(proc: subprocess.Popen) -> None:
    """End ``proc`` if it still runs: SIGTERM, then SIGKILL after 5 s."""
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
