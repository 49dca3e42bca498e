// Engine logging goes through spdlog's default logger (stderr). The app sets the level (-v / --quiet).
#pragma once

#include <spdlog/spdlog.h>
