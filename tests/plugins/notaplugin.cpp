// Test-only shared object built without DLPOOL_PLUGIN: it loads, but is not a dlpool plugin.

extern "C" __attribute__((visibility("default"))) int notaplugin_answer() { return 42; }
