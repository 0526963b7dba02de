#pragma once
// rapidjson as the SDK uses it. Cereal's JSON archive configures rapidjson through macros
// (assertions that throw, default parse and write flags), and every translation unit of a
// program must see the same configuration, so it is always included first.

#include <cereal/archives/json.hpp>

#include <rapidjson/document.h>
#include <rapidjson/error/en.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>
