# cmake -DIN=cuda/x.cu -DOUT=build/.../x.cpp -P translate.cmake: the one piece of CUDA syntax C++ lacks,
# the launch, rewritten for the emulator (emulator.h):
#   kernel<T><<<grid, block>>>(args);   ->   ::emu::Launch("kernel<T>", kernel<T>, grid, block)(args);
# A launch's kernel and its <<< are on one line in cuda/; its configuration holds no ';'.
#
# `#pragma unroll` lines become empty lines (the line numbers stay). On a GPU they keep a thread's
# tile of accumulators in registers; here they only made clang fully unroll the matmul kernels'
# loops, and its -O1 then spent 20-27 s on each of three files (15 s in one pass, IndVarSimplify;
# about 1 s each without them: measured 2026-11-29, clang 14 with the sanitizers), and 20 s on
# lora_fused.cu through tile_gemm.cuh (2 s without; cuda/CMakeLists.txt translates such headers too).
# A hint to the compiler, never the meaning of the code.
file(READ "${IN}" text)
string(REGEX REPLACE "\n[ \t]*#pragma unroll[^\n]*" "\n" text "${text}")
string(REGEX REPLACE "([A-Za-z_][A-Za-z0-9_:]*(<[^;<>]*>)?)[ \t]*<<<([^;]*)>>>[ \t]*\\(" "::emu::Launch(\"\\1\", \\1, \\3)(" text "${text}")
if(text MATCHES "<<<")
  message(FATAL_ERROR "translate.cmake: a launch in ${IN} has a form it does not rewrite")
endif()
file(WRITE "${OUT}.tmp" "#line 1 \"${IN}\"\n${text}")
file(RENAME "${OUT}.tmp" "${OUT}")
