#include "app/sinks.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <iterator>

#include "detector/labels.h"
#include "engine/core/error.h"

#if RTDET_WITH_OPENCV
#include <opencv2/highgui.hpp>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include "app/mosaic.h"
#endif

namespace app {
namespace fs = std::filesystem;

namespace {

void make_parent_dirs(const std::string& file, const char* key) {
    const fs::path parent = fs::path(file).parent_path();
    if (parent.empty()) return;
    std::error_code ec;
    fs::create_directories(parent, ec);
    ENGINE_CHECK(!ec, key, ": cannot create folder ", parent.string(), " for ", file, ": ", ec.message());
}

void append_json_string(std::string& out, std::string_view s) {
    out += '"';
    for (const char c : s) {
        switch (c) {
            case '"':
                out += "\\\"";
                break;
            case '\\':
                out += "\\\\";
                break;
            case '\n':
                out += "\\n";
                break;
            case '\r':
                out += "\\r";
                break;
            case '\t':
                out += "\\t";
                break;
            default:
                if (static_cast<unsigned char>(c) < 0x20)
                    fmt::format_to(std::back_inserter(out), "\\u{:04x}", static_cast<int>(c));
                else
                    out += c;
        }
    }
    out += '"';
}

}  // namespace

#if RTDET_WITH_OPENCV
// ---- video ----

VideoSink::VideoSink(std::string path, std::string codec, std::function<double()> fps)
    : path_(std::move(path)), codec_(std::move(codec)), fps_(std::move(fps)) {
    make_parent_dirs(path_, "outputs.video");
}

VideoSink::~VideoSink() {
    try {
        finish();
    } catch (const engine::Error& e) {
        spdlog::error("{}", e.what());
    }
}

SinkAction VideoSink::write(const Frame& frame) {
    if (!writer_.isOpened()) {
        size_ = frame.image.size();
        double fps = fps_ ? fps_() : 0;
        if (!(fps > 0)) fps = frame.stream_fps;
        if (!(fps > 0)) fps = 25.0;
        const int fourcc = cv::VideoWriter::fourcc(codec_[0], codec_[1], codec_[2], codec_[3]);
        writer_.open(path_, cv::CAP_FFMPEG, fourcc, fps, size_, true);
        ENGINE_CHECK(
            writer_.isOpened(), "outputs.video: cannot write ", path_, " with codec ", codec_,
            " (folder not writable or disk full? else try outputs.video_codec MJPG with an .avi file)");
        spdlog::info("writing {} ({}x{}, {} fps, {})", path_, size_.width, size_.height, fps, codec_);
    }
    if (frame.image.size() == size_) {
        writer_.write(frame.image);
    } else {
        cv::resize(frame.image, resized_, size_);
        writer_.write(resized_);
    }
    ++written_;
    return SinkAction::Continue;
}

void VideoSink::finish() {
    if (!writer_.isOpened()) return;
    writer_.release();
    // cv::VideoWriter drops FFmpeg's write errors (disk full): read the finished file's frame count
    // back, so a truncated or unreadable video is an error instead of a silent loss.
    cv::VideoCapture check(path_, cv::CAP_FFMPEG);
    const auto held = check.isOpened() ? static_cast<int64_t>(check.get(cv::CAP_PROP_FRAME_COUNT)) : -1;
    ENGINE_CHECK(held >= written_, "outputs.video: ", path_, " is incomplete: ", written_,
                 " frames were written, the file holds ", held < 0 ? "none readable" : std::to_string(held),
                 " (disk full or write error?)");
}

// ---- images ----

ImageDirSink::ImageDirSink(std::string dir, bool prefix_stream)
    : dir_(std::move(dir)), prefix_stream_(prefix_stream) {
    std::error_code ec;
    fs::create_directories(dir_, ec);
    ENGINE_CHECK(!ec, "outputs.images_dir: cannot create folder ", dir_, ": ", ec.message());
}

SinkAction ImageDirSink::write(const Frame& frame) {
    path_.assign(dir_);
    path_ += '/';
    if (prefix_stream_) {
        path_ += frame.stream_label();
        path_ += '_';
    }
    if (!frame.name.empty())
        path_ += fs::path(frame.name).stem().string();
    else
        fmt::format_to(std::back_inserter(path_), "frame_{:06d}", frame.index);
    path_ += ".jpg";
    ENGINE_CHECK(cv::imwrite(path_, frame.image), "outputs.images_dir: cannot write ", path_);
    return SinkAction::Continue;
}

#endif  // RTDET_WITH_OPENCV

// ---- JSON lines ----

JsonLinesSink::JsonLinesSink(const std::string& path, const std::vector<std::string>& class_names)
    : path_(path), names_(class_names) {
    make_parent_dirs(path_, "outputs.json");
    file_ = std::fopen(path_.c_str(), "w");
    ENGINE_CHECK(file_ != nullptr, "outputs.json: cannot open ", path_,
                 " for writing: ", std::strerror(errno));
    // Unbuffered (each line is one fwrite, flushed anyway): a failed write leaves nothing behind in a
    // buffer that fclose() would write after the cut below.
    std::setvbuf(file_, nullptr, _IONBF, 0);
    line_.reserve(1 << 14);
}

JsonLinesSink::~JsonLinesSink() { finish(); }

SinkAction JsonLinesSink::write(const Frame& frame) {
    line_.clear();
    auto out = std::back_inserter(line_);
    fmt::format_to(out, "{{\"stream\":{},\"name\":", frame.stream);
    append_json_string(line_, frame.stream_label());
    fmt::format_to(out, ",\"frame\":{},\"timestamp_ms\":{:.3f}", frame.index, frame.timestamp_ms);
    if (!frame.name.empty()) {
        line_ += ",\"source\":";
        append_json_string(line_, frame.name);
    }
    fmt::format_to(out, ",\"width\":{},\"height\":{},\"detections\":[", frame.image.cols, frame.image.rows);
    for (size_t i = 0; i < frame.detections.size(); ++i) {
        const detector::Detection& d = frame.detections[i];
        fmt::format_to(out, "{}{{\"class_id\":{},\"class\":", i ? "," : "", d.class_id);
        if (d.class_id >= 0 && static_cast<size_t>(d.class_id) < names_.size())
            append_json_string(line_, names_[static_cast<size_t>(d.class_id)]);
        else
            fmt::format_to(out, "\"class{}\"", d.class_id);
        fmt::format_to(out, ",\"score\":{:.5f},\"box\":[{:.2f},{:.2f},{:.2f},{:.2f}]}}", d.score, d.box.x1,
                       d.box.y1, d.box.x2, d.box.y2);
    }
    line_ += "]}\n";
    if (std::fwrite(line_.data(), 1, line_.size(), file_) != line_.size() || std::fflush(file_) != 0) {
        const int err = errno;
        // Disk full: cut the partly written line, so the file holds whole lines only.
        if (::ftruncate(::fileno(file_), static_cast<off_t>(bytes_ok_)) != 0) {
            // Not a regular file (/dev/full): nothing to cut.
        }
        ENGINE_THROW("outputs.json: cannot write frame ", frame.index, " to ", path_, ": ",
                     std::strerror(err), " (disk full?)");
    }
    bytes_ok_ += line_.size();
    return SinkAction::Continue;
}

void JsonLinesSink::finish() {
    if (file_ != nullptr) {
        std::fclose(file_);
        file_ = nullptr;
    }
}

#if RTDET_WITH_OPENCV
// ---- window ----

void draw_overlay(cv::Mat& image, const Overlay& o) {
    char lines[3][96];
    std::snprintf(lines[0], sizeof lines[0], "%.1f FPS  e2e %.1f ms", o.fps, o.end_to_end_ms);
    std::snprintf(lines[1], sizeof lines[1], "pre %.1f  infer %.1f  post %.1f ms", o.preprocess_ms,
                  o.inference_ms, o.postprocess_ms);
    std::snprintf(lines[2], sizeof lines[2], "dropped %lld", static_cast<long long>(o.dropped));
    const double scale = std::max(0.45, image.cols / 1400.0);
    const int thick = scale > 0.8 ? 2 : 1;
    int baseline = 0;
    const cv::Size ts = cv::getTextSize(lines[1], cv::FONT_HERSHEY_SIMPLEX, scale, thick, &baseline);
    const int line_h = ts.height + baseline + 6;
    const cv::Rect box(0, 0, std::min(image.cols, ts.width + 16), std::min(image.rows, 3 * line_h + 8));
    cv::Mat roi = image(box);
    roi *= 0.35;  // darken behind the text
    for (int i = 0; i < 3; ++i)
        cv::putText(image, lines[i], cv::Point(8, 4 + (i + 1) * line_h - baseline), cv::FONT_HERSHEY_SIMPLEX,
                    scale, cv::Scalar(255, 255, 255), thick, cv::LINE_AA);
}

WindowSink::WindowSink(std::string title, std::string snapshot_dir)
    : title_(std::move(title)), snapshot_dir_(std::move(snapshot_dir)) {}

WindowSink::~WindowSink() { finish(); }

void WindowSink::set_streams(std::vector<std::string> names, cv::Size max_size) {
    max_size_ = max_size;
    streams_ = std::max<int>(1, static_cast<int>(names.size()));
    if (names.size() <= 1) {
        mosaic_.reset();
        return;
    }
    if (!mosaic_) mosaic_ = std::make_unique<Mosaic>(max_size_);
    mosaic_->set_streams(std::move(names));
    fps_.assign(static_cast<size_t>(streams_), FpsMeter{});
    drawn_.assign(static_cast<size_t>(streams_), 0);
}

void WindowSink::set_state(int stream, std::string state) {
    std::lock_guard<std::mutex> lock(states_mutex_);
    states_.emplace_back(stream, std::move(state));
    states_pending_.store(true, std::memory_order_release);
}

void WindowSink::apply_states() {
    if (!states_pending_.load(std::memory_order_acquire)) return;
    std::lock_guard<std::mutex> lock(states_mutex_);
    for (const auto& [stream, state] : states_)
        if (mosaic_ && stream >= 0 && stream < mosaic_->streams()) mosaic_->set_state(stream, state);
    states_.clear();
    states_pending_.store(false, std::memory_order_release);
}

const cv::Mat& WindowSink::canvas() const { return mosaic_ ? mosaic_->canvas() : canvas_; }

void WindowSink::open() {
    if (open_) return;
    cv::namedWindow(title_, cv::WINDOW_AUTOSIZE | cv::WINDOW_KEEPRATIO | cv::WINDOW_GUI_NORMAL);
    open_ = true;
}

SinkAction WindowSink::write(const Frame& frame) {
    apply_states();  // (one stream: drops them)
    if (!mosaic_ && frame.stream > 0) {
        // Frames of several streams without set_streams(): a mosaic of as many as seen.
        std::vector<std::string> names;
        for (int i = 0; i <= frame.stream; ++i) names.push_back(fmt::format("stream {}", i));
        set_streams(std::move(names), max_size_);
    }
    if (!mosaic_) {
        open();
        frame.image.copyTo(canvas_);
        draw_overlay(canvas_, overlay_);
        cv::imshow(title_, canvas_);
        last_index_ = frame.index;
        const SinkAction a = handle_key(cv::waitKey(1), frame.index);
        if (a == SinkAction::Quit) return a;
        // The user closed the window.
        if (cv::getWindowProperty(title_, cv::WND_PROP_VISIBLE) < 1) return SinkAction::Quit;
        return SinkAction::Continue;
    }

    const int s = std::max(frame.stream, 0);
    if (s >= mosaic_->streams()) {
        // A stream past the list: grow it (a new layout; tiles wait for their next frame).
        std::vector<std::string> names;
        for (int i = 0; i <= s; ++i)
            names.push_back(i < mosaic_->streams() ? mosaic_->name(i) : fmt::format("stream {}", i));
        std::vector<std::string> states;
        for (int i = 0; i < mosaic_->streams(); ++i) states.push_back(mosaic_->state(i));
        set_streams(std::move(names), max_size_);
        for (size_t i = 0; i < states.size(); ++i) mosaic_->set_state(static_cast<int>(i), states[i]);
    }
    const Clock::time_point now = Clock::now();
    const auto si = static_cast<size_t>(s);
    fps_[si].tick(now);
    // One update per tile between refreshes: the rest would never be seen.
    if (!drawn_[si]) {
        mosaic_->update(s, frame.image, frame.stream_label(), fps_[si].fps());
        drawn_[si] = 1;
    }
    if (refreshes_ == 0 || now - last_refresh_ >= std::chrono::milliseconds(33)) return refresh(now);
    return SinkAction::Continue;
}

SinkAction WindowSink::poll() {
    apply_states();
    if (!mosaic_) {
        if (!open_) return SinkAction::Continue;
        const SinkAction a = handle_key(cv::waitKey(1), last_index_);
        if (a == SinkAction::Quit) return a;
        if (cv::getWindowProperty(title_, cv::WND_PROP_VISIBLE) < 1) return SinkAction::Quit;
        return SinkAction::Continue;
    }
    const Clock::time_point now = Clock::now();
    if (refreshes_ == 0 || now - last_refresh_ >= std::chrono::milliseconds(33)) return refresh(now);
    return SinkAction::Continue;
}

SinkAction WindowSink::refresh(Clock::time_point now) {
    open();
    status_.clear();
    fmt::format_to(
        std::back_inserter(status_),
        "{} streams  {:.1f} FPS  e2e {:.1f} ms  pre {:.1f}  infer {:.1f}  post {:.1f} ms  dropped {}",
        streams_, overlay_.fps, overlay_.end_to_end_ms, overlay_.preprocess_ms, overlay_.inference_ms,
        overlay_.postprocess_ms, overlay_.dropped);
    mosaic_->set_status(status_);
    cv::imshow(title_, mosaic_->canvas());
    ++refreshes_;
    last_refresh_ = now;
    std::fill(drawn_.begin(), drawn_.end(), 0);
    const SinkAction a = handle_key(cv::waitKey(1), refreshes_);
    if (a == SinkAction::Quit) return a;
    if (cv::getWindowProperty(title_, cv::WND_PROP_VISIBLE) < 1) return SinkAction::Quit;
    return SinkAction::Continue;
}

SinkAction WindowSink::handle_key(int key, int64_t snapshot_number) {
    if (key < 0) return SinkAction::Continue;
    key &= 0xff;
    if (key == 'q' || key == 'Q' || key == 27) return SinkAction::Quit;
    if (key == 's' || key == 'S') snapshot(snapshot_number);
    if (key == ' ') {
        spdlog::info("paused (space resumes, q quits)");
        while (interrupt_ == nullptr || interrupt_->load() == 0) {
            const int k = cv::waitKey(50);
            if (k < 0) {
                if (cv::getWindowProperty(title_, cv::WND_PROP_VISIBLE) < 1) return SinkAction::Quit;
                continue;
            }
            const int kk = k & 0xff;
            if (kk == 'q' || kk == 'Q' || kk == 27) return SinkAction::Quit;
            if (kk == 's' || kk == 'S') snapshot(snapshot_number);
            if (kk == ' ') break;
        }
        spdlog::info("resumed");
    }
    return SinkAction::Continue;
}

void WindowSink::snapshot(int64_t number) {
    std::error_code ec;
    fs::create_directories(snapshot_dir_, ec);
    // One stream: the frame's index; the mosaic: the refresh's number.
    const std::string path =
        fmt::format("{}/{}_{:06d}.png", snapshot_dir_, mosaic_ ? "mosaic" : "snapshot", number);
    if (cv::imwrite(path, canvas()))
        spdlog::info("snapshot: {}", path);
    else
        spdlog::warn("snapshot: cannot write {}", path);
}

void WindowSink::finish() {
    if (open_) {
        cv::destroyWindow(title_);
        cv::waitKey(1);
        open_ = false;
    }
}

#endif  // RTDET_WITH_OPENCV

}  // namespace app
