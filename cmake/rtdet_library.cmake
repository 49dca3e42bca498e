# rtdet_library(NAME SOURCES...): one of rtdet's libraries (engine/CMakeLists.txt lists the engine's;
# rtdet_detector, rtdet_detector_cuda). Shared with RTDET_SHARED_LIBS (the default):
# librtdet_<name>.so.<major>.<minor>, exported as rtdet::<name> by cmake/install.cmake; else static.
# Sources include each other from the repository root ("engine/core/tensor.h"); installed, the same
# paths resolve under <prefix>/include/rtdet.
function(rtdet_library name)
  if(RTDET_SHARED_LIBS)
    add_library(${name} SHARED ${ARGN})
    set_target_properties(${name} PROPERTIES VERSION ${PROJECT_VERSION}
                          SOVERSION ${PROJECT_VERSION_MAJOR}.${PROJECT_VERSION_MINOR})
    # Calls inside a library stay direct (and inlinable): nothing is meant to interpose our symbols.
    target_compile_options(${name} PRIVATE $<$<COMPILE_LANGUAGE:CXX>:-fno-semantic-interposition>)
  else()
    add_library(${name} STATIC ${ARGN})
  endif()
  set_target_properties(${name} PROPERTIES POSITION_INDEPENDENT_CODE ON)
  string(REPLACE "rtdet_" "" export_name ${name})
  set_target_properties(${name} PROPERTIES EXPORT_NAME ${export_name})
  target_include_directories(${name} PUBLIC $<BUILD_INTERFACE:${PROJECT_SOURCE_DIR}>
                             $<INSTALL_INTERFACE:${CMAKE_INSTALL_INCLUDEDIR}/rtdet>
                             $<INSTALL_INTERFACE:${CMAKE_INSTALL_INCLUDEDIR}>)
  target_link_libraries(${name} PRIVATE rtdet_warnings)
  set_property(GLOBAL APPEND PROPERTY RTDET_LIBRARIES ${name})
endfunction()

# rtdet_cuda_options(NAME): nvcc's options for a library with .cu files (rtdet_cuda, rtdet_detector_cuda):
# host-side warnings through -Xcompiler; no -Wpedantic there (nvcc's generated host code is not
# pedantic-clean). Device code is built for CMAKE_CUDA_ARCHITECTURES (90 by default: the H200).
function(rtdet_cuda_options name)
  target_compile_options(${name} PRIVATE
                         $<$<COMPILE_LANGUAGE:CUDA>:-Xcompiler=-Wall,-Wextra --expt-relaxed-constexpr>
                         $<$<AND:$<COMPILE_LANGUAGE:CUDA>,$<BOOL:${RTDET_WERROR}>>:-Werror=all-warnings>)
  set_target_properties(${name} PROPERTIES CUDA_SEPARABLE_COMPILATION OFF)
endfunction()
