// A bounded first-in first-out queue of byte records on disk: the MQTT publisher's spool while the
// broker is away (app/mqtt_sink.h). Not thread-safe: its owner serializes the calls.
//
// Layout: DIR/<20-digit number>.seg segment files, oldest first, each a run of records
//   [u32 length][u32 FNV-1a of the bytes][bytes]   (host byte order: the spool never leaves the machine)
// written with one write() each (no fsync: the records survive a crash of rtdet, not of the machine).
// Records are appended to the last segment (a new one when it would pass the segment size) and read
// from the first; a segment is deleted once read to its end, so the folder holds at most max_bytes
// plus one segment being read, however many records pass through. Segments left by an earlier run
// (a crash, or undelivered messages kept at exit) are read first; a torn last record is cut off.
// DIR/lock is held (flock) while the spool is open, so two processes never share one.
#pragma once

#include <cstdint>
#include <deque>
#include <string>
#include <string_view>
#include <vector>

namespace app {

class Spool {
  public:
    // Opens `dir` (created if missing) and takes its lock. `segment_bytes` 0: max_bytes / 8 within
    // [64 KiB, 16 MiB]. Throws engine::Error "publish.spool_dir: <dir>: <problem>".
    Spool(std::string dir, uint64_t max_bytes, uint64_t segment_bytes = 0);
    ~Spool();
    Spool(const Spool&) = delete;
    Spool& operator=(const Spool&) = delete;

    // Appends one record. False when it does not fit under max_bytes, or the write failed
    // (last_error() says why); nothing is written then.
    bool push(std::string_view record);
    // Takes the oldest record into `record`. False when empty.
    bool pop(std::string& record);
    // Puts `records` (in their order) ahead of everything spooled: at exit, what was taken out but not
    // delivered. May pass max_bytes by their size. Throws engine::Error when it cannot write them.
    void push_front(const std::vector<std::string>& records);

    bool empty() const { return count_ == 0; }
    uint64_t count() const { return count_; }            // records not yet popped
    uint64_t disk_bytes() const { return disk_bytes_; }  // bytes of the segment files
    uint64_t max_bytes() const { return max_bytes_; }
    uint64_t recovered() const { return recovered_; }  // records found at open
    size_t segments() const { return segs_.size(); }
    const std::string& dir() const { return dir_; }
    const std::string& last_error() const { return error_; }

    // Whether another process holds `dir`'s lock now.
    static bool in_use(const std::string& dir);

  private:
    struct Segment {
        uint64_t number = 0;
        uint64_t bytes = 0;    // file size
        uint64_t records = 0;  // records in the file
        uint64_t read = 0;     // records popped
    };
    std::string path_of(uint64_t number) const;
    void scan(Segment& seg);  // counts the records, cuts a torn tail
    void close_head();
    void drop_head();  // deletes the first segment

    std::string dir_;
    uint64_t max_bytes_, segment_bytes_;
    int lock_fd_ = -1;
    std::deque<Segment> segs_;
    int head_fd_ = -1;       // the first segment, for reading
    uint64_t head_off_ = 0;  // read position in it
    int tail_fd_ = -1;       // the last segment, for appending (-1: a new one at the next push)
    uint64_t count_ = 0, disk_bytes_ = 0, recovered_ = 0;
    std::string error_;
    std::string buf_;  // reused
};

}  // namespace app
