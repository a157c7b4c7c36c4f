"""Two CPU processes under torchrun (gloo on loopback) train what one process would."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

from rnntrace.errors import ConfigError
from rnntrace.train.distributed import World, from_env, shard

# Rank 0 writes its weights and first epoch's numbers; every rank trains.
SCRIPT = """
import json, sys
import torch
from safetensors.torch import save_file
from rnntrace.config.settings import TrainConfig
from rnntrace.data.synthetic import lesson
from rnntrace.train.distributed import from_env
from rnntrace.model.classifier import SequenceClassifier
from rnntrace.train.fit import fit

data = lesson(seed=0)
train, val = data.subset(range(0, 64)), data.subset(range(64, 101))
torch.manual_seed(0)
model = SequenceClassifier()
history = fit(model, train, val, TrainConfig(epochs=1, batch_size=64))
if from_env().is_main:
    save_file(dict(model.state_dict()), sys.argv[1] + ".safetensors")
    r = history.records[0]
    json.dump({"loss": r.loss, "accuracy": r.accuracy, "val_loss": r.val_loss,
               "val_accuracy": r.val_accuracy, "grad_norm": r.grad_norm,
               "world_size": history.world_size}, open(sys.argv[1] + ".json", "w"))
"""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _torchrun(*args: str) -> list[str]:
    return [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node=2",
            "--master-addr=127.0.0.1", f"--master-port={_free_port()}", *args]


def _env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("WORLD_SIZE", "RANK", "LOCAL_RANK")}
    return env | {"GLOO_SOCKET_IFNAME": "lo", "OMP_NUM_THREADS": "1"}


def test_two_ranks_take_the_step_one_process_takes(tmp_path: Path) -> None:
    script = tmp_path / "step.py"
    script.write_text(SCRIPT)
    subprocess.run([sys.executable, str(script), str(tmp_path / "one")], check=True, env=_env(),
                   timeout=120)
    done = subprocess.run(_torchrun(str(script), str(tmp_path / "two")), env=_env(),
                          timeout=120, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "Warning" not in done.stderr, done.stderr[-2000:]
    one, two = (load_file(tmp_path / f"{n}.safetensors") for n in ("one", "two"))
    for name in one:
        assert torch.allclose(one[name], two[name], atol=1e-6), name
    m1, m2 = (json.loads((tmp_path / f"{n}.json").read_text()) for n in ("one", "two"))
    assert m1.pop("world_size") == 1 and m2.pop("world_size") == 2
    for key in m1:  # loss sums, correct counts and norms all-reduced to the global numbers
        assert m2[key] == pytest.approx(m1[key], rel=1e-5), key


def test_torchrun_demo_writes_one_run_from_rank_zero(tmp_path: Path) -> None:
    out = tmp_path / "run"
    done = subprocess.run(_torchrun("-m", "rnntrace", "demo", "--epochs", "1", "--json",
                                    "--out", str(out)),
                          env=_env(), timeout=120, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-2000:]
    trace = json.loads(done.stdout)  # one trace printed: only rank 0 speaks
    assert trace["meta"]["world_size"] == 2
    assert {p.name for p in out.iterdir()} == {"config.json", "trace.json", "metrics.jsonl",
                                               "report.html", "explain.json",
                                               "model.safetensors"}
    single = tmp_path / "single"
    from rnntrace.cli.main import main

    assert main(["demo", "--epochs", "1", "--json", "--out", str(single)]) == 0
    a, b = load_file(out / "model.safetensors"), load_file(single / "model.safetensors")
    # 25 Adam steps with the batch summed in two halves: equal up to float rounding.
    assert all(torch.allclose(a[k], b[k], atol=1e-4) for k in a)


def test_torchrun_no_flag_train_fits_many_times_in_one_process_group(tmp_path: Path) -> None:
    # The defaults fit each candidate, the final model, and averaging after each: every fit
    # joins the same group. Making a group anew after leaving one hung the ranks for ever.
    fixture = Path(__file__).parent / "fixtures" / "JapaneseVowelsMini.ts"
    args = ["train", str(fixture), "--nan", "fill", "--epochs", "2", "--json"]
    out, single = tmp_path / "two", tmp_path / "one"
    done = subprocess.run(_torchrun("-m", "rnntrace", *args, "--out", str(out)),
                          env=_env(), timeout=240, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-2000:]
    from rnntrace.cli.main import main

    assert main([*args, "--out", str(single)]) == 0
    two, one = (json.loads((p / "trace.json").read_text()) for p in (out, single))
    assert two["meta"]["world_size"] == 2
    assert two["config"]["train"]["average_epochs"] > 0
    assert two["choice"]["chosen"] == one["choice"]["chosen"]
    a, b = load_file(out / "model.safetensors"), load_file(single / "model.safetensors")
    assert all(torch.allclose(a[k], b[k], atol=1e-4) for k in a)


def test_each_rank_takes_a_disjoint_share_of_a_batch(monkeypatch: pytest.MonkeyPatch) -> None:
    index = torch.arange(10)
    shares = [shard(index, World(rank=r, size=3)) for r in range(3)]
    assert torch.equal(torch.cat(shares), index)
    monkeypatch.setenv("WORLD_SIZE", "2")
    monkeypatch.setenv("RANK", "1")
    assert from_env() == World(rank=1, size=2, local_rank=0)
    monkeypatch.setenv("RANK", "5")
    with pytest.raises(ConfigError):
        from_env()


def _kill_every_process_naming(path: Path) -> None:
    for proc in Path("/proc").iterdir():
        try:
            named = str(path) in (proc / "cmdline").read_bytes().decode(errors="replace")
        except OSError:
            continue  # gone, or not a process
        if named and proc.name.isdigit():
            with contextlib.suppress(ProcessLookupError):
                os.kill(int(proc.name), signal.SIGKILL)


@pytest.mark.slow
def test_a_killed_torchrun_run_resumes_under_torchrun_to_the_same_weights(tmp_path: Path) -> None:
    epochs = ["--epochs", "30", "--seed", "2", "--json"]
    killed, straight = tmp_path / "killed", tmp_path / "straight"
    proc = subprocess.Popen(_torchrun("-m", "rnntrace", "demo", *epochs, "--out", str(killed)),
                            env=_env(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    metrics = killed / "metrics.jsonl"
    deadline = time.monotonic() + 90
    while proc.poll() is None and time.monotonic() < deadline and (
        not metrics.exists() or len(metrics.read_text().splitlines()) < 3
    ):
        time.sleep(0.01)
    _kill_every_process_naming(killed)  # torchrun's agent and both ranks, as a crash would
    proc.wait()
    assert not (killed / "model.safetensors").exists(), "the run finished before it was killed"

    # The resumed run takes every setting from the checkpoint.
    for args in ([*epochs, "--out", str(straight)], ["--json", "--resume", str(killed)]):
        done = subprocess.run(_torchrun("-m", "rnntrace", "demo", *args),
                              env=_env(), timeout=120, capture_output=True, text=True)
        assert done.returncode == 0, done.stderr[:3000]
    a, b = load_file(straight / "model.safetensors"), load_file(killed / "model.safetensors")
    assert all(torch.equal(a[k], b[k]) for k in a)
