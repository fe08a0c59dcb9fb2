// The pre-tokenizer table is llama.cpp's (src/llama-vocab.cpp: llm_tokenizer_bpe and the
// tokenizer_pre branches of llama_vocab::impl::load); the regex strings are copied as they
// are there (non-ASCII characters written as \x{..}). llama.cpp runs the common ones with
// hand-written matchers and the rest with std::regex over a "collapsed" text (each non-ASCII
// code point replaced by its category). PCRE2 runs the regexes themselves with the same
// meaning once they are adapted to what llama.cpp actually sees:
//   - \p{L}, \p{N}, \p{P}, \p{S}, \p{M} are llama.cpp's own category tables
//     (unicode_classes.cpp), and \p{Lu}/\p{Ll}/\p{Lt}/\p{Lm}/\p{Lo} all mean \p{L};
//   - \s is llama.cpp's whitespace set, and non-ASCII whitespace in the text is seen as
//     U+000B (so it never matches a literal range such as [\x{800}-\x{4E00}]);
//   - $ matches only at the very end (std::regex's ECMAScript meaning).
// Checked at development time against llama.cpp's unicode_regex_split on about a million
// random mixed-script strings for every pre-tokenizer below, with no difference.
#define PCRE2_CODE_UNIT_WIDTH 8
#include "tokenizer/pre_tokenizer.h"

#include <pcre2.h>

#include <algorithm>
#include <map>
#include <memory>
#include <tuple>

#include "archscope/error.h"
#include "tokenizer/unicode_classes.h"
#include "tokenizer/utf8.h"

namespace archscope::tokenizer {
namespace {

// --- llama.cpp's regex strings ---------------------------------------------------------

const char* const kGpt2 = "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)";
const char* const kLlama3 =
    "(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| "
    "?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";
const char* const kQwen2 =
    "(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}| "
    "?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";
const char* const kQwen35 =
    "(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])|[^\\r\\n\\p{L}\\p{N}]?[\\p{L}\\p{M}]+|\\p{N}| "
    "?[^\\s\\p{L}\\p{M}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";
const char* const kJais2 =
    "(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| "
    "?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s{512}(?!\\S)|\\s{256}(?!\\S)|\\s{128}(?!\\S)|\\s{64}(?!\\S)|"
    "\\s{32}(?!\\S)|\\s{16}(?!\\S)|\\s{8}(?!\\S)|\\s{4}(?!\\S)|\\s{1,2}(?!\\S)|\\s{1}";
const char* const kStarcoderWords = "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)";
const char* const kNewlines = "[^\\n]+|[\\n]+";
const char* const kDeepseek3Main =
    "[!\"#$%&'()*+,\\-./:;<=>?@\\[\\\\\\]^_`{|}~][A-Za-z]+|[^\r\n\\p{L}\\p{P}\\p{S}]?[\\p{L}\\p{M}]+| "
    "?[\\p{P}\\p{S}]+[\r\n]*|\\s*[\r\n]+|\\s+(?!\\S)|\\s+";
const char* const kPoro = " ?[^(\\s|.,!?\\x{2026}\\x{3002}\\x{FF0C}\\x{3001}\\x{964}\\x{6D4}\\x{60C})]+";
const char* const kTekken =
    "[^\\r\\n\\p{L}\\p{N}]?((?=[\\p{L}])([^a-z]))*((?=[\\p{L}])([^A-Z]))+|[^\\r\\n\\p{L}\\p{N}]?((?=[\\p{L}])([^a-z]))+(("
    "?=[\\p{L}])([^A-Z]))*|\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n/]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";
const char* const kGpt4o =
    "[^\\r\\n\\p{L}\\p{N}]?((?=[\\p{L}])([^a-z]))*((?=[\\p{L}])([^A-Z]))+(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'["
    "lL][lL]|'[dD])?|[^\\r\\n\\p{L}\\p{N}]?((?=[\\p{L}])([^a-z]))+((?=[\\p{L}])([^A-Z]))*(?:'[sS]|'[tT]|'[rR][eE]|'["
    "vV][eE]|'[mM]|'[lL][lL]|'[dD])?|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n/]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";
const char* const kGraniteEmbMulti =
    "[^\\r\\n\\p{L}\\p{N}]?((?=[\\p{L}\\p{M}])([^a-z]))*((?=[\\p{L}\\p{M}])([^A-Z]))+(?:'[sS]|'[tT]|'[rR][eE]|'[vV]["
    "eE]|'[mM]|'[lL][lL]|'[dD])?|[^\\r\\n\\p{L}\\p{N}]?((?=[\\p{L}\\p{M}])([^a-z]))+((?=[\\p{L}\\p{M}])([^A-Z]))*(?:"
    "'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])?|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n/]*|\\s*[\\r\\n]+|"
    "\\s+(?!\\S)|\\s+";
const char* const kYoutu =
    "[^\\r\\n\\p{L}\\p{N}]?[\\p{Lu}\\p{Lt}\\p{Lm}\\p{Lo}\\p{M}]*[\\p{Ll}\\p{Lm}\\p{Lo}\\p{M}]+(?:'[sS]|'[tT]|'[rR]["
    "eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])?|[^\\r\\n\\p{L}\\p{N}]?[\\p{Lu}\\p{Lt}\\p{Lm}\\p{Lo}\\p{M}]+[\\p{Ll}\\p{Lm}"
    "\\p{Lo}\\p{M}]*(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])?|\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n/"
    "]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";
const char* const kBailing =
    "'(?:[sSdDmMtT]|[lL][lL]|[vV][eE]|[rR][eE])|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}| "
    "?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]|\\s+(?!\\S)|\\s+";
const char* const kSeedCoder =
    "(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1}| "
    "?[^\\s\\p{L}\\p{N}\\r\\n]+|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";
const char* const kExaoneMoe =
    "(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])|[^\\r\\n\\p{L}\\p{N}]?(?:\\p{L}\\p{M}*(?: "
    "\\p{L}\\p{M}*)*)+|\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n/]?|\\s*[\\r\\n]|\\s+(?!\\S)|\\s+";
const char* const kMinicpm5 =
    "(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}+| "
    "?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";

struct Family {
  std::vector<std::string> regexes;
  bool byte_encode = true, escape_spaces = false, ignore_merges = false, add_bos = false, no_bos = false;
};

std::map<std::string, PreTokenizerSpec, std::less<>> build_table() {
  const Family default_family{{"[\\p{P}\\$\\+<=>\\^~\\|]+", kGpt2, "\\p{N}+", "[0-9][0-9][0-9]"}};
  const Family llama3{{kLlama3}, true, false, /*ignore_merges*/ true, /*add_bos*/ true};
  const Family llama3_regex{{kLlama3}};
  const Family gpt2{{kGpt2}};
  const Family starcoder{{"\\p{N}", kStarcoderWords}};
  const Family qwen2{{kQwen2}};
  const Family deepseek3{{"\\p{N}{1,3}", "[\\x{4E00}-\\x{9FA5}\\x{3040}-\\x{309F}\\x{30A0}-\\x{30FF}]+", kDeepseek3Main}};
  const Family poro{{kPoro}};
  const Family gpt4o{{kGpt4o}};
  const Family spm_style_bpe{{kNewlines}, /*byte_encode*/ false, /*escape_spaces*/ true};

  // tokenizer.ggml.pre value -> (llama.cpp pre type, family)
  const std::vector<std::tuple<std::vector<std::string>, std::string, Family>> rows = {
      {{"default"}, "default", default_family},
      {{"llama3", "llama-v3", "llama-bpe", "falcon3", "falcon-h1", "pixtral", "midm-2.0", "lfm2", "jina-v5-nano"},
       "llama3", llama3},
      {{"dbrx"}, "dbrx", llama3_regex},
      {{"smaug-bpe"}, "smaug", llama3_regex},
      {{"jais-2"}, "jais2", Family{{kJais2}}},
      {{"deepseek-llm"},
       "deepseek-llm",
       Family{{"[\r\n]",
               "\\s?[A-Za-z\\x{B5}\\x{C0}-\\x{D6}\\x{D8}-\\x{F6}\\x{F8}-\\x{1BA}\\x{1BC}-\\x{1BF}\\x{1C4}-\\x{293}\\x{295}-\\x{2AF}\\x{370}-\\x{373}\\x{376}\\x{377}\\x{37B}-\\x{37D}\\x{37F}\\x{386}\\x{388}-\\x{38A}\\x{38C}\\x{38E}-\\x{3A1}\\x{3A3}-\\x{3F5}\\x{3F7}-\\x{481}\\x{48A}-\\x{52F}\\x{531}-\\x{556}\\x{10A0}-\\x{10C5}\\x{13A0}-\\x{13F5}\\x{13F8}-\\x{13FD}\\x{1C90}-\\x{1CBA}\\x{1CBD}-\\x{1CBF}\\x{1D00}-\\x{1D2B}\\x{1D6B}-\\x{1D77}\\x{1D79}-\\x{1D9A}\\x{1E00}-\\x{1F15}\\x{1F18}-\\x{1F1D}\\x{1F20}-\\x{1F45}\\x{1F48}-\\x{1F4D}\\x{1F50}-\\x{1F57}\\x{1F59}\\x{1F5B}\\x{1F5D}\\x{1F5F}-\\x{1F7D}\\x{1F80}-\\x{1FB4}\\x{1FB6}-\\x{1FBC}\\x{1FBE}\\x{1FC2}-\\x{1FC4}\\x{1FC6}-\\x{1FCC}\\x{1FD0}-\\x{1FD3}\\x{1FD6}-\\x{1FDB}\\x{1FE0}-\\x{1FEC}\\x{1FF2}-\\x{1FF4}\\x{1FF6}-\\x{1FFC}\\x{2102}\\x{2107}\\x{210A}-\\x{2113}\\x{2115}\\x{2119}-\\x{211D}\\x{2124}\\x{2126}\\x{2128}\\x{212A}-\\x{212D}\\x{212F}-\\x{2134}\\x{2139}\\x{213C}-\\x{213F}\\x{2145}-\\x{2149}\\x{214E}\\x{2183}\\x{2184}\\x{2C00}-\\x{2C7B}\\x{2C7E}-\\x{2CE4}\\x{2CEB}-\\x{2CEE}\\x{2CF2}\\x{2CF3}\\x{A640}-\\x{A66D}\\x{A680}-\\x{A69B}\\x{A722}-\\x{A76F}\\x{A771}-\\x{A787}\\x{A78B}-\\x{A78E}\\x{AB70}-\\x{ABBF}\\x{FB00}-\\x{FB06}\\x{FB13}-\\x{FB17}\\x{FF21}-\\x{FF3A}\\x{FF41}-\\x{FF5A}\\x{10400}-\\x{1044F}\\x{104B0}-\\x{104D3}\\x{104D8}-\\x{104FB}\\x{10C80}-\\x{10CB2}\\x{10CC0}-\\x{10CF2}\\x{118A0}-\\x{118DF}\\x{1E900}-\\x{1E943}]+",
               "\\s?[!-/:-~\\x{FF01}-\\x{FF0F}\\x{FF1A}-\\x{FF5E}\\x{2018}-\\x{201F}\\x{3000}-\\x{3002}]+", "\\s+$", "[\\x{4E00}-\\x{9FA5}\\x{800}-\\x{4E00}\\x{AC00}-\\x{D7FF}]+", "\\p{N}+"}}},
      {{"deepseek-coder"},
       "deepseek-coder",
       Family{{"[\r\n]", "\\s?\\p{L}+", "\\s?\\p{P}+", "[\\x{4E00}-\\x{9FA5}\\x{800}-\\x{4E00}\\x{AC00}-\\x{D7FF}]+", "\\p{N}"}}},
      {{"deepseek-v3"}, "deepseek-v3", deepseek3},
      {{"hunyuan-dense"}, "hunyuan-dense", deepseek3},
      {{"joyai-llm"}, "joyai-llm", deepseek3},
      {{"youtu"},
       "youtu",
       Family{{"[\\x{AC00}-\\x{D7A3}\\x{3131}-\\x{318E}]+|[\\x{FF01}\\x{2026}\\x{201C}\\x{201D}\\x{2018}\\x{2019}\\x{2014}\\x{FF1A}\\x{FF1B}\\x{FF0C}\\x{3001}-\\x{303F}\\x{FE30}-\\x{FE4F}]+|[\\x{3105}-\\x{312F}]+|[\\x{4E00}-\\x{9FA5}\\x{3040}-\\x{309F}\\x{30A0}-\\x{30FF}]+", kYoutu}, true, false, true}},
      {{"falcon"},
       "falcon",
       Family{{"[\\p{P}\\$\\+<=>\\^~\\|`]+", kStarcoderWords, "[0-9][0-9][0-9]"}}},
      {{"mpt"}, "mpt", gpt2},
      {{"starcoder"}, "starcoder", starcoder},
      {{"refact"}, "refact", starcoder},
      {{"command-r"}, "command-r", starcoder},
      {{"smollm"}, "smollm", starcoder},
      {{"codeshell"}, "codeshell", starcoder},
      {{"exaone"}, "exaone", starcoder},
      {{"minerva-7b"}, "minerva", starcoder},
      {{"mellum2"}, "mellum2", starcoder},
      {{"gpt-2", "phi-2", "jina-es", "jina-de", "gigachat", "jina-v2-es", "jina-v2-de", "a.x-4.0", "mellum",
        "modern-bert", "exaone4"},
       "gpt2",
       gpt2},
      {{"olmo"}, "olmo", gpt2},
      {{"jais"}, "jais", gpt2},
      {{"trillion"}, "trillion", gpt2},
      {{"granite-docling"}, "granite-docling", gpt2},
      {{"gemma4", "granite-embed-multi-311m"}, "gemma4", spm_style_bpe},
      {{"sarvam-moe"}, "sarvam-moe", spm_style_bpe},
      {{"qwen2", "deepseek-r1-qwen", "kormo", "f2llmv2", "megrez"}, "qwen2", qwen2},
      {{"stablelm2"}, "stablelm2", qwen2},
      {{"hunyuan"}, "hunyuan", qwen2},
      {{"solar-open"}, "solar-open", qwen2},
      {{"grok-2"}, "grok-2", qwen2},
      {{"qwen35"}, "qwen35", Family{{kQwen35}}},
      {{"poro-chat"}, "poro", poro},
      {{"bloom"}, "bloom", poro},
      {{"gpt3-finnish"}, "gpt3-finnish", poro},
      {{"glm4", "chatglm-bpe"}, "chatglm4", Family{{kLlama3}, true, false, false, false, /*no_bos*/ true}},
      {{"viking"}, "viking", Family{{kPoro, "\\p{N}"}}},
      {{"tekken"}, "tekken", Family{{kTekken}, true, false, true, true}},
      {{"chameleon"},
       "chameleon",
       Family{{"<sentinel:[0-9]+>", "(IMGIMG)((A|B|C|D|E|F|G|H|I){1,4})Z", "([\\t\\n]|    |  )", "\\p{N}",
               "[\\p{P}!-/:-@\\[-`{-~]", kStarcoderWords},
              true, false, false, true}},
      {{"exaone-moe"}, "exaone-moe", Family{{kExaoneMoe}}},
      {{"gpt-4o", "llama4", "kanana2", "talkie"}, "gpt-4o", gpt4o},
      {{"minimax-m2"}, "minimax-m2", gpt4o},
      {{"granite-embed-multi-97m"}, "granite-emb-multi", Family{{kGraniteEmbMulti}, true, false, true}},
      {{"bailingmoe", "bailingmoe2", "llada-moe"}, "bailingmoe", Family{{kBailing}}},
      {{"seed-coder"}, "seed-coder", Family{{kSeedCoder}}},
      {{"laguna"}, "laguna", Family{{kNewlines, kQwen2}}},
      {{"minicpm5"}, "minicpm5", Family{{"\\p{N}{1,3}", kMinicpm5}, true, false, true}},
  };
  std::map<std::string, PreTokenizerSpec, std::less<>> table;
  for (const auto& [names, type, family] : rows) {
    for (const std::string& name : names) {
      PreTokenizerSpec spec;
      spec.name = type;
      spec.regexes = family.regexes;
      spec.byte_encode = family.byte_encode;
      spec.escape_spaces = family.escape_spaces;
      spec.ignore_merges = family.ignore_merges;
      spec.add_bos = family.add_bos;
      spec.no_bos = family.no_bos;
      table.emplace(name, std::move(spec));
    }
  }
  return table;
}

const std::map<std::string, PreTokenizerSpec, std::less<>>& table() {
  static const auto t = build_table();
  return t;
}

// --- regex preparation ------------------------------------------------------------------

// llama.cpp's unicode_set_whitespace (the Unicode White_Space property), as class items.
const char* const kWhitespaceItems =
    "\\t\\n\\x{0B}\\f\\r\\x{20}\\x{85}\\x{A0}\\x{1680}\\x{2000}-\\x{200A}\\x{2028}\\x{2029}\\x{202F}\\x{205F}\\x{"
    "3000}";

bool is_non_ascii_whitespace(uint32_t c) {
  return c == 0x85 || c == 0xA0 || c == 0x1680 || (c >= 0x2000 && c <= 0x200A) || c == 0x2028 || c == 0x2029 ||
         c == 0x202F || c == 0x205F || c == 0x3000;
}

// The class items a \p{NAME} stands for in llama.cpp: its own tables, where the letter
// subcategories Lu, Ll, Lt, Lm and Lo all mean "letter"; nullptr for other names.
const char* category_items(std::string_view name) {
  if (name == "L" || name == "Lu" || name == "Ll" || name == "Lt" || name == "Lm" || name == "Lo") return kLetterItems;
  if (name == "N") return kNumberItems;
  if (name == "P") return kPunctuationItems;
  if (name == "S") return kSymbolItems;
  if (name == "M") return kMarkItems;
  return nullptr;
}

// Rewrites a llama.cpp regex so PCRE2 reads it as llama.cpp does: \p{..} categories and
// \s / \S become explicit classes from llama.cpp's own tables (whatever Unicode version
// the system's PCRE2 has).
std::string adapt_regex(const std::string& regex) {
  std::string out;
  bool in_class = false;
  std::vector<const char*> in_this_class;  // [\p{Lu}\p{Lt}] needs the letters once (PCRE2 caps pattern size)
  auto add_class = [&](const char* items, bool negated) {
    if (!in_class) {
      out += std::string(negated ? "[^" : "[") + items + "]";
    } else if (std::find(in_this_class.begin(), in_this_class.end(), items) == in_this_class.end()) {
      in_this_class.push_back(items);
      out += items;
    }
  };
  for (size_t i = 0; i < regex.size(); ++i) {
    const char c = regex[i];
    if (c == '\\' && i + 1 < regex.size()) {
      const char next = regex[++i];
      const size_t close = next == 'p' && i + 1 < regex.size() && regex[i + 1] == '{' ? regex.find('}', i) : std::string::npos;
      const char* items = close == std::string::npos ? nullptr : category_items(std::string_view(regex).substr(i + 2, close - i - 2));
      if (items != nullptr) {
        add_class(items, false);
        i = close;
      } else if (next == 's') {
        add_class(kWhitespaceItems, false);
      } else if (next == 'S' && !in_class) {
        add_class(kWhitespaceItems, true);
      } else if (next == 'S') {
        throw Error("pre-tokenizer regex uses \\S inside a character class, which is not supported: " + regex);
      } else {
        out += c;
        out += next;
      }
      continue;
    }
    if (c == '[' && !in_class) {
      in_class = true;
      in_this_class.clear();
    } else if (c == ']' && in_class) {
      in_class = false;
    }
    out += c;
  }
  return out;
}

std::string pcre2_message(int code) {
  PCRE2_UCHAR buffer[256];
  const int n = pcre2_get_error_message(code, buffer, sizeof(buffer));
  return n < 0 ? "PCRE2 error " + std::to_string(code) : std::string(reinterpret_cast<const char*>(buffer));
}

}  // namespace

const PreTokenizerSpec* find_pre_tokenizer(std::string_view pre) {
  const auto& t = table();
  const auto it = t.find(pre.empty() ? std::string_view("default") : pre);
  return it == t.end() ? nullptr : &it->second;
}

std::vector<std::string> supported_pre_tokenizers() {
  std::vector<std::string> names;
  for (const auto& [name, spec] : table()) names.push_back(name);
  return names;
}

// --- the splitter -----------------------------------------------------------------------

struct RegexSplitter::Compiled {
  pcre2_code* code = nullptr;
  std::string source;
  ~Compiled() { pcre2_code_free(code); }
};

RegexSplitter::RegexSplitter(const std::vector<std::string>& regexes) {
  for (const std::string& regex : regexes) {
    auto compiled = std::make_shared<Compiled>();
    compiled->source = regex;
    const std::string pattern = adapt_regex(regex);
    int error = 0;
    PCRE2_SIZE offset = 0;
    compiled->code = pcre2_compile(reinterpret_cast<PCRE2_SPTR>(pattern.data()), pattern.size(),
                                   PCRE2_UTF | PCRE2_UCP | PCRE2_DOLLAR_ENDONLY, &error, &offset, nullptr);
    if (compiled->code == nullptr) {
      throw Error("pre-tokenizer regex does not compile (" + pcre2_message(error) + " at offset " +
                  std::to_string(offset) + "): " + regex);
    }
    pcre2_jit_compile(compiled->code, PCRE2_JIT_COMPLETE);  // optional speed-up; falls back when absent
    compiled_.push_back(std::move(compiled));
  }
}

std::vector<std::string> RegexSplitter::split(std::string_view text) const {
  const std::vector<uint32_t> cpts = decode_lenient(text);

  // What PCRE2 sees. Like llama.cpp's regex paths, non-ASCII whitespace is seen as U+000B
  // (so a literal range such as [\x{800}-\x{4E00}] does not catch U+2028). And it must be
  // valid UTF-8: code points that are not Unicode scalar values (surrogates, values past
  // U+10FFFF from lenient decoding) stand in as U+E000, which is in no category either. byte_at[i] is where code point i starts; index_at[b] maps
  // a start byte back to its code point. The words are cut from the original code points.
  std::string subject;
  subject.reserve(text.size() + 8);
  std::vector<size_t> byte_at(cpts.size() + 1);
  for (size_t i = 0; i < cpts.size(); ++i) {
    byte_at[i] = subject.size();
    const uint32_t c = cpts[i];
    const bool scalar = c <= 0x10FFFF && !(c >= 0xD800 && c <= 0xDFFF);
    append_utf8(subject, !scalar ? 0xE000 : is_non_ascii_whitespace(c) ? 0x0B : c);
  }
  byte_at[cpts.size()] = subject.size();
  std::vector<size_t> index_at(subject.size() + 1, 0);
  for (size_t i = 0; i <= cpts.size(); ++i) index_at[byte_at[i]] = i;

  // Pieces as (first code point, count), refined by each regex in turn.
  std::vector<std::pair<size_t, size_t>> pieces;
  if (!cpts.empty()) pieces.emplace_back(0, cpts.size());

  for (const auto& compiled : compiled_) {
    std::unique_ptr<pcre2_match_data, void (*)(pcre2_match_data*)> match_owner(
        pcre2_match_data_create_from_pattern(compiled->code, nullptr), pcre2_match_data_free);
    pcre2_match_data* match = match_owner.get();
    if (match == nullptr) throw Error("out of memory");
    std::vector<std::pair<size_t, size_t>> refined;
    refined.reserve(pieces.size() * 2);
    for (const auto& [first, count] : pieces) {
      // The regex sees the piece alone, as llama.cpp's regex_iterator over [first, first+count).
      const size_t b0 = byte_at[first], b1 = byte_at[first + count];
      const auto* piece = reinterpret_cast<PCRE2_SPTR>(subject.data() + b0);
      const size_t length = b1 - b0;
      size_t at = 0, emitted = 0;  // byte offsets inside the piece
      while (at < length) {
        int rc = pcre2_match(compiled->code, piece, length, at, PCRE2_NO_UTF_CHECK, match, nullptr);
        if (rc == PCRE2_ERROR_JIT_STACKLIMIT) {
          rc = pcre2_match(compiled->code, piece, length, at, PCRE2_NO_UTF_CHECK | PCRE2_NO_JIT, match, nullptr);
        }
        if (rc == PCRE2_ERROR_NOMATCH) break;
        if (rc < 0) {
          throw Error("pre-tokenizer regex failed (" + pcre2_message(rc) + "): " + compiled->source);
        }
        const PCRE2_SIZE* ovector = pcre2_get_ovector_pointer(match);
        const size_t start = ovector[0], end = ovector[1];
        if (end == start) {  // empty match: contributes nothing, try one character later
          at = start + utf8_sequence_length(subject[b0 + start]);
          continue;
        }
        if (start > emitted) {
          refined.emplace_back(index_at[b0 + emitted], index_at[b0 + start] - index_at[b0 + emitted]);
        }
        refined.emplace_back(index_at[b0 + start], index_at[b0 + end] - index_at[b0 + start]);
        emitted = at = end;
      }
      if (emitted < length) {
        refined.emplace_back(index_at[b0 + emitted], index_at[b1] - index_at[b0 + emitted]);
      }
    }
    pieces = std::move(refined);
  }

  std::vector<std::string> words;
  words.reserve(pieces.size());
  for (const auto& [first, count] : pieces) {
    std::string word;
    for (size_t i = first; i < first + count; ++i) append_utf8(word, cpts[i]);
    words.push_back(std::move(word));
  }
  return words;
}

}  // namespace archscope::tokenizer
