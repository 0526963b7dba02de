# Install rules and the CMake package: `cmake --install` gives a relocatable prefix
#
#   bin/dlpool, bin/dlpool-worker, bin/dlpool-agent (RPATH $ORIGIN/../lib)
#   lib/libdlpool_runtime.so*              (finds ../bin/dlpool-worker relative to itself)
#   lib/dlpool/plugins/lib{text,digest}.so (found by the worker relative to itself)
#   include/dlpool/...                     (SDK, runtime and the bundled plugins' types)
#   lib/cmake/dlpool/                      (dlpoolConfig.cmake, version file, targets, dlpool_add_plugin)
#
# so that `find_package(dlpool CONFIG)` gives dlpool::plugin_sdk, dlpool::runtime,
# dlpool::text_types, dlpool::digest_types, dlpool::worker and dlpool_add_plugin().

include(CMakePackageConfigHelpers)

install(DIRECTORY ${PROJECT_SOURCE_DIR}/plugin-sdk/include/ ${PROJECT_SOURCE_DIR}/runtime/include/
                  ${PROJECT_SOURCE_DIR}/plugins/text/include/ ${PROJECT_SOURCE_DIR}/plugins/digest/include/
        DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}
        FILES_MATCHING PATTERN "*.hpp")

install(TARGETS dlpool_plugin_sdk dlpool_runtime dlpool_text_types dlpool_digest_types dlpool-worker
        EXPORT dlpoolTargets
        RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR}
        LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR}
        ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR}
        INCLUDES DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})

if(DLPOOL_MPI)  # beside dlpool-worker: the host finds it there to spawn agents
  install(TARGETS dlpool-agent EXPORT dlpoolTargets RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
endif()

install(TARGETS text digest LIBRARY DESTINATION ${DLPOOL_INSTALL_PLUGINDIR})

install(EXPORT dlpoolTargets NAMESPACE dlpool:: DESTINATION ${DLPOOL_INSTALL_CMAKEDIR})
configure_package_config_file(${PROJECT_SOURCE_DIR}/cmake/dlpoolConfig.cmake.in
                              ${PROJECT_BINARY_DIR}/dlpoolConfig.cmake
                              INSTALL_DESTINATION ${DLPOOL_INSTALL_CMAKEDIR}
                              PATH_VARS DLPOOL_INSTALL_PLUGINDIR CMAKE_INSTALL_BINDIR)
# 0.x releases promise what 1.x will: the same major version is compatible.
write_basic_package_version_file(${PROJECT_BINARY_DIR}/dlpoolConfigVersion.cmake
                                 COMPATIBILITY SameMajorVersion)
install(FILES ${PROJECT_BINARY_DIR}/dlpoolConfig.cmake ${PROJECT_BINARY_DIR}/dlpoolConfigVersion.cmake
              ${PROJECT_SOURCE_DIR}/cmake/dlpool_add_plugin.cmake
        DESTINATION ${DLPOOL_INSTALL_CMAKEDIR})
