// Standard base64 (RFC 1341 alphabet, '=' padding) as heartbeat writes binary and compressed
// fields in classic text (spec §3.1). Decoding accepts only the canonical form, because the
// classic auth token is computed over the re-encoded text and must reproduce the sender's bytes.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>

namespace hbd {

void Base64Append(const uint8_t* data, size_t len, std::string* out);

// Decodes canonical base64 into *out. On failure returns false and sets *bad_at to the
// position (relative to `text`) of the first offending character.
bool Base64Decode(const uint8_t* text, size_t len, std::string* out, size_t* bad_at);

}  // namespace hbd
