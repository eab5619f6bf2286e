# cmake -DIN=cuda/x.cu -DOUT=build/.../x.cpp -P translate.cmake: the one piece of CUDA syntax C++ lacks,
# the launch, rewritten for the emulator (emulator.h):
#   kernel<T><<<grid, block>>>(args);   ->   ::emu::Launch("kernel<T>", kernel<T>, grid, block)(args);
# A launch's kernel and its <<< are on one line in cuda/; its configuration holds no ';'.
file(READ "${IN}" text)
string(REGEX REPLACE "([A-Za-z_][A-Za-z0-9_:]*(<[^;<>]*>)?)[ \t]*<<<([^;]*)>>>[ \t]*\\(" "::emu::Launch(\"\\1\", \\1, \\3)(" text "${text}")
if(text MATCHES "<<<")
  message(FATAL_ERROR "translate.cmake: a launch in ${IN} has a form it does not rewrite")
endif()
file(WRITE "${OUT}.tmp" "#line 1 \"${IN}\"\n${text}")
file(RENAME "${OUT}.tmp" "${OUT}")
