# CUDA is optional: built where nvcc exists, skipped cleanly where it doesn't. Sets LAB_HAS_CUDA.
#
# Architectures: -DCMAKE_CUDA_ARCHITECTURES=... wins; else the GPU of this machine ("native") when
# nvidia-smi sees one; else Hopper (90) alone. A machine without a GPU can only check that the
# kernels compile, and one architecture does that at half the nvcc time of two (CI has no GPU);
# 90 because the GPU checks of this project run on an H200 (scripts/gpu-check.sh builds native).
option(LAB_CUDA "Build the CUDA kernels when nvcc is found" ON)
option(LAB_CUDA_EMULATOR "Compile cuda/ as C++ against tests/cuda_emulator: every GPU test and --device cuda run on the CPU (no nvcc)" OFF)
set(LAB_HAS_CUDA 0)

# lab_emulator_translate(IN OUT): the rule that writes OUT, the file IN (.cu or .cuh) with its
# launches rewritten for the CUDA emulator (tests/cuda_emulator/translate.cmake).
function(lab_emulator_translate in out)
  set(script ${CMAKE_SOURCE_DIR}/tests/cuda_emulator/translate.cmake)
  add_custom_command(OUTPUT ${out} COMMAND ${CMAKE_COMMAND} -DIN=${in} -DOUT=${out} -P ${script} DEPENDS ${in} ${script} VERBATIM)
endfunction()

if(LAB_CUDA_EMULATOR)
  # No nvcc, no GPU: cuda/*.cu become C++ (tests/cuda_emulator/README.md), and the program sees one
  # emulated device. For testing the CUDA code where no GPU is lent; speed means nothing here.
  set(LAB_HAS_CUDA 1)
  message(STATUS "loralab: CUDA emulator: cuda/ compiled as C++, kernels run on the CPU (tests/cuda_emulator)")
elseif(LAB_CUDA)
  # Debian's CUDA toolkit installs to /usr/local/cuda without putting nvcc on PATH.
  if(NOT DEFINED CMAKE_CUDA_COMPILER AND NOT DEFINED ENV{CUDACXX} AND EXISTS /usr/local/cuda/bin/nvcc)
    set(CMAKE_CUDA_COMPILER /usr/local/cuda/bin/nvcc)
  endif()
  include(CheckLanguage)
  check_language(CUDA)
  if(CMAKE_CUDA_COMPILER)
    if(NOT DEFINED CMAKE_CUDA_ARCHITECTURES)
      execute_process(COMMAND nvidia-smi --query-gpu=compute_cap --format=csv,noheader
                      RESULT_VARIABLE smi_result OUTPUT_VARIABLE smi_caps ERROR_QUIET OUTPUT_STRIP_TRAILING_WHITESPACE)
      if(smi_result EQUAL 0 AND smi_caps MATCHES "^[0-9]")
        set(CMAKE_CUDA_ARCHITECTURES native)
        message(STATUS "loralab: CUDA architectures: native (this machine's GPU: compute capability ${smi_caps})")
      else()
        set(CMAKE_CUDA_ARCHITECTURES 90)
        message(STATUS "loralab: no GPU seen at configure time; CUDA architecture: 90 (set -DCMAKE_CUDA_ARCHITECTURES to change, e.g. \"80;90\")")
      endif()
    endif()
    enable_language(CUDA)
    # CMake 3.25 (Debian 12's) knows no C++20 flag for nvcc, though nvcc >= 12 accepts -std=c++20.
    if(NOT DEFINED CMAKE_CUDA20_STANDARD_COMPILE_OPTION AND CMAKE_CUDA_COMPILER_VERSION VERSION_GREATER_EQUAL 12.0)
      set(CMAKE_CUDA20_STANDARD_COMPILE_OPTION "-std=c++20")
      set(CMAKE_CUDA20_EXTENSION_COMPILE_OPTION "-std=c++20")
    endif()
    set(CMAKE_CUDA_STANDARD 20)
    set(CMAKE_CUDA_STANDARD_REQUIRED ON)
    find_package(CUDAToolkit REQUIRED)
    set(LAB_HAS_CUDA 1)
    message(STATUS "loralab: CUDA ${CMAKE_CUDA_COMPILER_VERSION} found: building cuda/ for ${CMAKE_CUDA_ARCHITECTURES}")
  else()
    message(STATUS "loralab: nvcc not found: building without CUDA (every lesson and test still runs on the CPU)")
  endif()
else()
  message(STATUS "loralab: CUDA disabled (LAB_CUDA=OFF)")
endif()
