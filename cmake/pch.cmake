# Precompiled headers: the headers most files include (the standard library's, fmt, the tensor
# library's own; Catch2 for the tests; CLI11 and the lesson scaffolding for the lessons) are parsed
# once for a group of targets instead of once for every file. They change nothing in the code: CMake
# puts them in front of each file as if it included them first (cmake_pch.hxx in the build tree).
#
# A precompiled header only serves files compiled with compatible flags, so there is one per family:
# the library (-O3, or -O1 under the sanitizers), the test programs, and the lessons (-O1, or -O0
# under the sanitizers). Files built with other flags (the CUDA emulator's, the fuzzers' coverage,
# Catch2's -O0 main) skip it: clang refuses a mismatched one, g++ quietly ignores it.
#
# -DLAB_PCH=OFF builds without them, which also checks that every file includes what it uses.
option(LAB_PCH "Precompile the headers most files include (a faster build; OFF checks each file's includes)" ON)

# lab_precompile(TARGET HEADER...): TARGET's C++ files get HEADER... precompiled. A quoted project
# header is written [["tensor/tensor.h"]] so that it is found on the include path.
function(lab_precompile target)
  if(NOT LAB_PCH)
    return()
  endif()
  # C++ only: CMake precompiles for C and C++, never for nvcc's CUDA files.
  target_precompile_headers(${target} PRIVATE ${ARGN})
endfunction()

# lab_precompile_reuse(TARGET OWNER): TARGET uses OWNER's precompiled header (same family of flags).
function(lab_precompile_reuse target owner)
  if(LAB_PCH)
    target_precompile_headers(${target} REUSE_FROM ${owner})
  endif()
endfunction()

# lab_precompile_skip(SOURCE... [TARGET_DIRECTORY T]): these files are compiled without it.
function(lab_precompile_skip)
  if(LAB_PCH)
    set_source_files_properties(${ARGN} PROPERTIES SKIP_PRECOMPILE_HEADERS ON)
  endif()
endfunction()
