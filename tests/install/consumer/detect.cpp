// detect MODEL IMAGE: prints one line per detection, "class score x1 y1 x2 y2" (pixels of IMAGE).
#include <rtdet/rtdet.h>

#include <cstdio>
#include <opencv2/imgcodecs.hpp>

int main(int argc, char** argv) {
    if (argc != 3) {
        std::fprintf(stderr, "usage: detect MODEL(.cfg|.onnx|.plan) IMAGE\n");
        return 2;
    }
    try {
        detector::DetectorConfig config;
        config.model = argv[1];  // built into a plan on first use, cached in ~/.cache/rtdet
        config.conf_threshold = 0.25f;
        detector::Detector det(config);

        const cv::Mat img = cv::imread(argv[2], cv::IMREAD_COLOR);  // 8-bit BGR
        if (img.empty()) {
            std::fprintf(stderr, "detect: cannot read image %s\n", argv[2]);
            return 1;
        }
        const detector::ImageView view{img.data, img.cols, img.rows, static_cast<int64_t>(img.step)};
        for (const detector::Detection& d : det.detect(view))
            std::printf("%s %.6f %.3f %.3f %.3f %.3f\n",
                        detector::class_name(det.class_names(), d.class_id).c_str(), d.score, d.box.x1,
                        d.box.y1, d.box.x2, d.box.y2);
    } catch (const engine::Error& e) {
        std::fprintf(stderr, "detect: %s\n", e.what());
        return 1;
    }
    return 0;
}
