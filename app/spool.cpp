#include "app/spool.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>

#include "engine/core/error.h"

namespace app {
namespace fs = std::filesystem;

namespace {

constexpr uint64_t kHeader = 8;
// Segment numbers start high, so push_front can always number one before the first.
constexpr uint64_t kFirstNumber = 1'000'000'000'000ULL;

uint32_t fnv1a(std::string_view s) {
    uint32_t h = 2166136261u;
    for (const char c : s) {
        h ^= static_cast<unsigned char>(c);
        h *= 16777619u;
    }
    return h;
}

bool read_exact(int fd, char* p, size_t n, uint64_t off) {
    while (n > 0) {
        const ssize_t r = ::pread(fd, p, n, static_cast<off_t>(off));
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) return false;
        p += r;
        n -= static_cast<size_t>(r);
        off += static_cast<uint64_t>(r);
    }
    return true;
}

bool write_all(int fd, const char* p, size_t n) {
    while (n > 0) {
        const ssize_t w = ::write(fd, p, n);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) return false;
        p += w;
        n -= static_cast<size_t>(w);
    }
    return true;
}

void append_record(std::string& out, std::string_view record) {
    const auto len = static_cast<uint32_t>(record.size());
    const uint32_t sum = fnv1a(record);
    out.append(reinterpret_cast<const char*>(&len), 4);
    out.append(reinterpret_cast<const char*>(&sum), 4);
    out.append(record);
}

// Reads the record at `off` of `fd` (file size `size`) into `out`; false when it is torn or corrupt.
bool read_record(int fd, uint64_t off, uint64_t size, std::string& out) {
    if (off + kHeader > size) return false;
    uint32_t head[2];
    if (!read_exact(fd, reinterpret_cast<char*>(head), kHeader, off)) return false;
    if (off + kHeader + head[0] > size) return false;
    out.resize(head[0]);
    if (!read_exact(fd, out.data(), head[0], off + kHeader)) return false;
    return fnv1a(out) == head[1];
}

}  // namespace

Spool::Spool(std::string dir, uint64_t max_bytes, uint64_t segment_bytes)
    : dir_(std::move(dir)),
      max_bytes_(max_bytes),
      segment_bytes_(segment_bytes ? segment_bytes
                                   : std::clamp<uint64_t>(max_bytes / 8, 64 << 10, 16 << 20)) {
    std::error_code ec;
    fs::create_directories(dir_, ec);
    ENGINE_CHECK(fs::is_directory(dir_, ec), "publish.spool_dir: cannot create ", dir_, ": ",
                 ec ? ec.message() : "not a folder");
    const std::string lock = (fs::path(dir_) / "lock").string();
    lock_fd_ = ::open(lock.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    ENGINE_CHECK(lock_fd_ >= 0, "publish.spool_dir: ", dir_, ": cannot create ", lock, ": ",
                 std::strerror(errno));
    if (::flock(lock_fd_, LOCK_EX | LOCK_NB) != 0) {
        ::close(lock_fd_);
        lock_fd_ = -1;
        ENGINE_THROW("publish.spool_dir: ", dir_, " is in use by another rtdet process (give each its own)");
    }
    for (const auto& e : fs::directory_iterator(dir_, ec)) {
        const std::string name = e.path().filename().string();
        if (name.size() != 24 || name.substr(20) != ".seg" || name.find_first_not_of("0123456789") != 20)
            continue;
        Segment s;
        s.number = std::stoull(name.substr(0, 20));
        segs_.push_back(s);
    }
    std::sort(segs_.begin(), segs_.end(),
              [](const Segment& a, const Segment& b) { return a.number < b.number; });
    for (auto it = segs_.begin(); it != segs_.end();) {
        scan(*it);
        if (it->records == 0) {
            fs::remove(path_of(it->number), ec);
            it = segs_.erase(it);
            continue;
        }
        count_ += it->records;
        disk_bytes_ += it->bytes;
        ++it;
    }
    recovered_ = count_;
}

Spool::~Spool() {
    close_head();
    if (tail_fd_ >= 0) ::close(tail_fd_);
    if (lock_fd_ >= 0) ::close(lock_fd_);  // releases the lock
}

bool Spool::in_use(const std::string& dir) {
    const std::string lock = (fs::path(dir) / "lock").string();
    const int fd = ::open(lock.c_str(), O_RDWR | O_CLOEXEC);
    if (fd < 0) return false;
    const bool taken = ::flock(fd, LOCK_EX | LOCK_NB) != 0;
    ::close(fd);
    return taken;
}

std::string Spool::path_of(uint64_t number) const {
    char name[32];
    std::snprintf(name, sizeof name, "%020llu.seg", static_cast<unsigned long long>(number));
    return (fs::path(dir_) / name).string();
}

void Spool::scan(Segment& seg) {
    const std::string path = path_of(seg.number);
    const int fd = ::open(path.c_str(), O_RDWR | O_CLOEXEC);
    if (fd < 0) return;
    struct stat st {};
    ::fstat(fd, &st);
    const auto size = static_cast<uint64_t>(st.st_size);
    uint64_t off = 0;
    while (read_record(fd, off, size, buf_)) {
        off += kHeader + buf_.size();
        ++seg.records;
    }
    if (off < size && ::ftruncate(fd, static_cast<off_t>(off)) != 0) {
        // Cannot cut it: the torn bytes stay, but only `off` bytes are read.
    }
    ::close(fd);
    seg.bytes = off;
}

bool Spool::push(std::string_view record) {
    const uint64_t need = kHeader + record.size();
    if (disk_bytes_ + need > max_bytes_) {
        error_ = "full";
        return false;
    }
    if (tail_fd_ >= 0 && segs_.back().bytes > 0 && segs_.back().bytes + need > segment_bytes_) {
        ::close(tail_fd_);
        tail_fd_ = -1;
    }
    if (tail_fd_ < 0) {
        Segment s;
        s.number = segs_.empty() ? kFirstNumber : segs_.back().number + 1;
        const std::string path = path_of(s.number);
        tail_fd_ = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_APPEND | O_CLOEXEC, 0644);
        if (tail_fd_ < 0) {
            error_ = engine::concat("cannot create ", path, ": ", std::strerror(errno));
            return false;
        }
        segs_.push_back(s);
    }
    buf_.clear();
    append_record(buf_, record);
    Segment& tail = segs_.back();
    if (!write_all(tail_fd_, buf_.data(), buf_.size())) {
        error_ = engine::concat("cannot write ", path_of(tail.number), ": ", std::strerror(errno));
        if (::ftruncate(tail_fd_, static_cast<off_t>(tail.bytes)) != 0) {
            // The torn record is cut at the next open (scan).
        }
        return false;
    }
    tail.bytes += need;
    tail.records += 1;
    disk_bytes_ += need;
    count_ += 1;
    return true;
}

bool Spool::pop(std::string& record) {
    while (count_ > 0) {
        Segment& head = segs_.front();
        if (head.read == head.records) {  // read to its end (only the tail is ever left like this)
            drop_head();
            continue;
        }
        if (head_fd_ < 0) {
            head_fd_ = ::open(path_of(head.number).c_str(), O_RDONLY | O_CLOEXEC);
            if (head_fd_ < 0) {  // gone from under us: its records are lost, counted by the caller as absent
                count_ -= head.records - head.read;
                head.read = head.records;
                continue;
            }
        }
        if (!read_record(head_fd_, head_off_, head.bytes, record)) {
            count_ -= head.records - head.read;  // corrupted since written: skip the rest of it
            head.read = head.records;
            continue;
        }
        head_off_ += kHeader + record.size();
        head.read += 1;
        count_ -= 1;
        if (head.read == head.records) drop_head();  // read to its end: the file goes
        return true;
    }
    return false;
}

void Spool::close_head() {
    if (head_fd_ >= 0) ::close(head_fd_);
    head_fd_ = -1;
    head_off_ = 0;
}

void Spool::drop_head() {
    close_head();
    std::error_code ec;
    fs::remove(path_of(segs_.front().number), ec);
    disk_bytes_ -= segs_.front().bytes;
    if (segs_.size() == 1 && tail_fd_ >= 0) {  // the tail itself: the next push starts a new file
        ::close(tail_fd_);
        tail_fd_ = -1;
    }
    segs_.pop_front();
}

void Spool::push_front(const std::vector<std::string>& records) {
    if (records.empty()) return;
    // One new segment ahead of the first: `records`, then what is left unread of the first segment
    // (a segment is always read from its start, so the partly read one is replaced).
    std::string data;
    uint64_t n = records.size();
    for (const std::string& r : records) append_record(data, r);
    const bool partial = !segs_.empty() && segs_.front().read > 0;
    if (partial) {
        Segment& head = segs_.front();
        std::string r;
        uint64_t off = head_off_;
        for (uint64_t i = head.read; i < head.records; ++i) {
            if (!read_record(head_fd_, off, head.bytes, r)) break;
            off += kHeader + r.size();
            append_record(data, r);
            ++n;
        }
    }
    Segment s;
    s.number = segs_.empty() ? kFirstNumber : segs_.front().number - 1;
    s.bytes = data.size();
    s.records = n;
    const std::string path = path_of(s.number), tmp = path + ".tmp";
    const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    ENGINE_CHECK(fd >= 0, "publish.spool_dir: cannot create ", tmp, ": ", std::strerror(errno));
    const bool ok = write_all(fd, data.data(), data.size());
    const int err = errno;
    ::close(fd);
    ENGINE_CHECK(ok, "publish.spool_dir: cannot write ", tmp, ": ", std::strerror(err));
    std::error_code ec;
    fs::rename(tmp, path, ec);
    ENGINE_CHECK(!ec, "publish.spool_dir: cannot rename ", tmp, ": ", ec.message());
    if (partial) {
        count_ -= segs_.front().records - segs_.front().read;
        drop_head();
    }
    segs_.push_front(s);
    count_ += n;
    disk_bytes_ += s.bytes;
}

}  // namespace app
