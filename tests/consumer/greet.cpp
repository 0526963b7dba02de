// The consumer's own plugin. greet() has external linkage on purpose: dlpool_add_plugin builds
// with hidden visibility, so only the SDK's manifest leaves the library (the test checks it).

#include <dlpool/plugin.hpp>

#include <string>

DLPOOL_PLUGIN(greet, "0.1.0")

std::string greet(std::string who) { return "hello, " + who; }
DLPOOL_TASK(greet)
