#include "app/capture.h"

#include <glob.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <condition_variable>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <thread>

#include "app/image_io.h"
#include "app/media.h"
#include "engine/core/error.h"

namespace app {
namespace fs = std::filesystem;

namespace {

constexpr const char* kAcceptedForms =
    "expected a camera index (0), /dev/videoN, a video or image file, a folder, a glob pattern, a .txt list "
    "of images, or an rtsp/rtmp/http(s)/udp/tcp/srt URL";

constexpr std::array<std::string_view, 7> kStreamSchemes = {"rtsp",  "rtsps", "rtmp", "http",
                                                            "https", "udp",   "tcp"};

bool is_digits(std::string_view s) {
    return !s.empty() && s.size() < 4 &&
           std::all_of(s.begin(), s.end(), [](unsigned char c) { return std::isdigit(c); });
}

std::string lower(std::string s) {
    for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return s;
}

bool has_image_extension(const fs::path& p) {
    static constexpr std::array<std::string_view, 17> kExt = {
        ".jpg", ".jpeg", ".jpe", ".png", ".bmp", ".dib", ".webp", ".tif", ".tiff",
        ".ppm", ".pgm",  ".pbm", ".pnm", ".jp2", ".exr", ".hdr",  ".sr"};
    const std::string ext = lower(p.extension().string());
    return std::find(kExt.begin(), kExt.end(), ext) != kExt.end();
}

bool has_list_extension(const fs::path& p) {
    const std::string ext = lower(p.extension().string());
    return ext == ".txt" || ext == ".list";
}

double ms_since(Clock::time_point t0) {
    return std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
}

// ---- video: files, cameras, devices, streams: media::open_video_source (app/media.h) ----

// ---- images: folder, glob, list, single file ----

ImageDecoder resolve_decoder(ImageDecoder d) {
    if (d != ImageDecoder::Auto) return d;
    return media::features().any_image_format ? ImageDecoder::OpenCV : ImageDecoder::Libjpeg;
}

bool is_jpeg(const std::vector<uint8_t>& bytes) {
    return bytes.size() >= 3 && bytes[0] == 0xFF && bytes[1] == 0xD8 && bytes[2] == 0xFF;
}

// Reads and decodes one image file into `img` (its buffer reused). False with `why` set when the
// file cannot be used. `bytes` is scratch. Never throws.
bool decode_file(const std::string& path, ImageDecoder decoder, FrameImage& img, std::vector<uint8_t>& bytes,
                 std::string& why) {
    if (decoder == ImageDecoder::Libjpeg) {
#if RTDET_HAS_LIBJPEG
        // read_image_file also refuses a JPEG cut short (libjpeg would decode it grey below the cut).
        if (!read_image_file(path, bytes, why)) return false;
        if (!is_jpeg(bytes)) {
            why = "not a JPEG (this source decodes with libjpeg: JPEG files only)";
            return false;
        }
        return decode_jpeg_into(bytes.data(), bytes.size(), img, why);
#else
        (void)img;
        (void)bytes;
        why = "cannot decode: this rtdet was built without libjpeg";
        return false;
#endif
    }
    std::ifstream in(path, std::ios::binary);
    if (!in) {
        why = "cannot be opened (missing or unreadable)";
        return false;
    }
    in.seekg(0, std::ios::end);
    const auto size = static_cast<std::streamoff>(in.tellg());
    if (size <= 0) {
        why = "empty file";
        return false;
    }
    in.seekg(0);
    bytes.resize(static_cast<size_t>(size));
    if (!in.read(reinterpret_cast<char*>(bytes.data()), size)) {
        why = "read error";
        return false;
    }
    return media::decode_image(bytes, img, why);
}

// Decodes files in order on the calling thread, or ahead on `threads` worker threads: file i is
// decoded by worker i % threads into slot i % (2 * threads); read() takes the slots in order, so
// frames keep the files' order. A slot's image is swapped with the frame's, so buffers are recycled.
class ImageSource final : public Source {
  public:
    explicit ImageSource(SourceSpec spec)
        : spec_(std::move(spec)),
          decoder_(resolve_decoder(spec_.decoder)),
          paths_(list_images(spec_)),
          t0_(Clock::now()) {
        ENGINE_CHECK(decoder_ == ImageDecoder::Libjpeg || media::features().any_image_format,
                     "source: the OpenCV image decoder is not in this build (it reads JPEG files only)");
#if !RTDET_HAS_LIBJPEG
        ENGINE_CHECK(decoder_ != ImageDecoder::Libjpeg,
                     "source: the libjpeg image decoder is not in this build (libjpeg-turbo was not found)");
#endif
        const int threads = std::min<int>(std::max(1, spec_.decode_threads), 64);
        if (threads > 1 && paths_.size() > 1) {
            slots_.resize(static_cast<size_t>(2 * threads));
            for (Slot& slot : slots_) use_pinned_memory(slot.image, spec_.pinned_frames);
            for (int w = 0; w < threads; ++w)
                workers_.emplace_back([this, w, threads](std::stop_token stop) { work(w, threads, stop); });
        }
    }

    ~ImageSource() override {
        for (std::jthread& t : workers_) t.request_stop();
        cv_.notify_all();
        workers_.clear();  // joins
    }

    ReadStatus read(Frame& frame, std::stop_token stop) override {
        if (next_ >= paths_.size() || stop.stop_requested()) return ReadStatus::End;
        const size_t i = next_;
        const std::string& path = paths_[i];
        frame.name.assign(path);
        frame.timestamp_ms = ms_since(t0_);
        bool ok = false;
        if (workers_.empty()) {
            ok = decode_file(path, decoder_, frame.image, bytes_, why_);
        } else {
            std::unique_lock lock(m_);
            Slot& slot = slots_[i % slots_.size()];
            if (!cv_.wait(lock, stop, [&] { return slot.ready; })) return ReadStatus::End;
            ok = slot.ok;
            if (ok) std::swap(frame.image, slot.image);
            why_.swap(slot.why);
            slot.ready = false;
        }
        {
            std::lock_guard lock(m_);
            ++next_;
        }
        cv_.notify_all();
        if (!ok) {
            skip_message_ = engine::concat(path, ": ", why_);
            return ReadStatus::Skipped;
        }
        return ReadStatus::Frame;
    }

    bool live() const override { return false; }
    double fps() const override { return 0; }
    int64_t frame_count() const override { return static_cast<int64_t>(paths_.size()); }
    std::string describe() const override {
        std::string s =
            engine::concat(source_kind_name(spec_.kind), " ", spec_.location, " (", paths_.size(), " files");
        if (decoder_ == ImageDecoder::Libjpeg) s += ", JPEG via libjpeg";
        if (!workers_.empty()) s += engine::concat(", ", workers_.size(), " decode threads");
        return s + ")";
    }

  private:
    struct Slot {
        FrameImage image;
        std::string why;
        bool ready = false, ok = false;
    };

    void work(int w, int threads, std::stop_token stop) {
        std::vector<uint8_t> bytes;
        const size_t n_slots = slots_.size();
        for (size_t i = static_cast<size_t>(w); i < paths_.size(); i += static_cast<size_t>(threads)) {
            Slot& slot = slots_[i % n_slots];
            {
                // The slot is free once the reader has taken file i - n_slots.
                std::unique_lock lock(m_);
                if (!cv_.wait(lock, stop, [&] { return i < next_ + n_slots; })) return;
            }
            std::string why;
            const bool ok = decode_file(paths_[i], decoder_, slot.image, bytes, why);
            {
                std::lock_guard lock(m_);
                slot.ok = ok;
                slot.why = std::move(why);
                slot.ready = true;
            }
            cv_.notify_all();
        }
    }

    SourceSpec spec_;
    ImageDecoder decoder_;
    std::vector<std::string> paths_;
    size_t next_ = 0;  // the next file read() returns; guarded by m_ when there are workers
    std::vector<uint8_t> bytes_;
    std::string why_;
    Clock::time_point t0_;
    std::vector<Slot> slots_;
    std::mutex m_;
    std::condition_variable_any cv_;
    std::vector<std::jthread> workers_;  // last: joined before the members they use are destroyed
};

}  // namespace

std::string_view source_kind_name(SourceKind kind) {
    switch (kind) {
        case SourceKind::Camera:
            return "camera";
        case SourceKind::Device:
            return "device";
        case SourceKind::Stream:
            return "stream";
        case SourceKind::VideoFile:
            return "video file";
        case SourceKind::ImageFolder:
            return "image folder";
        case SourceKind::Glob:
            return "glob";
        case SourceKind::ImageList:
            return "image list";
        case SourceKind::Image:
            return "image";
    }
    return "?";
}

SourceSpec classify_source(const std::string& source) {
    ENGINE_CHECK(!source.empty(), "source: none given (", kAcceptedForms, ")");
    SourceSpec spec;
    spec.location = source;
    if (is_digits(source)) {
        spec.kind = SourceKind::Camera;
        spec.camera_index = std::stoi(source);
        return spec;
    }
    if (source.rfind("/dev/video", 0) == 0) {
        ENGINE_CHECK(fs::exists(source), "source: device not found: ", source);
        spec.kind = SourceKind::Device;
        return spec;
    }
    if (const size_t p = source.find("://"); p != std::string::npos) {
        const std::string scheme = lower(source.substr(0, p));
        if (scheme == "file") return classify_source(source.substr(p + 3));
        ENGINE_CHECK(
            std::find(kStreamSchemes.begin(), kStreamSchemes.end(), scheme) != kStreamSchemes.end() ||
                scheme == "srt",
            "source: unsupported URL scheme '", scheme, "' in ", source, " (", kAcceptedForms, ")");
        spec.kind = SourceKind::Stream;
        return spec;
    }
    std::error_code ec;
    if (fs::is_directory(source, ec)) {
        spec.kind = SourceKind::ImageFolder;
        return spec;
    }
    if (source.find_first_of("*?[") != std::string::npos && !fs::exists(source, ec)) {
        spec.kind = SourceKind::Glob;
        return spec;
    }
    ENGINE_CHECK(fs::exists(source, ec), "source: not found: ", source, " (", kAcceptedForms, ")");
    ENGINE_CHECK(fs::is_regular_file(source, ec), "source: not a regular file or folder: ", source);
    if (has_list_extension(source))
        spec.kind = SourceKind::ImageList;
    else if (has_image_extension(source))
        spec.kind = SourceKind::Image;
    else
        spec.kind = SourceKind::VideoFile;
    return spec;
}

std::vector<std::string> list_images(const SourceSpec& spec) {
    std::vector<std::string> paths;
    switch (spec.kind) {
        case SourceKind::Image:
            paths.push_back(spec.location);
            break;
        case SourceKind::ImageFolder: {
            for (const auto& entry : fs::directory_iterator(spec.location)) {
                const std::string name = entry.path().filename().string();
                if (!name.empty() && name[0] != '.' && entry.is_regular_file())
                    paths.push_back(entry.path().string());
            }
            std::sort(paths.begin(), paths.end());
            break;
        }
        case SourceKind::Glob: {
            glob_t g{};
            const int rc = ::glob(spec.location.c_str(), 0, nullptr, &g);
            if (rc == 0) {
                for (size_t i = 0; i < g.gl_pathc; ++i) {
                    std::error_code ec;
                    if (fs::is_regular_file(g.gl_pathv[i], ec)) paths.emplace_back(g.gl_pathv[i]);
                }
            }
            globfree(&g);
            ENGINE_CHECK(rc == 0 || rc == GLOB_NOMATCH, "source: glob ", spec.location, " failed (error ", rc,
                         ")");
            break;
        }
        case SourceKind::ImageList: {
            std::ifstream in(spec.location);
            ENGINE_CHECK(in, "source: cannot read list ", spec.location);
            const fs::path base = fs::path(spec.location).parent_path();
            std::string line;
            while (std::getline(in, line)) {
                const size_t b = line.find_first_not_of(" \t\r");
                if (b == std::string::npos || line[b] == '#') continue;
                const size_t e = line.find_last_not_of(" \t\r");
                fs::path p = line.substr(b, e - b + 1);
                if (p.is_relative()) p = base / p;
                paths.push_back(p.lexically_normal().string());
            }
            break;
        }
        default:
            break;
    }
    ENGINE_CHECK(!paths.empty(), "source: ", source_kind_name(spec.kind), " ", spec.location,
                 " has no files");
    return paths;
}

void check_source_supported(const SourceSpec& spec) {
    ENGINE_CHECK(spec.images() || media::features().video, "source: ", source_kind_name(spec.kind), " ",
                 spec.location,
                 " needs a build with OpenCV (FFmpeg); this build reads JPEG images only: pass a folder of "
                 "JPEG frames");
}

bool sleep_until(Clock::time_point t, std::stop_token stop) {
    std::mutex m;
    std::condition_variable_any cv;
    std::unique_lock lock(m);
    cv.wait_until(lock, stop, t, [] { return false; });
    return !stop.stop_requested();
}

std::unique_ptr<Source> open_source(const SourceSpec& spec, const ReconnectPolicy& reconnect) {
    check_source_supported(spec);
    if (spec.images()) return std::make_unique<ImageSource>(spec);
    return media::open_video_source(spec, reconnect);
}

}  // namespace app
