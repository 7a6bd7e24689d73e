// libFuzzer harness for the wire codec (built by native/fuzz/run.sh with ASan and UBSan).
// For every input: decode with and without keys (both must agree on the message or on the
// error), and re-encode any decoded message in every format; whatever encodes must decode
// again to the same message with the verdict ok. The input is also read as a packed message
// (native/packed.h, what the addon receives from JS): any message that unpacks goes through
// the same encode/decode round trip, so the encoder meets messages no packet produces.
#include <cstdio>
#include <cstdlib>
#include <string>

#include "../codec.h"
#include "../packed.h"

namespace {

#define CHECK(cond, what)                                                        \
  do {                                                                           \
    if (!(cond)) {                                                               \
      std::fprintf(stderr, "fuzz_decode: %s (%s:%d): %s\n", what, __FILE__, __LINE__, #cond); \
      std::abort();                                                              \
    }                                                                            \
  } while (0)

const hbd::AuthKeys& Keys() {
  static const hbd::AuthKeys keys = {1,
                                     {{1, hbd::AuthMethod::Sha1, "s3cret"},
                                      {2, hbd::AuthMethod::Md5, "s3cret"},
                                      {3, hbd::AuthMethod::Crc, ""},
                                      {0, hbd::AuthMethod::Sha256, "another key"}}};
  return keys;
}

size_t AuthFields(const hbd::Message& m) {
  size_t n = 0;
  for (const hbd::Field& f : m) n += f.name == "auth";
  return n;
}

// What decode(encode(m)) must give back: m itself for plain netstring; for the formats with
// an inner signature, m with its first `auth` field replaced (or one appended) by the signer's.
bool SameAfterSigning(const hbd::Message& m, const hbd::Message& back, bool inner_auth) {
  if (!inner_auth) return back == m;
  size_t i = 0;
  while (i < m.size() && m[i].name != "auth") i++;
  if (back.size() != (i < m.size() ? m.size() : m.size() + 1)) return false;
  if (back[i].name != "auth" || back[i].type != hbd::FieldType::String) return false;
  for (size_t k = 0; k < m.size(); k++) {
    if (k != i && !(back[k] == m[k])) return false;
  }
  return true;
}

// `from_netstring`: the message came out of a netstring packet, so netstring must carry it.
void RoundTrip(const hbd::Message& m, bool from_netstring) {
  for (hbd::WireFormat format : {hbd::WireFormat::Netstring, hbd::WireFormat::NetstringAuth, hbd::WireFormat::Classic}) {
    auto encoded = hbd::Encode(m, format, Keys());
    if (const auto* e = std::get_if<hbd::EncodeError>(&encoded)) {
      // A received netstring message always fits netstring again, unless signing it
      // pushed it over MAXMSG.
      CHECK(!from_netstring || format != hbd::WireFormat::Netstring || e->detail.find("over MAXMSG") != std::string::npos,
            "a decoded netstring message does not re-encode as netstring");
      continue;
    }
    const std::string& bytes = std::get<std::string>(encoded);
    CHECK(bytes.size() <= hbd::kMaxMsg, "encode produced more than MAXMSG");
    // With two auth fields the signer updates the first and heartbeat verifies the last:
    // a classic round trip of such a message cannot verify, by design.
    const bool inner = format != hbd::WireFormat::Netstring;
    if (format == hbd::WireFormat::Classic && AuthFields(m) > 1) continue;
    auto again = hbd::Decode(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size(), &Keys());
    CHECK(std::holds_alternative<hbd::Decoded>(again), "an encoded message does not decode");
    const hbd::Decoded& r = std::get<hbd::Decoded>(again);
    CHECK(r.classic == (format == hbd::WireFormat::Classic), "decoded in the wrong format");
    CHECK(r.auth.verdict == hbd::Verdict::Ok, "a message we signed does not verify");
    CHECK(SameAfterSigning(m, r.message, inner), "the message changed in a round trip");
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  hbd::Message unpacked;
  std::string why;
  if (hbd::UnpackMessage(data, size, &unpacked, &why)) RoundTrip(unpacked, false);

  auto plain = hbd::Decode(data, size, nullptr);
  auto verified = hbd::Decode(data, size, &Keys());
  CHECK(plain.index() == verified.index(), "keys changed whether the packet decodes");
  if (const auto* e = std::get_if<hbd::DecodeError>(&plain)) {
    const auto& e2 = std::get<hbd::DecodeError>(verified);
    CHECK(e->code == e2.code && e->offset == e2.offset, "keys changed the decode error");
    CHECK(e->offset <= (size > hbd::kMaxMsg ? hbd::kMaxMsg : size), "error offset outside the packet");
    return 0;
  }
  const auto& d = std::get<hbd::Decoded>(plain);
  const auto& dv = std::get<hbd::Decoded>(verified);
  CHECK(d.classic == dv.classic && d.message == dv.message, "keys changed the decoded message");
  CHECK(d.auth.verdict == hbd::Verdict::Unverified || d.auth.verdict == hbd::Verdict::Unsigned, "a verdict without keys");
  CHECK((d.auth.verdict == hbd::Verdict::Unsigned) == (dv.auth.verdict == hbd::Verdict::Unsigned), "keys changed whether the packet is signed");
  RoundTrip(d.message, !d.classic);
  return 0;
}
