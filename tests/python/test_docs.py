"""The Python examples of README.md and docs/python.md run as written: the model and image names replaced
by the data folder's files, the camera by the sample video (15 frames), the window by a counter."""
import contextlib
import io
import re
import subprocess
import sys
import types
from pathlib import Path

import numpy as np
import pytest

from conftest import XL, cv2_module, data_file

ROOT = Path(__file__).resolve().parents[2]
BLOCK = re.compile(r"```python\n(.*?)```", re.S)


def python_blocks(doc):
    return BLOCK.findall((ROOT / doc).read_text())


class Window:
    """cv2 for the examples: VideoCapture(0) is `frames` frames of the sample video from frame 100 (cars
    in view); rectangle and imshow count."""

    def __init__(self, frames):
        self.cv2, self.frames, self.shown, self.boxes = cv2_module(), frames, 0, 0

    def module(self):
        real, window = self.cv2, self
        fake = types.ModuleType("cv2")
        fake.__getattr__ = lambda name: getattr(real, name)

        class Capture:
            def __init__(self, source):
                assert source == 0
                self.cap, self.left = real.VideoCapture(str(data_file("videos/car-detection.mp4"))), window.frames
                for _ in range(100):
                    assert self.cap.read()[0]

            def read(self):
                self.left -= 1
                return self.cap.read() if self.left >= 0 else (False, None)

        def rectangle(img, *args, **kw):
            window.boxes += 1
            return real.rectangle(img, *args, **kw)

        def imshow(name, frame):
            assert frame.ndim == 3
            window.shown += 1

        fake.VideoCapture, fake.rectangle, fake.imshow = Capture, rectangle, imshow
        fake.waitKey = lambda ms: -1
        return fake


def run_example(code, names, env):
    for written, real in names.items():
        code = code.replace(f'"{written}"', repr(str(real)))
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        exec(compile(code, "<example>", "exec"), dict(env))
    return out.getvalue()


@pytest.fixture
def fake_cv2(monkeypatch):
    window = Window(frames=15)
    monkeypatch.setitem(sys.modules, "cv2", window.module())
    return window


@pytest.mark.parametrize("doc", ["README.md", "docs/python.md"])
def test_the_camera_loop(doc, cache_dir, fake_cv2):
    loops = [b for b in python_blocks(doc) if "VideoCapture(0)" in b]
    assert len(loops) == 1, f"{doc}: one camera loop"
    assert len([l for l in loops[0].splitlines() if l.strip() and not l.startswith("import")]) <= 11
    run_example(loops[0], {"yolo-fastest-1.1-xl.cfg": data_file(XL)}, {})
    assert fake_cv2.shown == 15 and fake_cv2.boxes > 0, (fake_cv2.shown, fake_cv2.boxes)  # cars drawn


def test_the_first_examples(rtdet_exe, cache_dir, tmp_path):
    names = {"yolo-fastest-1.1-xl.cfg": data_file(XL), "dog.jpg": data_file("images/darknet_samples/dog.jpg")}
    out = run_example(python_blocks("docs/python.md")[0], names, {})
    assert out.startswith("dog 0.93 ") and "bicycle 0.90" in out, out
    # README's: the Detector, then the engine on an ONNX model made by `rtdet convert`.
    cfg = data_file(XL)
    names["model.onnx"] = tmp_path / "xl.onnx"
    r = subprocess.run([str(rtdet_exe), "convert", str(cfg), str(cfg.with_suffix(".weights")), "-o",
                        str(names["model.onnx"])], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    x = np.zeros((2, 3, 320, 320), np.float32)
    readme = python_blocks("README.md")[0]
    out = run_example(readme + "\nprint(sorted((k, v.shape) for k, v in outputs.items()))\n", names, {"x": x})
    assert "'dog'" in out and "(2, 255, 10, 10)" in out and "(2, 255, 20, 20)" in out, out
