# chromahouse_module(NAME SOURCES ... DEPS ...): one static library per src/ folder, with the
# project's warnings; DEPS is the module's place in the dependency order (STYLE.md §4).
function(chromahouse_apply_flags target)
  target_compile_options(${target} PRIVATE -Wall -Wextra -Wpedantic -Wno-missing-field-initializers)
  if(CHROMAHOUSE_WERROR)
    target_compile_options(${target} PRIVATE -Werror)
  endif()
  # The lock annotations of common/thread_annotations.h, checked by clang (preset thread-safety).
  if(CHROMAHOUSE_THREAD_SAFETY)
    target_compile_options(${target} PRIVATE -Wthread-safety -Wthread-safety-beta
                           -Werror=thread-safety -Werror=thread-safety-beta)
  endif()
  # Boost 1.74's Asio needs <utility> before it under C++20 with g++ 12.
  target_compile_options(${target} PRIVATE -include utility)
  if(CHROMAHOUSE_SANITIZE)
    target_compile_options(${target} PRIVATE -fsanitize=address,undefined -fno-omit-frame-pointer)
    target_link_options(${target} PRIVATE -fsanitize=address,undefined)
  endif()
  # Fuzzing (clang): coverage instrumentation and the sanitizers in every module; the fuzz
  # targets add -fsanitize=fuzzer (fuzz/CMakeLists.txt). UBSan findings abort, so that libFuzzer
  # reports them as crashes.
  if(CHROMAHOUSE_FUZZ)
    target_compile_options(${target} PRIVATE -fsanitize=fuzzer-no-link,address,undefined
                           -fno-sanitize-recover=undefined -fno-omit-frame-pointer)
    target_link_options(${target} PRIVATE -fsanitize=address,undefined)
  endif()
endfunction()

function(chromahouse_module name)
  cmake_parse_arguments(ARG "" "" "SOURCES;DEPS" ${ARGN})
  add_library(ch_${name} STATIC ${ARG_SOURCES})
  target_include_directories(ch_${name} PUBLIC ${PROJECT_SOURCE_DIR}/src)
  target_link_libraries(ch_${name} PUBLIC ${ARG_DEPS})
  chromahouse_apply_flags(ch_${name})
endfunction()
