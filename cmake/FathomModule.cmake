# fathom_module(NAME SOURCES ... DEPS ... [PRIVATE_DEPS ...])
# One library per src/<module>, with its sources and dependencies named explicitly.
function(fathom_module name)
  cmake_parse_arguments(M "" "" "SOURCES;DEPS;PRIVATE_DEPS" ${ARGN})
  add_library(fathom_${name} STATIC ${M_SOURCES})
  target_include_directories(fathom_${name} PUBLIC ${PROJECT_SOURCE_DIR}/src)
  target_link_libraries(fathom_${name} PUBLIC ${M_DEPS} PRIVATE fathom_warnings ${M_PRIVATE_DEPS})
endfunction()

# fathom_test(NAME SOURCES ... DEPS ... [LABEL label]): a GoogleTest binary registered with
# CTest, its tests labelled `unit` unless another label is given: each case a test of its
# own, or with FATHOM_TEST_PER_CASE off the binary as one test named NAME. Nothing with
# FATHOM_UNIT_TESTS off.
# With FATHOM_PCH the test binaries share one precompiled GoogleTest header (a test with
# heavier headers of its own passes OWN_PCH and precompiles them itself).
function(fathom_test name)
  cmake_parse_arguments(T "OWN_PCH" "LABEL" "SOURCES;DEPS" ${ARGN})
  if(NOT T_LABEL)
    set(T_LABEL unit)
  endif()
  if(NOT FATHOM_BUILD_TESTS OR NOT FATHOM_UNIT_TESTS)
    return()
  endif()
  add_executable(${name} ${T_SOURCES})
  target_link_libraries(${name} PRIVATE ${T_DEPS} GTest::gtest GTest::gtest_main fathom_warnings)
  target_compile_definitions(${name} PRIVATE
    FATHOM_SOURCE_DIR="${PROJECT_SOURCE_DIR}")
  # The test code itself is light at run time.
  fathom_light_code(${name})
  if(FATHOM_PCH AND NOT T_OWN_PCH)
    if(NOT TARGET fathom_gtest_pch)
      set(pch_source "${PROJECT_BINARY_DIR}/fathom_gtest_pch.cc")
      if(NOT EXISTS "${pch_source}")
        file(WRITE "${pch_source}" "// The precompiled GoogleTest header's own translation unit.\n")
      endif()
      add_library(fathom_gtest_pch OBJECT "${pch_source}")
      target_link_libraries(fathom_gtest_pch PRIVATE GTest::gtest fathom_warnings)
      target_compile_definitions(fathom_gtest_pch PRIVATE
        FATHOM_SOURCE_DIR="${PROJECT_SOURCE_DIR}")
      fathom_light_code(fathom_gtest_pch)
      target_precompile_headers(fathom_gtest_pch PRIVATE <gtest/gtest.h> <string> <vector>)
    endif()
    target_precompile_headers(${name} REUSE_FROM fathom_gtest_pch)
  endif()
  if(FATHOM_TEST_PER_CASE)
    gtest_discover_tests(${name} DISCOVERY_TIMEOUT 60
      PROPERTIES ENVIRONMENT "FATHOM_DATA=${PROJECT_SOURCE_DIR}/data" LABELS ${T_LABEL})
  else()
    add_test(NAME ${name} COMMAND ${name})
    set_tests_properties(${name} PROPERTIES
      ENVIRONMENT "FATHOM_DATA=${PROJECT_SOURCE_DIR}/data" LABELS ${T_LABEL})
  endif()
endfunction()

# fathom_bench(NAME SOURCES ... DEPS ...): a Google Benchmark binary.
function(fathom_bench name)
  cmake_parse_arguments(B "" "" "SOURCES;DEPS" ${ARGN})
  if(NOT FATHOM_BUILD_BENCH)
    return()
  endif()
  add_executable(${name} ${B_SOURCES})
  target_link_libraries(${name} PRIVATE ${B_DEPS} benchmark::benchmark fathom_warnings)
  target_compile_definitions(${name} PRIVATE FATHOM_SOURCE_DIR="${PROJECT_SOURCE_DIR}")
endfunction()

# fathom_light_code(TARGET): code that is heavy to compile and light at run time (the
# input/output code with yaml-cpp, nlohmann/json and CLI11 templates, the CLI, the GoogleTest
# binaries) builds at -O1 in optimised builds and without optimisation under the sanitizers.
# That about halves its compile time; the engine libraries, where the estimator, the
# simulator and the tests spend their time, keep the build type's optimisation (-O3 in
# Release, -O1 under the sanitizers).
# Under the sanitizers this code also leaves out four UndefinedBehaviorSanitizer checks
# whose instrumentation is a third of its compile time (35 s -> 23 s of CPU for one of io's
# unity batches) and which AddressSanitizer mostly covers: null (a null dereference is a
# reported SEGV), pointer-overflow and bounds (the access that follows is checked), and
# alignment (x86 loads misaligned data; this code does no type punning). The arithmetic,
# conversion, enum, bool and return checks stay, and the engine libraries keep every check.
function(fathom_light_code target)
  if(FATHOM_SANITIZE)
    target_compile_options(${target} PRIVATE -O0
                           -fno-sanitize=null,alignment,pointer-overflow,bounds)
  else()
    target_compile_options(${target} PRIVATE $<$<CONFIG:Release,RelWithDebInfo,MinSizeRel>:-O1>)
  endif()
endfunction()
