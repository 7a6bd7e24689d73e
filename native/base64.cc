#include "base64.h"

#include <array>

namespace hbd {

namespace {

const char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

// 0..63 for alphabet characters, -1 for everything else (including '=').
std::array<int8_t, 256> MakeReverse() {
  std::array<int8_t, 256> t{};
  t.fill(-1);
  for (int i = 0; i < 64; i++) t[static_cast<uint8_t>(kAlphabet[i])] = static_cast<int8_t>(i);
  return t;
}

const std::array<int8_t, 256> kReverse = MakeReverse();

}  // namespace

void Base64Append(const uint8_t* data, size_t len, std::string* out) {
  out->reserve(out->size() + (len + 2) / 3 * 4);
  size_t i = 0;
  for (; i + 3 <= len; i += 3) {
    uint32_t v = (uint32_t{data[i]} << 16) | (uint32_t{data[i + 1]} << 8) | data[i + 2];
    out->push_back(kAlphabet[v >> 18]);
    out->push_back(kAlphabet[(v >> 12) & 63]);
    out->push_back(kAlphabet[(v >> 6) & 63]);
    out->push_back(kAlphabet[v & 63]);
  }
  if (len - i == 1) {
    uint32_t v = uint32_t{data[i]} << 16;
    out->push_back(kAlphabet[v >> 18]);
    out->push_back(kAlphabet[(v >> 12) & 63]);
    out->append("==");
  } else if (len - i == 2) {
    uint32_t v = (uint32_t{data[i]} << 16) | (uint32_t{data[i + 1]} << 8);
    out->push_back(kAlphabet[v >> 18]);
    out->push_back(kAlphabet[(v >> 12) & 63]);
    out->push_back(kAlphabet[(v >> 6) & 63]);
    out->push_back('=');
  }
}

bool Base64Decode(const uint8_t* text, size_t len, std::string* out, size_t* bad_at) {
  if (len % 4 != 0) {
    *bad_at = len - len % 4;
    return false;
  }
  out->clear();
  out->reserve(len / 4 * 3);
  for (size_t i = 0; i < len; i += 4) {
    const bool last = i + 4 == len;
    // Padding may only close the final quantum: "xx==" or "xxx=".
    size_t pad = 0;
    if (last && text[i + 3] == '=') pad = text[i + 2] == '=' ? 2 : 1;
    int v[4] = {0, 0, 0, 0};
    for (size_t k = 0; k < 4 - pad; k++) {
      v[k] = kReverse[text[i + k]];
      if (v[k] < 0) {
        *bad_at = i + k;
        return false;
      }
    }
    uint32_t bits = (uint32_t(v[0]) << 18) | (uint32_t(v[1]) << 12) | (uint32_t(v[2]) << 6) | uint32_t(v[3]);
    // Canonical form: the bits dropped by padding must be zero.
    if ((pad == 2 && (bits & 0xFFFF) != 0) || (pad == 1 && (bits & 0xFF) != 0)) {
      *bad_at = i + 3 - pad;
      return false;
    }
    out->push_back(static_cast<char>(bits >> 16));
    if (pad < 2) out->push_back(static_cast<char>((bits >> 8) & 0xFF));
    if (pad < 1) out->push_back(static_cast<char>(bits & 0xFF));
  }
  return true;
}

}  // namespace hbd
