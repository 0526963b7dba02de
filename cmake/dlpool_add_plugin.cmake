# dlpool_add_plugin(NAME SOURCES src... [OUTPUT_DIRECTORY dir])
#
# Builds lib<NAME>.so, the file a worker finds for plugin NAME, with hidden visibility so that
# only the SDK's manifest is exported and plugins never interpose on each other's symbols.
# Used in the dlpool tree and installed with the CMake package, so a project that did
# find_package(dlpool) builds its plugins the same way. The file lands in OUTPUT_DIRECTORY, else
# (in the dlpool tree) the bundled plugin dir, else where CMake puts libraries by default.
function(dlpool_add_plugin name)
  cmake_parse_arguments(PARSE_ARGV 1 arg "" "OUTPUT_DIRECTORY" "SOURCES")
  # The rule workers apply to plugin names (wire/plugin_name.hpp): refuse at configure time a
  # plugin that no worker would ever load.
  if(NOT name MATCHES "^[A-Za-z0-9_.-]+$" OR name MATCHES "\\.\\.")
    message(FATAL_ERROR "dlpool_add_plugin: '${name}' is not a valid plugin name ([A-Za-z0-9_.-]+ without '..')")
  endif()
  if(NOT arg_SOURCES)
    message(FATAL_ERROR "dlpool_add_plugin(${name}): no SOURCES given")
  endif()
  if(arg_UNPARSED_ARGUMENTS)
    message(FATAL_ERROR "dlpool_add_plugin(${name}): unexpected arguments: ${arg_UNPARSED_ARGUMENTS} "
                        "(usage: dlpool_add_plugin(NAME SOURCES src... [OUTPUT_DIRECTORY dir]))")
  endif()
  add_library(${name} MODULE ${arg_SOURCES})
  target_link_libraries(${name} PRIVATE dlpool::plugin_sdk)
  set_target_properties(${name} PROPERTIES
    PREFIX "lib"
    SUFFIX ".so"
    CXX_VISIBILITY_PRESET hidden
    VISIBILITY_INLINES_HIDDEN ON)
  if(arg_OUTPUT_DIRECTORY)
    set_target_properties(${name} PROPERTIES LIBRARY_OUTPUT_DIRECTORY ${arg_OUTPUT_DIRECTORY})
  elseif(DEFINED DLPOOL_PLUGIN_OUTPUT_DIR)
    set_target_properties(${name} PROPERTIES LIBRARY_OUTPUT_DIRECTORY ${DLPOOL_PLUGIN_OUTPUT_DIR})
  endif()
  if(TARGET dlpool_warnings)
    target_link_libraries(${name} PRIVATE dlpool_warnings)
  endif()
endfunction()
