// llama.cpp's Unicode categories as PCRE2 class items (see unicode_classes.cpp).
#pragma once

namespace archscope::tokenizer {

extern const char* const kLetterItems;       // \p{L}
extern const char* const kNumberItems;       // \p{N}
extern const char* const kPunctuationItems;  // \p{P}
extern const char* const kSymbolItems;       // \p{S}
extern const char* const kMarkItems;         // \p{M}

}  // namespace archscope::tokenizer
