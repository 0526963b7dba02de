#pragma once
// DLPOOL_API marks what libdlpool_runtime exports. The shared library is built with hidden
// visibility (runtime/CMakeLists.txt), so only the public API marked here is visible to a host;
// the exception classes are marked whole, so that their typeinfo and vtables are shared and a
// host catches what the library throws. A static runtime defines DLPOOL_STATIC (its CMake
// target passes it on): the macro is then empty, so that a shared library linking the static
// runtime does not re-export dlpool's API.

#if defined(DLPOOL_STATIC)
#define DLPOOL_API
#else
#define DLPOOL_API __attribute__((visibility("default")))
#endif
