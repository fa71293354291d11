"""Desktop-dictation benchmark: key-up -> text in the window, XTest typing time, idle CPU.

    python benches/bench_dictate.py [--quick] [--clips N]

Runs the real ``voiceflow dictate --hotkey F9 --type`` against a private X server (Xvfb) and
the private PulseAudio device of the tests (``tests/_pulse.py``), with corpus clips played into
the device while the bench holds F9 (XTest from this process).  The "window" is an X client of
this process that counts the key events it receives: the text is complete in the window when
it has received one key press per typed character.  Prints markdown tables:

1. key-up -> text printed on dictate's stdout (read by this process) vs key-up -> text complete
   in the window, per utterance (median, p90; the difference is what typing adds), and the WER
   of the printed texts -- for ``dictate`` (each utterance streamed while it is recorded; the
   stream's text at release for utterances over ``session.STREAMED_FINAL_S``) and ``dictate
   --no-live`` (no streaming; every utterance transcribed at release), one after the other in
   the same run, on the same clips.  Both include the 0.25 s
   recording tail after the release.
2. ``XTestKeyboard.type`` for 20 / 200 / 2000 characters (ASCII, and text that needs remapped
   spare keys): the call, and until the window has received the last key.
3. CPU of the idle ``dictate --hotkey`` process (hotkey armed, input stream open), psutil.

Needs Xvfb, python-xlib, PulseAudio tools and the corpus (``../shared/corpus`` or
``$VOICEFLOW_CORPUS``).
"""

from __future__ import annotations

import argparse
import os
import select
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests import _pulse  # noqa: E402
from tests.dictation import _desktop  # noqa: E402

CLIP_NAMES = (
    "pocketsphinx_goforward", "speechbrain_example2", "pocketsphinx_cards-005", "speechbrain_spk2-snt2",
    "pocketsphinx_cards-002", "speechbrain_spk1-snt1", "speechbrain_spk1-snt5", "coquitts_LJ001-0008",
    "speechbrain_example1", "pocketsphinx_librivox-0880", "speechbrain_spk2-snt4", "coquitts_LJ001-0002",
)


def corpus_dir() -> Path | None:
    path = Path(os.environ.get("VOICEFLOW_CORPUS", ROOT.parent / "shared" / "corpus"))
    return path if (path / "clips").is_dir() else None


class Watcher:
    """An X window of this process that receives the typed keys and counts them (own thread)."""

    def __init__(self, display_name: str) -> None:
        from Xlib import X, XK, display

        self.display = display.Display(display_name)
        screen = self.display.screen()
        self.window = screen.root.create_window(0, 0, 400, 100, 0, screen.root_depth,
                                                event_mask=X.KeyPressMask | X.KeyReleaseMask)
        self.window.map()
        self.display.sync()
        self.modifiers = {self.display.keysym_to_keycode(XK.string_to_keysym(n))
                          for n in ("Shift_L", "Shift_R", "Control_L", "Control_R")}
        self.presses: list[float] = []
        self._stop = False
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def focus(self) -> None:
        from Xlib import X

        self.window.set_input_focus(X.RevertToParent, X.CurrentTime)
        self.display.sync()

    def _run(self) -> None:
        from Xlib import X

        d = self.display
        while not self._stop:
            if not d.pending_events() and not select.select([d.fileno()], [], [], 0.2)[0]:
                continue
            while d.pending_events():
                event = d.next_event()
                if event.type == X.KeyPress and event.detail not in self.modifiers:
                    self.presses.append(time.perf_counter())

    def wait_count(self, count: int, timeout: float = 30.0) -> float:
        """The time the ``count``-th key press arrived."""
        deadline = time.monotonic() + timeout
        while len(self.presses) < count:
            if time.monotonic() > deadline:
                raise TimeoutError(f"window got {len(self.presses)} of {count} keys")
            time.sleep(0.0005)
        return self.presses[count - 1]

    def close(self) -> None:
        self._stop = True
        self._thread.join()
        self.display.close()


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    k = (len(ordered) - 1) * q
    lo = int(k)
    hi = min(lo + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (k - lo)


def bench_typing(xserver: _desktop.XServer, watcher: Watcher, repeats: int) -> list[str]:
    from voiceflow.dictation.keyboard import XTestKeyboard

    os.environ["DISPLAY"] = xserver.display
    rows = ["| text | characters | `type()` median (ms) | until the window has every key, median (ms) | µs per character |",
            "|---|---:|---:|---:|---:|"]
    samples = {"ASCII": "The quick brown fox jumps over the lazy dog, 1234567890! ",
               "Unicode (spare keys remapped)": "Grüße, “voilà” — naïve café ½ "}
    with XTestKeyboard() as keyboard:
        watcher.focus()
        for label, pattern in samples.items():
            for n in (20, 200, 2000):
                text = (pattern * (n // len(pattern) + 1))[:n]
                calls, complete = [], []
                for _ in range(repeats):
                    watcher.presses.clear()
                    t0 = time.perf_counter()
                    keyboard.type(text)
                    calls.append(time.perf_counter() - t0)
                    complete.append(watcher.wait_count(n) - t0)
                    time.sleep(0.05)
                med = statistics.median(complete)
                rows.append(f"| {label} | {n} | {statistics.median(calls) * 1e3:.2f} | {med * 1e3:.2f} | "
                            f"{med / n * 1e6:.1f} |")
    return rows


def bench_latency(xserver, pulse, corpus: Path, watcher: Watcher, names: list[str], options: list[str]
                  ) -> tuple[dict, int]:
    """One ``dictate`` process (``options`` added): per utterance, key-up -> stdout and -> window
    (s), and the printed texts."""
    from Xlib import X, XK, display
    from Xlib.ext import xtest

    env = {**pulse.env, **xserver.env}
    command = [sys.executable, "-m", "voiceflow", "dictate", "--device", _pulse.INPUT_DEVICE,
               "--hotkey", "F9", "--type", *options]
    proc = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
    printed: list[tuple[float, str]] = []
    errors: list[str] = []

    def read_out():
        for raw in proc.stdout:
            printed.append((time.perf_counter(), raw.decode().rstrip("\n")))

    def read_err():
        for raw in proc.stderr:
            errors.append(raw.decode().rstrip("\n"))

    for target in (read_out, read_err):
        threading.Thread(target=target, daemon=True).start()
    deadline = time.monotonic() + 120
    while not any("hold F9" in line for line in errors):
        if proc.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError("dictate did not start:\n" + "\n".join(errors))
        time.sleep(0.05)
    time.sleep(0.5)
    keys = display.Display(xserver.display)
    f9 = keys.keysym_to_keycode(XK.string_to_keysym("F9"))
    watcher.focus()
    to_stdout, to_window, extra, texts = [], [], [], []
    typed_so_far = 0
    for name in names:
        watcher.presses.clear()
        xtest.fake_input(keys, X.KeyPress, f9)
        keys.sync()
        time.sleep(0.3)
        pulse.play(corpus / "clips" / f"{name}.wav")
        before = len(printed)
        xtest.fake_input(keys, X.KeyRelease, f9)
        keys.sync()
        up = time.perf_counter()
        while len(printed) == before:
            if time.perf_counter() - up > 30:
                raise RuntimeError("no text:\n" + "\n".join(errors[-5:]))
            time.sleep(0.0005)
        out_at, text = printed[-1]
        count = len(text) + (1 if typed_so_far else 0)  # the joining space
        typed_so_far += count
        in_window = watcher.wait_count(count)
        texts.append(text)
        to_stdout.append(out_at - up)
        to_window.append(in_window - up)
        extra.append(in_window - out_at)
        time.sleep(0.3)
    keys.close()
    proc.send_signal(2)
    proc.wait(30)
    return dict(stdout=to_stdout, window=to_window, extra=extra, texts=texts), proc.returncode


def latency_rows(runs: dict[str, dict], references: list[str]) -> list[str]:
    """Markdown rows: per ``dictate`` variant, the key-up times (median, p90, ms) and the WER."""
    from voiceflow.bench.asr import corpus_wer

    rows = ["| dictate | utterances | key-up → stdout, median (ms) | p90 (ms) | key-up → window, median (ms) | "
            "p90 (ms) | window − stdout, median (ms) | WER % |", "|---|---:|---:|---:|---:|---:|---:|---:|"]
    for label, run in runs.items():
        rows.append(
            f"| {label} | {len(run['stdout'])} | {statistics.median(run['stdout']) * 1e3:.0f} | "
            f"{percentile(run['stdout'], 0.9) * 1e3:.0f} | {statistics.median(run['window']) * 1e3:.0f} | "
            f"{percentile(run['window'], 0.9) * 1e3:.0f} | {statistics.median(run['extra']) * 1e3:.1f} | "
            f"{corpus_wer(references, run['texts']) * 100:.2f} |")
    return rows


def bench_idle_cpu(xserver, pulse, seconds: float) -> list[str]:
    import psutil

    env = {**pulse.env, **xserver.env}
    command = [sys.executable, "-m", "voiceflow", "dictate", "--device", _pulse.INPUT_DEVICE, "--hotkey", "F9", "--type"]
    proc = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env)
    seen = b""
    while b"hold F9" not in seen:
        chunk = proc.stderr.read1(4096)
        if not chunk:
            raise RuntimeError("dictate did not start: " + seen.decode(errors="replace"))
        seen += chunk
    time.sleep(2.0)  # model warm-up threads settle
    p = psutil.Process(proc.pid)
    before = p.cpu_times()
    t0 = time.perf_counter()
    time.sleep(seconds)
    after = p.cpu_times()
    wall = time.perf_counter() - t0
    used = (after.user - before.user) + (after.system - before.system)
    threads = p.num_threads()
    proc.send_signal(2)
    proc.wait(30)
    return ["| process | window (s) | CPU (% of one core) | threads |", "|---|---:|---:|---:|",
            f"| `voiceflow dictate --hotkey F9 --type`, idle (hotkey armed, input stream open) | {wall:.0f} | "
            f"{100 * used / wall:.2f} | {threads} |"]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="fewer clips, repeats and a shorter idle window")
    parser.add_argument("--clips", type=int, default=None, help="utterances for the latency table (default 12, quick 4; more: the corpus's other clips <= 12 s)")
    args = parser.parse_args(argv)
    corpus = corpus_dir()
    reason = _desktop.missing_requirements() or _pulse.missing_requirements()
    if corpus is None or reason:
        print(f"cannot run: {reason or 'speech corpus not found'}", file=sys.stderr)
        return 1
    n = args.clips or (4 if args.quick else len(CLIP_NAMES))
    from voiceflow.bench.asr import SHORT_S, find_clips, wav_seconds

    pool = list(CLIP_NAMES) + [  # then the corpus's other short clips
        name for name, path, _ in find_clips(corpus / "clips") if name not in CLIP_NAMES and wav_seconds(path) <= SHORT_S]
    names = [pool[i % len(pool)] for i in range(n)]
    xserver = _desktop.XServer().start()
    pulse = _pulse.shared_server()
    watcher = Watcher(xserver.display)
    try:
        print("## XTest typing time\n")
        print("\n".join(bench_typing(xserver, watcher, 3 if args.quick else 9)), "\n", flush=True)
        print("## Key-up to text\n")
        reference = {name: ref for name, _, ref in find_clips(corpus / "clips")}
        runs = {}
        for label, options in (("streaming while recording (default)", []), ("--no-live", ["--no-live"])):
            runs[label], _ = bench_latency(xserver, pulse, corpus, watcher, names, options)
        print("\n".join(latency_rows(runs, [reference[name] for name in names])), "\n", flush=True)
        print("## Idle CPU\n")
        print("\n".join(bench_idle_cpu(xserver, pulse, 10.0 if args.quick else 30.0)), flush=True)
    finally:
        watcher.close()
        xserver.stop()
        pulse.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
