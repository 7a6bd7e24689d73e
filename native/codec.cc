// The codec's small shared vocabulary: names of formats, codes and verdicts, key lookup,
// and the per-depth newline symbols of classic structs.
#include "codec.h"

namespace hbd {

namespace {

// cluster-glue's SPECIAL_SYMS: depth 0 → 0x14 … 11 → 0x1F, then 12 → 0x0F … 15 → 0x12.
constexpr uint8_t kNestedNewlines[kMaxDepth] = {20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31, 15, 16, 17, 18};

}  // namespace

uint8_t NestedNewline(int depth) { return kNestedNewlines[depth]; }

const AuthKey* AuthKeys::Find(int index) const {
  for (const AuthKey& k : keys) {
    if (k.index == index) return &k;
  }
  return nullptr;
}

bool ParseWireFormat(const std::string& name, WireFormat* out) {
  if (name == "netstring+auth") *out = WireFormat::NetstringAuth;
  else if (name == "netstring") *out = WireFormat::Netstring;
  else if (name == "classic") *out = WireFormat::Classic;
  else return false;
  return true;
}

const char* DecodeErrorCodeName(DecodeErrorCode c) {
  switch (c) {
    case DecodeErrorCode::Empty: return "empty";
    case DecodeErrorCode::BadMagic: return "bad-magic";
    case DecodeErrorCode::BadField: return "bad-field";
    case DecodeErrorCode::BadType: return "bad-type";
    case DecodeErrorCode::BadNetstring: return "bad-netstring";
    case DecodeErrorCode::BadBase64: return "bad-base64";
    case DecodeErrorCode::BadTrailer: return "bad-trailer";
    case DecodeErrorCode::Truncated: return "truncated";
    case DecodeErrorCode::TooLarge: return "too-large";
    case DecodeErrorCode::TooDeep: return "too-deep";
  }
  return "?";
}

const char* VerdictName(Verdict v) {
  switch (v) {
    case Verdict::Ok: return "ok";
    case Verdict::BadSignature: return "bad-signature";
    case Verdict::UnknownKeyIndex: return "unknown-key-index";
    case Verdict::Unsigned: return "unsigned";
    case Verdict::Unverified: return "unverified";
  }
  return "?";
}

}  // namespace hbd
