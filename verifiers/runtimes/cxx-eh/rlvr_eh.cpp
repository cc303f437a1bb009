// rlvr: wraps libunwind's Unwind-wasm.c (C) for a C++-only build and defines the C++ exception tag.
#include <stdbool.h>
#include "config.h"
#include "unwind.h"
extern "C" {
#include "Unwind-wasm.c"
}
__asm__(".globl __cpp_exception\n.tagtype __cpp_exception i32\n__cpp_exception:\n");
