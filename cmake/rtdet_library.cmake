# rtdet_library(NAME SOURCES...): one of rtdet's libraries (rtdet_core, rtdet_onnx, rtdet_cpu,
# rtdet_passes, rtdet_engine, rtdet_cuda, rtdet_detector). Shared with RTDET_SHARED_LIBS (the default):
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
