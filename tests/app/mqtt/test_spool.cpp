// The MQTT publisher's on-disk spool (app/spool.h): order, the size bound and its overflow, bounded
// disk use under a long stream of small records, reading back after part was taken, records put back
// at the head, a torn record cut off, and the lock that keeps two processes out of one spool.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "app/spool.h"
#include "engine/core/error.h"
#include "tests/app/app_test_util.h"

namespace {

namespace fs = std::filesystem;
using app::Spool;

std::string rec(int i) {
    return "message " + std::to_string(i) + std::string(static_cast<size_t>(i % 7), 'x');
}

uint64_t folder_bytes(const fs::path& d) {
    uint64_t n = 0;
    for (const auto& e : fs::directory_iterator(d))
        if (e.path().extension() == ".seg") n += fs::file_size(e.path());
    return n;
}

TEST(Spool, KeepsOrderAcrossSegments) {
    const fs::path dir = app_test::scratch_dir("spool_order");
    Spool s(dir.string(), 1 << 20, /*segment_bytes=*/200);  // many small segments
    for (int i = 0; i < 100; ++i) ASSERT_TRUE(s.push(rec(i))) << i;
    EXPECT_EQ(s.count(), 100u);
    EXPECT_GT(s.segments(), 10u);
    std::string r;
    for (int i = 0; i < 100; ++i) {
        ASSERT_TRUE(s.pop(r)) << i;
        ASSERT_EQ(r, rec(i));
    }
    EXPECT_FALSE(s.pop(r));
    EXPECT_TRUE(s.empty());
    EXPECT_EQ(s.disk_bytes(), 0u);
    EXPECT_EQ(folder_bytes(dir), 0u) << "read segments are deleted";
}

TEST(Spool, BoundedOverflowIsRefusedAndNothingWritten) {
    const fs::path dir = app_test::scratch_dir("spool_bound");
    const std::string payload(92, 'p');  // 100 bytes on disk with the 8-byte header
    Spool s(dir.string(), 1000, 300);
    int accepted = 0, refused = 0;
    for (int i = 0; i < 25; ++i) (s.push(payload) ? accepted : refused) += 1;
    EXPECT_EQ(accepted, 10) << "exactly max_bytes / record size fit";
    EXPECT_EQ(refused, 15);
    EXPECT_EQ(s.last_error(), "full");
    EXPECT_EQ(s.disk_bytes(), 1000u);
    EXPECT_EQ(folder_bytes(dir), 1000u);
    // Taking records out frees room (once a whole segment is read and deleted).
    std::string r;
    for (int i = 0; i < 3; ++i) ASSERT_TRUE(s.pop(r));
    EXPECT_LE(s.disk_bytes(), 700u);
    EXPECT_TRUE(s.push(payload));
}

TEST(Spool, ManySmallRecordsDoNotGrowTheFolder) {
    const fs::path dir = app_test::scratch_dir("spool_churn");
    Spool s(dir.string(), 64 << 10, 4 << 10);
    std::string r;
    int next_in = 0, next_out = 0;
    uint64_t most = 0;
    // 200,000 records of ~20 bytes pass through (6 MB with headers), at most ~1,000 waiting (~30 KB):
    // 90 of each 100 taken out, then all of them every 10th round.
    for (int round = 0; round < 2000; ++round) {
        for (int i = 0; i < 100; ++i) ASSERT_TRUE(s.push(rec(next_in++)));
        const int take = round % 10 == 9 ? 1 << 30 : 90;
        for (int i = 0; i < take && s.pop(r); ++i) ASSERT_EQ(r, rec(next_out++));
        most = std::max(most, folder_bytes(dir));
    }
    EXPECT_EQ(next_out, next_in) << "every record came out, in order";
    EXPECT_LE(most, (64u << 10) + (4u << 10)) << "at most max_bytes plus the segment being read";
    size_t files = 0;
    for (const auto& e : fs::directory_iterator(dir)) files += e.path().extension() == ".seg";
    EXPECT_LE(files, 17u);
}

TEST(Spool, ReopenedAfterPartialDeliveryGivesTheRestInOrder) {
    const fs::path dir = app_test::scratch_dir("spool_reopen");
    std::string r;
    {
        Spool s(dir.string(), 1 << 20, 256);
        for (int i = 0; i < 50; ++i) ASSERT_TRUE(s.push(rec(i)));
        for (int i = 0; i < 20; ++i) ASSERT_TRUE(s.pop(r));
        // Records 17..19 were taken out but not delivered: they go back ahead of the rest.
        s.push_front({rec(17), rec(18), rec(19)});
        EXPECT_EQ(s.count(), 33u);
    }
    Spool again(dir.string(), 1 << 20, 256);
    EXPECT_EQ(again.recovered(), 33u);
    for (int i = 17; i < 50; ++i) {
        ASSERT_TRUE(again.pop(r)) << i;
        ASSERT_EQ(r, rec(i));
    }
    EXPECT_FALSE(again.pop(r));
    // New records after the recovered ones, and push_front into an empty spool.
    again.push_front({rec(1)});
    ASSERT_TRUE(again.push(rec(2)));
    ASSERT_TRUE(again.pop(r));
    EXPECT_EQ(r, rec(1));
    ASSERT_TRUE(again.pop(r));
    EXPECT_EQ(r, rec(2));
}

TEST(Spool, TornLastRecordIsCutOnOpen) {
    const fs::path dir = app_test::scratch_dir("spool_torn");
    {
        Spool s(dir.string(), 1 << 20);
        for (int i = 0; i < 5; ++i) ASSERT_TRUE(s.push(rec(i)));
    }
    fs::path seg;
    for (const auto& e : fs::directory_iterator(dir))
        if (e.path().extension() == ".seg") seg = e.path();
    ASSERT_FALSE(seg.empty());
    const uintmax_t whole = fs::file_size(seg);
    {  // a crash in the middle of a write: half a record at the end
        std::ofstream out(seg, std::ios::binary | std::ios::app);
        const uint32_t len = 100, sum = 0;
        out.write(reinterpret_cast<const char*>(&len), 4).write(reinterpret_cast<const char*>(&sum), 4)
            << "abc";
    }
    Spool s(dir.string(), 1 << 20);
    EXPECT_EQ(s.recovered(), 5u);
    EXPECT_EQ(fs::file_size(seg), whole);
    std::string r;
    for (int i = 0; i < 5; ++i) {
        ASSERT_TRUE(s.pop(r));
        EXPECT_EQ(r, rec(i));
    }
    EXPECT_FALSE(s.pop(r));
}

TEST(Spool, OneProcessPerSpool) {
    const fs::path dir = app_test::scratch_dir("spool_lock");
    Spool s(dir.string(), 1 << 20);
    // flock locks belong to the open file: another process is needed to see it taken.
    const pid_t pid = ::fork();
    if (pid == 0) {
        int code = Spool::in_use(dir.string()) ? 0 : 1;
        try {
            Spool other(dir.string(), 1 << 20);
            code = 2;
        } catch (const engine::Error& e) {
            const std::string want = "publish.spool_dir: " + dir.string() +
                                     " is in use by another rtdet process (give each its own)";
            if (e.what() != want) code = 3;
        }
        ::_exit(code);
    }
    int status = 0;
    ::waitpid(pid, &status, 0);
    ASSERT_TRUE(WIFEXITED(status));
    EXPECT_EQ(WEXITSTATUS(status), 0) << "1: not seen in use, 2: opened twice, 3: wrong message";
}

TEST(Spool, FolderThatCannotBeMadeIsOneLine) {
    const fs::path dir = app_test::scratch_dir("spool_bad");
    app_test::write_bytes(dir / "file", "x");
    try {
        Spool s((dir / "file" / "sub").string(), 1 << 20);
        FAIL() << "opened a spool under a file";
    } catch (const engine::Error& e) {
        const std::string msg = e.what();
        EXPECT_EQ(msg.rfind("publish.spool_dir: cannot create " + (dir / "file" / "sub").string() + ": ", 0),
                  0u)
            << msg;
    }
}

}  // namespace
