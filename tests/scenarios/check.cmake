# Runs one golden scenario twice in each output format and compares the bytes with the
# goldens written by update.sh and with each other: `fathom step` (NAME.txt, NAME.json,
# NAME.stderr) and, for a scenario with a `reliability:` section, `fathom run` too
# (NAME.run.txt, NAME.run.json, NAME.run.stderr), and with -DPLAN=ON `fathom plan` (NAME.plan.*),
# whose second JSON run uses two threads: the search's result must not depend on them (its text
# report runs once). With -DREPEAT=OFF (the sanitized build) each report runs once.
# cmake -DFATHOM=... -DSOURCE_DIR=... -DNAME=... [-DPLAN=ON] [-DREPEAT=OFF] -P check.cmake
set(scenario "examples/${NAME}.yaml")
set(failed FALSE)
set(commands step)
file(STRINGS "${SOURCE_DIR}/${scenario}" reliability_lines REGEX "^reliability:")
if(reliability_lines)
  list(APPEND commands run)
endif()
if(PLAN)
  list(APPEND commands plan)
endif()

function(run_fathom out_var err_var rc_var)
  execute_process(
    COMMAND ${CMAKE_COMMAND} -E env FATHOM_DATA=data ${FATHOM} ${command} -s ${scenario} ${ARGN}
    WORKING_DIRECTORY ${SOURCE_DIR}
    OUTPUT_VARIABLE out ERROR_VARIABLE err RESULT_VARIABLE rc)
  set(${out_var} "${out}" PARENT_SCOPE)
  set(${err_var} "${err}" PARENT_SCOPE)
  set(${rc_var} "${rc}" PARENT_SCOPE)
endfunction()

foreach(command ${commands})
  if(command STREQUAL "step")
    set(golden "${SOURCE_DIR}/tests/scenarios/${NAME}")
  else()
    set(golden "${SOURCE_DIR}/tests/scenarios/${NAME}.${command}")
  endif()
  foreach(kind json txt)
    if(kind STREQUAL "json")
      set(flag --json)
    else()
      set(flag)
    endif()
    run_fathom(first first_err first_rc ${flag})
    if(DEFINED REPEAT AND NOT REPEAT OR (command STREQUAL "plan" AND kind STREQUAL "txt"))
      # A search costs seconds under the sanitizers: its JSON pair checks repeatability.
      set(second "${first}")
      set(second_err "${first_err}")
      set(second_rc "${first_rc}")
    elseif(command STREQUAL "plan")
      run_fathom(second second_err second_rc ${flag} --threads 2)
    else()
      run_fathom(second second_err second_rc ${flag})
    endif()
    if(NOT first STREQUAL second OR NOT first_err STREQUAL second_err OR NOT first_rc STREQUAL second_rc)
      message(SEVERE_WARNING "${NAME}: two runs of the ${kind} report differ")
      set(failed TRUE)
    endif()
    if(NOT EXISTS "${golden}.${kind}")
      message(SEVERE_WARNING "${NAME}: no golden ${golden}.${kind}; run tests/scenarios/update.sh")
      set(failed TRUE)
      continue()
    endif()
    file(READ "${golden}.${kind}" expected)
    if(NOT first STREQUAL expected)
      file(WRITE "${CMAKE_CURRENT_BINARY_DIR}/${NAME}.actual.${kind}" "${first}")
      message(SEVERE_WARNING "${NAME}: ${kind} report differs from the golden ${golden}.${kind}\n"
              "actual output: ${CMAKE_CURRENT_BINARY_DIR}/${NAME}.actual.${kind}\n"
              "if the change is intended, run tests/scenarios/update.sh and review the diff")
      execute_process(COMMAND diff -u "${golden}.${kind}" "${CMAKE_CURRENT_BINARY_DIR}/${NAME}.actual.${kind}")
      set(failed TRUE)
    endif()
    if(kind STREQUAL "json")
      file(READ "${golden}.stderr" expected_err)
      if(NOT "exit: ${first_rc}\n${first_err}" STREQUAL expected_err)
        message(SEVERE_WARNING "${NAME}: exit status or stderr differs from ${golden}.stderr:\n"
                "exit: ${first_rc}\n${first_err}")
        set(failed TRUE)
      endif()
    endif()
  endforeach()
endforeach()

if(failed)
  message(FATAL_ERROR "${NAME}: golden check failed")
endif()
