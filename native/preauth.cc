// The low-level digest calls are deprecated in OpenSSL 3 in favour of EVP, which allocates a
// context per use; these are plain structs copied on the stack, which is the point here.
#define OPENSSL_SUPPRESS_DEPRECATED
#include "preauth.h"

#include <openssl/md5.h>
#include <openssl/sha.h>

#include <cstdio>
#include <cstring>

namespace hbd {

namespace {

constexpr size_t kBlock = 64;  // md5, sha1 and sha256 alike
constexpr size_t kMaxDigest = 32;
// "<index> <token>": at most 2 + 1 + 128 bytes, its length at most 7 digits, plus ':' and ','.
constexpr size_t kMaxTrailer = 7 + 1 + 131 + 1;

union DigestState {
  MD5_CTX md5;
  SHA_CTX sha1;
  SHA256_CTX sha256;
};

void Init(AuthMethod m, DigestState* s) {
  if (m == AuthMethod::Md5) MD5_Init(&s->md5);
  else if (m == AuthMethod::Sha1) SHA1_Init(&s->sha1);
  else SHA256_Init(&s->sha256);
}

void Update(AuthMethod m, DigestState* s, const void* data, size_t len) {
  if (m == AuthMethod::Md5) MD5_Update(&s->md5, data, len);
  else if (m == AuthMethod::Sha1) SHA1_Update(&s->sha1, data, len);
  else SHA256_Update(&s->sha256, data, len);
}

size_t Final(AuthMethod m, DigestState* s, unsigned char* out) {
  if (m == AuthMethod::Md5) return MD5_Final(out, &s->md5), size_t{MD5_DIGEST_LENGTH};
  if (m == AuthMethod::Sha1) return SHA1_Final(out, &s->sha1), size_t{SHA_DIGEST_LENGTH};
  return SHA256_Final(out, &s->sha256), size_t{SHA256_DIGEST_LENGTH};
}

bool IsDigit(uint8_t c) { return c >= '0' && c <= '9'; }

// Lowercase hex of `digest` against `token`, every byte compared (no early exit on a mismatch).
bool HexEquals(const unsigned char* digest, size_t n, const uint8_t* token, size_t tokenLen) {
  static const char digits[] = "0123456789abcdef";
  if (tokenLen != 2 * n) return false;
  unsigned diff = 0;
  for (size_t i = 0; i < n; i++) {
    diff |= static_cast<unsigned>(token[2 * i] ^ digits[digest[i] >> 4]);
    diff |= static_cast<unsigned>(token[2 * i + 1] ^ digits[digest[i] & 15]);
  }
  return diff == 0;
}

}  // namespace

struct PacketVerifier::KeyState {
  int index;
  AuthMethod method;
  DigestState inner;  // after (key ^ ipad)
  DigestState outer;  // after (key ^ opad)
};

PacketVerifier::PacketVerifier(const AuthKeys& keys) {
  for (const AuthKey& k : keys.keys) {
    KeyState s{};
    s.index = k.index;
    s.method = k.method;
    if (k.method != AuthMethod::Crc) {
      unsigned char block[kBlock] = {};
      if (k.key.size() > kBlock) {
        DigestState d;
        Init(k.method, &d);
        Update(k.method, &d, k.key.data(), k.key.size());
        Final(k.method, &d, block);
      } else {
        std::memcpy(block, k.key.data(), k.key.size());
      }
      unsigned char pad[kBlock];
      for (size_t i = 0; i < kBlock; i++) pad[i] = block[i] ^ 0x36;
      Init(k.method, &s.inner);
      Update(k.method, &s.inner, pad, kBlock);
      for (size_t i = 0; i < kBlock; i++) pad[i] = block[i] ^ 0x5c;
      Init(k.method, &s.outer);
      Update(k.method, &s.outer, pad, kBlock);
    }
    keys_.push_back(s);
  }
}

PacketVerifier::~PacketVerifier() = default;

bool PacketVerifier::Verify(const KeyState& k, const uint8_t* data, size_t len, const uint8_t* token, size_t tokenLen) {
  if (k.method == AuthMethod::Crc) {
    char text[16];
    const int n = std::snprintf(text, sizeof text, "%lx", static_cast<unsigned long>(HeartbeatCrc(data, len)));
    return n > 0 && static_cast<size_t>(n) == tokenLen && std::memcmp(text, token, tokenLen) == 0;
  }
  unsigned char digest[kMaxDigest];
  DigestState s = k.inner;
  Update(k.method, &s, data, len);
  const size_t n = Final(k.method, &s, digest);
  s = k.outer;
  Update(k.method, &s, digest, n);
  Final(k.method, &s, digest);
  return HexEquals(digest, n, token, tokenLen);
}

PreAuth PacketVerifier::Check(const uint8_t* p, size_t n, AuthVerdict* verdict) const {
  if (n >= 4 && std::memcmp(p, ">>>\n", 4) == 0) return PreAuth::Classic;
  // Neither magic: not a heartbeat packet at all, refused without a parse.
  if (n < 4 || std::memcmp(p, "###\n", 4) != 0) return PreAuth::Fail;
  if (n > kMaxMsg) return PreAuth::Fail;
  // The message ends at the last "%%%\n": the trailer after it cannot hold a newline.
  size_t signedEnd = 0;
  const size_t lowest = n > kMaxTrailer + 8 ? n - kMaxTrailer - 4 : 4;
  for (size_t i = n - 4; i >= lowest && signedEnd == 0; i--) {
    if (std::memcmp(p + i, "%%%\n", 4) == 0) signedEnd = i + 4;
  }
  if (signedEnd == 0) return PreAuth::Fail;
  // "<len>:<index> <token>," filling the rest exactly.
  size_t q = signedEnd;
  size_t len = 0;
  while (q < n && IsDigit(p[q]) && q - signedEnd < 8) len = len * 10 + (p[q++] - '0');
  if (q == signedEnd || q >= n || p[q] != ':' || q + 1 + len + 1 != n || p[n - 1] != ',') return PreAuth::Fail;
  const uint8_t* sig = p + q + 1;
  size_t d = 0;
  while (d < len && IsDigit(sig[d])) d++;
  if (d == 0 || d > 2 || d >= len || sig[d] != ' ') return PreAuth::Fail;
  const int index = d == 1 ? sig[0] - '0' : (sig[0] - '0') * 10 + (sig[1] - '0');
  for (const KeyState& k : keys_) {
    if (k.index != index) continue;
    if (!Verify(k, p, signedEnd, sig + d + 1, len - d - 1)) return PreAuth::Fail;
    verdict->verdict = Verdict::Ok;
    verdict->index = index;
    verdict->method = k.method;
    return PreAuth::Ok;
  }
  return PreAuth::Fail;
}

}  // namespace hbd
