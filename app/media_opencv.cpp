// The I/O seam on OpenCV (app/media.h): images of any format OpenCV reads, video files, streams and
// cameras through FFmpeg / V4L2, cv::VideoWriter, JPEG files out, the highgui window (a mosaic for many
// streams), drawing. Frames stay app::FrameImage: OpenCV reads and writes them through cv::Mat headers.
#include "app/media_opencv.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <filesystem>
#include <iterator>
#include <opencv2/highgui.hpp>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>
#include <stdexcept>

#include "app/capture.h"
#include "app/draw.h"
#include "app/image_io.h"
#include "app/media.h"
#include "app/mosaic.h"
#include "engine/core/error.h"

namespace app {
namespace fs = std::filesystem;

cv::Mat as_mat(FrameImage& img) {
    if (img.empty()) return {};
    return cv::Mat(img.rows, img.cols, CV_8UC3, img.data, static_cast<size_t>(image_stride(img)));
}

cv::Mat as_mat(const FrameImage& img) { return as_mat(const_cast<FrameImage&>(img)); }

void copy_to_frame(const cv::Mat& m, FrameImage& img) {
    if (m.empty()) {
        img.release();
        return;
    }
    if (m.data == img.data && m.cols == img.cols && m.rows == img.rows) return;  // already there
    ENGINE_CHECK(m.depth() == CV_8U && (m.channels() == 3 || m.channels() == 1 || m.channels() == 4),
                 "copy_to_frame: expected an 8-bit BGR, gray or BGRA image (type ", m.type(), ")");
    img.create(m.cols, m.rows);
    cv::Mat dst = as_mat(img);
    if (m.channels() == 3)
        m.copyTo(dst);  // same size and type: into the header, no allocation
    else
        cv::cvtColor(m, dst, m.channels() == 1 ? cv::COLOR_GRAY2BGR : cv::COLOR_BGRA2BGR);
}

namespace {

// A cv::MatAllocator that puts a Mat's pixels in a frame image's buffer (grown only when too small),
// so cv::imdecode decodes straight into the frame. One Mat at a time: while the buffer is handed out,
// another allocation (an in-place transpose for an EXIF orientation, a type other than 8-bit BGR)
// throws, and cv::Mat::create falls back to OpenCV's own allocator (the caller then copies).
class FrameAllocator final : public cv::MatAllocator {
  public:
    explicit FrameAllocator(FrameImage& img) : img_(img) {}

    cv::UMatData* allocate(int dims, const int* sizes, int type, void* data, size_t* step, cv::AccessFlag,
                           cv::UMatUsageFlags) const override {
        if (busy_ || data != nullptr || dims != 2 || type != CV_8UC3)
            throw std::runtime_error("FrameAllocator: not for this Mat");
        img_.create(sizes[1], sizes[0]);  // rows, cols; throws std::bad_alloc
        step[1] = 3;
        step[0] = static_cast<size_t>(image_stride(img_));
        auto* u = new cv::UMatData(this);
        u->data = u->origdata = img_.data;
        u->size = step[0] * static_cast<size_t>(sizes[0]);
        busy_ = true;
        return u;
    }
    bool allocate(cv::UMatData*, cv::AccessFlag, cv::UMatUsageFlags) const override { return false; }
    void deallocate(cv::UMatData* u) const override {
        busy_ = false;
        delete u;  // the pixels stay the frame's
    }

  private:
    FrameImage& img_;
    mutable bool busy_ = false;
};

double ms_since(Clock::time_point t0) {
    return std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
}

// Sleeps `ms` or until stop is requested. False when stopped.
bool sleep_for(int ms, std::stop_token stop) {
    return sleep_until(Clock::now() + std::chrono::milliseconds(ms), stop);
}

// ---- video: files, cameras, devices, streams ----

class VideoSource final : public Source {
  public:
    VideoSource(SourceSpec spec, const ReconnectPolicy& reconnect)
        : spec_(std::move(spec)), reconnect_(reconnect) {
        if (!spec_.live()) {
            ENGINE_CHECK(open(), "source: cannot open video file ", spec_.location,
                         " (not a video FFmpeg can read, or a codec OpenCV was built without)");
        }
    }

    ReadStatus read(Frame& frame, std::stop_token stop) override {
        if (!spec_.live()) {
            if (!read_frame(frame.image)) {
                if (!spec_.loop || stop.stop_requested()) return ReadStatus::End;
                // Loop: reopen (seeking is not exact for every codec) and continue the timestamps.
                loop_offset_ms_ += last_pos_ms_ + (fps_.load() > 0 ? 1000.0 / fps_.load() : 0.0);
                cap_.release();
                ENGINE_CHECK(open(), "source: cannot reopen video file ", spec_.location, " to loop it");
                if (!read_frame(frame.image)) return ReadStatus::End;
            }
            last_pos_ms_ = cap_.get(cv::CAP_PROP_POS_MSEC);
            frame.timestamp_ms = loop_offset_ms_ + last_pos_ms_;
            return ReadStatus::Frame;
        }
        if (!cap_.isOpened() && !connect(stop, /*first=*/true)) return ReadStatus::End;
        while (!read_frame(frame.image)) {
            if (stop.stop_requested()) return ReadStatus::End;
            spdlog::warn("source: lost {} (no frame within {} ms); reconnecting", spec_.location,
                         reconnect_.timeout_ms);
            cap_.release();
            if (!connect(stop, /*first=*/false)) return ReadStatus::End;
            reconnects_.fetch_add(1);
        }
        frame.timestamp_ms = ms_since(created_at_);
        return ReadStatus::Frame;
    }

    bool live() const override { return spec_.live(); }
    double fps() const override { return fps_.load(); }
    int64_t frame_count() const override { return spec_.live() || spec_.loop ? -1 : frame_count_; }

    std::string describe() const override {
        std::string s = engine::concat(source_kind_name(spec_.kind), " ", spec_.location);
        const int w = width_.load();
        if (w <= 0) return s;
        s += engine::concat(" (", w, "x", height_.load(), ", ", fps(), " fps");
        if (frame_count() >= 0) s += engine::concat(", ", frame_count(), " frames");
        if (spec_.loop) s += engine::concat(", looped: ", frame_count_, " frames a pass");
        return s + ")";
    }

  private:
    // Reads the next frame into `img`. cv::VideoCapture::retrieve copies the decoded frame into its
    // destination, and into a cv::Mat header over img's buffer as it is when the size matches (no
    // reallocation, no copy of ours); only the first frame, or one of a new size, lands in a Mat of
    // OpenCV's and is copied once.
    bool read_frame(FrameImage& img) {
        if (!cap_.grab()) return false;
        cv::Mat m = as_mat(img);
        if (!cap_.retrieve(m) || m.empty()) return false;
        if (m.data != img.data) {
            ENGINE_CHECK(m.type() == CV_8UC3, "source: ", spec_.location, ": a frame is not 8-bit BGR (type ",
                         m.type(), ")");
            copy_to_frame(m, img);
        }
        return true;
    }

    bool open() {
        const std::vector<int> params = {cv::CAP_PROP_OPEN_TIMEOUT_MSEC, reconnect_.open_timeout_ms,
                                         cv::CAP_PROP_READ_TIMEOUT_MSEC, reconnect_.timeout_ms};
        bool ok = false;
        try {
            switch (spec_.kind) {
                case SourceKind::Camera:
                    ok = cap_.open(spec_.camera_index, cv::CAP_ANY);
                    break;
                case SourceKind::Device:
                    ok = cap_.open(spec_.location, cv::CAP_V4L2);
                    break;
                default:
                    ok = cap_.open(spec_.location, cv::CAP_FFMPEG, params);
                    break;
            }
        } catch (const cv::Exception& e) {
            spdlog::debug("source: OpenCV: {}", e.what());
            ok = false;
        }
        if (!ok || !cap_.isOpened()) return false;
        const double fps = cap_.get(cv::CAP_PROP_FPS);
        fps_.store(fps > 0 && fps < 1000 ? fps : 0);
        width_.store(static_cast<int>(cap_.get(cv::CAP_PROP_FRAME_WIDTH)));
        height_.store(static_cast<int>(cap_.get(cv::CAP_PROP_FRAME_HEIGHT)));
        const auto count = static_cast<int64_t>(cap_.get(cv::CAP_PROP_FRAME_COUNT));
        if (frame_count_ < 0) frame_count_ = count > 0 ? count : -1;  // a looped file reopens: same count
        return true;
    }

    // Opens a live source, retrying with backoff. False only when stopped; throws when it gives up.
    bool connect(std::stop_token stop, bool first) {
        // Set while (re)connecting, so the pipeline can show it (window tiles, status).
        struct Flag {
            std::atomic<bool>& f;
            explicit Flag(std::atomic<bool>& x) : f(x) { f = true; }
            ~Flag() { f = false; }
        } connecting(connecting_);
        if (first) {
            spdlog::info("source: connecting to {}", spec_.location);
            if (open()) return true;
        }
        int delay = reconnect_.interval_ms;
        for (int attempt = 1; attempt <= reconnect_.attempts; ++attempt) {
            spdlog::warn("source: reconnect attempt {}/{} to {} in {} ms", attempt, reconnect_.attempts,
                         spec_.location, delay);
            if (!sleep_for(delay, stop)) return false;
            if (open()) {
                if (!first)
                    spdlog::warn("source: reconnected to {} after {} attempt(s)", spec_.location, attempt);
                return true;
            }
            if (stop.stop_requested()) return false;
            delay = std::min(delay * 2, reconnect_.interval_ms * 8);
        }
        ENGINE_THROW("source: ", first ? "could not connect to " : "lost ", spec_.location,
                     " and gave up after ", reconnect_.attempts,
                     " reconnect attempt(s) (reconnect.attempts)");
    }

    SourceSpec spec_;
    ReconnectPolicy reconnect_;
    cv::VideoCapture cap_;
    std::atomic<double> fps_{0};
    std::atomic<int> width_{0}, height_{0};
    int64_t frame_count_ = -1;                     // files only (set by the first open())
    double loop_offset_ms_ = 0, last_pos_ms_ = 0;  // looped files: timestamps keep increasing
    Clock::time_point created_at_ = Clock::now();
};

}  // namespace

// ---- images ----

cv::Mat read_image(const std::string& path, std::string& why) {
    std::vector<uint8_t> bytes;
    if (!read_image_file(path, bytes, why)) return {};
    cv::Mat img;
    try {
        img = cv::imdecode(bytes, cv::IMREAD_COLOR);
    } catch (const cv::Exception& e) {
        why = std::string("cannot decode: ") + e.what();
        return {};
    }
    if (img.empty()) why = "not a readable image";
    return img;
}

namespace media {

const Features& features() {
    static const Features f{true, true, true, true, true};
    return f;
}

bool decode_image(const std::vector<uint8_t>& bytes, FrameImage& img, std::string& why) {
    try {
        FrameAllocator into(img);
        cv::Mat m;
        m.allocator = &into;  // imdecode's Mat::create lands in img's buffer
        cv::imdecode(bytes, cv::IMREAD_COLOR, &m);
        if (!m.empty()) {
            if (m.data != img.data) copy_to_frame(m, img);  // OpenCV's allocator had to step in
            return true;
        }
    } catch (const std::exception&) {  // cv::Exception: corrupt data; std::bad_alloc
    }
    img.release();
    why = "not a decodable image (corrupt, or not an image format)";
    return false;
}

std::unique_ptr<Source> open_video_source(const SourceSpec& spec, const ReconnectPolicy& reconnect) {
    return std::make_unique<VideoSource>(spec, reconnect);
}

std::unique_ptr<Sink> open_video_writer(const std::string& path, const std::string& codec,
                                        std::function<double()> fps) {
    return std::make_unique<VideoSink>(path, codec, std::move(fps));
}

std::unique_ptr<Sink> open_image_writer(const std::string& dir, bool prefix_stream) {
    return std::make_unique<ImageDirSink>(dir, prefix_stream);
}

std::unique_ptr<Window> open_window(const std::string& title, const std::string& snapshot_dir) {
    return std::make_unique<WindowSink>(title, snapshot_dir);
}

void draw_detections(FrameImage& img, std::span<const detector::Detection> dets,
                     const std::vector<std::string>& names) {
    cv::Mat m = as_mat(img);
    app::draw_detections(m, dets, names);
}

void write_pr_plot(const std::string& path, const std::vector<PrCurve>& curves, const std::string& title) {
    const cv::Mat img = draw_pr_plot(curves, title);
    bool ok = false;
    try {
        ok = cv::imwrite(path, img);
    } catch (const cv::Exception&) {
        ok = false;
    }
    ENGINE_CHECK(ok, "cannot write plot ", path, " (use a .png name in an existing folder)");
}

}  // namespace media

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
    const cv::Mat image = as_mat(frame.image);
    if (!writer_.isOpened()) {
        size_ = image.size();
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
    if (image.size() == size_) {
        writer_.write(image);
    } else {
        cv::resize(image, resized_, size_);
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
    ENGINE_CHECK(cv::imwrite(path_, as_mat(frame.image)), "outputs.images_dir: cannot write ", path_);
    return SinkAction::Continue;
}

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
        as_mat(frame.image).copyTo(canvas_);
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
        mosaic_->update(s, as_mat(frame.image), frame.stream_label(), fps_[si].fps());
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

}  // namespace app
