# Turns one SPIR-V file into a C++ source holding its words:
#   cmake -DSPV=add.spv -DOUT=add.spv.cpp -DSYMBOL=add_spv -P embed_spirv.cmake
# defines archscope::spirv::add_spv[] and archscope::spirv::add_spv_words
# (declared by the generated shader_registry.cpp).

file(READ "${SPV}" hex HEX)
string(LENGTH "${hex}" hex_length)
math(EXPR remainder "${hex_length} % 8")
if(hex_length EQUAL 0 OR NOT remainder EQUAL 0)
  message(FATAL_ERROR "${SPV}: not SPIR-V (${hex_length} hex digits, not a whole number of 32-bit words)")
endif()

# glslangValidator writes words in host byte order, i.e. little-endian here: bytes
# "03 02 23 07" are the word 0x07230203 (the SPIR-V magic number).
string(REGEX REPLACE "(..)(..)(..)(..)" "0x\\4\\3\\2\\1u, " words "${hex}")
if(NOT words MATCHES "^0x07230203u, ")
  message(FATAL_ERROR "${SPV}: does not start with the little-endian SPIR-V magic number 0x07230203")
endif()
# Eight words a line (CMake regexes have no {8}).
set(word "0x........u, ")
string(REGEX REPLACE "(${word}${word}${word}${word}${word}${word}${word}${word})" "\\1\n    " words "${words}")
string(REGEX REPLACE " +\n" "\n" words "${words}")
string(STRIP "${words}" words)

get_filename_component(spv_name "${SPV}" NAME)
file(WRITE "${OUT}" "// Generated from ${spv_name} by shaders/embed_spirv.cmake; do not edit.
#include <cstddef>
#include <cstdint>

namespace archscope::spirv {

extern const uint32_t ${SYMBOL}[] = {
    ${words}
};
extern const std::size_t ${SYMBOL}_words = sizeof(${SYMBOL}) / sizeof(uint32_t);

}  // namespace archscope::spirv
")
