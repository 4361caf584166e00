# cmake -D DIR=<folder> -D FILES=<a;b> -P print_size.cmake
# Prints each file's size raw and gzipped (gzip -9, what a server would send), so a build
# shows what the module costs a page.
foreach(name IN LISTS FILES)
  set(path "${DIR}/${name}")
  file(SIZE "${path}" raw)
  execute_process(COMMAND gzip -9 -c "${path}" OUTPUT_FILE "${path}.gz" COMMAND_ERROR_IS_FATAL ANY)
  file(SIZE "${path}.gz" gz)
  file(REMOVE "${path}.gz")
  math(EXPR raw_kb "(${raw} + 512) / 1024")
  math(EXPR gz_kb "(${gz} + 512) / 1024")
  message(STATUS "${name}: ${raw} bytes (${raw_kb} KiB), gzip ${gz} bytes (${gz_kb} KiB)")
endforeach()
