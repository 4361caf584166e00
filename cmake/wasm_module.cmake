# The shipped module: duet-core.mjs + duet-core.wasm, an ES6 module for the web built from
# wasm/bindings.cpp. It is compiled without exceptions, so it needs a duet_core of its own:
# the core reports errors as values, and nlohmann/json is used in its non-throwing form.

duet_add_core(duet_core_noexcept)
# nlohmann/json notices that exceptions are off and calls abort() where it would throw, so the
# core must never get there: it parses with json::parse(text, nullptr, false) and checks a
# value's type before reading it. The wasm tests run the same core with exceptions on.
target_compile_options(duet_core_noexcept PUBLIC -fno-exceptions)

set(DUET_MODULE_DIR "${CMAKE_BINARY_DIR}/module")

add_executable(duet_module "${CMAKE_SOURCE_DIR}/wasm/bindings.cpp")
target_link_libraries(duet_module PRIVATE duet_core_noexcept)
target_compile_options(duet_module PRIVATE ${DUET_WARNINGS})
target_link_options(duet_module PRIVATE
  --bind -fno-exceptions
  -sMODULARIZE=1 -sEXPORT_ES6=1 -sEXPORT_NAME=createDuetCore -sENVIRONMENT=web
  -sALLOW_MEMORY_GROWTH=1)
set_target_properties(duet_module PROPERTIES
  OUTPUT_NAME duet-core
  SUFFIX .mjs
  RUNTIME_OUTPUT_DIRECTORY "${DUET_MODULE_DIR}")

add_custom_command(TARGET duet_module POST_BUILD
  COMMAND "${CMAKE_COMMAND}" -D "DIR=${DUET_MODULE_DIR}" -D "FILES=duet-core.wasm;duet-core.mjs"
          -P "${CMAKE_SOURCE_DIR}/cmake/print_size.cmake"
  VERBATIM)

# The hand-written TypeScript declarations go beside the module (build/wasm/module/duet-core.d.ts),
# copied again whenever they change, whether or not the module relinks.
add_custom_command(OUTPUT "${DUET_MODULE_DIR}/duet-core.d.ts"
  COMMAND "${CMAKE_COMMAND}" -E make_directory "${DUET_MODULE_DIR}"
  COMMAND "${CMAKE_COMMAND}" -E copy_if_different "${CMAKE_SOURCE_DIR}/wasm/duet-core.d.ts"
          "${DUET_MODULE_DIR}/duet-core.d.ts"
  DEPENDS "${CMAKE_SOURCE_DIR}/wasm/duet-core.d.ts"
  VERBATIM)
add_custom_target(duet_module_types ALL DEPENDS "${DUET_MODULE_DIR}/duet-core.d.ts")
add_dependencies(duet_module duet_module_types)
