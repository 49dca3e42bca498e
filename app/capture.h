// Frame sources: what `--source` names, and reading frames from it.
//
//   0, 1, ...                  camera index (live)
//   /dev/videoN                V4L2 device (live)
//   rtsp:// rtmp:// http(s):// udp:// tcp:// srt://   stream through FFmpeg (live)
//   clip.mp4 (any other file)  video file through FFmpeg
//   folder/                    every regular, non-hidden file in it, sorted by name
//   "images/*.jpg"             glob pattern (glob(3)), sorted
//   list.txt / list.list       one image path per line (relative to the list's folder; # comments)
//   photo.jpg                  a single image
//
// Builds without OpenCV (the GPU machine's) read images only, JPEG only, through libjpeg-turbo: a
// video is fed as a folder of its frames (000000.jpg, ...); cameras, streams and video files are
// refused with the reason. Image sources may decode on several threads (frame order is kept).
//
// Live sources lose frames when the pipeline is slower than they are (the capture stage keeps the
// newest); a lost live stream is reopened with backoff. Files and folders are read completely.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <stop_token>
#include <string>
#include <string_view>
#include <vector>

#include "app/frame.h"

namespace app {

enum class SourceKind { Camera, Device, Stream, VideoFile, ImageFolder, Glob, ImageList, Image };

// How image sources decode: OpenCV's imdecode (any format it reads), or libjpeg-turbo (JPEG only;
// other files are skipped with the reason). Auto: OpenCV when the build has it, else libjpeg.
enum class ImageDecoder { Auto, OpenCV, Libjpeg };

std::string_view source_kind_name(SourceKind kind);

struct SourceSpec {
    SourceKind kind = SourceKind::VideoFile;
    std::string location;  // path, URL or pattern as given (camera: the index)
    int camera_index = -1;
    bool loop = false;  // video files: start again at the end (pipeline.loop: soak runs, demos)
    ImageDecoder decoder = ImageDecoder::Auto;  // image sources
    int decode_threads = 1;                     // image sources: files decoded ahead in parallel
    bool pinned_frames = false;  // decode into page-locked memory (the GPU path uploads it directly)
    bool live() const {
        return kind == SourceKind::Camera || kind == SourceKind::Device || kind == SourceKind::Stream;
    }
    bool images() const { return !live() && kind != SourceKind::VideoFile; }
};

// Classifies `source`; throws engine::Error naming it when it is empty, does not exist, or a URL
// scheme is not supported. The message lists the accepted forms.
SourceSpec classify_source(const std::string& source);

struct ReconnectPolicy {
    int attempts = 10;            // reopen attempts after a live source is lost (0: give up at once)
    int interval_ms = 500;        // wait before the first attempt; doubles per attempt up to 8x
    int timeout_ms = 5000;        // FFmpeg read timeout: a stream silent this long counts as lost
    int open_timeout_ms = 15000;  // FFmpeg open timeout (opening probes the stream: keep it generous)
};

enum class ReadStatus {
    Frame,    // frame.image (and timestamp, name) filled
    Skipped,  // an unreadable item (image sources): skip_message() names it; call read() again
    End,      // no more frames (end of file or list; or stop requested)
};

class Source {
  public:
    virtual ~Source() = default;
    // Reads the next frame into frame.image (reusing its buffer), frame.timestamp_ms and frame.name.
    // Live sources reconnect here when lost; after `attempts` failures they throw engine::Error.
    virtual ReadStatus read(Frame& frame, std::stop_token stop) = 0;
    virtual bool live() const = 0;
    // Frames per second of the source (0: unknown), total frames/images (-1: unknown or endless).
    virtual double fps() const = 0;
    virtual int64_t frame_count() const = 0;
    // "video file car.mp4 (768x432, 12.5 fps, 377 frames)", for logs and the summary.
    virtual std::string describe() const = 0;
    // Why the last read() returned Skipped: "bad.jpg: not a decodable image".
    const std::string& skip_message() const { return skip_message_; }
    // How many times a lost live source was reopened successfully.
    int reconnects() const { return reconnects_.load(); }
    // Whether a live source is (re)connecting now.
    bool connecting() const { return connecting_.load(); }

  protected:
    std::string skip_message_;
    std::atomic<int> reconnects_{0};
    std::atomic<bool> connecting_{false};
};

// Video files are opened here (errors early, with the path); live sources connect on the first read()
// and image lists are listed here. Throws engine::Error for what the build cannot read (a decoder it
// was built without; without OpenCV: cameras, streams and video files).
std::unique_ptr<Source> open_source(const SourceSpec& spec, const ReconnectPolicy& reconnect);

// Throws engine::Error naming the source when this build cannot read its kind (without OpenCV:
// cameras, devices, streams and video files need FFmpeg through OpenCV).
void check_source_supported(const SourceSpec& spec);

// Sleeps until `t` or until `stop` is requested (capture threads: pacing, reconnect backoff). False
// when stopped.
bool sleep_until(Clock::time_point t, std::stop_token stop);

// The image files a folder, glob or list source stands for (exposed for tests).
std::vector<std::string> list_images(const SourceSpec& spec);

}  // namespace app
