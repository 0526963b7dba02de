// Test-only plugin whose file name (libmisnamed.so) does not match the name it declares.

#include <dlpool/plugin.hpp>

DLPOOL_PLUGIN(somethingelse, "1.0.0")

namespace {
int identity(int x) { return x; }
DLPOOL_TASK(identity)
}  // namespace
