# CUDA is optional: built where nvcc exists, skipped cleanly where it doesn't. Sets LAB_HAS_CUDA.
#
# Architectures: -DCMAKE_CUDA_ARCHITECTURES=... wins; else the GPU of this machine ("native") when
# nvidia-smi sees one; else a short list of current ones (Ampere 80, Hopper 90), which keeps the
# compile time of a GPU-less CI machine in check.
option(LAB_CUDA "Build the CUDA kernels when nvcc is found" ON)
set(LAB_HAS_CUDA 0)

if(LAB_CUDA)
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
        set(CMAKE_CUDA_ARCHITECTURES 80 90)
        message(STATUS "loralab: no GPU seen at configure time; CUDA architectures: 80;90 (set -DCMAKE_CUDA_ARCHITECTURES to change)")
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
