# Runs one libFuzzer target over a fresh copy of its seed corpus (see wa_add_fuzzer in
# CMakeLists.txt).
#   cmake -DFUZZER= -DCORPUS= -DWORK= -DARTIFACTS= -DSECONDS= [-DDICT=] [-DLEAKS_AT_EXIT=ON] -P this
file(REMOVE_RECURSE ${WORK})
file(MAKE_DIRECTORY ${WORK})
get_filename_component(artifact_dir ${ARTIFACTS} DIRECTORY)
file(MAKE_DIRECTORY ${artifact_dir})
if(EXISTS ${CORPUS})
  file(COPY ${CORPUS}/ DESTINATION ${WORK})
endif()
set(args -max_total_time=${SECONDS} -timeout=10 -rss_limit_mb=1024 -artifact_prefix=${ARTIFACTS})
if(DICT)
  list(APPEND args -dict=${DICT})
endif()
if(LEAKS_AT_EXIT)
  # LeakSanitizer still reports at exit and fails the run; only the per-input check goes.
  list(APPEND args -detect_leaks=0)
endif()
execute_process(COMMAND ${FUZZER} ${args} ${WORK} RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "${FUZZER} exited with ${rc}; the input is in ${artifact_dir}")
endif()
