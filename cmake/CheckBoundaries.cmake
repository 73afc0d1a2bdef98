# Run at build time (cmake -P) by the normout_boundaries target: fails when a file of the GUI
# (ui/, plots/, app/lab/) includes a LibTorch header. The GUI's targets carry no LibTorch include
# path, but a LibTorch installed under /usr/include would still be found without this check.
# Arguments: -DSTAMP=<file to touch> -DFILES=<;-separated list of sources>
set(bad "")
foreach(f IN LISTS FILES)
  file(STRINGS "${f}" lines REGEX "^[ \t]*#[ \t]*include[ \t]*[<\"](torch|ATen|c10|caffe2)/")
  if(lines)
    list(APPEND bad "${f}: ${lines}")
  endif()
endforeach()
if(bad)
  list(JOIN bad "\n  " text)
  message(FATAL_ERROR "the GUI must not include LibTorch headers (use the engine's torch-free "
                      "headers in engine/config, data, runfile, session, sweep):\n  ${text}")
endif()
file(TOUCH "${STAMP}")
