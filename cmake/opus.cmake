# Opus, compiled here from its upstream release source for both targets, as the target `opus`.
#
# Why not add_subdirectory() on the release's own CMakeLists.txt: in the 1.3.1 tarball it does not
# configure (it includes opus_buildtype.cmake, which the tarball leaves out), and inside another
# project it takes its version from that project's `git describe` or falls back to "0". The
# sources are read from the release's automake fragments, so the file lists stay upstream's.
#
# Both targets compile the same portable C code: no x86 or ARM intrinsics (wasm has none), so a
# frame encodes to the same bytes natively and in wasm.

if(NOT "$ENV{OPUS_SOURCE_DIR}" STREQUAL "")
  set(opus_default "$ENV{OPUS_SOURCE_DIR}")
else()
  set(opus_default "${CMAKE_SOURCE_DIR}/.deps/opus")
endif()
set(OPUS_SOURCE_DIR "${opus_default}" CACHE PATH
    "Unpacked Opus 1.3.1 release source (tools/setup puts it in .deps/opus)")
if(NOT EXISTS "${OPUS_SOURCE_DIR}/include/opus.h" OR NOT EXISTS "${OPUS_SOURCE_DIR}/package_version")
  message(FATAL_ERROR
    "No Opus release source in OPUS_SOURCE_DIR=${OPUS_SOURCE_DIR}: run tools/setup, which "
    "unpacks Opus 1.3.1 into .deps/opus, or point OPUS_SOURCE_DIR at an unpacked release.")
endif()

# Appends to `out` the list `var` (e.g. CELT_SOURCES) of the fragment `mk` (e.g. celt_sources.mk).
function(duet_read_opus_sources out mk var)
  file(READ "${OPUS_SOURCE_DIR}/${mk}" text)
  string(REPLACE "\\\n" " " text "${text}")  # join the continued lines of each list
  if(NOT text MATCHES "(^|\n)${var} =([^\n]*)")
    message(FATAL_ERROR "No ${var} in ${OPUS_SOURCE_DIR}/${mk}: not an Opus release?")
  endif()
  separate_arguments(files UNIX_COMMAND "${CMAKE_MATCH_2}")
  list(TRANSFORM files PREPEND "${OPUS_SOURCE_DIR}/")
  set(${out} ${${out}} ${files} PARENT_SCOPE)
endfunction()

set(opus_sources)
duet_read_opus_sources(opus_sources opus_sources.mk OPUS_SOURCES)
duet_read_opus_sources(opus_sources opus_sources.mk OPUS_SOURCES_FLOAT)
duet_read_opus_sources(opus_sources celt_sources.mk CELT_SOURCES)
duet_read_opus_sources(opus_sources silk_sources.mk SILK_SOURCES)
duet_read_opus_sources(opus_sources silk_sources.mk SILK_SOURCES_FLOAT)

file(STRINGS "${OPUS_SOURCE_DIR}/package_version" opus_version REGEX "^PACKAGE_VERSION=")
string(REGEX REPLACE "^PACKAGE_VERSION=\"?([^\"]*)\"?$" "\\1" opus_version "${opus_version}")

add_library(opus STATIC ${opus_sources})
target_include_directories(opus
  PUBLIC "${OPUS_SOURCE_DIR}/include"
  PRIVATE "${OPUS_SOURCE_DIR}" "${OPUS_SOURCE_DIR}/celt" "${OPUS_SOURCE_DIR}/silk"
          "${OPUS_SOURCE_DIR}/silk/float")
# What the release's configure defines for a float build on a C99 system with hardening on
# (its default: cheap run-time checks that are safe in production).
target_compile_definitions(opus PRIVATE
  OPUS_BUILD ENABLE_HARDENING VAR_ARRAYS HAVE_LRINT HAVE_LRINTF "PACKAGE_VERSION=\"${opus_version}\"")
set_target_properties(opus PROPERTIES C_STANDARD 99 C_EXTENSIONS OFF)
# GCC 12 misreads 1.3.1's SILK noise shaping calls (a row of a 2-D array passed where the whole
# array is read) as an overread; the reads stay inside the array.
target_compile_options(opus PRIVATE $<$<C_COMPILER_ID:GNU>:-Wno-stringop-overread>)
target_link_libraries(opus PUBLIC m)
message(STATUS "Opus ${opus_version} from ${OPUS_SOURCE_DIR}")
