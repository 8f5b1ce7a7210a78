"""Ctrl-C (SIGINT) and ``kill`` (SIGTERM) during long work: the run stops cleanly and says what it kept.

No test here depends on the machine's speed. Each waits for an event (a checkpoint folder,
a progress bar on stderr, the process's exit), and each timeout is only a safety net, many
times what the step takes on a slow, loaded machine.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from medai_lessons import interrupts

# Signal handlers can be set only in the main thread (where pytest and pytest-xdist run tests).
pytestmark = pytest.mark.skipif(threading.current_thread() is not threading.main_thread(),
                                reason="signal handlers need the main thread")

#: safety nets, not expectations: a stopped run exits within a few seconds even on a slow, loaded machine
START_NET_S = 600
EXIT_NET_S = 300
TINY_DDPM = ["--batch-size", "32", "--channels", "8,8", "--time-dim", "8", "--warmup-steps", "1",
             "--num-train-timesteps", "20", "--cpu", "--no-progress"]


# -- the mechanism, in this process ------------------------------------------------------
def test_a_signal_in_a_loop_is_acted_on_at_the_next_check():
    """Inside ``stop_at_step_boundaries`` a signal only sets a flag; ``check()`` raises it."""
    with pytest.raises(interrupts.StopRequested) as stopped, interrupts.stop_at_step_boundaries():
        os.kill(os.getpid(), signal.SIGTERM)
        reached = True  # the signal did not interrupt this line
        interrupts.check()
        reached = False
    assert reached and stopped.value.signum == signal.SIGTERM
    assert interrupts.exit_status() == 128 + signal.SIGTERM == 143


def test_a_second_signal_stops_at_once():
    """A reader who presses Ctrl-C twice does not wait for the step to end."""
    with pytest.raises(interrupts.StopRequested) as stopped, interrupts.stop_at_step_boundaries():
        os.kill(os.getpid(), signal.SIGINT)
        os.kill(os.getpid(), signal.SIGINT)
        pytest.fail("the second signal should have raised")
    assert stopped.value.signum == signal.SIGINT and interrupts.exit_status() == 130


def test_a_signal_after_the_last_check_still_stops_the_run():
    """A stop asked for after the last step is raised when the loop's block ends, not forgotten."""
    with pytest.raises(interrupts.StopRequested), interrupts.stop_at_step_boundaries():
        interrupts.check()
        os.kill(os.getpid(), signal.SIGINT)


def test_handlers_are_restored_and_sigterm_interrupts_a_command():
    """Outside the blocks the previous handlers are back; inside a command SIGTERM raises at once."""
    before = {s: signal.getsignal(s) for s in interrupts.STOP_SIGNALS}
    with pytest.raises(KeyboardInterrupt), interrupts.stop_signals_interrupt():
        os.kill(os.getpid(), signal.SIGTERM)
        time.sleep(5)  # never reached in full: the handler raises on the next bytecode
    with interrupts.stop_at_step_boundaries():
        pass
    assert {s: signal.getsignal(s) for s in interrupts.STOP_SIGNALS} == before
    interrupts.check()  # nothing noted: returns


# -- real commands in a child process -----------------------------------------------------
def _cli(*args: str) -> list[str]:
    return [sys.executable, "-m", "medai_lessons.cli", *args]


def _stop_when(cmd: list[str], ready: Callable[[subprocess.Popen, list[bytes]], bool],
               signum: int) -> tuple[int, str]:
    """Start ``cmd``, wait until ``ready`` (reading stderr meanwhile), send ``signum``, return the
    exit status and all of stderr."""
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                            env={**os.environ, "PYTHONUNBUFFERED": "1"})
    seen: list[bytes] = []
    os.set_blocking(proc.stderr.fileno(), False)
    end = time.monotonic() + START_NET_S
    try:
        while not ready(proc, seen):
            assert proc.poll() is None, b"".join(seen).decode(errors="replace")[-2000:]
            assert time.monotonic() < end, f"not ready within the {START_NET_S} s safety net"
            chunk = proc.stderr.read(4096)
            if chunk:
                seen.append(chunk)
            else:
                time.sleep(0.05)
        proc.send_signal(signum)
        os.set_blocking(proc.stderr.fileno(), True)
        rest = proc.communicate(timeout=EXIT_NET_S)[1]
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    return proc.returncode, (b"".join(seen) + (rest or b"")).decode(errors="replace")


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_ddpm_train_stopped_keeps_the_last_checkpoint(tmp_path, signum):
    """A real `ddpm train` stopped after it trained past a checkpoint exits 128 + the signal,
    prints one line naming the last complete checkpoint, and that checkpoint loads."""
    from medai_lessons.diffusion import load_checkpoint

    out, checkpoints = tmp_path / "run", tmp_path / "run.partial" / "checkpoints"
    cmd = _cli("ddpm", "train", "--train-steps", "100000", "--checkpoint-every", "5", *TINY_DDPM, "--out", str(out))
    seen_steps: set[str] = set()

    def trained_past_a_checkpoint(proc, _):  # two different checkpoints seen: it trained on past the first
        seen_steps.update(p.name for p in checkpoints.glob("step-*"))
        return len(seen_steps) >= 2

    status, err = _stop_when(cmd, trained_past_a_checkpoint, signum)
    assert status == 128 + signum, err[-2000:]
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1 and "Traceback" not in err, err[-2000:]
    assert "interrupted at step" in lines[0] and "the last complete checkpoint is" in lines[0]
    named = Path(lines[0].split("the last complete checkpoint is ")[1].split(" ")[0])
    assert named.parent == checkpoints and named.is_dir()
    assert list(checkpoints.iterdir()) == [named]  # only complete checkpoints, no temporary folder
    model, schedule, config = load_checkpoint(named / "digits-ddpm.safetensors")
    assert model.config["channels"] == [8, 8] and len(schedule) == 20
    assert config["train_steps"] == 100000
    assert f"--resume {named} --out {out}" in lines[0] and not out.exists()


def test_sigint_during_sampling_exits_130_and_writes_nothing(tmp_path):
    """Ctrl-C in a real `medai-lessons ddpm sample` exits 130 with one line, and leaves no partial files."""
    out = tmp_path / "s"
    cmd = _cli("ddpm", "sample", "--checkpoint", "pretrained", "--sampler", "ddpm", "--num-images", "512",
               "--out", str(out))

    def sampling(_, seen):  # the progress bar shows that sampling has begun
        return b"DDPM:" in b"".join(seen)

    status, err = _stop_when(cmd, sampling, signal.SIGINT)
    assert status == 130, err[-2000:]
    assert "Traceback" not in err
    assert err.rstrip().splitlines()[-1].endswith("interrupted while sampling; nothing was written")
    assert not out.exists() or not any(out.iterdir())


def test_sd_train_digits_stopped_by_ctrl_c_writes_nothing(tmp_path):
    """A real `sd train-digits` process stopped by SIGINT while it trains the U-Net exits 130 with
    one line, and leaves neither the model folder nor a temporary one (the model is renamed into
    place last)."""
    out = tmp_path / "model"
    cmd = _cli("sd", "train-digits", "--vae-steps", "1", "--unet-steps", "100000", "--cpu-threads", "1",
               "--out", str(out))

    def in_unet_phase(_, seen):  # tqdm draws the phase's bar, named, when its loop begins
        return b"U-Net" in b"".join(seen)

    status, err = _stop_when(cmd, in_unet_phase, signal.SIGINT)
    assert status == 130, err[-2000:]
    assert "Traceback" not in err
    assert "requires torchvision" not in err  # transformers' fallback notice is kept from the reader
    assert err.rstrip().splitlines()[-1].endswith(
        f"interrupted before the model was complete; nothing was written to {out}"), err[-2000:]
    assert list(tmp_path.iterdir()) == []


def test_sd_train_digits_terminated_in_the_autoencoder_phase_writes_nothing(tmp_path, monkeypatch, capsys):
    """SIGTERM during the autoencoder phase: the command (run in this process, so diffusers is not
    imported again) exits 143 with one line and writes nothing. The signal is a real one, sent by
    the first step of the loop to this process; the loop stops at its next step boundary."""
    from medai_lessons import cli
    from medai_lessons.stable_diffusion import train_digits

    real_check, sent = interrupts.check, []

    def terminate_once() -> None:
        if not sent:
            sent.append(1)
            os.kill(os.getpid(), signal.SIGTERM)  # noted by the handler, not raised here
        real_check()

    monkeypatch.setattr(train_digits.interrupts, "check", terminate_once)
    out = tmp_path / "model"
    status = cli.main(["sd", "train-digits", "--vae-steps", "100000", "--unet-steps", "2", "--cpu-threads", "1",
                       "--out", str(out)])
    err = capsys.readouterr().err
    assert status == 143 and sent == [1], err[-2000:]
    ours = [line for line in err.splitlines() if line.startswith("medai-lessons")]
    assert ours == [f"medai-lessons sd train-digits: interrupted before the model was complete; "
                    f"nothing was written to {out}"] and "Traceback" not in err
    assert list(tmp_path.iterdir()) == []
