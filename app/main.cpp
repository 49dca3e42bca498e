// rtdet: real-time YOLO detection on an engine of its own (ONNX -> plan -> runtime).
#include "app/cli.h"

int main(int argc, char** argv) { return app::run_cli(argc, argv); }
