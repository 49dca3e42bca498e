# Installing rtdet (docs/install.md):
#   cmake --install build --prefix P       bin/rtdet, lib/librtdet_*.so*, share/rtdet/{configs,data},
#                                          include/rtdet/ (the public API only), lib/cmake/rtdet/
#   cpack -G DEB (in build/)               rtdet_<v>_<arch>.deb (component runtime: binary, shared
#                                          libraries, configs, class names), librtdet-dev_<v>_<arch>.deb
#                                          (component dev: headers, .so links, CMake package) and, with the
#                                          Python module, python3-rtdet_<v>_<arch>.deb (component python:
#                                          lib/python3.X/dist-packages/rtdet, python/CMakeLists.txt)
# Another project: find_package(rtdet REQUIRED) + target_link_libraries(app PRIVATE rtdet::detector).
# Installed binaries find their libraries through RPATH $ORIGIN (relocatable: any prefix), and their
# configs and class names beside them (detector/resources.h): nothing points into the build tree.
if(NOT RTDET_SHARED_LIBS)
  message(STATUS "rtdet: static libraries (RTDET_SHARED_LIBS=OFF): no install rules")
  return()
endif()
include(CMakePackageConfigHelpers)

get_property(rtdet_libs GLOBAL PROPERTY RTDET_LIBRARIES)
set_target_properties(${rtdet_libs} PROPERTIES INSTALL_RPATH "$ORIGIN")
set_target_properties(rtdet PROPERTIES INSTALL_RPATH "$ORIGIN/../${CMAKE_INSTALL_LIBDIR}")
# rtdet::engine (the whole engine) and rtdet::backend (the backend interface) are interface targets.
get_property(rtdet_interface_libs GLOBAL PROPERTY RTDET_INTERFACE_LIBRARIES)
install(TARGETS ${rtdet_libs} ${rtdet_interface_libs} EXPORT rtdetTargets
        LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR} COMPONENT runtime NAMELINK_COMPONENT dev)
install(TARGETS rtdet RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR} COMPONENT runtime)
install(DIRECTORY ${PROJECT_SOURCE_DIR}/configs/ DESTINATION ${CMAKE_INSTALL_DATADIR}/rtdet/configs
        COMPONENT runtime FILES_MATCHING PATTERN "*.yaml")
install(DIRECTORY ${PROJECT_SOURCE_DIR}/data/ DESTINATION ${CMAKE_INSTALL_DATADIR}/rtdet/data
        COMPONENT runtime FILES_MATCHING PATTERN "*.names")

# The public headers: the engine's Builder / Plan / Engine / ExecutionContext API and the Detector
# facade, with what they include. Everything else (IR, passes, backends, ONNX import, app) is internal.
# tests/install checks that each installed header compiles on its own from the installed tree.
set(RTDET_PUBLIC_HEADERS
    engine/core/dtype.h engine/core/error.h engine/core/shape.h engine/core/tensor.h
    engine/builder/build_options.h engine/builder/builder.h engine/plan/plan.h engine/runtime/runtime.h
    detector/detector.h detector/labels.h detector/nms.h detector/preprocess.h detector/types.h)
foreach(h ${RTDET_PUBLIC_HEADERS})
  get_filename_component(dir ${h} DIRECTORY)
  install(FILES ${PROJECT_SOURCE_DIR}/${h} DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}/rtdet/${dir} COMPONENT dev)
endforeach()
install(FILES ${PROJECT_SOURCE_DIR}/include/rtdet/rtdet.h DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}/rtdet
        COMPONENT dev)

set(cmake_dir ${CMAKE_INSTALL_LIBDIR}/cmake/rtdet)
install(EXPORT rtdetTargets NAMESPACE rtdet:: DESTINATION ${cmake_dir} COMPONENT dev)
configure_package_config_file(${PROJECT_SOURCE_DIR}/cmake/rtdetConfig.cmake.in
                              ${PROJECT_BINARY_DIR}/rtdetConfig.cmake INSTALL_DESTINATION ${cmake_dir})
# 0.x: a new minor version may change the API (the libraries' SONAME is <major>.<minor> too).
write_basic_package_version_file(${PROJECT_BINARY_DIR}/rtdetConfigVersion.cmake
                                 COMPATIBILITY SameMinorVersion)
install(FILES ${PROJECT_BINARY_DIR}/rtdetConfig.cmake ${PROJECT_BINARY_DIR}/rtdetConfigVersion.cmake
        DESTINATION ${cmake_dir} COMPONENT dev)

# ---- Debian packages (cpack -G DEB) ----
set(CPACK_PACKAGE_NAME rtdet)
set(CPACK_PACKAGE_VENDOR "rtdet")
set(CPACK_PACKAGE_CONTACT "rtdet maintainers <rtdet@localhost>")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "real-time YOLO object detection on an inference engine of its own")
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_DIRECTORY ${PROJECT_BINARY_DIR}/packages)
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_COMPONENTS_ALL runtime dev)
if(RTDET_HAS_PYTHON)
  list(APPEND CPACK_COMPONENTS_ALL python)
endif()
set(CPACK_DEB_COMPONENT_INSTALL ON)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
# Runtime dependencies from the ELF files (dpkg-shlibdeps): Debian's runtime packages only. (A build
# with CUDA also needs NVIDIA's CUDA/cuDNN libraries, which no Debian package provides.)
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
set(CPACK_DEBIAN_RUNTIME_PACKAGE_NAME rtdet)
set(CPACK_DEBIAN_RUNTIME_PACKAGE_SECTION video)
set(CPACK_COMPONENT_RUNTIME_DESCRIPTION
    "rtdet: the rtdet command (convert, build, bench, detect, eval, run), its shared libraries, configs and COCO class names")
set(CPACK_DEBIAN_DEV_PACKAGE_NAME librtdet-dev)
set(CPACK_DEBIAN_DEV_PACKAGE_SECTION libdevel)
set(CPACK_COMPONENT_DEV_DESCRIPTION
    "rtdet: C++ headers and CMake package (find_package(rtdet), rtdet::engine, rtdet::detector)")
# librtdet-dev: the runtime package of the same version (its libraries); the installed headers include
# only the C++ standard library, so no other -dev package is needed.
set(CPACK_COMPONENT_DEV_DEPENDS runtime)
# python3-rtdet: the module (its extension links rtdet's libraries and, statically, the app's code, so
# it needs exactly what the rtdet package needs: that package of the same version) for Debian's Python
# 3.X it was built for, and numpy. Its Depends are written here: dpkg-shlibdeps would look for
# librtdet_*.so among installed packages, and they are in the rtdet package being made beside it.
set(CPACK_DEBIAN_PYTHON_PACKAGE_NAME python3-rtdet)
set(CPACK_DEBIAN_PYTHON_PACKAGE_SECTION python)
set(CPACK_DEBIAN_PYTHON_PACKAGE_SHLIBDEPS OFF)
set(CPACK_DEBIAN_PYTHON_PACKAGE_DEPENDS
    "python3 (>= ${RTDET_PYTHON_VERSION}), python3 (<< ${RTDET_PYTHON_NEXT_VERSION}), python3-numpy")
set(CPACK_COMPONENT_PYTHON_DESCRIPTION
    "rtdet: the Python module (import rtdet: Detector, build, Engine; python3 -m rtdet)")
set(CPACK_COMPONENT_PYTHON_DEPENDS runtime)
set(CPACK_DEBIAN_ENABLE_COMPONENT_DEPENDS ON)
include(CPack)
