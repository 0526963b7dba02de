# dlpool_add_plugin(NAME SOURCES src... [OUTPUT_DIRECTORY dir])
#
# Builds lib<NAME>.so, the file a worker finds for plugin NAME, with hidden visibility so that
# only the SDK's manifest is exported and plugins never interpose on each other's symbols.
function(dlpool_add_plugin name)
  cmake_parse_arguments(PARSE_ARGV 1 arg "" "OUTPUT_DIRECTORY" "SOURCES")
  add_library(${name} MODULE ${arg_SOURCES})
  target_link_libraries(${name} PRIVATE dlpool::plugin_sdk)
  set_target_properties(${name} PROPERTIES
    PREFIX "lib"
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
