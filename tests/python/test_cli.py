"""`python3 -m rtdet ...`: the rtdet command line from the module, the same code as the binary."""
import json
import os
import subprocess
import sys

from conftest import SMALL, XL, data_file, run_rtdet_detect


def module_cli(*args, cwd=None):
    return subprocess.run([sys.executable, "-m", "rtdet", *map(str, args)], capture_output=True, text=True,
                          cwd=cwd, env=dict(os.environ))


def test_detect_gives_what_rtdet_detect_gives(rtdet_exe, cache_dir, tmp_path):
    images = [data_file("images/darknet_samples/dog.jpg"), data_file("images/darknet_samples/kite.jpg")]
    out = tmp_path / "py.json"
    r = module_cli("detect", "--model", data_file(XL), *images, "--out", tmp_path / "annotated", "--json", out,
                   "--cache", cache_dir)
    assert r.returncode == 0, r.stderr
    assert "dog: 93%" in r.stdout and "2 images: 2 ok, 0 failed" in r.stdout
    assert sorted(p.name for p in (tmp_path / "annotated").iterdir()) == ["dog.jpg", "kite.jpg"]
    ours = json.loads(out.read_text())
    cli = run_rtdet_detect(rtdet_exe, data_file(XL), images, cache_dir)
    assert [i["detections"] for i in ours["images"]] == [i["detections"] for i in cli["images"]]
    assert ours["summary"]["detections"] == cli["summary"]["detections"] > 10


def test_bench_build_and_info(cache_dir, tmp_path):
    bench = tmp_path / "bench.json"
    r = module_cli("bench", data_file(SMALL), "--iterations", "3", "--warmup", "1", "--json", bench)
    assert r.returncode == 0, r.stderr
    j = json.loads(bench.read_text())
    assert "median" in json.dumps(j) and "ms" in r.stdout
    plan = tmp_path / "small.plan"
    r = module_cli("build", data_file(SMALL), "-o", plan)
    assert r.returncode == 0 and plan.is_file() and f"built {plan}" in r.stdout, r.stderr
    r = module_cli("info", plan, "--layers")
    assert r.returncode == 0 and "onednn" in r.stdout, r.stderr


def test_version_help_and_errors():
    r = module_cli("--version")
    assert r.returncode == 0 and r.stdout.strip() == "rtdet 0.1.0"
    r = module_cli("--help")
    assert r.returncode == 0 and "python3 -m rtdet" in r.stdout and "detect" in r.stdout
    r = module_cli("detect", "--model", "/nonexistent/m.onnx", "x.jpg")
    assert r.returncode == 1
    lines = r.stderr.strip().splitlines()
    assert lines[-1].startswith("rtdet: error: ") and "/nonexistent/m.onnx" in lines[-1], r.stderr
    r = module_cli("frobnicate")
    assert r.returncode != 0 and "A subcommand is required" in r.stderr  # CLI11's words, as from rtdet
