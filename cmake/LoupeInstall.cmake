# `make install` / `cmake --install`: the programs, the systemd units, a config file, the web UI,
# the migrations (for reference: louped embeds them) and the documentation, laid out with
# GNUInstallDirs. The units and the config file name absolute paths, so they are written at
# install time from the prefix actually installed to (`cmake --install --prefix P`, CPack's /usr):
# see cmake/LoupeInstallConfigured.cmake. packaging/ builds the Debian package from this.
include(GNUInstallDirs)

install(TARGETS louped loupe-worker loupe-decoder RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
# (loupe, the CLI, is installed by src/cli.)

install(DIRECTORY ${PROJECT_SOURCE_DIR}/migrations/ DESTINATION ${CMAKE_INSTALL_DATADIR}/loupe/migrations
        FILES_MATCHING PATTERN "*.sql")
install(FILES ${PROJECT_SOURCE_DIR}/README.md ${PROJECT_SOURCE_DIR}/LICENSE DESTINATION ${CMAKE_INSTALL_DOCDIR})
install(DIRECTORY ${PROJECT_SOURCE_DIR}/docs/ DESTINATION ${CMAKE_INSTALL_DOCDIR})
install(FILES ${PROJECT_SOURCE_DIR}/systemd/loupe-workers.target DESTINATION lib/systemd/system)

# The built web UI (make web): required, an installation without it would serve no UI.
install(CODE "
  if(NOT EXISTS \"${PROJECT_SOURCE_DIR}/web/dist/index.html\")
    message(FATAL_ERROR \"web/dist is not built: run `make web` (or npm run build in web/) before installing\")
  endif()")
install(DIRECTORY ${PROJECT_SOURCE_DIR}/web/dist/ DESTINATION ${CMAKE_INSTALL_DATADIR}/loupe/web)

install(CODE "
  set(LOUPE_SOURCE_DIR \"${PROJECT_SOURCE_DIR}\")
  set(LOUPE_STAGE_DIR \"${CMAKE_BINARY_DIR}/install-configured\")
  set(LOUPE_REL_BINDIR \"${CMAKE_INSTALL_BINDIR}\")
  set(LOUPE_REL_DATADIR \"${CMAKE_INSTALL_DATADIR}\")
  set(LOUPE_REL_DOCDIR \"${CMAKE_INSTALL_DOCDIR}\")")
install(SCRIPT ${PROJECT_SOURCE_DIR}/cmake/LoupeInstallConfigured.cmake)
