#include "app/streams.h"

#include <spdlog/spdlog.h>

#include <charconv>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>

#include "app/config.h"
#include "engine/core/error.h"

namespace app {
namespace fs = std::filesystem;

namespace {

bool is_streams_file(const std::string& uri) {
    return fs::path(uri).extension() == ".streams" && uri.find("://") == std::string::npos;
}

std::string trim(const std::string& s) {
    const size_t b = s.find_first_not_of(" \t\r\n");
    if (b == std::string::npos) return "";
    return s.substr(b, s.find_last_not_of(" \t\r\n") - b + 1);
}

std::optional<bool> parse_bool_word(const std::string& v) {
    if (v == "true" || v == "yes" || v == "on" || v == "1") return true;
    if (v == "false" || v == "no" || v == "off" || v == "0") return false;
    return std::nullopt;
}

// Characters safe in file names and MQTT topics; others become '-'.
std::string sanitize_name(std::string s) {
    for (char& c : s) {
        const bool ok = std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.';
        if (!ok) c = '-';
    }
    while (!s.empty() && (s.back() == '-' || s.back() == '.')) s.pop_back();
    while (!s.empty() && (s.front() == '-' || s.front() == '.')) s.erase(s.begin());
    return s.empty() ? "stream" : s;
}

}  // namespace

std::string default_stream_name(const std::string& uri) {
    const size_t scheme = uri.find("://");
    if (scheme != std::string::npos) {
        std::string rest = uri.substr(scheme + 3);
        if (const size_t at = rest.rfind('@', rest.find('/')); at != std::string::npos)
            rest = rest.substr(at + 1);
        if (const size_t q = rest.find('?'); q != std::string::npos) rest = rest.substr(0, q);
        const size_t slash = rest.find('/');
        std::string host = rest.substr(0, slash);
        std::string last;
        if (slash != std::string::npos) {
            std::string path = rest.substr(slash + 1);
            while (!path.empty() && path.back() == '/') path.pop_back();
            last = path.substr(path.rfind('/') == std::string::npos ? 0 : path.rfind('/') + 1);
        }
        return sanitize_name(last.empty() ? host : host + "-" + fs::path(last).stem().string());
    }
    if (!uri.empty() && std::all_of(uri.begin(), uri.end(),
                                    [](char c) { return std::isdigit(static_cast<unsigned char>(c)); }))
        return "camera" + uri;
    fs::path p(uri);
    while (!p.empty() && p.filename().empty()) p = p.parent_path();          // "folder/"
    if (uri.find_first_of("*?[") != std::string::npos) p = p.parent_path();  // glob: its folder
    const std::string stem = p.stem().string();
    return sanitize_name(stem.empty() ? uri : stem);
}

std::vector<StreamConfig> read_streams_file(const std::string& path, std::vector<std::string>* line_errors) {
    std::error_code ec;
    ENGINE_CHECK(fs::is_regular_file(path, ec), "source ", path, ": .streams file not found");
    std::ifstream in(path);
    ENGINE_CHECK(in, "source ", path, ": cannot read the .streams file");
    const fs::path base = fs::path(path).parent_path();
    std::vector<StreamConfig> out;
    std::string line;
    for (int n = 1; std::getline(in, line); ++n) {
        const std::string t = trim(line);
        if (t.empty() || t[0] == '#') continue;
        std::istringstream words(t);
        std::vector<std::string> w;
        for (std::string x; words >> x;) w.push_back(x);
        StreamConfig s;
        std::string problem;
        // Trailing key=value words are options; the rest (re-joined by single spaces) is the URI.
        size_t end = w.size();
        while (end > 1 && w[end - 1].find('=') != std::string::npos &&
               w[end - 1].find("://") == std::string::npos) {
            const std::string& opt = w[end - 1];
            const std::string k = opt.substr(0, opt.find('=')), v = opt.substr(opt.find('=') + 1);
            if (k == "name") {
                s.name = v;
            } else if (k == "fps") {
                char* e = nullptr;
                const double f = std::strtod(v.c_str(), &e);
                if (v.empty() || *e != '\0' || !std::isfinite(f) || f <= 0 || f > 1000)
                    problem = engine::concat("fps must be a number in (0, 1000] (got '", v, "')");
                else
                    s.fps = f;
            } else if (k == "realtime" || k == "loop") {
                const auto b = parse_bool_word(v);
                if (!b)
                    problem = engine::concat(k, " must be true or false (got '", v, "')");
                else
                    (k == "realtime" ? s.realtime : s.loop) = *b ? 1 : 0;
            } else {
                problem = engine::concat("unknown option '", k, "' (name, fps, realtime, loop)");
            }
            --end;
        }
        std::string uri;
        for (size_t i = 0; i < end; ++i) uri += (i ? " " : "") + w[i];
        const bool url = uri.find("://") != std::string::npos;
        const bool camera = std::all_of(uri.begin(), uri.end(),
                                        [](char c) { return std::isdigit(static_cast<unsigned char>(c)); });
        if (!url && !camera && fs::path(uri).is_relative()) uri = (base / uri).string();
        s.uri = uri;
        if (!problem.empty() && line_errors)
            line_errors->push_back(engine::concat(path, ":", n, ": ", problem));
        if (!problem.empty()) s.name = engine::concat("\x01", path, ":", n, ": ", problem);  // marked bad
        out.push_back(std::move(s));
    }
    return out;
}

void parse_shard(const std::string& text, const std::string& key, int& index, int& count) {
    const size_t slash = text.find('/');
    const auto num = [](std::string_view s, int& v) {
        const auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
        return !s.empty() && ec == std::errc() && p == s.data() + s.size();
    };
    int i = 0, n = 0;
    const bool ok = slash != std::string::npos && num(std::string_view(text).substr(0, slash), i) &&
                    num(std::string_view(text).substr(slash + 1), n) && n >= 1 && n <= 100000 && i >= 0 &&
                    i < n;
    ENGINE_CHECK(ok, key, ": expected I/N with 0 <= I < N, e.g. 0/4 (got '", text, "')");
    index = i;
    count = n;
}

std::vector<StreamPlan> plan_streams(const AppConfig& cfg) {
    // The configured entries, .streams files expanded in place.
    std::vector<StreamConfig> entries;
    std::vector<std::string> file_errors;  // per entry: why it cannot run (parallel to entries)
    std::vector<StreamConfig> configured = cfg.sources;
    if (configured.empty() && !cfg.source.empty()) {
        StreamConfig one;
        one.uri = cfg.source;
        configured.push_back(std::move(one));
    }
    ENGINE_CHECK(!configured.empty(), "source: none given (--source, or source / sources in the config)");
    for (const StreamConfig& c : configured) {
        if (!is_streams_file(c.uri)) {
            entries.push_back(c);
            file_errors.emplace_back();
            continue;
        }
        try {
            std::vector<std::string> line_errors;
            std::vector<StreamConfig> listed = read_streams_file(c.uri, &line_errors);
            if (listed.empty()) {
                entries.push_back(c);
                file_errors.push_back(
                    engine::concat("source ", c.uri, ": the .streams file lists no source"));
            }
            for (StreamConfig& s : listed) {
                std::string err;
                if (s.name.rfind('\x01', 0) == 0) {
                    err = engine::concat("source ", s.name.substr(1));
                    s.name.clear();
                }
                // The file's entry options are defaults for its lines.
                if (s.realtime < 0) s.realtime = c.realtime;
                if (s.loop < 0) s.loop = c.loop;
                if (s.fps <= 0) s.fps = c.fps;
                entries.push_back(std::move(s));
                file_errors.push_back(err);
            }
        } catch (const engine::Error& e) {
            entries.push_back(c);
            file_errors.emplace_back(e.what());
        }
    }

    int shard_index = 0, shard_count = 0;
    if (!cfg.shard.empty()) parse_shard(cfg.shard, "pipeline.shard", shard_index, shard_count);

    std::vector<StreamPlan> plans;
    std::map<std::string, int> name_uses;
    for (size_t i = 0; i < entries.size(); ++i) {
        const StreamConfig& c = entries[i];
        StreamPlan p;
        p.index = static_cast<int>(i);
        p.uri = c.uri;
        p.name = c.name.empty() ? default_stream_name(c.uri) : c.name;
        p.error = file_errors[i];
        if (shard_count > 0 && p.index % shard_count != shard_index) continue;
        if (p.error.empty()) {
            try {
                p.spec = classify_source(c.uri);
                check_source_supported(p.spec);
                p.spec.decode_threads = cfg.decode_threads;
                const bool realtime = c.realtime < 0 ? cfg.realtime : c.realtime == 1;
                const bool loop = c.loop < 0 ? cfg.loop : c.loop == 1;
                ENGINE_CHECK(!loop || p.spec.kind == SourceKind::VideoFile,
                             c.loop < 0 ? "pipeline.loop" : "loop", ": only a video file can be looped; ",
                             c.uri, " is a ", source_kind_name(p.spec.kind));
                p.spec.loop = loop;
                ENGINE_CHECK(c.fps <= 0 || !p.spec.live(), "fps: ", c.uri,
                             " is a live source (its rate is its own; fps paces files and folders)");
                const double fps = c.fps > 0 ? c.fps : cfg.fps;
                p.paced = !p.spec.live() && (realtime || fps > 0);
                p.fps = p.spec.live() ? 0 : fps;
            } catch (const engine::Error& e) {
                p.error = e.what();
            }
        }
        plans.push_back(std::move(p));
    }
    ENGINE_CHECK(!plans.empty(), "pipeline.shard: shard ", cfg.shard, " has no stream (the list has ",
                 entries.size(), ")");
    // Unique names: a repeated name gets "-2", "-3", ... (per-stream files and topics must not collide).
    for (StreamPlan& p : plans) ++name_uses[p.name];
    std::map<std::string, int> seen;
    std::set<std::string> taken;
    for (StreamPlan& p : plans) taken.insert(p.name);
    for (StreamPlan& p : plans) {
        if (name_uses[p.name] < 2) continue;
        const int k = ++seen[p.name];
        if (k == 1) continue;
        std::string n;
        for (int j = k;; ++j) {
            n = engine::concat(p.name, "-", j);
            if (!taken.count(n)) break;
        }
        taken.insert(n);
        p.name = n;
    }
    return plans;
}

}  // namespace app
