#include "engine/core/file_io.h"

#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>

#include "engine/core/error.h"

namespace engine {

void write_file_whole(const std::string& path, std::string_view bytes, std::string_view what) {
    // Unique to this process: concurrent processes writing one cache file never share a temp file.
    const std::string tmp = path + ".tmp" + std::to_string(static_cast<long>(::getpid()));
    {
        std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
        ENGINE_CHECK(out.is_open(), "cannot write ", what, " '", path, "': cannot create '", tmp,
                     "': ", std::strerror(errno));
        out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
        out.flush();
        if (!out.good()) {
            out.close();
            std::error_code ec;
            std::filesystem::remove(tmp, ec);
            ENGINE_THROW("cannot write ", what, " '", path, "': write to '", tmp, "' failed (disk full?)");
        }
    }
    std::error_code ec;
    std::filesystem::rename(tmp, path, ec);
    if (ec) {
        std::error_code ec2;
        std::filesystem::remove(tmp, ec2);
        ENGINE_THROW("cannot write ", what, " '", path, "': rename from '", tmp, "' failed: ", ec.message());
    }
}

std::string read_file_whole(const std::string& path, std::string_view what) {
    std::error_code ec;
    const auto status = std::filesystem::status(path, ec);
    ENGINE_CHECK(std::filesystem::exists(status), "cannot read ", what, " '", path, "': no such file");
    ENGINE_CHECK(std::filesystem::is_regular_file(status), "cannot read ", what, " '", path,
                 "': not a regular file");
    std::ifstream in(path, std::ios::binary);
    ENGINE_CHECK(in.is_open(), "cannot read ", what, " '", path, "': ", std::strerror(errno));
    std::string s((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    ENGINE_CHECK(!in.bad(), "cannot read ", what, " '", path, "': read failed");
    return s;
}

}  // namespace engine
