#include "engine/plan/plan.h"

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>

#include "engine/core/error.h"
#include "engine/core/file_io.h"
#include "engine/plan/plan_io.h"

namespace engine {

Plan Plan::from_bytes(std::vector<std::byte> bytes, const std::string& source) {
    auto shared = std::make_shared<const std::vector<std::byte>>(std::move(bytes));
    PlanContents c = read_plan(*shared, shared, source);
    Plan p;
    p.bytes_ = std::move(shared);
    p.info_ = std::move(c.info);
    return p;
}

Plan Plan::load(const std::string& path) {
    std::error_code ec;
    const auto status = std::filesystem::status(path, ec);
    ENGINE_CHECK(std::filesystem::exists(status), "cannot open plan '", path, "': no such file");
    ENGINE_CHECK(std::filesystem::is_regular_file(status), "cannot open plan '", path,
                 "': not a regular file");
    std::ifstream in(path, std::ios::binary | std::ios::ate);
    ENGINE_CHECK(in.is_open(), "cannot open plan '", path, "': ", std::strerror(errno));
    const std::streamoff size = in.tellg();
    ENGINE_CHECK(size >= 0, "cannot read plan '", path, "'");
    std::vector<std::byte> bytes(static_cast<size_t>(size));
    in.seekg(0);
    if (size > 0) in.read(reinterpret_cast<char*>(bytes.data()), size);
    ENGINE_CHECK(in.good() || (size == 0), "cannot read plan '", path, "': read failed");
    return from_bytes(std::move(bytes), path);
}

void Plan::save(const std::string& path) const {
    ENGINE_CHECK(bytes_ != nullptr, "cannot save plan '", path,
                 "': the plan is empty (never built or loaded)");
    write_file_whole(path, std::string_view(reinterpret_cast<const char*>(bytes_->data()), bytes_->size()),
                     "plan");
}

}  // namespace engine
