"""rtdet: real-time YOLO object detection on an inference engine of its own (docs/python.md).

Detector API::

    det = rtdet.Detector("yolo-fastest-1.1-xl.cfg", conf=0.3)   # .cfg, .onnx or .plan; plan cached
    r = det(cv2.imread("dog.jpg"))                               # uint8 H x W x 3 BGR
    r.boxes, r.scores, r.class_ids, r.labels, r.to_json()

Engine API, in TensorRT's shape::

    plan = rtdet.build("model.onnx", precision="bf16", max_batch=4)   # bytes (or output="m.plan")
    engine = rtdet.Engine(plan)                                       # bytes or a plan file
    ctx = engine.create_context()
    outputs = ctx.run({engine.inputs[0].name: x})                     # {name: float32 array}

Errors from the engine are rtdet.Error (a RuntimeError) with its one-line message. The command line:
``python3 -m rtdet detect IMAGE...``, ``python3 -m rtdet bench MODEL`` (the rtdet command, same code).
"""
from ._rtdet import Context, Detector, Engine, Error, Result, TensorDesc, __version__, build, set_log_level

__all__ = ["Context", "Detector", "Engine", "Error", "Result", "TensorDesc", "__version__", "build",
           "set_log_level"]
