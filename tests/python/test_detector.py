"""rtdet.Detector against the rtdet binary (`rtdet detect`), its keywords, batches and image layouts."""
import json

import numpy as np
import pytest

import rtdet
from conftest import SMALL, XL, data_file, read_image, run_rtdet_detect, sample_images


def test_same_detections_as_rtdet_detect_on_the_sample_images(xl_detector, rtdet_exe, cache_dir):
    images = sample_images()
    assert len(images) >= 7
    cli = run_rtdet_detect(rtdet_exe, data_file(XL), images, cache_dir)
    # The CLI built (or found) the plan in the shared cache: the module runs that same plan.
    det = rtdet.Detector(data_file(XL), cache=cache_dir, max_det=300)
    assert det.plan_origin == "cache hit"
    total = 0
    assert [e["file"] for e in cli["images"]] == [str(p) for p in images]
    for entry in cli["images"]:
        r = det(read_image(entry["file"]))
        assert (r.width, r.height) == (entry["width"], entry["height"]), entry["file"]
        want = entry["detections"]
        assert len(r) == len(want), f"{entry['file']}: {r} vs {len(want)} detections"
        assert r.boxes.dtype == np.float32 and r.boxes.shape == (len(want), 4)
        for box, score, cid, label, w in zip(r.boxes, r.scores, r.class_ids, r.labels, want):
            assert (int(cid), label) == (w["class_id"], w["class"]), entry["file"]
            assert abs(float(score) - w["score"]) <= 1e-5, entry["file"]
            x1, y1, x2, y2 = box
            # rtdet detect writes the float corners and the float width/height (x2 - x1 in float).
            assert (float(x1), float(y1)) == (w["box"]["x"], w["box"]["y"]), entry["file"]
            assert (float(x2 - x1), float(y2 - y1)) == (w["box"]["w"], w["box"]["h"]), entry["file"]
        # to_json() is rtdet detect's per-image object (without the file and the read time).
        j = json.loads(r.to_json())
        assert j["detections"] == want and (j["width"], j["height"]) == (entry["width"], entry["height"])
        total += len(r)
    assert total == cli["summary"]["detections"] and total >= 30


def test_result_fields(xl_detector):
    r = xl_detector(read_image(data_file("images/darknet_samples/dog.jpg")))
    assert {"dog", "bicycle", "truck"} <= set(r.labels)
    assert r.scores.dtype == np.float32 and r.scores.shape == (len(r),)
    assert r.class_ids.dtype == np.int64 and r.objectness.shape == (len(r),)
    assert r.class_names == xl_detector.class_names and len(r.class_names) == 80
    assert [r.class_names[i] for i in r.class_ids] == r.labels
    assert np.all(r.boxes[:, 2] > r.boxes[:, 0]) and np.all(r.boxes[:, 3] > r.boxes[:, 1])
    assert np.all(r.scores[:-1] >= r.scores[1:]), "sorted by score"
    assert set(r.times) == {"preprocess_ms", "inference_ms", "postprocess_ms"}
    assert r.times["inference_ms"] > 0 and xl_detector.last_times == r.times
    assert xl_detector.input_size == (320, 320) and xl_detector.max_batch == 1
    assert "dog" in repr(r) and "320x320" in repr(xl_detector)


def test_a_list_is_batched_and_gives_what_single_calls_give(cache_dir):
    images = [read_image(p) for p in sample_images()]
    single = rtdet.Detector(data_file(SMALL), cache=cache_dir)
    batched = rtdet.Detector(data_file(SMALL), cache=cache_dir, max_batch=4)
    assert batched.max_batch == 4
    results = batched(images)  # 7 images: a batch of 4, then one of 3
    assert isinstance(results, list) and len(results) == len(images)
    for img, rb in zip(images, results):
        rs = single(img)
        assert rs.labels == rb.labels
        # Another batch size may run other oneDNN kernels: the same boxes up to rounding.
        np.testing.assert_allclose(rb.scores, rs.scores, atol=1e-4)
        np.testing.assert_allclose(rb.boxes, rs.boxes, atol=0.05)
    assert single([]) == [] and single((images[0],))[0].labels == single(images[0]).labels


def test_keywords_are_the_config_keys_with_the_cli_aliases(cache_dir, tmp_path):
    img = read_image(data_file("images/darknet_samples/dog.jpg"))
    model = data_file(XL)
    base = rtdet.Detector(model, cache=cache_dir)(img)
    by_alias = rtdet.Detector(model, cache=cache_dir, conf=0.5, iou=0.3)(img)
    by_key = rtdet.Detector(model, plan_cache_dir=cache_dir, conf_threshold=0.5, iou_threshold=0.3)(img)
    by_dict = rtdet.Detector(model, config={"detector.conf_threshold": 0.5, "iou": 0.3, "cache": cache_dir})(img)
    yaml = tmp_path / "c.yaml"
    yaml.write_text(f"detector:\n  conf_threshold: 0.5\n  iou_threshold: 0.3\nengine:\n  plan_cache_dir: {cache_dir}\n")
    by_file = rtdet.Detector(model, config=yaml)(img)
    assert 0 < len(by_alias) < len(base) and np.all(by_alias.scores >= 0.5)
    for other in (by_key, by_dict, by_file):
        assert other.labels == by_alias.labels and np.array_equal(other.boxes, by_alias.boxes)
    # A keyword overrides the file; None keeps the default.
    assert len(rtdet.Detector(model, config=yaml, conf=0.25, names=None)(img)) == len(base)
    assert len(rtdet.Detector(model, cache=cache_dir, max_det=2)(img)) == 2
    agnostic = rtdet.Detector(model, cache=cache_dir, nms="agnostic")(img)
    assert len(agnostic) < len(base)  # the truck under the car goes
    names = tmp_path / "names.txt"
    names.write_text("\n".join(f"thing{i}" for i in range(80)) + "\n")
    assert rtdet.Detector(model, cache=cache_dir, names=names)(img).labels[0] == "thing16"
    letterbox = rtdet.Detector(model, cache=cache_dir, resize="letterbox")
    assert letterbox.resize == "letterbox" and "dog" in letterbox(img).labels


def test_a_darknet_cfg_at_another_input_size(cache_dir):
    det = rtdet.Detector(data_file(SMALL), cache=cache_dir, width=160, height=128)
    assert det.input_size == (160, 128)
    assert len(det(read_image(data_file("images/darknet_samples/dog.jpg")))) > 0


def test_non_contiguous_images_give_what_their_packed_copies_give(xl_detector):
    img = read_image(data_file("images/darknet_samples/person.jpg"))
    cases = {
        "crop (rows apart by the full width: used in place)": img[40:400, 60:500],
        "channels reversed": img[:, :, ::-1],
        "every other column": img[:, ::2],
        "upside down": img[::-1],
        "Fortran order": np.asfortranarray(img),
        "read-only": np.frombuffer(img.tobytes(), np.uint8).reshape(img.shape),
    }
    for what, view in cases.items():
        a, b = xl_detector(view), xl_detector(np.ascontiguousarray(view))
        assert len(a) > 0 and a.labels == b.labels, what
        assert np.array_equal(a.boxes, b.boxes) and np.array_equal(a.scores, b.scores), what
    assert not cases["read-only"].flags.writeable


def test_bad_images_raise_saying_what_is_expected(xl_detector):
    img = read_image(data_file("images/darknet_samples/dog.jpg"))
    bad = [
        (img.astype(np.float32), TypeError, "image: dtype float32, expected uint8 (8-bit BGR, OpenCV's convention)"),
        (img[:, :, 0], ValueError, "image: shape (576, 768), expected (H, W, 3): 3 channels, BGR; a grey image: "
                                   "cv2.cvtColor(img, cv2.COLOR_GRAY2BGR)"),
        (np.zeros((10, 10, 4), np.uint8), ValueError, "BGRA: cv2.cvtColor(img, cv2.COLOR_BGRA2BGR)"),
        (np.zeros((0, 10, 3), np.uint8), ValueError, "image: empty image, shape (0, 10, 3)"),
        ("dog.jpg", TypeError, "image: expected a numpy array (H x W x 3, uint8, BGR), got str"),
    ]
    for arg, exc, message in bad:
        with pytest.raises(exc) as e:
            xl_detector(arg)
        assert message in str(e.value)
    with pytest.raises(TypeError, match=r"images\[1\]: dtype int64"):
        xl_detector([img, np.zeros((4, 4, 3), np.int64)])


def test_bad_models_and_keywords_raise_the_one_line_message(cache_dir, tmp_path):
    cases = [
        (dict(model=tmp_path / "missing.onnx"), rtdet.Error, f"model.path: file not found: {tmp_path / 'missing.onnx'}"),
        (dict(model=data_file(XL), conf=1.5), rtdet.Error,
         "Detector(conf=) (detector.conf_threshold): must be a number in (0, 1] (got '1.5')"),
        (dict(model=data_file(XL), device="gpu"), rtdet.Error,
         "Detector(device=) (engine.device): must be one of cpu, onednn, reference, cuda (got 'gpu')"),
        (dict(model=data_file(XL), conff=0.3), TypeError, "Detector(): unknown keyword 'conff' (did you mean "
                                                          "'conf_threshold'?)"),
        (dict(model=data_file(XL), video="x.mp4"), TypeError,
         "Detector(): 'video' (outputs.video) is a key of `rtdet run`"),
        (dict(model=data_file(XL), width=100, height=96), rtdet.Error,
         "model.input_width: must be 0 (the model's) or a multiple of 32 >= 32 (got 100)"),
        (dict(model=data_file(XL), conf=[0.3]), TypeError, "Detector(conf=): expected a str, number or bool, got list"),
        (dict(model=42), TypeError, "Detector(model): expected a path (str or os.PathLike), got int"),
    ]
    cfg_only = tmp_path / "nowts.cfg"
    cfg_only.write_text(data_file(SMALL).read_text())
    cases.append((dict(model=cfg_only), rtdet.Error, f"model.path: darknet weights not found: {tmp_path / 'nowts.weights'}"))
    for kw, exc, message in cases:
        with pytest.raises(exc) as e:
            rtdet.Detector(cache=cache_dir, **kw)
        assert message in str(e.value), f"{kw}: {e.value}"
        assert "\n" not in str(e.value)
    assert issubclass(rtdet.Error, RuntimeError)
