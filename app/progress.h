// A one-line progress bar on stderr for folder and evaluation work:
//   eval [##########------------]  45% 57/126  12.3 it/s  ETA 6s
// Drawn only when stderr is a terminal (logs and pipes stay clean), at most ~10 times a second, and
// erased by finish() so the lines printed after it start on a clean line.
#pragma once

#include <chrono>
#include <cstddef>
#include <string>

namespace app {

class ProgressBar {
  public:
    // total 0: unknown (a counter without a bar). `enabled` false: draws nothing (e.g. --quiet).
    ProgressBar(std::string label, size_t total, bool enabled = true);
    ~ProgressBar();
    ProgressBar(const ProgressBar&) = delete;
    ProgressBar& operator=(const ProgressBar&) = delete;

    // Sets the number of items done and redraws when due.
    void update(size_t done);
    // Erases the bar (idempotent), e.g. before printing a line; a later update() draws it again.
    void finish();
    // Whether the bar draws at all (stderr is a terminal and it was enabled).
    bool active() const { return active_; }

    // The bar's text for `done` items after `elapsed_s` seconds, `width` columns for the bar itself
    // (exposed for tests).
    static std::string render(const std::string& label, size_t done, size_t total, double elapsed_s,
                              int width);

  private:
    void draw(bool force);

    std::string label_;
    size_t total_;
    size_t done_ = 0;
    bool active_;
    bool drawn_ = false;
    std::chrono::steady_clock::time_point start_, last_draw_;
};

}  // namespace app
