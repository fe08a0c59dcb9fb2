// Files that come beside a model (mmproj, MTP heads, adapters, vocabularies, ...) are named
// for what they are, with what to open instead, instead of failing as unknown
// architectures or models with missing tensors.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "archscope/gguf.h"
#include "archscope/model_loader.h"
#include "formats/format_fixtures.h"

namespace archscope {
namespace {

using testing::TempDir;

struct SideFile {
  const char* file;
  const char* architecture;
  const char* type;      // general.type, or "" for none
  const char* expected;  // in the message
};

void write_side_file(const std::string& path, const SideFile& f) {
  GgufWriter w;
  w.set_string("general.architecture", f.architecture);
  if (*f.type) w.set_string("general.type", f.type);
  if (std::string(f.type) == "adapter") w.set_string("adapter.type", "lora");
  w.set_string("general.base_model.0.name", "Gemma 4 E2B");
  w.set_u32(std::string(f.architecture) + ".block_count", 2);
  w.add_tensor("blk.0.attn_q.weight", {32, 2}, GgmlType::F32, std::vector<uint8_t>(256));
  w.write(path);
}

class SideFiles : public ::testing::TestWithParam<SideFile> {};

TEST_P(SideFiles, SayWhatTheyAreAndWhatToOpen) {
  const SideFile f = GetParam();
  TempDir dir;
  write_side_file(dir.file(f.file), f);
  Result<ModelSpec> alone = load_model_spec(dir.file(f.file));
  ASSERT_FALSE(alone.ok());
  const std::string message = alone.error().what();
  EXPECT_EQ(message.rfind(std::string(f.file) + ": ", 0), 0u) << message;
  EXPECT_NE(message.find(f.expected), std::string::npos) << message;
  EXPECT_EQ(message.find("unknown architecture"), std::string::npos) << message;
  EXPECT_EQ(message.find("same folder"), std::string::npos) << message;

  // With the model beside it (and other side files, which are not suggested), the message names it.
  write_side_file(dir.file("mmproj-other.gguf"), {"mmproj-other.gguf", "clip", "mmproj", ""});
  testing::write_text(dir.file("gemma-4-E2B-it-Q4_K_M.gguf"), "GGUF");
  Result<ModelSpec> beside = load_model_spec(dir.file(f.file));
  ASSERT_FALSE(beside.ok());
  EXPECT_NE(std::string(beside.error().what()).find("gemma-4-E2B-it-Q4_K_M.gguf is in the same folder"),
            std::string::npos)
      << beside.error().what();
}

INSTANTIATE_TEST_SUITE_P(
    Kinds, SideFiles,
    ::testing::Values(SideFile{"mmproj-F16.gguf", "clip", "mmproj", "multimodal projector (mmproj"},
                      SideFile{"mtp-F16.gguf", "gemma4-assistant", "model", "assistant head"},
                      SideFile{"adapter.gguf", "llama", "adapter", "LoRA adapter for Gemma 4 E2B"},
                      SideFile{"steer.gguf", "controlvector", "", "control vector"},
                      SideFile{"imatrix.gguf", "imatrix", "imatrix", "importance matrix"}),
    [](const ::testing::TestParamInfo<SideFile>& info) {
      std::string name = info.param.architecture;
      for (char& c : name) c = c == '-' ? '_' : c;
      return name + "_" + std::to_string(info.index);
    });

}  // namespace
}  // namespace archscope
