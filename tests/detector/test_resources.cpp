// Where rtdet finds its own files and the data folder (detector/resources.h), and the default class
// names that come from there. The installed layout is checked by tests/install (install_prefix).
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <optional>
#include <string>

#include "detector/labels.h"
#include "detector/resources.h"

namespace fs = std::filesystem;

namespace {

// Sets (or unsets, with nullopt) an environment variable for one scope.
class ScopedEnv {
  public:
    ScopedEnv(const char* name, std::optional<std::string> value) : name_(name) {
        if (const char* old = std::getenv(name)) old_ = old;
        if (value)
            ::setenv(name, value->c_str(), 1);
        else
            ::unsetenv(name);
    }
    ~ScopedEnv() {
        if (old_)
            ::setenv(name_, old_->c_str(), 1);
        else
            ::unsetenv(name_);
    }

  private:
    const char* name_;
    std::optional<std::string> old_;
};

}  // namespace

TEST(Resources, BuildTreeUsesTheSourceTree) {
    EXPECT_FALSE(detector::is_installed());
    EXPECT_EQ(fs::canonical(detector::project_dir()), fs::canonical(RTDET_SOURCE_DIR));
    EXPECT_EQ(fs::canonical(detector::project_file("data/coco.names")),
              fs::canonical(fs::path(RTDET_SOURCE_DIR) / "data" / "coco.names"));
    EXPECT_TRUE(detector::project_file("configs/yolo-fastest-xl.yaml").has_filename());
    EXPECT_TRUE(detector::project_file("data/no-such-file.names").empty());
}

TEST(Resources, DataDirFollowsRtdetData) {
    const fs::path tmp = fs::temp_directory_path() / ("rtdet-res-" + std::to_string(::getpid()));
    fs::create_directories(tmp);
    {
        ScopedEnv env("RTDET_DATA", tmp.string());
        EXPECT_EQ(detector::data_dir(), tmp);
    }
    {
        // An explicit setting that points nowhere is not silently replaced by another folder.
        ScopedEnv env("RTDET_DATA", (tmp / "missing").string());
        EXPECT_TRUE(detector::data_dir().empty());
    }
    fs::remove_all(tmp);
}

// COCO's names come from the project's own data/coco.names, whatever the data folder holds.
TEST(Resources, DefaultClassNamesAreCocoForEightyClasses) {
    ScopedEnv env("RTDET_DATA", "/nonexistent-rtdet-data");
    const auto names = detector::default_class_names(80);
    ASSERT_EQ(names.size(), 80u);
    EXPECT_EQ(names[0], "person");
    EXPECT_EQ(names[16], "dog");
    EXPECT_EQ(names[79], "toothbrush");
    EXPECT_EQ(detector::default_class_names(3), (std::vector<std::string>{"class0", "class1", "class2"}));
}
