# Every skip goes through one helper (tests/skip.sh, tests/unit/test_skip.h, the integration
# harness's lh.skip()); each writes "<test>: <reason>" to LOUPE_TEST_SKIP_LOG, which `make test`
# prints after ctest. With LOUPE_TEST_REQUIRE=all in the environment (CI) a skip is a failure.
set(LOUPE_TEST_SKIP_LOG ${CMAKE_BINARY_DIR}/test-skips.log)
set(LOUPE_SKIP_SH ${PROJECT_SOURCE_DIR}/tests/skip.sh)

# loupe_test_skips(<test>): gives the test its name and the skip log (a property of its own, so
# a later set_tests_properties(… ENVIRONMENT …) does not clear it).
function(loupe_test_skips test)
  set_property(TEST ${test} APPEND PROPERTY ENVIRONMENT_MODIFICATION
    "LOUPE_TEST_NAME=set:${test}" "LOUPE_TEST_SKIP_LOG=set:${LOUPE_TEST_SKIP_LOG}")
endfunction()

# loupe_unit_test(<name> SOURCES <files…> LIBS <targets…>)
# A cmocka executable under tests/unit/<area>/, registered with ctest as unit/<name>.
function(loupe_unit_test name)
  cmake_parse_arguments(T "" "" "SOURCES;LIBS" ${ARGN})
  add_executable(${name} ${T_SOURCES})
  target_link_libraries(${name} PRIVATE ${T_LIBS} PkgConfig::CMOCKA)
  target_include_directories(${name} PRIVATE ${PROJECT_SOURCE_DIR}/tests/unit)
  add_test(NAME unit/${name} COMMAND ${name})
  set_tests_properties(unit/${name} PROPERTIES LABELS unit TIMEOUT 120
    ENVIRONMENT "LOUPE_SOURCE_DIR=${PROJECT_SOURCE_DIR}")
  loupe_test_skips(unit/${name})
endfunction()
