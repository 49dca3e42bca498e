"""scripts/bench/int8_score_error.py (issue 16): score differences between plans, by its own rules."""
import os
import subprocess
import sys
from pathlib import Path

from conftest import SAMPLES, SMALL, cv2_module, data_file
from test_cli import module_cli

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "bench" / "int8_score_error.py"


def score_error(*args):
    return subprocess.run([sys.executable, SCRIPT, *map(str, args)], capture_output=True, text=True,
                          env=dict(os.environ))


def rows(stdout):
    """{plan: (mean, median, max)} from the script's table."""
    out = {}
    for line in stdout.splitlines()[2:]:
        name, *vals = line.split()
        out[name] = tuple(float(v) for v in vals)
    return out


def test_a_plan_against_itself_is_zero_and_bf16_is_not_far(tmp_path):
    cv2_module()
    images = data_file(SAMPLES)
    fp32 = tmp_path / "fp32.plan"
    assert module_cli("build", data_file(SMALL), "-o", fp32).returncode == 0
    bf16 = tmp_path / "bf16.plan"
    r = module_cli("build", data_file(SMALL), "--precision", "bf16", "-o", bf16)
    assert r.returncode == 0, r.stderr
    r = score_error(images, f"fp32={fp32}", f"same={fp32}", f"bf16={bf16}")
    assert r.returncode == 0, r.stderr
    n = len([p for p in images.iterdir() if p.suffix == ".jpg"])
    assert r.stdout.startswith(f"{n} images from {images}; reference fp32"), r.stdout
    t = rows(r.stdout)
    assert t["same"] == (0.0, 0.0, 0.0)  # the same plan on the same input: the same numbers
    # Scores are probabilities: BF16's differences are in [0, 1), and not all zero where BF16 ran
    # (a CPU without it builds FP32 for bf16 and gives zeros).
    mean, median, worst = t["bf16"]
    assert 0 <= median <= worst < 1 and mean <= worst
    if "bf16" in module_cli("info", bf16, "--layers").stdout.split("layers", 1)[1]:
        assert worst > 0


def test_bad_inputs_say_which(tmp_path):
    plan = tmp_path / "missing.plan"
    r = score_error(tmp_path, f"fp32={plan}", f"int8={plan}")
    assert r.returncode != 0 and f"'fp32={plan}': expected NAME=PLAN with an existing plan file" in r.stderr
    r = score_error(tmp_path, "no-equals-sign")
    assert r.returncode != 0 and "'no-equals-sign'" in r.stderr
    real = tmp_path / "p.plan"
    real.write_bytes(b"x")
    r = score_error(tmp_path, f"fp32={real}")
    assert r.returncode != 0 and "at least one plan to compare" in r.stderr
    r = score_error(tmp_path, f"fp32={real}", f"b={real}")
    assert r.returncode != 0 and f"no .jpg images in '{tmp_path}'" in r.stderr
