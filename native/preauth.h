// Authentication before parsing (issue: an outsider's packet must cost as little as possible). A
// netstring packet is signed over its bytes up to `%%%\n` and carries the signature in a trailer
// after it (spec §6.4), so it can be verified from the raw bytes, without building a Message:
// forged, unsigned and garbage netstring packets are refused with one HMAC (or none) and no heap
// allocation. Classic packets sign a re-serialisation of their fields and must be parsed first.
#pragma once
#include <cstddef>
#include <cstdint>
#include <vector>

#include "codec.h"

namespace hbd {

enum class PreAuth {
  Ok,       // a netstring packet whose trailer verifies: decode it without keys
  Fail,     // no heartbeat magic, or a netstring packet that cannot verify: refuse it unparsed
  Classic,  // a classic packet: Decode() must judge it
};

// HMAC state precomputed per key (the inner and outer pads absorbed once), so that a check copies
// a digest state on the stack instead of asking OpenSSL to allocate contexts per packet.
class PacketVerifier {
 public:
  explicit PacketVerifier(const AuthKeys& keys);
  ~PacketVerifier();
  PacketVerifier(const PacketVerifier&) = delete;
  PacketVerifier& operator=(const PacketVerifier&) = delete;

  // On Ok, `verdict` holds index and method, as Decode() would have reported them.
  PreAuth Check(const uint8_t* packet, size_t len, AuthVerdict* verdict) const;

 private:
  struct KeyState;
  static bool Verify(const KeyState& k, const uint8_t* data, size_t len, const uint8_t* token, size_t tokenLen);
  std::vector<KeyState> keys_;
};

}  // namespace hbd
