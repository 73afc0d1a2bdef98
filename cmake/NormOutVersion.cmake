# Generates code_version.cpp at every build, so the run files always carry the commit they ran.
set(NORMOUT_VERSION_CPP ${CMAKE_BINARY_DIR}/generated/code_version.cpp)
add_custom_target(normout_version
  COMMAND ${CMAKE_COMMAND} -DSRC=${CMAKE_SOURCE_DIR} -DOUT=${NORMOUT_VERSION_CPP}
          -DVERSION=${PROJECT_VERSION} -DQT=${NORMOUT_QT_VERSION} -P ${CMAKE_CURRENT_LIST_DIR}/WriteVersion.cmake
  BYPRODUCTS ${NORMOUT_VERSION_CPP}
  COMMENT "Recording the code version")
