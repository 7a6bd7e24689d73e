#include "convert.h"

#include <string>

namespace hbd {

namespace {

const size_t kMaxAuthIndex = 15;  // heartbeat's MAXAUTH - 1

Napi::String Latin1(const Napi::Env& env, const std::string& s) {
  napi_value v;
  napi_status st = napi_create_string_latin1(env, s.data(), s.size(), &v);
  NAPI_THROW_IF_FAILED(env, st, Napi::String());
  return Napi::String(env, v);
}

// The field being converted, for argument paths like "message[2].value[0].type" and for
// the "outer.inner" name path of an EncodeError. Rendered only when something is wrong.
struct Where {
  const Where* outer;       // the struct field holding this one, or null at top level
  size_t index;             // position in the enclosing array
  const std::string* name;  // latin1 name once known

  std::string Arg() const {
    return (outer != nullptr ? outer->Arg() + ".value" : std::string("message")) + "[" + std::to_string(index) + "]";
  }
  std::u16string NamePath() const {
    std::u16string out = outer != nullptr ? outer->NamePath() + u"." : u"";
    for (unsigned char c : *name) out.push_back(c);
    return out;
  }
};

// JS string → latin1 bytes; false when a UTF-16 code unit is above 0xFF (what the TS codec
// refuses as "characters above U+00FF").
bool Latin1Bytes(const Napi::Env& env, const Napi::Value& v, std::string* out, std::u16string* wide) {
  char16_t stack[128];
  size_t len = 0;
  napi_status st = napi_get_value_string_utf16(env, v, nullptr, 0, &len);
  NAPI_THROW_IF_FAILED(env, st, false);
  std::u16string heap;
  char16_t* units = stack;
  if (len + 1 > sizeof stack / sizeof stack[0]) {
    heap.resize(len + 1);
    units = &heap[0];
  }
  st = napi_get_value_string_utf16(env, v, units, len + 1, &len);
  NAPI_THROW_IF_FAILED(env, st, false);
  out->resize(len);
  bool ok = true;
  for (size_t i = 0; i < len; i++) {
    if (units[i] > 0xff) ok = false;
    (*out)[i] = static_cast<char>(units[i]);
  }
  if (!ok) wide->assign(units, len);
  return ok;
}

bool IsIntegerIn(const Napi::Value& v, double lo, double hi) {
  if (!v.IsNumber()) return false;
  double d = v.As<Napi::Number>().DoubleValue();
  return d >= lo && d <= hi && d == static_cast<double>(static_cast<int64_t>(d));
}

std::string BufferBytes(const Napi::Env& env, const Napi::Value& v, const std::string& what) {
  if (!v.IsBuffer()) throw Napi::TypeError::New(env, what + " must be a Buffer");
  auto b = v.As<Napi::Buffer<uint8_t>>();
  return std::string(reinterpret_cast<const char*>(b.Data()), b.Length());
}

Napi::Error EncodeErrorWithPath(const Napi::Env& env, const Napi::String& path, const std::string& detail) {
  const std::u16string p = path.Utf16Value();
  Napi::Error e = Napi::Error::New(env, p.empty() ? "cannot encode message: " + detail : "cannot encode field " + path.Utf8Value() + ": " + detail);
  e.Set("path", path);
  e.Set("detail", Napi::String::New(env, detail));
  return e;
}

void FieldFromJs(const Napi::Env& env, const Napi::Value& v, const Where& w, int depth, Field* out);

void FieldsFromJs(const Napi::Env& env, const Napi::Array& a, const Where* outer, int depth, Message* out) {
  const uint32_t n = a.Length();
  out->resize(n);
  for (uint32_t i = 0; i < n; i++) {
    Where w{outer, i, &(*out)[i].name};
    FieldFromJs(env, a.Get(i), w, depth, &(*out)[i]);
  }
}

void FieldFromJs(const Napi::Env& env, const Napi::Value& v, const Where& w, int depth, Field* out) {
  if (!v.IsObject()) throw Napi::TypeError::New(env, w.Arg() + " must be a field object {name, type, value}");
  Napi::Object o = v.As<Napi::Object>();
  Napi::Value name = o.Get("name");
  if (!name.IsString()) throw Napi::TypeError::New(env, w.Arg() + ".name must be a string");
  std::u16string wide;
  if (!Latin1Bytes(env, name, &out->name, &wide)) {
    std::u16string path = w.outer != nullptr ? w.outer->NamePath() + u"." + wide : wide;
    throw EncodeErrorWithPath(env, Napi::String::New(env, path), "field name has characters above U+00FF (names are latin1 bytes)");
  }
  Napi::Value type = o.Get("type");
  if (!IsIntegerIn(type, 0, 4)) throw Napi::TypeError::New(env, w.Arg() + ".type must be 0, 1, 2, 3 or 4");
  out->type = static_cast<FieldType>(type.As<Napi::Number>().Int32Value());
  Napi::Value value = o.Get("value");
  switch (out->type) {
    case FieldType::String:
    case FieldType::Binary:
    case FieldType::Compress:
      out->bytes = BufferBytes(env, value, w.Arg() + ".value");
      break;
    case FieldType::Struct:
      if (!value.IsArray()) throw Napi::TypeError::New(env, w.Arg() + ".value must be an array of fields (type 2)");
      // Too deep to encode: the encoder refuses this field by name without looking inside,
      // and not converting it keeps a cyclic JS structure from recursing forever.
      if (depth >= kMaxDepth) break;
      FieldsFromJs(env, value.As<Napi::Array>(), &w, depth + 1, &out->nested);
      break;
    case FieldType::List: {
      if (!value.IsArray()) throw Napi::TypeError::New(env, w.Arg() + ".value must be an array of Buffers (type 3)");
      Napi::Array items = value.As<Napi::Array>();
      const uint32_t n = items.Length();
      out->items.reserve(n);
      for (uint32_t i = 0; i < n; i++) out->items.push_back(BufferBytes(env, items.Get(i), w.Arg() + ".value[" + std::to_string(i) + "]"));
      break;
    }
  }
}

}  // namespace

Napi::Array MessageToJs(const Napi::Env& env, const Message& m) {
  Napi::Array a = Napi::Array::New(env, m.size());
  for (size_t i = 0; i < m.size(); i++) {
    const Field& f = m[i];
    Napi::Object o = Napi::Object::New(env);
    o.Set("name", Latin1(env, f.name));
    o.Set("type", Napi::Number::New(env, static_cast<int>(f.type)));
    switch (f.type) {
      case FieldType::String:
      case FieldType::Binary:
      case FieldType::Compress:
        o.Set("value", Napi::Buffer<uint8_t>::Copy(env, reinterpret_cast<const uint8_t*>(f.bytes.data()), f.bytes.size()));
        break;
      case FieldType::Struct:
        o.Set("value", MessageToJs(env, f.nested));
        break;
      case FieldType::List: {
        Napi::Array items = Napi::Array::New(env, f.items.size());
        for (size_t k = 0; k < f.items.size(); k++) {
          items.Set(k, Napi::Buffer<uint8_t>::Copy(env, reinterpret_cast<const uint8_t*>(f.items[k].data()), f.items[k].size()));
        }
        o.Set("value", items);
        break;
      }
    }
    a.Set(i, o);
  }
  return a;
}

namespace {

}  // namespace

Message MessageFromJs(const Napi::Env& env, const Napi::Value& v) {
  if (!v.IsArray()) throw Napi::TypeError::New(env, "message must be an array of fields");
  Message m;
  FieldsFromJs(env, v.As<Napi::Array>(), nullptr, 0, &m);
  return m;
}

bool AuthKeysFromJs(const Napi::Env& env, const Napi::Value& v, bool allow_null, AuthKeys* out) {
  if (allow_null && v.IsNull()) return false;
  if (!v.IsObject()) {
    throw Napi::TypeError::New(env, allow_null ? "keys must be an AuthKeys object {sendIndex, keys} or null" : "keys must be an AuthKeys object {sendIndex, keys}");
  }
  Napi::Object o = v.As<Napi::Object>();
  Napi::Value send = o.Get("sendIndex");
  if (!IsIntegerIn(send, 0, kMaxAuthIndex)) throw Napi::TypeError::New(env, "keys.sendIndex must be an integer 0-15");
  out->send_index = send.As<Napi::Number>().Int32Value();
  Napi::Value list = o.Get("keys");
  if (!list.IsArray()) throw Napi::TypeError::New(env, "keys.keys must be an array of {index, method, key}");
  Napi::Array a = list.As<Napi::Array>();
  const uint32_t n = a.Length();
  out->keys.resize(n);
  for (uint32_t i = 0; i < n; i++) {
    const std::string at = "keys.keys[" + std::to_string(i) + "]";
    Napi::Value e = a.Get(i);
    if (!e.IsObject()) throw Napi::TypeError::New(env, at + " must be an object {index, method, key}");
    Napi::Object k = e.As<Napi::Object>();
    Napi::Value index = k.Get("index");
    if (!IsIntegerIn(index, 0, kMaxAuthIndex)) throw Napi::TypeError::New(env, at + ".index must be an integer 0-15");
    out->keys[i].index = index.As<Napi::Number>().Int32Value();
    Napi::Value method = k.Get("method");
    if (!method.IsString() || !ParseAuthMethod(method.As<Napi::String>().Utf8Value(), &out->keys[i].method)) {
      throw Napi::TypeError::New(env, at + ".method must be one of crc, md5, sha1, sha256");
    }
    out->keys[i].key = BufferBytes(env, k.Get("key"), at + ".key");
  }
  return true;
}

WireFormat WireFormatFromJs(const Napi::Env& env, const Napi::Value& v) {
  WireFormat f;
  if (!v.IsString() || !ParseWireFormat(v.As<Napi::String>().Utf8Value(), &f)) {
    throw Napi::TypeError::New(env, "format must be one of 'netstring+auth', 'netstring', 'classic'");
  }
  return f;
}

Napi::Error DecodeErrorToJs(const Napi::Env& env, const DecodeError& e) {
  const std::string code = DecodeErrorCodeName(e.code);
  Napi::Error err = Napi::Error::New(env, code + " at byte " + std::to_string(e.offset) + ": " + e.detail);
  err.Set("code", Napi::String::New(env, code));
  err.Set("offset", Napi::Number::New(env, static_cast<double>(e.offset)));
  err.Set("detail", Latin1(env, e.detail));
  return err;
}

Napi::Error EncodeErrorToJs(const Napi::Env& env, const EncodeError& e) {
  return EncodeErrorWithPath(env, Latin1(env, e.path), e.detail);
}

}  // namespace hbd
