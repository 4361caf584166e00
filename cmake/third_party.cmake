# The header-only libraries Duet builds on, from Debian's packages, under the same target names
# on both toolchains: nlohmann_json::nlohmann_json and Catch2::Catch2.
if(EMSCRIPTEN)
  # Emscripten compiles against its own sysroot; adding /usr/include would pull glibc headers
  # into the wasm build. Expose just the two libraries through a folder of links instead.
  set(host_include "${CMAKE_BINARY_DIR}/host-include")
  file(MAKE_DIRECTORY "${host_include}")
  foreach(lib IN ITEMS nlohmann catch2)
    if(NOT EXISTS "/usr/include/${lib}")
      message(FATAL_ERROR "/usr/include/${lib} is missing: run tools/setup")
    endif()
    file(CREATE_LINK "/usr/include/${lib}" "${host_include}/${lib}" SYMBOLIC)
  endforeach()
  add_library(duet_host_headers INTERFACE)
  target_include_directories(duet_host_headers SYSTEM INTERFACE "${host_include}")
  add_library(nlohmann_json::nlohmann_json ALIAS duet_host_headers)
  add_library(Catch2::Catch2 ALIAS duet_host_headers)
else()
  find_package(nlohmann_json 3.11 REQUIRED)
  find_package(Catch2 2.13 REQUIRED)
endif()
