# loupe_unit_test(<name> SOURCES <files…> LIBS <targets…>)
# A cmocka executable under tests/unit/<area>/, registered with ctest as unit/<name>.
function(loupe_unit_test name)
  cmake_parse_arguments(T "" "" "SOURCES;LIBS" ${ARGN})
  add_executable(${name} ${T_SOURCES})
  target_link_libraries(${name} PRIVATE ${T_LIBS} PkgConfig::CMOCKA)
  add_test(NAME unit/${name} COMMAND ${name})
  set_tests_properties(unit/${name} PROPERTIES LABELS unit TIMEOUT 120
    ENVIRONMENT "LOUPE_SOURCE_DIR=${PROJECT_SOURCE_DIR}")
endfunction()
