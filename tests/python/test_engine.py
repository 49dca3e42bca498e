"""The engine API (rtdet.build, rtdet.Engine, Context.run) against the C++ runtime (engine_reference, a
small C++ program on the same plan: outputs bit for bit) and against OpenCV DNN on the same ONNX file."""
import os
import subprocess
from pathlib import Path

import numpy as np
import pytest

import rtdet
from conftest import SAMPLES, SMALL, XL, cv2_module, data_file


@pytest.fixture(scope="module")
def onnx_model(rtdet_exe, tmp_path_factory):
    """Yolo-Fastest-1.1 converted to ONNX by `rtdet convert` (real weights, 320x320, two YOLO heads)."""
    cfg = data_file(SMALL)
    out = tmp_path_factory.mktemp("onnx") / "yolo-fastest-1.1.onnx"
    r = subprocess.run([str(rtdet_exe), "convert", str(cfg), str(cfg.with_suffix(".weights")), "-o", str(out)],
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    return out


@pytest.fixture(scope="module")
def plan(onnx_model, cache_dir):
    return rtdet.build(onnx_model, max_batch=2)


def engine_reference(plan_path, batch, inputs, tmp_path):
    """The C++ runtime's outputs (tests/python/engine_reference.cpp) for float32 inputs, one thread."""
    exe = os.environ.get("RTDET_ENGINE_REFERENCE", "")
    assert Path(exe).is_file(), f"RTDET_ENGINE_REFERENCE='{exe}' (tests/CMakeLists.txt sets it)"
    files = []
    for i, x in enumerate(inputs):
        f = tmp_path / f"in{i}.raw"
        np.ascontiguousarray(x, np.float32).tofile(f)
        files.append(str(f))
    prefix = tmp_path / "ref"
    r = subprocess.run([exe, str(plan_path), str(batch), "1", *files, str(prefix)], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    outs = []
    for i, line in enumerate(r.stdout.splitlines()):
        name, shape = line.split(" ", 1)
        outs.append((name, np.fromfile(f"{prefix}.{i}.raw", np.float32).reshape(eval(shape))))
    return outs


def test_build_gives_plan_bytes_and_the_engine_describes_them(plan, onnx_model, tmp_path):
    assert isinstance(plan, bytes) and plan[:4] == b"RTDP"
    engine = rtdet.Engine(plan)
    assert engine.max_batch == 2 and not engine.fixed_batch and engine.precision == "fp32"
    assert [(t.name, t.shape, t.dtype, t.batched) for t in engine.inputs] == [
        (engine.inputs[0].name, (2, 3, 320, 320), "float32", True)]
    assert sorted(t.shape[1:] for t in engine.outputs) == [(255, 10, 10), (255, 20, 20)]
    assert "rtdet.yolo.heads" in engine.metadata and len(engine.layers) > 50
    assert {l["backend"] for l in engine.layers} <= {"onednn", "reference"}
    assert engine.serialize() == plan
    path = tmp_path / "m.plan"
    assert rtdet.build(onnx_model, path, max_batch=2) is None and path.is_file()
    for source in (path, str(path)):  # os.PathLike and str
        e = rtdet.Engine(source)
        assert [t.name for t in e.outputs] == [t.name for t in engine.outputs]


@pytest.mark.parametrize("batch", [1, 2])
def test_outputs_equal_the_cpp_runtime_bit_for_bit(plan, tmp_path, batch):
    path = tmp_path / "m.plan"
    path.write_bytes(plan)
    engine = rtdet.Engine(path)
    x = np.random.default_rng(7 + batch).random((batch, 3, 320, 320), np.float32)
    ref = engine_reference(path, batch, [x], tmp_path)
    out = engine.create_context(threads=1).run({engine.inputs[0].name: x})
    assert list(out) == [name for name, _ in ref]
    for name, want in ref:
        assert out[name].dtype == np.float32 and out[name].shape == want.shape
        assert np.array_equal(out[name], want), f"{name}: max |diff| {np.abs(out[name] - want).max()}"
        assert np.abs(want).max() > 1  # real activations, not zeros


def test_outputs_match_opencv_dnn_on_the_same_onnx(plan, onnx_model):
    cv2 = cv2_module()
    engine = rtdet.Engine(plan)
    img = cv2.imread(str(data_file("images/darknet_samples/dog.jpg")))
    x = cv2.dnn.blobFromImage(img, 1 / 255.0, (320, 320), swapRB=True).astype(np.float32)
    out = engine.create_context().run(x)  # one input: the array alone
    net = cv2.dnn.readNetFromONNX(str(onnx_model))
    net.setInput(x)
    names = [t.name for t in engine.outputs]
    for name, want in zip(names, net.forward(names)):
        err = np.abs(out[name] - want).max() / np.abs(want).max()
        assert err <= 1e-4, f"{name}: {err} of max |ref| (the C++ model tests' FP32 bound)"


def test_input_forms_views_and_the_zero_copy_input_buffer(plan):
    engine = rtdet.Engine(plan)
    name = engine.inputs[0].name
    ctx = engine.create_context()
    x = np.random.default_rng(1).random((2, 3, 320, 320), np.float32)
    by_dict = ctx.run({name: x})
    for other in (ctx.run([x]), ctx.run((x,)), ctx.run(x), ctx.run({name: np.asfortranarray(x)})):
        assert all(np.array_equal(other[k], by_dict[k]) for k in by_dict)
    # copy=False: read-only views of the context's buffers, valid until its next run.
    views = ctx.run({name: x}, copy=False)
    for k in by_dict:
        assert np.array_equal(views[k], by_dict[k]) and not views[k].flags.writeable
    buf = ctx.input_buffer(name)
    assert buf.shape == (2, 3, 320, 320) and buf.flags.writeable
    buf[:1] = x[1:]  # filled in place
    one = ctx.run(None, batch=1)
    ref = engine.create_context().run({name: x[1:]})
    for k in ref:
        assert one[k].shape[0] == 1 and np.array_equal(one[k], ref[k])
    itself = ctx.run({name: buf[:1]})  # the buffer given as the input: read where it is
    assert all(np.array_equal(itself[k], ref[k]) for k in ref)
    del ctx, engine
    assert np.array_equal(views[next(iter(views))], views[next(iter(views))])  # views keep the context alive


def test_profile_times_every_layer(plan):
    engine = rtdet.Engine(plan)
    ctx = engine.create_context(profile=True)
    assert ctx.profiling
    x = np.zeros((1, 3, 320, 320), np.float32)
    ctx.run(x)
    ctx.run(x)
    prof = ctx.profile()
    assert len(prof) > 50 and {p["name"] for p in prof} <= {l["name"] for l in engine.layers}
    assert all(p["runs"] == 2 and p["total_ms"] >= 0 and p["op"] and p["backend"] for p in prof)
    assert sum(p["total_ms"] for p in prof) > 0
    ctx.profiling = False
    assert not ctx.profiling and engine.create_context().profile() == []


def test_bad_plans_and_inputs_raise_saying_what_is_wrong(plan, tmp_path):
    engine = rtdet.Engine(plan)
    name = engine.inputs[0].name
    ctx = engine.create_context()
    x = np.zeros((1, 3, 320, 320), np.float32)
    cases = [
        (lambda: ctx.run({name: x.astype(np.float64)}), TypeError,
         f"input '{name}': dtype float64, expected float32 (arr.astype(np.float32))"),
        (lambda: ctx.run({name: x[:, :2]}), ValueError,
         f"input '{name}': shape [1,2,320,320], expected [N,3,320,320] with N in 1..2"),
        (lambda: ctx.run({name: np.zeros((3, 3, 320, 320), np.float32)}), ValueError,
         "batch 3: the plan runs batches 1..2"),
        (lambda: ctx.run({"nope": x}), KeyError, f"no input named 'nope' (the plan's: '{name}')"),
        (lambda: ctx.run({}), ValueError, f"run(inputs): input '{name}' is missing"),
        (lambda: ctx.run([x, x]), ValueError, "run(inputs): 2 arrays for 1 inputs"),
        (lambda: ctx.run({name: x.tolist()}), TypeError, f"input '{name}': expected a numpy array, got list"),
        (lambda: ctx.run({name: x}, batch=2), ValueError, f"input '{name}': batch 1, but batch=2"),
        (lambda: rtdet.Engine(b"garbage"), rtdet.Error, "<plan bytes>"),
        (lambda: rtdet.Engine(plan[: len(plan) // 2]), rtdet.Error, "<plan bytes>"),
        (lambda: rtdet.Engine(tmp_path / "none.plan"), rtdet.Error, str(tmp_path / "none.plan")),
        (lambda: rtdet.Engine(42), TypeError, "Engine(plan): expected a plan file path or plan bytes, got int"),
        (lambda: rtdet.build(tmp_path / "none.onnx"), rtdet.Error, str(tmp_path / "none.onnx")),
        (lambda: rtdet.build(tmp_path / "none.onnx", precision="fp8"), rtdet.Error, "fp8"),
        (lambda: rtdet.build(tmp_path / "none.onnx", max_batch=0), ValueError, "max_batch must be >= 1"),
    ]
    for call, exc, message in cases:
        with pytest.raises(exc) as e:
            call()
        text = str(e.value.args[0]) if exc is KeyError else str(e.value)
        assert message in text and "\n" not in text, text
    corrupt = bytearray(plan)
    corrupt[len(corrupt) // 2] ^= 0xFF
    with pytest.raises(rtdet.Error, match="checksum|rebuild"):
        rtdet.Engine(bytes(corrupt))


def test_int8_plans_calibrated_on_images_or_from_a_cache(tmp_path, cache_dir):
    model = data_file(XL)
    cache = tmp_path / "xl.calib.json"
    plan = rtdet.build(model, precision="int8", calib=data_file(SAMPLES), calib_cache=cache, max_batch=2)
    assert cache.is_file() and cache.stat().st_size > 1000
    engine = rtdet.Engine(plan)
    int8 = [l for l in engine.layers if l["precision"] == "i8"]
    if not int8:
        pytest.skip("this CPU has no INT8 kernels (oneDNN without VNNI): the plan fell back to float")
    assert engine.precision == "int8" and len(int8) > len(engine.layers) // 2
    again = rtdet.Engine(rtdet.build(model, precision="int8", calib=cache))  # the cache alone
    assert [l["precision"] for l in again.layers] == [l["precision"] for l in engine.layers]
    # The module runs INT8 plans as the C++ runtime does, bit for bit.
    path = tmp_path / "xl.int8.plan"
    path.write_bytes(plan)
    x = np.random.default_rng(3).random((2, 3, 320, 320), np.float32)
    out = engine.create_context(threads=1).run(x)
    for name, want in engine_reference(path, 2, [x], tmp_path):
        assert np.array_equal(out[name], want), name
    # ... and the detector finds the dog with it.
    dog = cv2_module().imread(str(data_file("images/darknet_samples/dog.jpg")))
    r = rtdet.Detector(path, cache=cache_dir)(dog)
    assert "dog" in r.labels
    # A Detector builds the same INT8 plan itself from the cache (engine.calibration): the same boxes.
    direct = rtdet.Detector(model, precision="int8", calib_cache=cache, max_batch=2, cache=cache_dir)(dog)
    assert np.array_equal(direct.boxes, r.boxes) and np.array_equal(direct.scores, r.scores)
    with pytest.raises(rtdet.Error, match=r"engine.precision int8 needs engine.calibration \(--calib-cache\)"):
        rtdet.Detector(model, precision="int8", cache=cache_dir)
    with pytest.raises(rtdet.Error, match='INT8 needs precision="int8" or "best"'):
        rtdet.build(model, calib=cache)
