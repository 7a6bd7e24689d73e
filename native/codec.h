// Heartbeat 3.0 wire codec (spec §2, §3, §6): classic and netstring packets, field types 0–4,
// classic inner `auth` and netstring trailer. Plain C++ types only, so that the engine thread
// can use it without Node-API; the addon's codec exports carry these across in the packed form
// of native/packed.h. The TypeScript codec (lib/wire/codec.ts) implements the same rules;
// test/codec-diff.test.ts and native/fuzz/ hold them to it.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>
#include <variant>
#include <vector>

#include "auth.h"

namespace hbd {

// Heartbeat's MAXMSG: the largest packet either direction accepts or produces.
constexpr size_t kMaxMsg = 256 * 1024;
// Heartbeat's MAXDEPTH: a top-level message may hold structs nested this many levels.
constexpr int kMaxDepth = 16;

// Classic text escapes (spec §2): a string value carries '\n' as 0x13; the nested text of a
// struct field in a message at depth d carries its newlines as NestedNewline(d).
constexpr uint8_t kStringNewline = 0x13;
uint8_t NestedNewline(int depth);  // depth in [0, kMaxDepth)

enum class FieldType : uint8_t { String = 0, Binary = 1, Struct = 2, List = 3, Compress = 4 };

struct Field {
  std::string name;
  FieldType type = FieldType::String;
  std::string bytes;               // String, Binary, Compress
  std::vector<Field> nested;       // Struct
  std::vector<std::string> items;  // List

  bool operator==(const Field& o) const {
    return name == o.name && type == o.type && bytes == o.bytes && nested == o.nested && items == o.items;
  }
};

using Message = std::vector<Field>;

struct AuthKey {
  int index = 0;
  AuthMethod method = AuthMethod::Crc;
  std::string key;
};

struct AuthKeys {
  int send_index = 0;
  std::vector<AuthKey> keys;

  const AuthKey* Find(int index) const;
};

enum class WireFormat { NetstringAuth, Netstring, Classic };

// Parses the ha.cf-style names of lib/wire/types.ts WireFormat; false for anything else.
bool ParseWireFormat(const std::string& name, WireFormat* out);

// The same codes, spelled the same, as DecodeErrorCode in lib/wire/types.ts.
enum class DecodeErrorCode {
  Empty, BadMagic, BadField, BadType, BadNetstring, BadBase64, BadTrailer, Truncated, TooLarge, TooDeep
};
const char* DecodeErrorCodeName(DecodeErrorCode c);

struct DecodeError {
  DecodeErrorCode code;
  size_t offset;  // byte position in the packet where the problem was found
  std::string detail;
};

enum class Verdict { Ok, BadSignature, UnknownKeyIndex, Unsigned, Unverified };
const char* VerdictName(Verdict v);

struct AuthVerdict {
  Verdict verdict = Verdict::Unverified;
  int index = 0;                        // Ok, BadSignature, UnknownKeyIndex
  AuthMethod method = AuthMethod::Crc;  // Ok, BadSignature
};

struct Decoded {
  bool classic = false;
  Message message;
  AuthVerdict auth;
};

// Never throws for bad input and never reads outside [packet, packet+len).
// `keys` null means "parse only" (verdict unverified).
std::variant<Decoded, DecodeError> Decode(const uint8_t* packet, size_t len, const AuthKeys* keys);

// A message the chosen format cannot carry (lib/wire/errors.ts EncodeError): `path` names the
// field as "outer.inner" (latin1 bytes, empty for the whole message), `detail` the rule.
struct EncodeError {
  std::string path;
  std::string detail;
};

// Signs with keys.send_index: classic and netstring+auth modify-or-append the inner `auth`
// field (spec §6.3), the netstring formats append the trailer (§6.4), classic ends in NUL.
std::variant<std::string, EncodeError> Encode(const Message& message, WireFormat format, const AuthKeys& keys);

// The bytes the classic `auth` token covers: every top-level field except those named
// `auth`, in classic text without the >>>/<<< lines (spec §6.3). Unchecked: a received
// message is hashed exactly as heartbeat re-serialises it.
std::string ClassicAuthData(const Message& message);

}  // namespace hbd
