// Reading packets (spec §3.1, §3.2, §6.3–6.5). Every rule, error code and check order
// mirrors lib/wire/codec.ts (its header lists the deliberate differences from heartbeat);
// the shared vectors and test/codec-diff.test.ts hold the two together. All positions are
// absolute packet offsets, nested text is parsed in place (a classic struct's newline
// stand-in plays the role of '\n'), and every read is bounded by an explicit limit.
#include <cstring>
#include <string>

#include "base64.h"
#include "codec.h"

namespace hbd {

namespace {

// MAXMSG has 6 digits; one leading zero is tolerated.
constexpr size_t kMaxLenDigits = 7;
const char kAuthField[] = "auth";

bool IsDigit(uint8_t c) { return c >= '0' && c <= '9'; }

std::string Hex2(uint8_t c) {
  static const char digits[] = "0123456789abcdef";
  return std::string("0x") + digits[c >> 4] + digits[c & 15];
}

struct LenStr {
  size_t start;  // first data byte
  size_t end;    // the ',' sits here
  size_t next;   // first byte after the ','
};

struct Signature {
  int index;
  std::string token;
};

// "<index> <token>": index 1–2 decimal digits, token 1–128 printable non-space bytes.
bool ParseSignature(const uint8_t* s, size_t len, Signature* out) {
  size_t d = 0;
  while (d < len && IsDigit(s[d])) d++;
  if (d == 0 || d > 2 || d >= len || s[d] != ' ') return false;
  const size_t tlen = len - d - 1;
  if (tlen < 1 || tlen > 128) return false;
  for (size_t i = d + 1; i < len; i++) {
    if (s[i] < 0x21 || s[i] > 0x7e) return false;
  }
  out->index = d == 1 ? s[0] - '0' : (s[0] - '0') * 10 + (s[1] - '0');
  out->token.assign(reinterpret_cast<const char*>(s + d + 1), tlen);
  return true;
}

class Parser {
 public:
  Parser(const uint8_t* b, size_t n) : b_(b), n_(n) {}
  const DecodeError& error() const { return err_; }

  // A whole classic datagram: the message, then nothing or a single NUL.
  bool ClassicPacket(Message* out, std::vector<size_t>* offsets) {
    size_t end;
    if (!Classic(0, n_, 0, out, offsets, &end)) return false;
    const size_t rest = n_ - end;
    if (rest > 1 || (rest == 1 && b_[end] != 0)) return Fail(DecodeErrorCode::BadField, end, std::to_string(rest) + " stray byte(s) after \"<<<\"");
    return true;
  }

  // The netstring message, then an optional trailer. `*signed_end` is just after `%%%\n`.
  bool NetstringPacket(Message* out, size_t* signed_end, bool* has_sig, Signature* sig) {
    if (!Netstring(0, n_, 0, out, signed_end)) return false;
    *has_sig = *signed_end < n_;
    if (!*has_sig) return true;
    LenStr t;
    if (!PeelLenStr(*signed_end, n_, DecodeErrorCode::BadTrailer, DecodeErrorCode::BadTrailer, "auth trailer", 0, &t)) return false;
    if (t.next != n_) return Fail(DecodeErrorCode::BadTrailer, t.next, std::to_string(n_ - t.next) + " stray byte(s) after the auth trailer");
    if (!ParseSignature(b_ + t.start, t.end - t.start, sig)) return Fail(DecodeErrorCode::BadTrailer, t.start, "auth trailer is not \"<index> <token>\"");
    return true;
  }

  bool Fail(DecodeErrorCode code, size_t at, std::string detail) {
    err_ = {code, at, std::move(detail)};
    return false;
  }

 private:
  const uint8_t* Find(size_t from, size_t to, uint8_t c) const {
    return static_cast<const uint8_t*>(std::memchr(b_ + from, c, to - from));
  }

  bool Marker(size_t p, size_t limit, const char* three, uint8_t nl) const {
    return limit - p >= 4 && std::memcmp(b_ + p, three, 3) == 0 && b_[p + 3] == nl;
  }

  static std::string What(const char* what, size_t ordinal) {
    return ordinal == 0 ? std::string(what) : std::string(what) + " " + std::to_string(ordinal);
  }

  // One `<len>:<data>,` at p within [p, limit): `malformed` for a bad length or a missing
  // ',', `overrun` for data running into the limit.
  bool PeelLenStr(size_t p, size_t limit, DecodeErrorCode malformed, DecodeErrorCode overrun, const char* what, size_t ordinal, LenStr* out) {
    size_t q = p;
    size_t len = 0;
    while (q < limit && IsDigit(b_[q]) && q - p < kMaxLenDigits + 1) {
      len = len * 10 + (b_[q] - '0');
      q++;
    }
    if (q == p) {
      if (p >= limit) return Fail(overrun, p, What(what, ordinal) + ": data ends where a length was expected");
      return Fail(malformed, p, What(what, ordinal) + ": expected a decimal length, found byte " + Hex2(b_[p]));
    }
    if (q - p > kMaxLenDigits || len > kMaxMsg) {
      return Fail(malformed, p, What(what, ordinal) + ": length " + std::string(reinterpret_cast<const char*>(b_ + p), q - p) + " exceeds MAXMSG (" + std::to_string(kMaxMsg) + ")");
    }
    if (q >= limit) return Fail(overrun, q, What(what, ordinal) + ": data ends after the length");
    if (b_[q] != ':') return Fail(malformed, q, What(what, ordinal) + ": expected ':' after the length " + std::to_string(len));
    const size_t start = q + 1;
    const size_t end = start + len;
    if (end >= limit) {
      return Fail(overrun, start, What(what, ordinal) + ": length " + std::to_string(len) + " runs past the end of the data (" + std::to_string(limit - start) + " bytes left)");
    }
    if (b_[end] != ',') return Fail(malformed, end, What(what, ordinal) + ": expected ',' after " + std::to_string(len) + " bytes");
    *out = {start, end, end + 1};
    return true;
  }

  // A list value `len:item,…` filling [s, e) exactly; no empty list, no empty item.
  bool List(size_t s, size_t e, std::vector<std::string>* items) {
    if (s == e) return Fail(DecodeErrorCode::BadNetstring, s, "list field has no items (heartbeat cannot carry an empty list)");
    for (size_t p = s; p < e;) {
      LenStr item;
      if (!PeelLenStr(p, e, DecodeErrorCode::BadNetstring, DecodeErrorCode::BadNetstring, "list item", items->size() + 1, &item)) return false;
      if (item.end == item.start) {
        return Fail(DecodeErrorCode::BadNetstring, p, "list item " + std::to_string(items->size() + 1) + " is empty (heartbeat rejects zero-length items)");
      }
      items->emplace_back(reinterpret_cast<const char*>(b_ + item.start), item.end - item.start);
      p = item.next;
    }
    return true;
  }

  // `>>>`…`<<<` in [begin, limit) of a message at `depth`, whose line ends are '\n' at
  // depth 0 and the enclosing struct's stand-in below. `*stop` is just after `<<<`.
  bool Classic(size_t begin, size_t limit, int depth, Message* out, std::vector<size_t>* offsets, size_t* stop) {
    const uint8_t nl = depth == 0 ? '\n' : NestedNewline(depth - 1);
    if (!Marker(begin, limit, ">>>", nl)) {
      if (depth == 0) return Fail(DecodeErrorCode::BadMagic, begin, "packet starts with neither \">>>\\n\" nor \"###\\n\"");
      return Fail(DecodeErrorCode::BadField, begin, "struct value does not start with \">>>\"");
    }
    size_t p = begin + 4;
    for (;;) {
      // Heartbeat skips blank lines between fields.
      while (p < limit && b_[p] == nl) p++;
      if (p >= limit || b_[p] == 0) return Fail(DecodeErrorCode::Truncated, p, "message ends before the \"<<<\" end marker");
      if (b_[p] == '<' && Marker(p, limit, "<<<", nl)) {
        *stop = p + 4;
        return true;
      }
      const uint8_t* eol = Find(p, limit, nl);
      if (eol == nullptr) return Fail(DecodeErrorCode::Truncated, limit, "last line has no newline and no \"<<<\" end marker follows");
      const size_t e = eol - b_;
      const uint8_t* nul = Find(p, e, 0);
      if (nul != nullptr) return Fail(DecodeErrorCode::BadField, nul - b_, "NUL byte inside a field line");
      if (offsets != nullptr) offsets->push_back(p);
      if (!ClassicLine(p, e, depth, out)) return false;
      p = e + 1;
    }
  }

  // The field named by bytes [name_start, eq), appended to `out` for its value to be filled in.
  Field& AppendField(Message* out, size_t name_start, size_t eq, int type) {
    Field& f = out->emplace_back();
    f.name.assign(reinterpret_cast<const char*>(b_ + name_start), eq - name_start);
    f.type = static_cast<FieldType>(type);
    return f;
  }

  bool ClassicLine(size_t p, size_t e, int depth, Message* out) {
    const uint8_t* eqp = Find(p, e, '=');
    if (eqp == nullptr) return Fail(DecodeErrorCode::BadField, p, "line has no '='");
    const size_t eq = eqp - b_;
    if (eq == p) return Fail(DecodeErrorCode::BadField, p, "field name is empty");
    size_t name_start = p;
    int type = 0;
    if (b_[p] == '(') {
      // "(d)": ')' at index 2 and a digit; classic text rejects (0) and anything above 4.
      if (eq - p < 3 || b_[p + 2] != ')') return Fail(DecodeErrorCode::BadType, p, "type prefix is not \"(d)\"");
      if (!IsDigit(b_[p + 1])) return Fail(DecodeErrorCode::BadType, p + 1, "type prefix is not a digit");
      type = b_[p + 1] - '0';
      if (type == 0 || type > 4) return Fail(DecodeErrorCode::BadType, p + 1, "type (" + std::to_string(type) + ") is not allowed in classic text");
      name_start = p + 3;
      if (name_start == eq) return Fail(DecodeErrorCode::BadField, name_start, "field name is empty");
    }
    Field& f = AppendField(out, name_start, eq, type);
    const size_t v = eq + 1;
    switch (f.type) {
      case FieldType::String:
        f.bytes.assign(reinterpret_cast<const char*>(b_ + v), e - v);
        for (char& c : f.bytes) {
          if (c == static_cast<char>(kStringNewline)) c = '\n';
        }
        return true;
      case FieldType::Binary:
      case FieldType::Compress: {
        size_t bad_at;
        if (!Base64Decode(b_ + v, e - v, &f.bytes, &bad_at)) {
          return Fail(DecodeErrorCode::BadBase64, v, "value is not canonical base64 (bad character or padding at value byte " + std::to_string(bad_at) + ")");
        }
        return true;
      }
      case FieldType::List:
        return List(v, e, &f.items);
      case FieldType::Struct: {
        if (depth >= kMaxDepth) return Fail(DecodeErrorCode::TooDeep, v, "struct nested deeper than " + std::to_string(kMaxDepth) + " levels");
        size_t stop;
        if (!Classic(v, e, depth + 1, &f.nested, nullptr, &stop)) return false;
        if (stop != e) return Fail(DecodeErrorCode::BadField, stop, "stray bytes after the nested \"<<<\"");
        return true;
      }
    }
    return true;
  }

  // `###\n`…`%%%\n` from `begin`, never reading at or beyond `limit`.
  bool Netstring(size_t begin, size_t limit, int depth, Message* out, size_t* stop) {
    if (!Marker(begin, limit, "###", '\n')) {
      if (depth == 0) return Fail(DecodeErrorCode::BadMagic, begin, "packet starts with neither \">>>\\n\" nor \"###\\n\"");
      return Fail(DecodeErrorCode::BadField, begin, "struct value does not start with \"###\"");
    }
    size_t p = begin + 4;
    for (;;) {
      if (p >= limit) return Fail(DecodeErrorCode::Truncated, p, "message ends before the \"%%%\" end marker");
      if (b_[p] == '%') {
        if (Marker(p, limit, "%%%", '\n')) {
          *stop = p + 4;
          return true;
        }
        if (limit - p < 4 && std::memcmp(b_ + p, "%%%\n", limit - p) == 0) return Fail(DecodeErrorCode::Truncated, limit, "message ends inside the \"%%%\" end marker");
      }
      LenStr ns;
      if (!PeelLenStr(p, limit, DecodeErrorCode::BadNetstring, DecodeErrorCode::Truncated, "field", out->size() + 1, &ns)) return false;
      if (!NetstringField(ns.start, ns.end, depth, out)) return false;
      p = ns.next;
    }
  }

  bool NetstringField(size_t s, size_t e, int depth, Message* out) {
    // Heartbeat assert()s on a missing "(d)" and indexes its type table with any digit (W5).
    if (e - s < 3 || b_[s] != '(' || b_[s + 2] != ')') return Fail(DecodeErrorCode::BadType, s, "netstring field does not start with \"(d)\"");
    if (!IsDigit(b_[s + 1])) return Fail(DecodeErrorCode::BadType, s + 1, "type prefix is not a digit");
    const int type = b_[s + 1] - '0';
    if (type > 4) return Fail(DecodeErrorCode::BadType, s + 1, "type (" + std::to_string(type) + ") is not a wire type (0-4)");
    const size_t name_start = s + 3;
    const uint8_t* eqp = Find(name_start, e, '=');
    if (eqp == nullptr) return Fail(DecodeErrorCode::BadField, name_start, "field has no '='");
    const size_t eq = eqp - b_;
    if (eq == name_start) return Fail(DecodeErrorCode::BadField, name_start, "field name is empty");
    Field& f = AppendField(out, name_start, eq, type);
    const size_t v = eq + 1;
    switch (f.type) {
      case FieldType::String:
      case FieldType::Binary:
      case FieldType::Compress:
        f.bytes.assign(reinterpret_cast<const char*>(b_ + v), e - v);
        return true;
      case FieldType::List:
        return List(v, e, &f.items);
      case FieldType::Struct: {
        if (depth >= kMaxDepth) return Fail(DecodeErrorCode::TooDeep, v, "struct nested deeper than " + std::to_string(kMaxDepth) + " levels");
        size_t stop;
        if (!Netstring(v, e, depth + 1, &f.nested, &stop)) return false;
        if (stop != e) return Fail(DecodeErrorCode::BadField, stop, "stray bytes after the nested \"%%%\"");
        return true;
      }
    }
    return true;
  }

  const uint8_t* b_;
  size_t n_;
  DecodeError err_;
};

AuthVerdict Judge(const Signature* sig, const AuthKeys* keys, const uint8_t* data, size_t len) {
  AuthVerdict v;
  if (sig == nullptr) {
    v.verdict = Verdict::Unsigned;
    return v;
  }
  if (keys == nullptr) {
    v.verdict = Verdict::Unverified;
    return v;
  }
  const AuthKey* key = keys->Find(sig->index);
  v.index = sig->index;
  if (key == nullptr) {
    v.verdict = Verdict::UnknownKeyIndex;
    return v;
  }
  const std::string expected = AuthToken(key->method, reinterpret_cast<const uint8_t*>(key->key.data()), key->key.size(), data, len);
  v.verdict = TokenEquals(expected, sig->token) ? Verdict::Ok : Verdict::BadSignature;
  v.method = key->method;
  return v;
}

}  // namespace

std::variant<Decoded, DecodeError> Decode(const uint8_t* packet, size_t len, const AuthKeys* keys) {
  Parser parser(packet, len);
  if (len > kMaxMsg) {
    parser.Fail(DecodeErrorCode::TooLarge, kMaxMsg, "datagram of " + std::to_string(len) + " bytes exceeds MAXMSG (" + std::to_string(kMaxMsg) + ")");
    return parser.error();
  }
  if (len == 0) {
    parser.Fail(DecodeErrorCode::Empty, 0, "zero-length datagram");
    return parser.error();
  }
  Decoded d;
  if (len >= 4 && std::memcmp(packet, ">>>\n", 4) == 0) {
    d.classic = true;
    std::vector<size_t> offsets;
    if (!parser.ClassicPacket(&d.message, &offsets)) return parser.error();
    // Heartbeat verifies the LAST auth field over the text of all the others (§6.3).
    size_t i = d.message.size();
    while (i > 0 && !(d.message[i - 1].name == kAuthField && d.message[i - 1].type == FieldType::String)) i--;
    if (i == 0) {
      d.auth = Judge(nullptr, keys, nullptr, 0);
      return d;
    }
    const std::string& value = d.message[i - 1].bytes;
    Signature sig;
    if (!ParseSignature(reinterpret_cast<const uint8_t*>(value.data()), value.size(), &sig)) {
      parser.Fail(DecodeErrorCode::BadTrailer, offsets[i - 1], "classic auth field is not \"<index> <token>\"");
      return parser.error();
    }
    const std::string data = keys != nullptr ? ClassicAuthData(d.message) : std::string();
    d.auth = Judge(&sig, keys, reinterpret_cast<const uint8_t*>(data.data()), data.size());
    return d;
  }
  if (len >= 4 && std::memcmp(packet, "###\n", 4) == 0) {
    size_t signed_end;
    bool has_sig;
    Signature sig;
    if (!parser.NetstringPacket(&d.message, &signed_end, &has_sig, &sig)) return parser.error();
    d.auth = Judge(has_sig ? &sig : nullptr, keys, packet, signed_end);
    return d;
  }
  parser.Fail(DecodeErrorCode::BadMagic, 0, "packet starts with neither \">>>\\n\" nor \"###\\n\"");
  return parser.error();
}

}  // namespace hbd
