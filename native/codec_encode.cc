// Writing messages (spec §3.1, §3.2, §6.3, §6.4, §6.6). The checks and their order mirror
// lib/wire/classic.ts and lib/wire/netstring.ts, so both codecs refuse the same messages
// with the same field path.
#include <cstdio>
#include <string>

#include "base64.h"
#include "codec.h"

namespace hbd {

namespace {

const char kAuthField[] = "auth";

// A message with a substitute for the first field of the substitute's name, or with the
// substitute appended when there is none (heartbeat's cl_msg_mod); or the message as it is.
class FieldSeq {
 public:
  explicit FieldSeq(const Message& m) : m_(&m), at_(m.size()) {}
  FieldSeq(const Message& m, const Field* sub) : m_(&m), sub_(sub), at_(m.size()) {
    for (size_t i = 0; i < m.size(); i++) {
      if (m[i].name == sub->name) {
        at_ = i;
        break;
      }
    }
  }
  size_t size() const { return m_->size() + (sub_ != nullptr && at_ == m_->size() ? 1 : 0); }
  const Field& operator[](size_t i) const { return sub_ != nullptr && i == at_ ? *sub_ : (*m_)[i]; }

 private:
  const Message* m_;
  const Field* sub_ = nullptr;
  size_t at_;
};

std::string Path(const std::string& prefix, const std::string& name) {
  return prefix.empty() ? name : prefix + "." + name;
}

std::string ByteName(int c) {
  char buf[8];
  std::snprintf(buf, sizeof buf, "0x%02x", c);
  return buf;
}

// The newline stand-ins of the structs enclosing a message at `depth`.
bool IsOuterNewline(uint8_t c, int depth) {
  for (int d = 0; d < depth; d++) {
    if (c == NestedNewline(d)) return true;
  }
  return false;
}

// The first byte classic text at `depth` cannot carry in a value, or -1.
int Forbidden(const std::string& s, int depth, bool newline, bool string_newline) {
  for (unsigned char c : s) {
    if (c == 0 || (newline && c == '\n') || (string_newline && c == kStringNewline) || IsOuterNewline(c, depth)) return c;
  }
  return -1;
}

void AppendLenStr(const std::string& data, std::string* out) {
  out->append(std::to_string(data.size()));
  out->push_back(':');
  out->append(data);
  out->push_back(',');
}

// What both writers share: the output and the first error, named by the field's path.
class Writer {
 public:
  explicit Writer(std::string* out) : out_(out) {}
  const EncodeError& error() const { return err_; }

 protected:
  bool Fail(const std::string& prefix, const Field& f, std::string detail) {
    err_ = {Path(prefix, f.name), std::move(detail)};
    return false;
  }

  std::string* out_;
  EncodeError err_;
};

class ClassicWriter : public Writer {
 public:
  // `checked` false writes received messages as they are, for hashing (ClassicAuthData).
  ClassicWriter(std::string* out, bool checked) : Writer(out), checked_(checked) {}

  // `[(d)]name=text\n` per field; `skip_auth` leaves out every field named auth.
  bool Lines(const FieldSeq& fields, int depth, bool skip_auth, const std::string& prefix) {
    for (size_t i = 0; i < fields.size(); i++) {
      const Field& f = fields[i];
      if (skip_auth && f.name == kAuthField) continue;
      if (!Line(f, depth, prefix)) return false;
    }
    return true;
  }

  bool Whole(const FieldSeq& fields, int depth, const std::string& prefix) {
    out_->append(">>>\n");
    if (!Lines(fields, depth, false, prefix)) return false;
    out_->append("<<<\n");
    return true;
  }

 private:
  bool CheckName(const Field& f, int depth, const std::string& prefix) {
    if (f.name.empty()) return Fail(prefix, f, "field name is empty");
    // Only an untyped name can be mistaken for a "(d)" prefix; a typed one comes after its own.
    if (f.name[0] == '(' && f.type == FieldType::String) {
      return Fail(prefix, f, "classic string field names cannot start with '(' (it would read as a type prefix)");
    }
    for (unsigned char c : f.name) {
      if (c == '=' || c == '\n' || c == 0 || IsOuterNewline(c, depth)) {
        return Fail(prefix, f, "classic field names cannot contain byte " + ByteName(c));
      }
    }
    return true;
  }

  bool Line(const Field& f, int depth, const std::string& prefix) {
    if (checked_ && !CheckName(f, depth, prefix)) return false;
    if (f.type != FieldType::String) {
      out_->push_back('(');
      out_->push_back(static_cast<char>('0' + static_cast<int>(f.type)));
      out_->push_back(')');
    }
    out_->append(f.name);
    out_->push_back('=');
    switch (f.type) {
      case FieldType::String: {
        int bad = checked_ ? Forbidden(f.bytes, depth, false, true) : -1;
        if (bad >= 0) {
          return Fail(prefix, f, "classic string values cannot contain byte " + ByteName(bad) + " at depth " + std::to_string(depth));
        }
        for (char c : f.bytes) out_->push_back(c == '\n' ? static_cast<char>(kStringNewline) : c);
        break;
      }
      case FieldType::Binary:
      case FieldType::Compress:
        Base64Append(reinterpret_cast<const uint8_t*>(f.bytes.data()), f.bytes.size(), out_);
        break;
      case FieldType::Struct: {
        // Checked even for received messages: it bounds the recursion.
        if (depth >= kMaxDepth) return Fail(prefix, f, "structs nest at most " + std::to_string(kMaxDepth) + " levels");
        size_t start = out_->size();
        if (!Whole(FieldSeq(f.nested), depth + 1, Path(prefix, f.name))) return false;
        const char sym = static_cast<char>(NestedNewline(depth));
        for (size_t i = start; i < out_->size(); i++) {
          if ((*out_)[i] == '\n') (*out_)[i] = sym;
        }
        break;
      }
      case FieldType::List: {
        if (checked_) {
          if (f.items.empty()) return Fail(prefix, f, "heartbeat cannot carry an empty list");
          for (const std::string& item : f.items) {
            if (item.empty()) return Fail(prefix, f, "heartbeat cannot carry an empty list item");
            int bad = Forbidden(item, depth, true, false);
            if (bad >= 0) {
              return Fail(prefix, f, "classic list items cannot contain byte " + ByteName(bad) + " at depth " + std::to_string(depth));
            }
          }
        }
        for (const std::string& item : f.items) AppendLenStr(item, out_);
        break;
      }
    }
    out_->push_back('\n');
    return true;
  }

  bool checked_;
};

class NetstringWriter : public Writer {
 public:
  explicit NetstringWriter(std::string* out) : Writer(out) {}

  // `###\n` + one `<len>:(d)name=value,` per field + `%%%\n` (no trailer).
  bool Whole(const FieldSeq& fields, int depth, const std::string& prefix) {
    out_->append("###\n");
    for (size_t i = 0; i < fields.size(); i++) {
      if (!OneField(fields[i], depth, prefix)) return false;
    }
    out_->append("%%%\n");
    return true;
  }

 private:
  bool OneField(const Field& f, int depth, const std::string& prefix) {
    if (f.name.empty()) return Fail(prefix, f, "field name is empty");
    if (f.name.find('=') != std::string::npos) return Fail(prefix, f, "field names cannot contain '='");
    // The body is written in place and its length inserted in front once known.
    const size_t start = out_->size();
    out_->push_back('(');
    out_->push_back(static_cast<char>('0' + static_cast<int>(f.type)));
    out_->push_back(')');
    out_->append(f.name);
    out_->push_back('=');
    switch (f.type) {
      case FieldType::String:
      case FieldType::Binary:
      case FieldType::Compress:
        out_->append(f.bytes);
        break;
      case FieldType::Struct:
        if (depth >= kMaxDepth) return Fail(prefix, f, "structs nest at most " + std::to_string(kMaxDepth) + " levels");
        if (!Whole(FieldSeq(f.nested), depth + 1, Path(prefix, f.name))) return false;
        break;
      case FieldType::List:
        if (f.items.empty()) return Fail(prefix, f, "heartbeat cannot carry an empty list");
        for (const std::string& item : f.items) {
          if (item.empty()) return Fail(prefix, f, "heartbeat cannot carry an empty list item");
        }
        for (const std::string& item : f.items) AppendLenStr(item, out_);
        break;
    }
    out_->insert(start, std::to_string(out_->size() - start) + ":");
    out_->push_back(',');
    return true;
  }
};

EncodeError NoSendKey(const AuthKeys& keys) {
  return {"", "authkeys has no key for the send index " + std::to_string(keys.send_index)};
}

}  // namespace

std::string ClassicAuthData(const Message& message) {
  std::string out;
  ClassicWriter w(&out, false);
  // Unchecked, so only a struct deeper than kMaxDepth can stop it; the decoder never makes one.
  w.Lines(FieldSeq(message), 0, true, "");
  return out;
}

std::variant<std::string, EncodeError> Encode(const Message& message, WireFormat format, const AuthKeys& keys) {
  const AuthKey* key = keys.Find(keys.send_index);
  Field auth;
  FieldSeq fields(message);
  if (format != WireFormat::Netstring) {
    if (key == nullptr) return NoSendKey(keys);
    std::string data;
    ClassicWriter w(&data, true);
    if (!w.Lines(fields, 0, true, "")) return w.error();
    auth.name = kAuthField;
    auth.bytes = std::to_string(key->index) + " " +
                 AuthToken(key->method, reinterpret_cast<const uint8_t*>(key->key.data()), key->key.size(),
                           reinterpret_cast<const uint8_t*>(data.data()), data.size());
    fields = FieldSeq(message, &auth);
  }
  std::string out;
  out.reserve(512);
  if (format == WireFormat::Classic) {
    ClassicWriter w(&out, true);
    if (!w.Whole(fields, 0, "")) return w.error();
    out.push_back('\0');
  } else {
    NetstringWriter w(&out);
    if (!w.Whole(fields, 0, "")) return w.error();
    if (key == nullptr) return NoSendKey(keys);
    std::string sig = std::to_string(key->index) + " " +
                      AuthToken(key->method, reinterpret_cast<const uint8_t*>(key->key.data()), key->key.size(),
                                reinterpret_cast<const uint8_t*>(out.data()), out.size());
    AppendLenStr(sig, &out);
  }
  if (out.size() > kMaxMsg) {
    return EncodeError{"", "encoded message is " + std::to_string(out.size()) + " bytes, over MAXMSG (" + std::to_string(kMaxMsg) + ")"};
  }
  return out;
}

}  // namespace hbd
