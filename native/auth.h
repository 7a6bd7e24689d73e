// Heartbeat's packet authentication tokens (spec §6.2): crc, HMAC-MD5, HMAC-SHA1,
// plus hbd's sha256 extension. Tokens are lowercase hex exactly as heartbeat prints them.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>

namespace hbd {

enum class AuthMethod { Crc, Md5, Sha1, Sha256 };

// Returns false for a name heartbeat does not know (the caller reports it).
bool ParseAuthMethod(const std::string& name, AuthMethod* out);
const char* AuthMethodName(AuthMethod m);

// CRC-32, poly 0x04C11DB7, init 0, unreflected, xorout 0xFFFFFFFF, no length suffix.
uint32_t HeartbeatCrc(const uint8_t* data, size_t len);

// The token text heartbeat puts on the wire for this method ("%lx" for crc, hex digest otherwise).
std::string AuthToken(AuthMethod m, const uint8_t* key, size_t keylen, const uint8_t* data, size_t len);

// Constant-time comparison of two token strings (length differences leak only the length).
bool TokenEquals(const std::string& a, const std::string& b);

}  // namespace hbd
