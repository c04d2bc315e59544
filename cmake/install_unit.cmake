# Run by `cmake --install` (install(SCRIPT) in CMakeLists.txt): writes the systemd unit
# with ExecStart pointing at the binary's installed path. The prefix is the install-time
# one (`cmake --install build --prefix P` included), DESTDIR is honoured for staging,
# and the unit names the final path, not the staging one.
# Inputs (set by an install(CODE) line before this script): CKV_UNIT_SRC, CKV_UNIT_DIR,
# CKV_BIN_DIR (both relative to the prefix, or absolute).
foreach(dir CKV_UNIT_DIR CKV_BIN_DIR)
  if(IS_ABSOLUTE "${${dir}}")
    set(${dir}_FULL "${${dir}}")
  else()
    set(${dir}_FULL "${CMAKE_INSTALL_PREFIX}/${${dir}}")
  endif()
endforeach()
file(READ "${CKV_UNIT_SRC}" unit)
string(REPLACE "ExecStart=/usr/local/bin/" "ExecStart=${CKV_BIN_DIR_FULL}/" unit "${unit}")
set(dest "$ENV{DESTDIR}${CKV_UNIT_DIR_FULL}/causalkv.service")
message(STATUS "Installing: ${dest}")
file(WRITE "${dest}" "${unit}")
list(APPEND CMAKE_INSTALL_MANIFEST_FILES "${dest}")
