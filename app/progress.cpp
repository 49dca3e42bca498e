#include "app/progress.h"

#include <unistd.h>

#include <algorithm>
#include <cstdio>

namespace app {

ProgressBar::ProgressBar(std::string label, size_t total, bool enabled)
    : label_(std::move(label)),
      total_(total),
      active_(enabled && ::isatty(STDERR_FILENO) == 1),
      start_(std::chrono::steady_clock::now()),
      last_draw_(start_) {}

ProgressBar::~ProgressBar() { finish(); }

std::string ProgressBar::render(const std::string& label, size_t done, size_t total, double elapsed_s,
                                int width) {
    char buf[128];
    std::string s = label;
    const double rate = elapsed_s > 0 ? static_cast<double>(done) / elapsed_s : 0;
    if (total > 0) {
        const double frac = std::min(1.0, static_cast<double>(done) / static_cast<double>(total));
        const int filled = static_cast<int>(frac * width + 0.5);
        s += " [" + std::string(static_cast<size_t>(filled), '#') +
             std::string(static_cast<size_t>(width - filled), '-') + "]";
        std::snprintf(buf, sizeof buf, " %3d%% %zu/%zu", static_cast<int>(frac * 100), done, total);
        s += buf;
    } else {
        std::snprintf(buf, sizeof buf, " %zu", done);
        s += buf;
    }
    std::snprintf(buf, sizeof buf, "  %.1f it/s", rate);
    s += buf;
    if (total > 0 && rate > 0 && done < total) {
        std::snprintf(buf, sizeof buf, "  ETA %.0fs", static_cast<double>(total - done) / rate);
        s += buf;
    }
    return s;
}

void ProgressBar::update(size_t done) {
    done_ = done;
    draw(total_ > 0 && done >= total_);
}

void ProgressBar::draw(bool force) {
    if (!active_) return;
    const auto now = std::chrono::steady_clock::now();
    if (!force && drawn_ && now - last_draw_ < std::chrono::milliseconds(100)) return;
    last_draw_ = now;
    const double elapsed = std::chrono::duration<double>(now - start_).count();
    std::fprintf(stderr, "\r%s\033[K", render(label_, done_, total_, elapsed, 30).c_str());
    std::fflush(stderr);
    drawn_ = true;
}

void ProgressBar::finish() {
    if (!active_ || !drawn_) return;
    std::fprintf(stderr, "\r\033[K");
    std::fflush(stderr);
    drawn_ = false;
}

}  // namespace app
