# Run by `cmake --install` (install(SCRIPT) in cmake/LoupeInstall.cmake): writes the systemd
# units and the config file with the absolute paths of this installation, then installs them.
# CMAKE_INSTALL_PREFIX is the prefix of this install run; DESTDIR is prepended by file(INSTALL).

function(loupe_full_dir rel out)
  if(IS_ABSOLUTE "${rel}")
    set(${out} "${rel}" PARENT_SCOPE)
  else()
    set(${out} "${CMAKE_INSTALL_PREFIX}/${rel}" PARENT_SCOPE)
  endif()
endfunction()

loupe_full_dir("${LOUPE_REL_BINDIR}" LOUPE_BINDIR)
loupe_full_dir("${LOUPE_REL_DATADIR}" LOUPE_DATADIR)
loupe_full_dir("${LOUPE_REL_DOCDIR}" LOUPE_DOCDIR)
# The GNU rule for the system prefixes: /usr and / keep their configuration in /etc.
if(CMAKE_INSTALL_PREFIX STREQUAL "/usr" OR CMAKE_INSTALL_PREFIX STREQUAL "/")
  set(LOUPE_SYSCONFDIR /etc)
else()
  set(LOUPE_SYSCONFDIR "${CMAKE_INSTALL_PREFIX}/etc")
endif()

file(READ "${LOUPE_SOURCE_DIR}/systemd/hardening.conf" LOUPE_HARDENING)
# A directory of this run's own: installs into other trees may run side by side (tests, cpack).
string(MD5 run_id "$ENV{DESTDIR}|${CMAKE_INSTALL_PREFIX}")
string(RANDOM LENGTH 8 salt)
set(LOUPE_STAGE_DIR "${LOUPE_STAGE_DIR}/${run_id}-${salt}")
foreach(unit louped.service loupe-worker@.service loupe-migrate.service)
  configure_file("${LOUPE_SOURCE_DIR}/systemd/${unit}.in" "${LOUPE_STAGE_DIR}/${unit}" @ONLY)
endforeach()
file(INSTALL "${LOUPE_STAGE_DIR}/louped.service" "${LOUPE_STAGE_DIR}/loupe-worker@.service"
             "${LOUPE_STAGE_DIR}/loupe-migrate.service"
     DESTINATION "${CMAKE_INSTALL_PREFIX}/lib/systemd/system")

# The config file is installed once: an edited one is never overwritten.
configure_file("${LOUPE_SOURCE_DIR}/packaging/loupe.conf.in" "${LOUPE_STAGE_DIR}/loupe.conf" @ONLY)
if(EXISTS "$ENV{DESTDIR}${LOUPE_SYSCONFDIR}/loupe/loupe.conf")
  message(STATUS "Kept: $ENV{DESTDIR}${LOUPE_SYSCONFDIR}/loupe/loupe.conf")
else()
  file(INSTALL "${LOUPE_STAGE_DIR}/loupe.conf" DESTINATION "${LOUPE_SYSCONFDIR}/loupe")
endif()

file(REMOVE_RECURSE "${LOUPE_STAGE_DIR}")
