#include "auth.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <array>
#include <cstdio>
#include <stdexcept>

namespace hbd {

namespace {

// MSB-first table for the unreflected polynomial; built once at load time.
std::array<uint32_t, 256> MakeCrcTable() {
  std::array<uint32_t, 256> t{};
  for (uint32_t i = 0; i < 256; i++) {
    uint32_t c = i << 24;
    for (int k = 0; k < 8; k++) c = (c & 0x80000000u) ? (c << 1) ^ 0x04C11DB7u : (c << 1);
    t[i] = c;
  }
  return t;
}

const std::array<uint32_t, 256> kCrcTable = MakeCrcTable();

std::string Hex(const unsigned char* p, size_t n) {
  static const char digits[] = "0123456789abcdef";
  std::string s(n * 2, '0');
  for (size_t i = 0; i < n; i++) {
    s[2 * i] = digits[p[i] >> 4];
    s[2 * i + 1] = digits[p[i] & 15];
  }
  return s;
}

}  // namespace

bool ParseAuthMethod(const std::string& name, AuthMethod* out) {
  if (name == "crc") *out = AuthMethod::Crc;
  else if (name == "md5") *out = AuthMethod::Md5;
  else if (name == "sha1") *out = AuthMethod::Sha1;
  else if (name == "sha256") *out = AuthMethod::Sha256;
  else return false;
  return true;
}

const char* AuthMethodName(AuthMethod m) {
  switch (m) {
    case AuthMethod::Crc: return "crc";
    case AuthMethod::Md5: return "md5";
    case AuthMethod::Sha1: return "sha1";
    case AuthMethod::Sha256: return "sha256";
  }
  return "?";
}

uint32_t HeartbeatCrc(const uint8_t* data, size_t len) {
  uint32_t c = 0;
  for (size_t i = 0; i < len; i++) c = (c << 8) ^ kCrcTable[((c >> 24) ^ data[i]) & 0xff];
  return c ^ 0xFFFFFFFFu;
}

std::string AuthToken(AuthMethod m, const uint8_t* key, size_t keylen, const uint8_t* data, size_t len) {
  if (m == AuthMethod::Crc) {
    char buf[16];
    std::snprintf(buf, sizeof buf, "%lx", static_cast<unsigned long>(HeartbeatCrc(data, len)));
    return buf;
  }
  const EVP_MD* md = m == AuthMethod::Md5 ? EVP_md5() : m == AuthMethod::Sha1 ? EVP_sha1() : EVP_sha256();
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int outlen = 0;
  // HMAC() with a zero-length key needs a non-null pointer on some OpenSSL versions.
  static const unsigned char empty = 0;
  if (!HMAC(md, keylen ? key : &empty, static_cast<int>(keylen), len ? data : &empty, len, out, &outlen)) {
    throw std::runtime_error("HMAC failed in OpenSSL");
  }
  return Hex(out, outlen);
}

bool TokenEquals(const std::string& a, const std::string& b) {
  if (a.size() != b.size()) return false;
  return CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

}  // namespace hbd
