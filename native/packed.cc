#include "packed.h"

namespace hbd {

namespace {

class Reader {
 public:
  Reader(const uint8_t* p, size_t n) : p_(p), n_(n) {}
  bool done() const { return pos_ == n_; }
  const std::string& error() const { return error_; }

  bool U8(uint8_t* v) {
    if (n_ - pos_ < 1) return Fail("ends inside a byte field");
    *v = p_[pos_++];
    return true;
  }
  bool U32(uint32_t* v) {
    if (n_ - pos_ < 4) return Fail("ends inside a length");
    *v = uint32_t{p_[pos_]} | uint32_t{p_[pos_ + 1]} << 8 | uint32_t{p_[pos_ + 2]} << 16 | uint32_t{p_[pos_ + 3]} << 24;
    pos_ += 4;
    return true;
  }
  bool Bytes(std::string* out) {
    uint32_t len = 0;
    if (!U32(&len)) return false;
    if (n_ - pos_ < len) return Fail("a length runs past the end");
    out->assign(reinterpret_cast<const char*>(p_ + pos_), len);
    pos_ += len;
    return true;
  }
  bool ReadMessage(int depth, Message* out) {
    // One level more than the codec allows: the empty body of a struct it will refuse.
    if (depth > kMaxDepth + 1) return Fail("structs nested deeper than the codec allows");
    uint32_t count = 0;
    if (!U32(&count)) return false;
    // Every field takes at least 9 bytes, which bounds the allocation.
    if (count > (n_ - pos_) / 9) return Fail("a field count runs past the end");
    out->resize(count);
    for (Field& f : *out) {
      uint8_t type = 0;
      if (!U8(&type)) return false;
      if (type > 4) return Fail("a field type above 4");
      f.type = static_cast<FieldType>(type);
      if (!Bytes(&f.name)) return false;
      switch (f.type) {
        case FieldType::String:
        case FieldType::Binary:
        case FieldType::Compress:
          if (!Bytes(&f.bytes)) return false;
          break;
        case FieldType::Struct:
          if (!ReadMessage(depth + 1, &f.nested)) return false;
          break;
        case FieldType::List: {
          uint32_t items = 0;
          if (!U32(&items)) return false;
          if (items > (n_ - pos_) / 4) return Fail("an item count runs past the end");
          f.items.resize(items);
          for (std::string& item : f.items) {
            if (!Bytes(&item)) return false;
          }
          break;
        }
      }
    }
    return true;
  }

  bool Fail(const char* what) {
    error_ = std::string(what) + " at byte " + std::to_string(pos_);
    return false;
  }

 private:
  const uint8_t* p_;
  size_t n_;
  size_t pos_ = 0;
  std::string error_;
};

void PutU32(uint32_t v, std::string* out) {
  const char b[4] = {static_cast<char>(v), static_cast<char>(v >> 8), static_cast<char>(v >> 16), static_cast<char>(v >> 24)};
  out->append(b, 4);
}

void PutBytes(const std::string& s, std::string* out) {
  PutU32(static_cast<uint32_t>(s.size()), out);
  out->append(s);
}

void PutMessage(const Message& m, std::string* out) {
  PutU32(static_cast<uint32_t>(m.size()), out);
  for (const Field& f : m) {
    out->push_back(static_cast<char>(f.type));
    PutBytes(f.name, out);
    switch (f.type) {
      case FieldType::String:
      case FieldType::Binary:
      case FieldType::Compress:
        PutBytes(f.bytes, out);
        break;
      case FieldType::Struct:
        PutMessage(f.nested, out);
        break;
      case FieldType::List:
        PutU32(static_cast<uint32_t>(f.items.size()), out);
        for (const std::string& item : f.items) PutBytes(item, out);
        break;
    }
  }
}

}  // namespace

bool UnpackMessage(const uint8_t* data, size_t len, Message* out, std::string* error) {
  Reader r(data, len);
  if (!r.ReadMessage(0, out) || (!r.done() && !r.Fail("bytes after the message"))) {
    *error = r.error();
    return false;
  }
  return true;
}

bool UnpackKeys(const uint8_t* data, size_t len, AuthKeys* out, std::string* error) {
  Reader r(data, len);
  uint8_t send = 0, count = 0;
  bool ok = r.U8(&send) && r.U8(&count);
  if (ok) {
    out->send_index = send;
    out->keys.resize(count);
  }
  for (size_t i = 0; ok && i < out->keys.size(); i++) {
    AuthKey& k = out->keys[i];
    uint8_t index = 0, method = 0;
    ok = r.U8(&index) && r.U8(&method) && (method <= 3 || r.Fail("an auth method above 3")) && r.Bytes(&k.key);
    k.index = index;
    k.method = static_cast<AuthMethod>(method);
  }
  if (ok && !r.done()) ok = r.Fail("bytes after the keys");
  if (!ok) *error = r.error();
  return ok;
}

std::string PackDecoded(const Decoded& d) {
  std::string out;
  out.reserve(256);
  out.push_back(static_cast<char>(d.classic ? 1 : 0));
  out.push_back(static_cast<char>(d.auth.verdict));
  out.push_back(static_cast<char>(d.auth.index));
  out.push_back(static_cast<char>(d.auth.method));
  PutMessage(d.message, &out);
  return out;
}

}  // namespace hbd
