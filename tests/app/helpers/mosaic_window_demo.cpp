// For the MosaicWindow test (tests/app/test_mosaic.cpp), run on a virtual display: a WindowSink with
// four named streams gets solid-colour frames (red 320x180, green 320x180, blue 240x180, yellow
// 320x180) round-robin at about 25 FPS each. After 40 rounds another thread marks the fourth stream
// "ended" (WindowSink::set_state), which then gets no more frames, and DIR/ready is created; it stops when
// DIR/stop appears, the window asks to quit (q, Esc, closed) or after 60 s, and writes the window's
// last canvas to DIR/canvas.png. Usage: mosaic_window_demo DIR
#include <chrono>
#include <filesystem>
#include <fstream>
#include <opencv2/imgcodecs.hpp>
#include <string>
#include <thread>
#include <vector>

#include "app/media_opencv.h"

int main(int argc, char** argv) {
    if (argc != 2) return 2;
    namespace fs = std::filesystem;
    const fs::path dir = argv[1];
    app::WindowSink window("rtdet", (dir / "snapshots").string());
    const std::vector<std::string> names = {"front-door", "garage", "garden 4:3", "street"};
    window.set_streams(names, {1280, 720});
    window.set_overlay({98.7, 1.1, 6.2, 0.4, 14.9, 0});
    const cv::Mat images[4] = {cv::Mat(180, 320, CV_8UC3, cv::Scalar(0, 0, 255)),
                               cv::Mat(180, 320, CV_8UC3, cv::Scalar(0, 200, 0)),
                               cv::Mat(180, 240, CV_8UC3, cv::Scalar(255, 0, 0)),
                               cv::Mat(180, 320, CV_8UC3, cv::Scalar(0, 220, 220))};
    app::Frame frame;
    const auto end = std::chrono::steady_clock::now() + std::chrono::seconds(60);
    bool quit = false;
    for (int64_t round = 0; !quit && std::chrono::steady_clock::now() < end; ++round) {
        for (int s = 0; s < (round > 40 ? 3 : 4) && !quit; ++s) {
            frame.stream = s;
            frame.stream_name = &names[static_cast<size_t>(s)];
            frame.index = round;
            app::copy_to_frame(images[s], frame.image);
            quit = window.write(frame) == app::SinkAction::Quit;
        }
        if (round == 40) {
            std::thread([&window] { window.set_state(3, "ended"); }).join();
            std::ofstream(dir / "ready") << "ready\n";
        }
        if (fs::exists(dir / "stop")) break;
        std::this_thread::sleep_for(std::chrono::milliseconds(40));
    }
    cv::imwrite((dir / "canvas.png").string(), window.canvas());
    window.finish();
    return 0;
}
