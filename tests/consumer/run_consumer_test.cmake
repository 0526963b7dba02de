# The find_package consumer test, run by ctest as `cmake -P` (see tests/CMakeLists.txt):
#
#   1. cmake --install the current build into WORK_DIR/stage,
#   2. move the prefix to WORK_DIR/relocated (nothing may remember where it was installed),
#   3. configure and build tests/consumer against it with the same compiler, build type and
#      sanitizer flags,
#   4. run the consumer's host and check what it computed and where its worker and plugins came
#      from, check that its plugin exports nothing but the manifest, and run the installed
#      `dlpool` from the moved prefix (its $ORIGIN RPATH must find libdlpool_runtime).
#
# Inputs (-D): DLPOOL_BUILD_DIR CONFIG SOURCE_DIR WORK_DIR GENERATOR MAKE_PROGRAM CXX_COMPILER
# COMPILER_LAUNCHER CXX_FLAGS CONFIG_CXX_FLAGS SANITIZE BINDIR LIBDIR PLUGINDIR CMAKEDIR NM HAVE_TOOLS

cmake_minimum_required(VERSION 3.25)

foreach(var DLPOOL_BUILD_DIR CONFIG SOURCE_DIR WORK_DIR GENERATOR CXX_COMPILER BINDIR LIBDIR PLUGINDIR CMAKEDIR NM)
  if(NOT DEFINED ${var} OR "${${var}}" STREQUAL "")
    message(FATAL_ERROR "run_consumer_test.cmake: -D${var}=... is required")
  endif()
endforeach()

# Nothing from the environment may point the consumer at a worker or plugins: it must find them
# through the installed library alone.
unset(ENV{DLPOOL_WORKER})
unset(ENV{DLPOOL_PLUGIN_PATH})
unset(ENV{LD_LIBRARY_PATH})

# step(NAME command...): runs the command, captures its output, fails the test with it on a
# non-zero exit status. Sets step_output in the caller.
function(step name)
  message(STATUS "consumer test: ${name}")
  execute_process(COMMAND ${ARGN}
                  RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err
                  TIMEOUT 900)
  if(NOT rc EQUAL 0)
    list(JOIN ARGN " " command)
    message(FATAL_ERROR "consumer test: ${name} failed (${rc})\n$ ${command}\n${out}\n${err}")
  endif()
  set(step_output "${out}" PARENT_SCOPE)
  set(step_error "${err}" PARENT_SCOPE)
endfunction()

function(expect_equal what actual expected)
  if(NOT "${actual}" STREQUAL "${expected}")
    message(FATAL_ERROR "consumer test: ${what} is '${actual}', expected '${expected}'\n${host_output}")
  endif()
endfunction()

file(REMOVE_RECURSE ${WORK_DIR})
file(MAKE_DIRECTORY ${WORK_DIR})
# Workers report canonical paths (/proc/PID/exe): compare with the canonical work dir.
file(REAL_PATH ${WORK_DIR} work)
set(stage ${work}/stage)
set(prefix ${work}/relocated)
set(build ${work}/build)

step("install into ${stage}" ${CMAKE_COMMAND} --install ${DLPOOL_BUILD_DIR} --prefix ${stage} --config ${CONFIG})
file(RENAME ${stage} ${prefix})

set(configure_args -S ${SOURCE_DIR} -B ${build} -G ${GENERATOR} -DCMAKE_BUILD_TYPE=${CONFIG}
                   -DCMAKE_CXX_COMPILER=${CXX_COMPILER} -DCMAKE_PREFIX_PATH=${prefix})
if(MAKE_PROGRAM)
  list(APPEND configure_args -DCMAKE_MAKE_PROGRAM=${MAKE_PROGRAM})
endif()
if(COMPILER_LAUNCHER)
  list(APPEND configure_args -DCMAKE_CXX_COMPILER_LAUNCHER=${COMPILER_LAUNCHER})
endif()
set(cxx_flags "${CXX_FLAGS}")
if(SANITIZE)
  # As the dlpool build does: the consumer's host and plugin load an instrumented runtime.
  string(APPEND cxx_flags " -fsanitize=${SANITIZE} -fno-sanitize-recover=all -fno-omit-frame-pointer")
  set(link_flags "-fsanitize=${SANITIZE} -fno-sanitize-recover=all")
  list(APPEND configure_args -DCMAKE_EXE_LINKER_FLAGS=${link_flags} -DCMAKE_MODULE_LINKER_FLAGS=${link_flags})
endif()
list(APPEND configure_args "-DCMAKE_CXX_FLAGS=${cxx_flags}")
if(CONFIG_CXX_FLAGS)
  # The build type's flags of the dlpool build too (the presets' -O level and -g1).
  string(TOUPPER "${CONFIG}" config_upper)
  list(APPEND configure_args "-DCMAKE_CXX_FLAGS_${config_upper}=${CONFIG_CXX_FLAGS}")
endif()
step("configure the consumer" ${CMAKE_COMMAND} ${configure_args})

# find_package must have taken the moved prefix, not an older install elsewhere.
file(STRINGS ${build}/CMakeCache.txt dlpool_dir_line REGEX "^dlpool_DIR:")
string(REGEX REPLACE "^[^=]*=" "" dlpool_dir "${dlpool_dir_line}")
expect_equal("dlpool_DIR" "${dlpool_dir}" "${prefix}/${CMAKEDIR}")

step("build the consumer" ${CMAKE_COMMAND} --build ${build} --config ${CONFIG})

file(GLOB_RECURSE host LIST_DIRECTORIES false ${build}/consumer_host)
file(GLOB_RECURSE greet_plugin LIST_DIRECTORIES false ${build}/libgreet.so)
if(NOT host OR NOT greet_plugin)
  message(FATAL_ERROR "consumer test: the build made no consumer_host or no libgreet.so (dlpool_add_plugin's name) in ${build}")
endif()

# The host reads its own source file, whose size CMake knows too.
step("run the consumer's host" ${host} ${SOURCE_DIR}/host.cpp)
set(host_output "${step_output}")
message(STATUS "consumer_host output:\n${host_output}")
function(host_value key out)
  if(NOT host_output MATCHES "(^|\n)${key}: ([^\n]*)")
    message(FATAL_ERROR "consumer test: no '${key}:' line in the host's output\n${host_output}\n${step_error}")
  endif()
  set(${out} "${CMAKE_MATCH_2}" PARENT_SCOPE)
endfunction()

host_value("greet" greeting)
expect_equal("the consumer plugin's greet" "${greeting}" "hello, consumer")
host_value("repeat" repeated)
expect_equal("text.repeat" "${repeated}" "ababab")
host_value("file_stats bytes" bytes)
file(SIZE ${SOURCE_DIR}/host.cpp host_size)
expect_equal("text.file_stats bytes" "${bytes}" "${host_size}")
host_value("worker" worker)
expect_equal("the worker the installed runtime chose" "${worker}" "${prefix}/${BINDIR}/dlpool-worker")
host_value("plugin text" text_plugin)
expect_equal("the bundled plugin the worker loaded" "${text_plugin}" "${prefix}/${PLUGINDIR}/libtext.so")
host_value("plugin greet" loaded_greet)
file(REAL_PATH ${greet_plugin} greet_real)
expect_equal("the consumer plugin the worker loaded" "${loaded_greet}" "${greet_real}")

# Hidden visibility: the plugin's own greet() stays inside, only the SDK's manifest is exported.
step("list the plugin's dynamic symbols" ${NM} -DC --defined-only ${greet_plugin})
if(NOT step_output MATCHES "dlpool_plugin_manifest")
  message(FATAL_ERROR "consumer test: libgreet.so does not export dlpool_plugin_manifest\n${step_output}")
endif()
if(step_output MATCHES "greet\\(")
  message(FATAL_ERROR "consumer test: libgreet.so exports greet(): built without -fvisibility=hidden\n${step_output}")
endif()

if(HAVE_TOOLS)
  # The installed command line, run from the moved prefix: RPATH $ORIGIN/../lib finds the
  # runtime, the runtime finds the worker, the worker the bundled plugins.
  step("run the installed dlpool" ${prefix}/${BINDIR}/dlpool call text repeat "[\"ab\", 3]")
  string(STRIP "${step_output}" cli_output)
  expect_equal("dlpool call text repeat" "${cli_output}" "\"ababab\"")
  # ... and the consumer's plugin through its JSON entry point.
  get_filename_component(greet_dir ${greet_plugin} DIRECTORY)
  step("run the installed dlpool on the consumer plugin" ${prefix}/${BINDIR}/dlpool --plugin-path ${greet_dir}
       call greet greet "[\"shell\"]")
  string(STRIP "${step_output}" cli_output)
  expect_equal("dlpool call greet greet" "${cli_output}" "\"hello, shell\"")
endif()

# The installed agent (an MPI build's), run from the moved prefix: it finds the runtime likewise.
if(EXISTS ${prefix}/${BINDIR}/dlpool-agent)
  step("run the installed dlpool-agent" ${prefix}/${BINDIR}/dlpool-agent --help)
  if(NOT step_output MATCHES "mpiexec --bind-to none")
    message(FATAL_ERROR "consumer test: dlpool-agent --help said\n${step_output}")
  endif()
endif()

message(STATUS "consumer test: passed")
