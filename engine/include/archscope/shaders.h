// The compute shaders of shaders/*.comp, compiled to SPIR-V at build time and embedded in
// the program (library archscope_shaders, see shaders/CMakeLists.txt): nothing is read
// from disk at run time.
#pragma once

#include <cstdint>
#include <span>
#include <string_view>
#include <vector>

namespace archscope {

// SPIR-V words of shaders/<name>.comp (name is the file stem, e.g. "add");
// empty when there is no such shader.
std::span<const uint32_t> find_shader(std::string_view name);

// Names of all embedded shaders, sorted; for error messages and listings.
std::vector<std::string_view> shader_names();

}  // namespace archscope
