// Test-only plugin that cannot load: it calls a function no library defines. With rtld_now the
// worker's dlopen fails at once, naming the symbol, before any task runs.

#include <dlpool/plugin.hpp>

extern "C" int dlpool_test_symbol_that_does_not_exist(int);

DLPOOL_PLUGIN(unresolved, "1.0.0")

namespace {
int call_missing(int x) { return dlpool_test_symbol_that_does_not_exist(x); }
DLPOOL_TASK(call_missing)
}  // namespace
